"""The typed context of one request: who asks, the database, and the per-request dataloaders."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.database import Database
from gateway.principal import Principal
from gateway.replicas import Standby


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
    # A mutation's reads go to the primary: it reads to then write, and reads back what it
    # wrote (schema/writes.py sets this).
    on_primary: bool = False
    _conn: AsyncConnection | None = None
    _standby: Standby | None = None  # whose connection `_conn` is; None: the primary's
    # One connection per request; resolvers run concurrently, so statements take turns on it.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def fetch(self, statement: Executable) -> Sequence[Row[Any]]:
        async with self._lock:
            if self._conn is None:
                # Reads run in autocommit: no BEGIN/ROLLBACK round trips around a lookup. On a
                # standby when one is fit (gateway/replicas.py): one that has replayed this
                # client's own last change.
                if self.on_primary:
                    self._conn = await self.db.reader.connect()
                else:
                    needed = self.principal.last_write_lsn
                    self._conn, self._standby = await self.db.replicas.connect(needed)
            try:
                result = await self._conn.execute(statement)
            except Exception as error:
                if self._standby is None:
                    raise
                # Reads never fail because a standby did (gone, or a query cancelled by replay):
                # this one, and the request's next ones, run on the primary.
                self.db.replicas.failed(self._standby, error)
                with contextlib.suppress(Exception):  # a broken connection is dropped anyway
                    await self._release()
                self._conn = await self.db.reader.connect()
                result = await self._conn.execute(statement)
            return result.all()

    async def read_from_primary(self) -> None:
        """From now on this request reads from the primary (a mutation begins)."""
        async with self._lock:
            self.on_primary = True
            if self._standby is not None:
                await self._release()

    def saw(
        self, *, households: Iterable[int | None] = (), persons: Iterable[int | None] = ()
    ) -> None:
        self.households_seen.update(h for h in households if h is not None)
        self.persons_seen.update(p for p in persons if p is not None)

    async def close(self) -> None:
        async with self._lock:
            await self._release()

    async def _release(self) -> None:
        conn, self._conn, self._standby = self._conn, None, None
        if conn is not None:
            await conn.close()
