"""The typed context of one request: who asks, the database, and the per-request dataloaders."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.database import Database
from gateway.principal import Principal


@dataclass
class Context:
    db: Database
    principal: Principal
    request_id: str
    loaders: Any = None  # resolvers.loaders.Loaders, made per request
    purpose: str | None = None  # X-Purpose: why the caller needs personal data
    # Whom the answer concerns, for the audit record of the read.
    households_seen: set[int] = field(default_factory=set)
    persons_seen: set[int] = field(default_factory=set)
    _conn: AsyncConnection | None = None
    # One connection per request; resolvers run concurrently, so statements take turns on it.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def fetch(self, statement: Executable) -> Sequence[Row[Any]]:
        async with self._lock:
            if self._conn is None:
                # Reads run in autocommit: no BEGIN/ROLLBACK round trips around a lookup.
                self._conn = await self.db.reader.connect()
            result = await self._conn.execute(statement)
            return result.all()

    def saw(
        self, *, households: Iterable[int | None] = (), persons: Iterable[int | None] = ()
    ) -> None:
        self.households_seen.update(h for h in households if h is not None)
        self.persons_seen.update(p for p in persons if p is not None)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
