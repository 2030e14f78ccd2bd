"""Engines, sessions and the unit of work.

A request or a CLI command owns the transaction (`unit_of_work`); services take the session they
are given and never commit. SQLite is the embedded default; PostgreSQL is the production engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import orjson
from sqlalchemy import Select, Table, event, insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gateway.replicas import Replicas, Standby, standby_name
from gateway.settings import Settings

# A SELECT of any columns (SQLAlchemy 2.1 types a Select by its column types).
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite.
        cursor = dbapi_connection.cursor()
        # The busy timeout first: setting the journal mode needs a lock, and without the timeout
        # a connection opened while another process writes fails at once ("database is locked").
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _sqlite_driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event open the transaction, instead of the driver's deferred one.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(conn: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another writer (the audit sealer, a CLI command) committed in between: the busy
    # timeout does not apply to that upgrade. Taking the write lock at BEGIN waits instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _json_text(value: Any) -> str:
    # orjson: the audit trail stores a JSON document with every read and the sealer reads it
    # back; the standard library's encoder and decoder were half of the sealer's time.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# What every engine stores and reads in JSON columns.
_JSON_CODEC: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def create_engine(
    settings: Settings,
    *,
    autocommit: bool = False,
    url: str | None = None,
    connect_timeout: float | None = None,
) -> AsyncEngine:
    """The engine of LIG_DATABASE_URL, or of `url` (a standby's)."""
    url = url or settings.database_url
    if is_sqlite(url):
        engine = create_async_engine(url, echo=settings.db_echo, **_JSON_CODEC)
        event.listen(
            engine.sync_engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout_ms)
        )
        if not autocommit:
            event.listen(engine.sync_engine, "connect", _sqlite_driver_autocommit)
            event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_async_engine(
        url,
        echo=settings.db_echo,
        **_JSON_CODEC,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        # An autocommit pool for reads: a connection whose isolation level is only switched at
        # checkout still wraps the pre-ping in BEGIN … ROLLBACK (measured: 3 extra round trips
        # per lookup), one that is always in autocommit pings with a bare ";".
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
        # asyncpg waits 60 s for a connection by default: too long to learn a standby is away.
        **({"connect_args": {"timeout": connect_timeout}} if connect_timeout else {}),
    )


def is_busy(error: BaseException) -> bool:
    """Whether a database error means "busy, retry" rather than a fault: SQLite's write lock
    held past the busy timeout, or PostgreSQL's lock_timeout (SQLSTATE 55P03)."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    return "database is locked" in str(original) or getattr(original, "sqlstate", "") == "55P03"


class Database:
    """One engine and its session factory, made once per process (in the app's lifespan)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        # Reads outside a unit of work (Context.fetch) and single-statement writes (the audit
        # record of a read). On SQLite these keep the driver's deferred transactions, so reads
        # never wait for the write lock that units of work take at BEGIN.
        self.reader = create_engine(settings, autocommit=True)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # Streaming standbys for the reads of requests (gateway/replicas.py decides which).
        self.replicas = Replicas(
            self.reader,
            [
                Standby(
                    standby_name(url),
                    create_engine(
                        settings,
                        autocommit=True,
                        url=url,
                        connect_timeout=settings.database_replica_connect_timeout,
                    ),
                )
                for url in settings.replica_urls
            ],
            max_lag=settings.database_replica_max_lag_seconds,
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends normally and rolls back otherwise."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.reader.dispose()
        await self.replicas.dispose()


async def bulk_insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Write a chunk's rows in the session's transaction, the fastest way each engine has.

    SQLite: executemany, a C loop over one prepared statement. PostgreSQL: COPY. asyncpg runs an
    executemany as one INSERT per row (100,000 statements, 14 s of the database's time for
    100,000 records), and a multi-row VALUES of 1,000 rows costs SQLAlchemy more to build than
    it saves (measured 3 times slower). COPY skips both; the values go through the columns' own
    bind processors (fen for money, UTC for times, JSON text), as an INSERT's would.
    """
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        await session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
    records = [
        tuple(
            row[name] if process is None else process(row[name])
            for name, process in zip(columns, processors, strict=True)
        )
        for row in rows
    ]
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=columns
    )
