"""Console sessions: kept in the database (so every gateway process shares them), named in the
browser by a random cookie of which only a hash is stored.

The cookie is HttpOnly, SameSite=Lax (the sign-in's redirect back is a top-level navigation) and
Secure over https. A session is pending until the authorization code comes back, then holds the
person's access token, which never leaves the server. It ends at sign-out, after
LIG_CONSOLE_IDLE_SECONDS without a request, or when its token expires, whichever is first; its id
changes at sign-in, so an id planted before sign-in is worth nothing after.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.authorize import SIGN_IN_SECONDS, challenge_of, digest, new_verifier
from gateway.database import Database
from gateway.models import ConsoleSession
from gateway.models.base import utcnow

COOKIE = "lig_console"
# A sign-in must be completed within this (the sign-in form's own token lives as long).
PENDING_SECONDS = SIGN_IN_SECONDS
# A session's last-seen time is written at most this often (not on every page).
TOUCH_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Pending:
    """A sign-in under way: the cookie to set, and what goes into the authorization request."""

    cookie: str
    state: str
    code_challenge: str


async def begin(session: AsyncSession, return_to: str) -> Pending:
    cookie, state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(24), new_verifier()
    now = utcnow()
    # Sessions that ended or expired are of no more use.
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    session.add(
        ConsoleSession(
            id_hash=digest(cookie),
            csrf_token=secrets.token_urlsafe(24),
            state=state,
            code_verifier=verifier,
            return_to=return_to,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=PENDING_SECONDS),
        )
    )
    return Pending(cookie, state, challenge_of(verifier))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A pending sign-in taken up by the authorization server's answer: the PKCE verifier to
    exchange the code with, and where to go afterwards."""

    code_verifier: str
    return_to: str


async def claim(session: AsyncSession, cookie: str | None, state: str) -> Claimed | None:
    """The sign-in under way for this cookie, if `state` is its own; it is used up (deleted),
    so that one answer completes it at most once."""
    if not cookie or len(cookie) > 100:
        return None
    row = await session.get(ConsoleSession, digest(cookie), with_for_update=True)
    if row is None or row.username is not None or row.state is None or row.code_verifier is None:
        return None
    # Another `state` (a stale tab, a forged link) leaves the sign-in under way alone.
    if not hmac.compare_digest(state.encode(), row.state.encode()):
        return None
    await session.delete(row)
    if row.expires_at <= utcnow():
        return None
    return Claimed(row.code_verifier, row.return_to or "/console/warnings")


async def establish(
    session: AsyncSession,
    username: str,
    access_token: str,
    token_expires_at: datetime,
    idle_seconds: int,
) -> str:
    """A signed-in session under a new id (never the pending one's); answers its cookie."""
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ConsoleSession(
            id_hash=digest(cookie),
            username=username,
            csrf_token=secrets.token_urlsafe(24),
            access_token=access_token,
            token_expires_at=token_expires_at,
            created_at=now,
            last_seen_at=now,
            expires_at=min(token_expires_at, now + timedelta(seconds=idle_seconds)),
        )
    )
    return cookie


@dataclass(frozen=True, slots=True)
class Live:
    """A signed-in session as a page request finds it."""

    id_hash: str
    username: str
    csrf_token: str
    access_token: str


async def live(db: Database, cookie: str | None) -> Live | None:
    """The signed-in session of this cookie, kept alive; None when there is none (any more)."""
    if not cookie or len(cookie) > 100:
        return None
    id_hash = digest(cookie)
    now = utcnow()
    async with db.reader.connect() as conn:
        row = (
            await conn.execute(
                select(
                    ConsoleSession.username,
                    ConsoleSession.csrf_token,
                    ConsoleSession.access_token,
                    ConsoleSession.token_expires_at,
                    ConsoleSession.last_seen_at,
                    ConsoleSession.expires_at,
                    ConsoleSession.ended_at,
                ).where(ConsoleSession.id_hash == id_hash)
            )
        ).one_or_none()
    if row is None or row.username is None or row.access_token is None:
        return None
    if row.ended_at is not None or row.expires_at <= now:
        return None
    if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        idle = db.settings.console_idle_seconds
        async with db.unit_of_work() as session:
            await session.execute(
                update(ConsoleSession)
                .where(ConsoleSession.id_hash == id_hash, ConsoleSession.ended_at.is_(None))
                .values(
                    last_seen_at=now,
                    expires_at=min(row.token_expires_at, now + timedelta(seconds=idle)),
                )
            )
    return Live(id_hash, row.username, row.csrf_token, row.access_token)


async def end(session: AsyncSession, id_hash: str) -> None:
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id_hash == id_hash)
        .values(ended_at=utcnow(), access_token=None)
    )
