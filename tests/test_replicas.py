"""Reads on streaming standbys, with read-your-writes across processes (gateway/replicas.py).

The routing rule alone (`judge`), the settings' refusals, a standby that cannot be reached, and
then a real primary and standby on loopback (tests/support/replication.py) behind two app
instances (two "processes"), with the standby's replay paused so that what it serves is
visibly older than the primary: a client that wrote nothing reads the standby's view, a client
that changed something reads its change at once on either process, and reads go back to the
standby once it has replayed the change, and to the primary when it is gone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.app import create_app
from gateway.replicas import (
    DOWN_SECONDS,
    PROBE_SECONDS,
    REPROBE_BEHIND_SECONDS,
    Probe,
    Replicas,
    Standby,
    Verdict,
    judge,
)
from gateway.settings import Settings
from tests.conftest import Api, _migrate
from tests.support import replication
from tests.support.postgres import _free_port

PG = "postgresql+asyncpg://lig@primary.example/lig"

# ---- The routing rule -------------------------------------------------------------------------

NOW = 1000.0


def _probe(
    age: float = 0.0, replayed: int = 500, lag: float = 0.0, streaming: bool = True
) -> Probe:
    return Probe(at=NOW - age, replayed=replayed, lag=lag, streaming=streaming)


@pytest.mark.parametrize(
    ("probe", "needed", "down_until", "verdict"),
    [
        pytest.param(None, 0, 0.0, Verdict.PROBE, id="never-asked"),
        pytest.param(_probe(), 0, 0.0, Verdict.USE, id="fresh-client-that-wrote-nothing"),
        pytest.param(_probe(), 500, 0.0, Verdict.USE, id="replayed-exactly-the-change"),
        pytest.param(_probe(), 400, 0.0, Verdict.USE, id="replayed-past-the-change"),
        pytest.param(_probe(age=0.01), 501, 0.0, Verdict.SKIP, id="behind-just-asked"),
        pytest.param(
            _probe(age=2 * REPROBE_BEHIND_SECONDS), 501, 0.0, Verdict.PROBE, id="behind-ask-again"
        ),
        pytest.param(_probe(age=PROBE_SECONDS), 0, 0.0, Verdict.PROBE, id="news-too-old"),
        pytest.param(_probe(lag=5.01), 0, 0.0, Verdict.SKIP, id="lagging"),
        pytest.param(_probe(lag=5.0), 0, 0.0, Verdict.USE, id="lag-at-the-limit"),
        pytest.param(_probe(streaming=False), 0, 0.0, Verdict.SKIP, id="cut-off-or-promoted"),
        pytest.param(None, 0, NOW + 1, Verdict.SKIP, id="down"),
        pytest.param(None, 0, NOW, Verdict.PROBE, id="down-no-longer"),
    ],
)
def test_the_routing_rule(
    probe: Probe | None, needed: int, down_until: float, verdict: Verdict
) -> None:
    assert judge(probe, needed=needed, now=NOW, max_lag=5.0, down_until=down_until) == verdict


# ---- The settings ------------------------------------------------------------------------------


def test_replica_urls_are_read_as_a_comma_separated_list() -> None:
    assert Settings(database_url=PG).replica_urls == ()
    settings = Settings(
        database_url=PG,
        database_replica_urls=" postgresql+asyncpg://lig@standby-1/lig ,"
        "postgresql+asyncpg://lig:pw@standby-2:5433/lig,",
    )
    assert settings.replica_urls == (
        "postgresql+asyncpg://lig@standby-1/lig",
        "postgresql+asyncpg://lig:pw@standby-2:5433/lig",
    )


@pytest.mark.parametrize(
    ("primary", "replicas", "says"),
    [
        pytest.param(
            "sqlite+aiosqlite:///./lig.db",
            "postgresql+asyncpg://lig@standby-1/lig",
            "LIG_DATABASE_URL is sqlite",
            id="sqlite-primary",
        ),
        pytest.param(PG, "standby-1", "URL 1 of 1 is not a URL", id="not-a-url"),
        pytest.param(
            PG,
            "postgresql+asyncpg://lig@standby-1/lig,postgresql+asyncpg://lig:s3cret@h:x/lig",
            "URL 2 of 2 is not a URL",
            id="bad-port",
        ),
        pytest.param(
            PG, "sqlite+aiosqlite:///./copy.db", "is not a PostgreSQL standby", id="sqlite-replica"
        ),
        pytest.param(
            PG, "postgresql://lig@standby-1/lig", "is not a PostgreSQL standby", id="no-driver"
        ),
        pytest.param(PG, "postgresql+asyncpg://lig@/lig", "is not a PostgreSQL", id="no-host"),
        pytest.param(PG, PG, "is LIG_DATABASE_URL itself", id="the-primary"),
    ],
)
def test_replica_urls_that_are_refused(primary: str, replicas: str, says: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(database_url=primary, database_replica_urls=replicas)
    message = str(refused.value)
    assert "LIG_DATABASE_REPLICA_URLS" in message
    assert says in message
    assert "s3cret" not in message


# ---- A standby that cannot be reached ---------------------------------------------------------


async def test_a_standby_that_refuses_connections_is_skipped_then_left_alone(
    tmp_path: Any,
) -> None:
    """Reads go to the primary (here a SQLite file); the standby is tried once, then not again
    until DOWN_SECONDS have passed."""
    primary = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'primary.db'}")
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{_free_port()}/lig"
    standby = Standby("closed", create_async_engine(closed, connect_args={"timeout": 2}))
    now = [NOW]
    replicas = Replicas(primary, [standby], max_lag=5.0, clock=lambda: now[0])
    try:
        conn, used = await replicas.connect(0)
        await conn.close()
        assert used is None
        assert standby.down_until == NOW + DOWN_SECONDS
        started = time.monotonic()
        conn, used = await replicas.connect(0)
        await conn.close()
        assert used is None
        assert standby.down_until == NOW + DOWN_SECONDS  # not tried again
        assert time.monotonic() - started < 0.5
        now[0] += DOWN_SECONDS
        conn, used = await replicas.connect(0)
        await conn.close()
        assert standby.down_until == NOW + 2 * DOWN_SECONDS  # tried again, and down again
    finally:
        await replicas.dispose()
        await primary.dispose()


# ---- A real standby ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair() -> Iterator[replication.Pair]:
    started = replication.start_pair()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def replicated(pair: replication.Pair) -> str:
    """The gateway's database on the primary, migrated (and so on the standby)."""
    asyncio.run(_sql(pair.primary, "CREATE DATABASE lig", database="postgres"))
    url = f"{pair.primary}/lig"
    asyncio.run(_migrate(url))
    return url


