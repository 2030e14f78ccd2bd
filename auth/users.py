"""Staff accounts: the people who sign in to the console, their roles and their passwords.

Functions take the caller's session and never commit (the CLI command or the request does). Every
change and every sign-in is audited; a password or its hash never reaches the audit trail or a log.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords
from auth.clients import DEMO_TOWN_REGION, bound_region
from auth.roles import ROLES, person_subject
from gateway.audit import record_change
from gateway.database import Database
from gateway.errors import InvalidInput, NotFound
from gateway.models import Region, StaffUser
from gateway.models.base import utcnow
from gateway.principal import LOCAL_OPERATOR, Principal
from gateway.settings import Settings

USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")  # fullmatch


# The demo accounts `lig serve --demo` prints: one per role, and a second town to show that a
# town sees only its own households.
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("demo-civil", "民政局 演示用户", "civil-affairs", None),
    ("demo-town", "汇龙镇 演示用户", "town", DEMO_TOWN_REGION),
    ("demo-town2", "南阳镇 演示用户", "town", "320681106000"),
    ("demo-auditor", "审计 演示用户", "auditor", None),
)


async def _validated(
    session: AsyncSession, username: str, name: str, role: str, region: str | None
) -> str | None:
    """The region's 12-digit code (None: every region), or InvalidInput naming every bad
    option."""
    problems: list[tuple[str, str]] = []
    if not USERNAME.fullmatch(username):
        problems.append(
            ("username", "2 to 32 characters: lower-case letters, digits, '.', '_', '-'")
        )
    elif await session.get(StaffUser, username) is not None:
        problems.append(("username", f"{username!r} is taken"))
    if not name.strip() or len(name) > 100:
        problems.append(("--name", "must be 1 to 100 characters"))
    chosen = ROLES.get(role)
    if chosen is None:
        problems.append(("--role", f"unknown role {role!r}; known: {' '.join(sorted(ROLES))}"))
    needs_region = chosen is not None and chosen.needs_region
    code = await bound_region(session, region, needs_region, f"{role} role", problems)
    if problems:
        raise InvalidInput.many(problems)
    return code


def _audit(session: AsyncSession, by: Principal, action: str, username: str) -> None:
    record_change(
        session,
        by,
        action=action,
        subjects={"username": username},
        request_id=uuid.uuid4().hex,
    )


def new_password() -> str:
    """A generated password: 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


async def add_user(
    session: AsyncSession,
    username: str,
    name: str,
    role: str,
    region: str | None,
    password: str | None = None,
    *,
    by: Principal = LOCAL_OPERATOR,
) -> tuple[StaffUser, str]:
    """Create an account; answers it and its password (generated when not given)."""
    code = await _validated(session, username, name, role, region)
    password = password if password is not None else new_password()
    if (why := passwords.problem(password)) is not None:
        raise InvalidInput("password", why)
    user = StaffUser(
        username=username,
        display_name=name.strip(),
        role=role,
        agency_code=ROLES[role].agency,
        region_code=code,
        password_hash=passwords.hash_password(password),
        password_changed_at=utcnow(),
        failed_attempts=0,
        created_at=utcnow(),
        created_by=by.client_id,
    )
    session.add(user)
    _audit(session, by, "users.add", username)
    await session.flush()
    return user, password


async def list_users(session: AsyncSession) -> list[StaffUser]:
    return list((await session.scalars(select(StaffUser).order_by(StaffUser.username))).all())


async def existing(session: AsyncSession, username: str) -> StaffUser:
    user = await session.get(StaffUser, username) if len(username) <= 32 else None
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


async def set_password(
    session: AsyncSession, username: str, password: str | None, *, by: Principal = LOCAL_OPERATOR
) -> str:
    """A new password (generated when not given); tokens issued before it are refused."""
    user = await existing(session, username)
    password = password if password is not None else new_password()
    if (why := passwords.problem(password)) is not None:
        raise InvalidInput("password", why)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_attempts, user.locked_until = 0, None
    _audit(session, by, "users.password", username)
    return password


async def disable_user(
    session: AsyncSession, username: str, *, by: Principal = LOCAL_OPERATOR
) -> StaffUser:
    """No more sign-ins, and the account's sessions and tokens are refused at once."""
    user = await existing(session, username)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        _audit(session, by, "users.disable", username)
    return user


