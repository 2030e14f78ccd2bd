"""The keys that sign access tokens (ES256 on P-256), and each process's ring of them.

Where the signing key comes from:
- `LIG_SIGNING_KEY_FILE` set: that PEM is the key. The database keeps only its public half (so
  every process, and `lig keys list`, knows it), and every other key is retired.
- unset: the newest unretired key in `signing_keys` that has a private part, generated on first
  start. Every process of the gateway shares it through the database; `lig keys rotate` makes a
  new one and retires the rest.

A retired key still verifies until the last token it can have signed has expired: another process
may sign with it for up to one reload interval after it was retired, and its tokens then live
for the token lifetime. The kid of every key is its RFC 7638 thumbprint.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from joserfc.errors import JoseError
from joserfc.jwk import DictKey, ECKey, KeyParameters, KeySet
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gateway.audit import record_change
from gateway.database import Database
from gateway.errors import Conflict
from gateway.models import SigningKey
from gateway.models.base import utcnow
from gateway.principal import LOCAL_OPERATOR, Principal
from gateway.settings import Settings

ALG = "ES256"
CURVE = "P-256"
# How often a process reads the keys again, so that a rotation elsewhere reaches it.
RELOAD_SECONDS = 60.0
# A token naming a kid this process does not know makes it read the keys again, at most this often
# (a stream of made-up kids must not become a stream of database reads).
UNKNOWN_KID_RELOAD_SECONDS = 5.0
# pg_advisory_xact_lock key of `prepare` (any fixed bigint: "ligkeys" in ASCII).
_PREPARE_LOCK = 0x6C_6967_6B65_7973

log = logging.getLogger("lig.keys")


class KeyFileError(Exception):
    """LIG_SIGNING_KEY_FILE cannot be read or holds no P-256 private key."""


def _parameters() -> KeyParameters:
    return {"alg": ALG, "use": "sig"}


def generate_key() -> ECKey:
    return ECKey.generate_key(CURVE, parameters=_parameters(), auto_kid=True)


def read_key_file(path: str) -> ECKey:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise KeyFileError(f"LIG_SIGNING_KEY_FILE {path}: {error.strerror}") from None
    try:
        key = ECKey.import_key(data, _parameters())
    except (ValueError, TypeError, JoseError):
        key = None
    if key is None or not key.is_private or key.curve_name != CURVE:
        raise KeyFileError(
            f"LIG_SIGNING_KEY_FILE {path}: not a PEM EC {CURVE} private key "
            "(make one with `openssl ecparam -name prime256v1 -genkey -noout`)"
        )
    key.ensure_kid()
    return key


def _kid(key: ECKey) -> str:
    key.ensure_kid()
    return cast(str, key.kid)


def _public_jwk(key: ECKey) -> dict[str, str]:
    return cast(dict[str, str], key.as_dict(private=False))


def _stored(key: ECKey, now: datetime) -> SigningKey:
    return SigningKey(
        kid=_kid(key),
        alg=ALG,
        public_jwk=_public_jwk(key),
        private_jwk=json.dumps(key.as_dict(private=True)),
        created_at=now,
        retired_at=None,
    )


def verifies_until(retired_at: datetime, settings: Settings) -> datetime:
    return retired_at + timedelta(seconds=settings.token_lifetime_seconds + RELOAD_SECONDS)


async def prepare(session: AsyncSession, file_key: ECKey | None) -> str | None:
    """Put the signing key in place; answers what to tell the operator when one was generated
    (the caller says it: `lig serve` prints it, the app's key ring logs a warning).

    Every process does this on its first request, so several do it at once: on PostgreSQL they
    take turns (an advisory lock held until the transaction ends), so that one generates the
    key, or stores the key file's public half, and the others find it. (SQLite: the unit of
    work's BEGIN IMMEDIATE already makes them take turns.)
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(_PREPARE_LOCK)))
    now = utcnow()
    if file_key is not None:
        kid = _kid(file_key)
        row = await session.get(SigningKey, kid)
        if row is None:
            public = _public_jwk(file_key)
            session.add(
                SigningKey(kid=kid, alg=ALG, public_jwk=public, private_jwk=None, created_at=now)
            )
        elif row.retired_at is not None:
            row.retired_at = None  # the file went back to an older key: it signs again
        await session.execute(
            update(SigningKey)
            .where(SigningKey.kid != kid, SigningKey.retired_at.is_(None))
            .values(retired_at=now)
        )
        return None
    # Keys of a key file used before: this process cannot sign with them, so they only verify.
    await session.execute(
        update(SigningKey)
        .where(SigningKey.private_jwk.is_(None), SigningKey.retired_at.is_(None))
        .values(retired_at=now)
    )
    newest = await session.scalar(
        select(SigningKey.kid)
        .where(SigningKey.retired_at.is_(None), SigningKey.private_jwk.is_not(None))
        .limit(1)
    )
    if newest is not None:
        return None
    key = generate_key()
    session.add(_stored(key, now))
    return (
        f"no signing key configured (LIG_SIGNING_KEY_FILE); generated {ALG} key {_kid(key)} "
        "and stored it in the database"
    )


async def rotate(
    session: AsyncSession,
    settings: Settings,
    *,
    by: Principal = LOCAL_OPERATOR,
    request_id: str | None = None,
) -> tuple[str, list[str]]:
    """A new signing key; every other key retires (and verifies until its tokens expire)."""
    if settings.signing_key_file:
        raise Conflict(
            "LIG_SIGNING_KEY_FILE is set, so the key in that file signs tokens: "
            "replace the key file instead"
        )
    now = utcnow()
    retired = list(
        await session.scalars(
            select(SigningKey.kid).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.kid)
        )
    )
    await session.execute(
        update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now)
    )
    key = generate_key()
    session.add(_stored(key, now))
    record_change(
        session,
        by,
        action="keys.rotate",
        subjects={"kid": _kid(key), "retired": retired},
        request_id=request_id or uuid.uuid4().hex,
    )
    await session.flush()
    return _kid(key), retired


