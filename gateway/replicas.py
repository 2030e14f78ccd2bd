"""Where a read goes: a streaming-replication standby when that is safe, else the primary.

The one place that decides (standbys from LIG_DATABASE_REPLICA_URLS). What may go to a standby:
the reads a request makes outside any unit of work (`Context.fetch`: the GraphQL queries of
departments and of the console). What never does: units of work, the audit inserts, the token's
standing (a revocation counts at once), a mutation's reads (it reads to then write, and reads
back what it wrote), and the background jobs that claim work: they use `Database.engine` and
`Database.reader`, which are the primary's.

Read-your-writes, across processes and hosts: after a unit of work that a client (or a person,
`user:NAME`) committed through a mutation or a push, `note_write` stores the primary's WAL
position for it in `client_write_positions` (one autocommit upsert keeping the greatest), in the
database every process shares. Every request already reads its client's standing from the
primary; that statement reads the position too (auth/tokens.py `standing`), so knowing what a
client must see costs no round trip. A standby serves the client's reads only once it has
replayed that far; until then they go to the primary.

Each process caches what it last learnt of each standby (replay position, lag) and asks again
only when that is older than PROBE_SECONDS or behind what a read needs, on the connection the
read then uses: most reads cost no extra round trip. A standby that is down, lagging more than
LIG_DATABASE_REPLICA_MAX_LAG_SECONDS, cut off from the primary or promoted is skipped, and a read
that fails on a standby runs again on the primary: reads never fail because a standby did.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, cast

from prometheus_client import Counter, Gauge
from sqlalchemy import Table, func, literal_column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnClause

from gateway.models import ClientWritePosition
from gateway.models.base import utcnow

log = logging.getLogger("lig.replicas")

# How old what a process knows of a standby may be before it asks again (its lag may have grown).
PROBE_SECONDS = 1.0
# A standby found behind a client's change is asked again no sooner than this: a client that
# just wrote reads from the primary meanwhile, rather than probing the standby at every read.
REPROBE_BEHIND_SECONDS = 0.05
# A standby that failed (refused or lost a connection) is left alone this long.
DOWN_SECONDS = 5.0

READS = Counter(
    "lig_db_reads_total",
    "Requests whose reads went to a standby or to the primary (with standbys configured)",
    ["target"],
)
_TO_STANDBY, _TO_PRIMARY = READS.labels("standby"), READS.labels("primary")
STANDBY_LAG = Gauge(
    "lig_db_standby_lag_seconds", "Each standby's replay lag when last asked", ["standby"]
)

# Where a standby stands, in one round trip. WAL positions as bytes (pg_lsn - '0/0'): plain
# integers, compared here and stored as bigint. The lag is the age of the last transaction
# replayed while WAL received is still waiting to be replayed, else 0: an idle primary makes no
# lag. `receiving`: a WAL receiver runs (the standby is not cut off from its primary).
_PROBE = text(
    """
    SELECT pg_is_in_recovery() AS in_recovery,
           COALESCE((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0) AS replayed,
           EXISTS (SELECT 1 FROM pg_stat_wal_receiver) AS receiving,
           CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
           END::float8 AS lag
    """
)

# The primary's WAL insert position, not pg_current_wal_lsn() (the position written out): with
# synchronous_commit off a commit returns before its WAL is written, but never before it is
# inserted, so the insert position read after a commit is always past that commit.
_WAL_INSERT_POSITION: ColumnClause[int] = literal_column(
    "(pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"
)


@dataclass(frozen=True, slots=True)
class Probe:
    """What a standby said when last asked."""

    at: float  # time.monotonic() of the answer
    replayed: int  # WAL position replayed, in bytes
    lag: float  # seconds
    streaming: bool  # in recovery with a WAL receiver: not promoted, not cut off


class Verdict(Enum):
    USE = "use"  # read from this standby
    PROBE = "probe"  # ask it where it stands first
    SKIP = "skip"  # read elsewhere


def judge(
    probe: Probe | None, *, needed: int, now: float, max_lag: float, down_until: float = 0.0
) -> Verdict:
    """Whether a read that must see WAL position `needed` (0: anything) may go to a standby of
    which `probe` is the last news. Pure: the whole routing rule."""
    if now < down_until:
        return Verdict.SKIP
    if probe is None or now - probe.at >= PROBE_SECONDS:
        return Verdict.PROBE
    if not probe.streaming or probe.lag > max_lag:
        return Verdict.SKIP
    if probe.replayed >= needed:
        return Verdict.USE
    # Behind the client's own change: it may have replayed it since, so ask again, but not at
    # every read of a client that has just written.
    return Verdict.PROBE if now - probe.at >= REPROBE_BEHIND_SECONDS else Verdict.SKIP


def standby_name(url: str) -> str:
    """host:port/database: how a standby is named in logs and metrics (no user, no password)."""
    parsed = make_url(url)
    return f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"


@dataclass(eq=False)
class Standby:
    name: str
    engine: AsyncEngine  # autocommit, like Database.reader
    probe: Probe | None = None
    down_until: float = 0.0
    # One probe at a time: reads that find the news stale together wait for one answer.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Replicas:
    """The standbys of one process (`Database.replicas`); none on SQLite or when unset."""

    def __init__(
        self,
        primary: AsyncEngine,
        standbys: Sequence[Standby],
        *,
        max_lag: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary  # the primary's autocommit engine (Database.reader)
        self.standbys = list(standbys)
        self.max_lag = max_lag
        self._clock = clock
        self._turn = 0

    @property
    def enabled(self) -> bool:
        return bool(self.standbys)

    async def connect(self, needed: int) -> tuple[AsyncConnection, Standby | None]:
        """A connection for reads that must see WAL position `needed` (0: any): a fit
        standby's (standbys take turns), else the primary's; with the standby, or None."""
        if not self.standbys:
            return await self.primary.connect(), None
        for standby in self._in_turn():
            conn = await self._try(standby, needed)
            if conn is not None:
                _TO_STANDBY.inc()
                return conn, standby
        _TO_PRIMARY.inc()
        return await self.primary.connect(), None

    def failed(self, standby: Standby, error: BaseException) -> None:
        """A read failed on `standby` (the caller runs it again on the primary)."""
        if isinstance(error, DBAPIError) and not error.connection_invalidated:
            # The standby is up: a query cancelled for a conflict with replay, say.
            log.info(
                "a read failed on standby %s (%s); it runs on the primary", standby.name, error
            )
            return
        self._down(standby, error)

    async def note_write(self, client_id: str) -> int | None:
        """After a unit of work for `client_id` committed: keep the primary's WAL position for
        it, the greatest so far, so that its next reads, on any process, wait for a standby that
        has replayed it (or go to the primary). The position; None without standbys."""
        if not self.standbys:
            return None
        try:
            async with self.primary.connect() as conn:
                position = await conn.scalar(_noted(client_id))
        except Exception:
            # The change is committed and its answer stands: at worst the client's next reads
            # see a standby that has not replayed it yet (for at most the allowed lag).
            log.exception("could not note the WAL position of %s's change", client_id)
            return None
        return int(position)

    async def dispose(self) -> None:
        for standby in self.standbys:
            await standby.engine.dispose()

    def _in_turn(self) -> list[Standby]:
        start = self._turn % len(self.standbys)
        self._turn = start + 1
        return self.standbys[start:] + self.standbys[:start]

    def _judge(self, standby: Standby, needed: int) -> Verdict:
        return judge(
            standby.probe,
            needed=needed,
            now=self._clock(),
            max_lag=self.max_lag,
            down_until=standby.down_until,
        )

    async def _try(self, standby: Standby, needed: int) -> AsyncConnection | None:
        verdict = self._judge(standby, needed)
        if verdict is Verdict.PROBE:
            async with standby.lock:
                # Another read may have asked while this one waited for the lock.
                verdict = self._judge(standby, needed)
                if verdict is Verdict.PROBE:
                    return await self._probe(standby, needed)
        if verdict is Verdict.SKIP:
            return None
        try:
            return await standby.engine.connect()
        except Exception as error:
            self._down(standby, error)
            return None

    async def _probe(self, standby: Standby, needed: int) -> AsyncConnection | None:
        """Ask the standby where it stands, on the connection the read then uses if it may."""
        conn: AsyncConnection | None = None
        try:
            conn = await standby.engine.connect()
            row = (await conn.execute(_PROBE)).one()
        except Exception as error:
            if conn is not None:
                await _close_quietly(conn)
            self._down(standby, error)
            return None
        fresh = Probe(
            at=self._clock(),
            replayed=int(row.replayed),
            lag=float(row.lag),
            streaming=bool(row.in_recovery and row.receiving),
        )
        if not fresh.streaming and (standby.probe is None or standby.probe.streaming):
            why = "receives no WAL (cut off?)" if row.in_recovery else "is promoted"
            log.warning("standby %s %s: its reads go to the primary", standby.name, why)
        standby.probe = fresh
        STANDBY_LAG.labels(standby.name).set(fresh.lag)
        if self._judge(standby, needed) is Verdict.USE:
            return conn
        await conn.close()
        return None

    def _down(self, standby: Standby, error: BaseException) -> None:
        log.warning(
            "standby %s failed (%s: %s); reads go elsewhere for %s s",
            standby.name,
            type(error).__name__,
            error,
            DOWN_SECONDS,
        )
        standby.probe = None
        standby.down_until = self._clock() + DOWN_SECONDS


def _noted(client_id: str) -> Any:
    table = cast(Table, ClientWritePosition.__table__)
    statement = postgresql.insert(table).values(
        client_id=client_id, lsn=_WAL_INSERT_POSITION, updated_at=utcnow()
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.client_id],
        # The greatest: a slower request of the same client may commit an older change last.
        set_={
            "lsn": func.greatest(table.c.lsn, statement.excluded.lsn),
            "updated_at": statement.excluded.updated_at,
        },
    ).returning(table.c.lsn)


async def _close_quietly(conn: AsyncConnection) -> None:
    try:
        await conn.close()
    except Exception:  # the connection is broken already; the pool drops it
        log.debug("closing a failed standby connection", exc_info=True)
