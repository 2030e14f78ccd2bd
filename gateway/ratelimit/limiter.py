"""The rate limiter each process holds: local slices of the buckets shared through the database.

A request is admitted from the slice its process holds for its client (gateway/ratelimit/
bucket.py) without touching the database; only when the slice is spent does the process claim
another, one short statement of its own (gateway/ratelimit/claim.py). A slice whose next token is
still to come refuses at once with the wait, so a flood costs the database one claim per slice
of the client's rate, however many requests it sends.

The claim is its own transaction, committed at once: the limiter runs at the edge, before the
request's own unit of work, and a refused request must leave the tokens taken.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from gateway.database import Database
from gateway.ratelimit.bucket import Allowance, slice_size
from gateway.ratelimit.claim import claim, claim_statement
from gateway.settings import RateLimit, Settings

log = logging.getLogger("lig.ratelimit")

# A client's local state is forgotten after this long without a request (its unspent tokens
# with it: stricter, never looser), and at most this many clients are kept.
IDLE_SECONDS = 600.0
MAX_CLIENTS = 10_000
_SWEEP_EVERY_SECONDS = 60.0
_WARN_EVERY_SECONDS = 60.0


@dataclass(slots=True)
class _Client:
    # One claim at a time per client in this process: concurrent requests of a client whose
    # slice is spent wait for the one claim rather than each making their own.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    allowance: Allowance | None = None
    seen: float = 0.0

    def droppable(self, now: float) -> bool:
        """Idle, and holding nothing still owed to it by the shared bucket."""
        if self.lock.locked() or self.seen > now - IDLE_SECONDS:
            return False
        held = self.allowance
        return held is None or held.exhausted or held.ready_at() <= now


class RateLimiter:
    """Admits or refuses each request of a client by its profile's limit (Settings)."""

    def __init__(
        self, db: Database, settings: Settings, *, clock: Callable[[], float] = time.time
    ) -> None:
        # Wall-clock time (unix seconds), not monotonic: the buckets' times are compared across
        # processes and hosts.
        self._clock = clock
        self._db = db
        self._default = RateLimit(
            per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
        )
        self._by_profile = dict(settings.rate_limits)
        self._statement = claim_statement(db.dialect)
        self._clients: dict[str, _Client] = {}
        self._swept = clock()
        self._warned = -math.inf

    def limit(self, profile: str | None) -> RateLimit:
        """The limit of a client of this profile (None: a client without one)."""
        if profile is None:
            return self._default
        return self._by_profile.get(profile, self._default)

    async def admit(self, client_id: str, profile: str | None) -> float | None:
        """None: go ahead. Otherwise the seconds to wait before trying again (for Retry-After)."""
        limit = self.limit(profile)
        if limit.per_second == 0:
            return None
        now = self._clock()
        client = self._client(client_id, now)
        held = client.allowance
        if held is not None and not held.exhausted:
            return held.spend(now)
        async with client.lock:
            # Another request of the client may have claimed while this one waited.
            held = client.allowance
            if held is None or held.exhausted:
                held = client.allowance = await self._claim(client_id, limit)
            return held.spend(self._clock())

    async def _claim(self, client_id: str, limit: RateLimit) -> Allowance:
        size = slice_size(limit.per_second, limit.burst)
        now = self._clock()
        try:
            # The primary's autocommit engine (Database.reader): the claim is one statement, its
            # own transaction, so PostgreSQL needs no BEGIN and COMMIT around it; on SQLite the
            # driver wraps it in a transaction that waits for the write lock like any other.
            async with self._db.reader.begin() as conn:
                tokens, updated_at = await claim(
                    conn, self._statement, client_id, now, limit.per_second, limit.burst, size
                )
        except (SQLAlchemyError, OSError) as error:
            # Fail open: a rate limiter whose database is busy or away must not take the service
            # down with it (a request that needs the database fails on its own). The slice
            # stands in for a claim, so that a failing database is asked no more often than a
            # working one.
            self._warn(error)
            return Allowance.unlimited(size)
        return Allowance.from_claim(size, tokens, updated_at, now, limit.per_second)

    def _warn(self, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned < _WARN_EVERY_SECONDS:
            return
        self._warned = now
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        log.warning(
            "rate limits not applied: the shared bucket could not be claimed (%s: %s); "
            "requests are admitted until it can (said at most once a minute)",
            type(error).__name__,
            first_line,
        )

    def _client(self, client_id: str, now: float) -> _Client:
        if now - self._swept >= _SWEEP_EVERY_SECONDS:
            self._sweep(now)
        client = self._clients.get(client_id)
        if client is None:
            if len(self._clients) >= MAX_CLIENTS:
                self._sweep(now)
            client = self._clients[client_id] = _Client()
        client.seen = now
        return client

    def _sweep(self, now: float) -> None:
        self._swept = now
        for client_id in [c for c, client in self._clients.items() if client.droppable(now)]:
            del self._clients[client_id]
        if len(self._clients) < MAX_CLIENTS:
            return
        # Still full (that many clients at once): the least recently seen go, but not one whose
        # claim is running, down to nine tenths, so that the next new clients do not sort again.
        idle = sorted(
            (client.seen, client_id)
            for client_id, client in self._clients.items()
            if not client.lock.locked()
        )
        for _seen, client_id in idle[: len(self._clients) - MAX_CLIENTS * 9 // 10]:
            del self._clients[client_id]