async def _sql(server: str, sql: str, database: str = "lig") -> Any:
    dsn = server.replace("postgresql+asyncpg://", "postgresql://") + f"/{database}"
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _caught_up(pair: replication.Pair) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    target = await _sql(pair.primary, "SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint")
    deadline = time.monotonic() + 10
    replayed = "SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint"
    while await _sql(pair.standby, replayed) < target:
        assert time.monotonic() < deadline, "the standby did not catch up within 10 s"
        await asyncio.sleep(0.01)


async def _pause_replay(pair: replication.Pair) -> None:
    await _sql(pair.standby, "SELECT pg_wal_replay_pause()")
    while await _sql(pair.standby, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        await asyncio.sleep(0.01)


@asynccontextmanager
async def _serving(url: str, standby: str) -> AsyncIterator[Api]:
    """One gateway process (an app instance with its own Database) on the primary and standby;
    its Api registers clients."""
    settings = Settings(
        database_url=url,
        database_replica_urls=standby,
        # Time passes while replay is paused, and the lag it makes is not under test here.
        database_replica_max_lag_seconds=600,
        audit_seal_interval=3600,
        compare_interval_seconds=0,
        webhook_poll_seconds=0,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, app)


ROUTES = "{ warningRoutes { kind hardshipType dueWorkingDays } }"
SET_ROUTE = """
mutation($days: Int!) {
  setWarningRoute(input: {kind: POLICY_NOT_DELIVERED, hardshipType: MEDICAL,
                          agencies: ["medical-security"], dueWorkingDays: $days,
                          severity: MEDIUM}) { dueWorkingDays }
}
"""
# A write on the primary behind the gateway's back: it shows whether a read saw the primary.
SET_EDUCATION = (
    "UPDATE warning_routes SET due_working_days = {} "
    "WHERE kind = 'POLICY_NOT_DELIVERED' AND hardship_type = 'EDUCATION'"
)


async def _days(api: Api) -> tuple[int, int]:
    """(MEDICAL, EDUCATION): the due days of two routes, as this client reads them."""
    routes = (await api.data(ROUTES))["warningRoutes"]
    days = {
        r["hardshipType"]: r["dueWorkingDays"]
        for r in routes
        if r["kind"] == "POLICY_NOT_DELIVERED"
    }
    return days["MEDICAL"], days["EDUCATION"]


def _as(api: Api, other: Api) -> Api:
    """`other`'s client, through `api`'s process."""
    return Api(api.client, api.app, other.headers)


async def test_reads_go_to_the_standby_except_a_writers_own(
    pair: replication.Pair, replicated: str
) -> None:
    standby = f"{pair.standby}/lig"
    async with _serving(replicated, standby) as one, _serving(replicated, standby) as two:
        writer = await one.as_client(agency="civil-affairs", profile="civil-affairs")
        reader = await one.as_client(agency="civil-affairs", profile="civil-affairs")
        assert await _days(writer) == (10, 10)
        await _caught_up(pair)
        await _pause_replay(pair)
        await _sql(pair.primary, SET_EDUCATION.format(41))

        # (a) A client that wrote nothing is served by the standby: not the primary's 41.
        assert await _days(reader) == (10, 10)
        assert await _days(_as(two, reader)) == (10, 10)

        # (b) A client that changed something sees its change at once, on either process
        # (reading from the primary, where 41 is too); others still get the standby's view.
        changed = await writer.data(SET_ROUTE, {"days": 42})
        assert changed["setWarningRoute"]["dueWorkingDays"] == 42
        assert await _days(writer) == (42, 41)
        assert await _days(_as(two, writer)) == (42, 41)
        assert await _days(reader) == (10, 10)
        assert await _days(_as(two, reader)) == (10, 10)

        # (c) Once the standby has replayed the change, the writer's reads go back to it: paused
        # again, it does not show the primary's next write behind the gateway's back.
        await _sql(pair.standby, "SELECT pg_wal_replay_resume()")
        await _caught_up(pair)
        await _pause_replay(pair)
        await _sql(pair.primary, SET_EDUCATION.format(43))
        # What each process learnt of the standby while it was behind is fresh for a moment.
        await asyncio.sleep(REPROBE_BEHIND_SECONDS)
        assert await _days(writer) == (42, 41)
        assert await _days(_as(two, writer)) == (42, 41)
        assert await _days(reader) == (42, 41)

        # (d) The standby stopped: every read still answers, from the primary.
        await asyncio.to_thread(pair.stop_standby)
        assert await _days(writer) == (42, 43)
        assert await _days(_as(two, writer)) == (42, 43)
        assert await _days(reader) == (42, 43)
        assert await _days(_as(two, reader)) == (42, 43)