@dataclass(frozen=True, slots=True)
class KeyStatus:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    status: str  # "active", "verifies until …", "verifies (not retired)" or "expired"


async def statuses(session: AsyncSession, settings: Settings) -> list[KeyStatus]:
    """Every stored key, newest first, with what it does now (for `lig keys list`)."""
    rows = (
        await session.scalars(
            select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.kid)
        )
    ).all()
    if settings.signing_key_file:
        active: str | None = _kid(read_key_file(settings.signing_key_file))
    else:
        active = next(
            (r.kid for r in rows if r.retired_at is None and r.private_jwk is not None), None
        )
    now = utcnow()
    out = []
    for row in rows:
        if row.kid == active:
            status = "active"
        elif row.retired_at is None:
            status = "verifies (not retired)"
        elif (until := verifies_until(row.retired_at, settings)) > now:
            status = f"verifies until {until.isoformat(timespec='seconds')}"
        else:
            status = "expired"
        out.append(KeyStatus(row.kid, row.created_at, row.retired_at, status))
    return out


@dataclass(frozen=True, slots=True)
class Keys:
    """What one load found: the key this process signs with, and every key that verifies."""

    signing: ECKey
    verifying: dict[str, ECKey]  # kid → public key

    @property
    def signing_set(self) -> KeySet:
        # A set of one: joserfc then writes the key's kid into each token's header.
        return KeySet([self.signing])

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False) for key in self.verifying.values()]}


async def load(conn: AsyncConnection, settings: Settings, file_key: ECKey | None) -> Keys | None:
    """The keys in force now; None when no key can sign (nothing prepared yet)."""
    cutoff = utcnow() - timedelta(seconds=settings.token_lifetime_seconds + RELOAD_SECONDS)
    rows = (
        await conn.execute(
            select(
                SigningKey.kid,
                SigningKey.public_jwk,
                SigningKey.private_jwk,
                SigningKey.retired_at,
            )
            .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > cutoff))
            .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        )
    ).all()
    verifying = {row.kid: ECKey.import_key(cast(DictKey, row.public_jwk)) for row in rows}
    if file_key is not None:
        signing = file_key
        verifying.setdefault(_kid(file_key), ECKey.import_key(file_key.as_dict(private=False)))
        return Keys(signing, verifying)
    for row in rows:
        if row.retired_at is None and row.private_jwk is not None:
            return Keys(ECKey.import_key(json.loads(row.private_jwk)), verifying)
    return None


class KeyRing:
    """The keys of one process (`app.state.keys`), read from the database and kept fresh.

    Nothing is read when the ring is made (the app may start before its database is reachable);
    the first use puts the signing key in place and loads. A key file is read at once, so that a
    bad one stops the process at start rather than at its first token.
    """

    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        self.db = db
        self.settings = settings or db.settings
        path = self.settings.signing_key_file
        self.file_key = read_key_file(path) if path else None
        self._keys: Keys | None = None
        self._prepared = False
        self._loaded_at = -math.inf
        self._unknown_kid_at = -math.inf
        self._lock = asyncio.Lock()

    async def prepare(self) -> str | None:
        """Put the signing key in place now; answers the message (for the caller to print)
        when one was generated."""
        async with self._lock:
            return await self._prepare(announce=False)

    async def _prepare(self, *, announce: bool = True) -> str | None:
        async with self.db.unit_of_work() as session:
            message = await prepare(session, self.file_key)
        self._prepared = True
        if message and announce:
            log.warning(message)
        return message

    async def _reload(self) -> Keys:
        if not self._prepared:
            await self._prepare()
        async with self.db.reader.connect() as conn:
            keys = await load(conn, self.settings, self.file_key)
        if keys is None:
            # Every key was retired behind our back (by hand): put a new one in place.
            await self._prepare()
            async with self.db.reader.connect() as conn:
                keys = await load(conn, self.settings, self.file_key)
            if keys is None:  # pragma: no cover - prepare() always leaves a key
                raise RuntimeError("no signing key after preparing one")
        self._keys = keys
        self._loaded_at = time.monotonic()
        return keys

    async def reload(self) -> Keys:
        """Read the keys again now (a rotation by another process is otherwise seen within 60 s)."""
        async with self._lock:
            return await self._reload()

    def _stale(self) -> bool:
        return self._keys is None or time.monotonic() - self._loaded_at >= RELOAD_SECONDS

    async def current(self) -> Keys:
        """The keys in force, read again when the last read is older than RELOAD_SECONDS."""
        keys = self._keys
        if keys is None or self._stale():
            async with self._lock:
                # Another request may have reloaded while this one waited for the lock.
                keys = self._keys
                if keys is None or self._stale():
                    keys = await self._reload()
        return keys

    async def verification_key(self, kid: str) -> ECKey | None:
        """The public key of `kid`; an unknown kid makes one reload (rate-limited), then None."""
        keys = await self.current()
        key = keys.verifying.get(kid)
        if key is None and time.monotonic() - self._unknown_kid_at >= UNKNOWN_KID_RELOAD_SECONDS:
            self._unknown_kid_at = time.monotonic()
            key = (await self.reload()).verifying.get(kid)
        return key
