"""The registry of OAuth clients: one per department system that calls the gateway.

Functions take the caller's session and never commit (the CLI command or the request does). Every
change is audited; a secret or its hash never reaches the audit trail or a log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import secrets
from auth.roles import CONSOLE_CLIENT_ID
from auth.scopes import PROFILES, UnknownScope, parse
from gateway.audit import record_change
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.models import Agency, OAuthClient, Region
from gateway.models.base import utcnow
from gateway.principal import LOCAL_OPERATOR, Principal

# The demo town client (`lig serve --demo`) is bound to 汇龙镇, where the demo county lives.
DEMO_TOWN_REGION = "320681100000"
DEMO_PREFIX = "demo-"


class DemoClient(NamedTuple):
    profile: str
    client_id: str
    client_secret: str


def region_code(text: str, field: str = "--region") -> str:
    """A 6-, 9- or 12-digit division code (county, town, village) as its 12-digit form."""
    if not (text.isascii() and text.isdigit()) or len(text) not in (6, 9, 12):
        raise InvalidInput(field, "must be a 6-, 9- or 12-digit division code")
    return text.ljust(12, "0")


async def known_region(session: AsyncSession, text: str, field: str = "--region") -> str:
    """The 12-digit code of an existing region, or InvalidInput naming `field`."""
    code = region_code(text, field)
    if await session.get(Region, code) is None:
        raise InvalidInput(field, f"unknown region {code}")
    return code


async def bound_region(
    session: AsyncSession,
    region: str | None,
    needs_region: bool,
    what: str,
    problems: list[tuple[str, str]],
) -> str | None:
    """The 12-digit region a client or an account is bound to (None: every region); one that
    is missing though `what` (a profile, a role) needs it, or is bad, goes into `problems`."""
    if region is None:
        if needs_region:
            problems.append(("--region", f"the {what} needs the region it serves"))
        return None
    try:
        return await known_region(session, region)
    except InvalidInput as error:
        problems.append(("--region", error.reason))
        return None


async def _validated(
    session: AsyncSession,
    name: str,
    agency: str,
    profile: str | None,
    scopes: Sequence[str],
    region: str | None,
) -> tuple[str, frozenset[str], str | None]:
    """The name, the scopes and the 12-digit region, or InvalidInput naming every bad option."""
    problems: list[tuple[str, str]] = []
    name = name.strip()
    if not name:
        problems.append(("--name", "must not be empty"))
    elif len(name) > 200:
        problems.append(("--name", "must be at most 200 characters"))
    agency_known = await session.get(Agency, agency) is not None
    if not agency_known:
        known = (await session.scalars(select(Agency.code).order_by(Agency.code))).all()
        problems.append(("--agency", f"unknown agency {agency!r}; known: {' '.join(known)}"))
    granted: set[str] = set()
    needs_region = False
    if profile is not None:
        if profile not in PROFILES:
            problems.append(
                ("--profile", f"unknown profile {profile!r}; known: {' '.join(sorted(PROFILES))}")
            )
        elif profile != agency and agency_known:
            problems.append(("--profile", f"must be the agency ({agency!r}) or left out"))
        else:
            granted |= PROFILES[profile].scopes
            needs_region = PROFILES[profile].needs_region
    try:
        granted |= parse(scopes)
    except UnknownScope as error:
        problems.append(("--scope", str(error)))
    else:
        if not granted and profile is None:
            problems.append(("--scope", "give at least one scope, or a --profile"))
    code = await bound_region(session, region, needs_region, f"{profile} profile", problems)
    if problems:
        raise InvalidInput.many(problems)
    return name, frozenset(granted), code


async def add_client(
    session: AsyncSession,
    name: str,
    agency: str,
    profile: str | None,
    scopes: Sequence[str],
    region: str | None,
    *,
    by: Principal = LOCAL_OPERATOR,
    request_id: str | None = None,
) -> tuple[OAuthClient, str]:
    """Register a client; answers it and its secret, which is shown this once and never stored.

    Its scopes are the profile's and every `scopes` entry (each may hold several, space-separated).
    """
    name, granted, code = await _validated(session, name, agency, profile, scopes, region)
    secret = secrets.new_secret()
    client = OAuthClient(
        client_id=secrets.new_client_id(),
        name=name,
        agency_code=agency,
        profile=profile,
        scopes=sorted(granted),
        region_code=code,
        secret_hash=secrets.hash_secret(secret),
        created_at=utcnow(),
        created_by=by.client_id,
    )
    session.add(client)
    _audit(session, by, "clients.add", client.client_id, request_id)
    await session.flush()
    return client, secret


async def list_clients(session: AsyncSession) -> list[OAuthClient]:
    rows = await session.scalars(
        select(OAuthClient).order_by(OAuthClient.created_at, OAuthClient.client_id)
    )
    return list(rows.all())


def _audit(
    session: AsyncSession, by: Principal, action: str, client_id: str, request_id: str | None
) -> None:
    # Never a secret or its hash: the audit trail says who changed which client, and how.
    record_change(
        session,
        by,
        action=action,
        subjects={"client_id": client_id},
        request_id=request_id or uuid.uuid4().hex,
    )


async def _existing(session: AsyncSession, client_id: str) -> OAuthClient:
    client = await session.get(OAuthClient, client_id) if len(client_id) <= 64 else None
    if client is None:
        raise NotFound(f"no client {client_id!r}")
    return client


async def revoke_client(
    session: AsyncSession,
    client_id: str,
    *,
    by: Principal = LOCAL_OPERATOR,
    request_id: str | None = None,
) -> OAuthClient:
    """Revoke a client: it gets no more tokens and the ones it holds are refused at once.

    Revoking a revoked client changes nothing (and records nothing): it keeps its first date.
    """
    client = await _existing(session, client_id)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        _audit(session, by, "clients.revoke", client_id, request_id)
        await session.flush()
    return client


async def rotate_secret(
    session: AsyncSession,
    client_id: str,
    *,
    by: Principal = LOCAL_OPERATOR,
    request_id: str | None = None,
) -> tuple[OAuthClient, str]:
    """A new secret; the old one stops working, and tokens issued before now are refused."""
    client = await _existing(session, client_id)
    if client.revoked_at is not None:
        raise Conflict(f"client {client_id} is revoked; register a new client instead")
    if client_id == CONSOLE_CLIENT_ID:
        # A public client: a secret would make it a machine with every caseworker's scopes.
        raise Conflict(f"{client_id} is the console's public client: it has no secret")
    secret = secrets.new_secret()
    client.secret_hash = secrets.hash_secret(secret)
    client.secret_rotated_at = utcnow()
    _audit(session, by, "clients.rotate-secret", client_id, request_id)
    await session.flush()
    return client, secret


async def ensure_demo_clients(session: AsyncSession) -> list[DemoClient]:
    """One client `demo-<profile>` per department profile, with a secret the caller can print.

    Clients that already exist get a new secret (only hashes are stored, so the old secret cannot
    be shown again); a revoked one is replaced by a new client.
    """
    request_id = uuid.uuid4().hex
    existing = {
        c.name: c
        for c in await session.scalars(
            select(OAuthClient).where(
                OAuthClient.name.startswith(DEMO_PREFIX), OAuthClient.revoked_at.is_(None)
            )
        )
    }
    made: list[DemoClient] = []
    for profile in PROFILES.values():
        client = existing.get(DEMO_PREFIX + profile.name)
        if client is not None:
            client, secret = await rotate_secret(session, client.client_id, request_id=request_id)
        else:
            region = DEMO_TOWN_REGION if profile.needs_region else None
            client, secret = await add_client(
                session,
                DEMO_PREFIX + profile.name,
                profile.name,
                profile.name,
                (),
                region,
                request_id=request_id,
            )
        made.append(DemoClient(profile.name, client.client_id, secret))
    return made