async def enable_user(
    session: AsyncSession, username: str, *, by: Principal = LOCAL_OPERATOR
) -> StaffUser:
    user = await existing(session, username)
    if user.disabled_at is not None:
        user.disabled_at = None
        user.password_changed_at = utcnow()  # what was issued before the disabling stays dead
        _audit(session, by, "users.enable", username)
    return user


async def unlock_user(
    session: AsyncSession, username: str, *, by: Principal = LOCAL_OPERATOR
) -> StaffUser:
    user = await existing(session, username)
    if user.locked_until is not None or user.failed_attempts:
        user.failed_attempts, user.locked_until = 0, None
        _audit(session, by, "users.unlock", username)
    return user


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a sign-in attempt came to: the user, or None (the reason is for the audit trail
    and the log only; the person is told the same thing whatever went wrong)."""

    user: StaffUser | None
    reason: str


def _locked(user: StaffUser, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


async def stored_hash(db: Database, username: str) -> str | None:
    """The account's password hash, read outside any transaction (None: no such account)."""
    if not USERNAME.fullmatch(username):
        return None
    async with db.reader.connect() as conn:
        return (
            await conn.execute(
                select(StaffUser.password_hash).where(StaffUser.username == username)
            )
        ).scalar_one_or_none()


# Argon2 verifications running at once (each holds 64 MiB and a core for a third of a second).
_VERIFYING = 2
_verifying: asyncio.Semaphore | None = None


async def password_matches(password: str, stored: str | None) -> bool:
    """Argon2 in a worker thread, a few at a time, so that the event loop (and every other
    request) does not wait on it. `stored` None (no such account) costs the same."""
    global _verifying
    if _verifying is None:
        _verifying = asyncio.Semaphore(_VERIFYING)
    async with _verifying:
        return await asyncio.to_thread(passwords.verify_password, password, stored)


async def record_sign_in(
    session: AsyncSession,
    username: str,
    checked: str | None,
    good: bool,
    settings: Settings,
    request_id: str,
) -> SignIn:
    """The outcome of a sign-in whose password was checked (`good`) against the hash read
    before (`checked`, from `stored_hash`), counted on the locked row: parallel guesses are all
    counted towards the lock-out, and a password changed in between counts as a failure. Run
    in a short transaction, with no Argon2 inside it (SQLite has one writer)."""
    now = utcnow()
    # What was typed as a username is kept only when it could be one (never a password typed
    # into the wrong field).
    named = username if USERNAME.fullmatch(username) else "(not a username)"
    user = None
    if checked is not None:
        user = await session.get(StaffUser, username, with_for_update=True)
    actor = Principal(client_id=person_subject(named), agency="", scopes=frozenset())
    if user is None:
        outcome = SignIn(None, "unknown user")
    elif user.disabled_at is not None:
        outcome = SignIn(None, "account disabled")
    elif _locked(user, now):
        outcome = SignIn(None, "account locked")
    elif not good or user.password_hash != checked:
        user.failed_attempts += 1
        reason = "wrong password"
        if user.failed_attempts >= settings.console_max_failed_sign_ins:
            user.locked_until = now + timedelta(seconds=settings.console_lockout_seconds)
            user.failed_attempts = 0
            reason = "wrong password; account locked"
        outcome = SignIn(None, reason)
    else:
        user.failed_attempts, user.locked_until, user.last_sign_in_at = 0, None, now
        outcome = SignIn(user, "signed in")
    if user is not None:
        actor = Principal(
            client_id=person_subject(user.username),
            agency=user.agency_code,
            scopes=frozenset(),
        )
    record_change(
        session,
        actor,
        action="console.sign-in" if outcome.user else "console.sign-in-refused",
        subjects={"username": named, "reason": outcome.reason},
        request_id=request_id,
    )
    return outcome


async def ensure_demo_users(session: AsyncSession) -> list[tuple[str, str, str]]:
    """The demo accounts, each with a fresh password the caller can print: (username, role,
    password)."""
    made: list[tuple[str, str, str]] = []
    for username, name, role, region in DEMO_USERS:
        if await session.get(StaffUser, username) is None:
            if region is not None and await session.get(Region, region) is None:
                continue
            _, password = await add_user(session, username, name, role, region)
        else:
            password = await set_password(session, username, None)
            await unlock_user(session, username)
            await enable_user(session, username)
        made.append((username, role, password))
    return made
