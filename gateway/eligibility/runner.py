"""Running compiled eligibility statements on a connection pool of their own (PostgreSQL).

asyncpg's own pool, not SQLAlchemy's: SQLAlchemy pings a connection at every checkout, and
asyncpg's default reset runs `RESET ALL; UNLISTEN *; …` at every release, each one more round
trip per request. Compiled statements are single autocommit statements that leave no session
state behind (no SET, no LISTEN, no open transaction; a failed statement rolls itself back), so
a connection goes back to the pool as it came and each request costs exactly one round trip.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import orjson
from sqlalchemy.engine import make_url

from auth.tokens import AccessToken
from gateway.eligibility.compiled import Plan
from gateway.settings import Settings


async def _no_reset(_connection: asyncpg.Connection) -> None:
    return None


def asyncpg_dsn(database_url: str) -> str:
    """The libpq URL asyncpg takes, from the SQLAlchemy URL the settings hold."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class CompiledEligibility:
    """One per process (the app's lifespan): the pool, opened at first use."""

    def __init__(self, settings: Settings) -> None:
        self._dsn = asyncpg_dsn(settings.database_url)
        self._size = settings.eligibility_pool_size
        # The operation timeout of every GraphQL operation (LIG_GRAPHQL_TIMEOUT_SECONDS), here
        # kept by the server: a statement past it is cancelled, and stores nothing.
        self._timeout_ms = str(round(settings.graphql_timeout_seconds * 1000))
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=0,
                        max_size=self._size,
                        reset=_no_reset,
                        # Statements stay prepared per connection; a few documents at most.
                        statement_cache_size=64,
                        server_settings={"statement_timeout": self._timeout_ms},
                    )
        return self._pool

    async def run(
        self,
        plan: Plan,
        token: AccessToken,
        *,
        request_id: str,
        purpose: str,
        sent: list[str],
        numbers: list[str],
    ) -> bytes | None:
        """The response body, or None when the token's client is refused (nothing stored)."""
        pool = await self._connections()
        row = await pool.fetchrow(
            plan.sql,
            token.client_id,
            token.issued_at,
            orjson.dumps(sorted(token.scopes)).decode(),
            token.jti,
            sent,
            numbers,
            datetime.now(UTC),
            request_id,
            plan.operation.name,
            purpose,
            orjson.dumps(list(plan.operation.fields)).decode(),
        )
        if row is None or row["audited"] != 1:
            return None
        return b'{"data":{"%s":%s}}' % (plan.response_key.encode(), row["answer"].encode())

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
