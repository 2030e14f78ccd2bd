"""Rate limits: token buckets per client, shared by every process through the database.

The arithmetic on its own first; then `RateLimiter` on real databases (each `Database` standing
for a process of its own); last, two real `lig serve` processes limiting one client together.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import event, text

from gateway.database import Database
from gateway.ratelimit import RateLimiter, limiter
from gateway.ratelimit.bucket import Allowance, refill, slice_size
from gateway.settings import RateLimit, Settings
from tests.conftest import Templates, lig
from tests.support.servers import free_port, start_lig

# ---------------------------------------------------------------------------------------------
# The arithmetic


def test_a_slice_is_a_tenth_of_the_burst_or_50_ms_of_the_rate_at_least_one() -> None:
    assert slice_size(100, 200) == 20
    assert slice_size(1000, 10) == 10  # 50 ms of the rate is 50, but never more than the burst
    assert slice_size(1000, 2000) == 200
    assert slice_size(2000, 1000) == 100
    assert slice_size(1, 5) == 1
    assert slice_size(0.01, 1) == 1


def test_refill_is_capped_by_the_burst_and_never_negative_for_a_clock_behind() -> None:
    assert refill(2.0, 100.0, 101.5, rate=2, burst=10) == 5.0
    assert refill(2.0, 100.0, 200.0, rate=2, burst=10) == 10.0
    # Another host wrote the bucket at 100 with its clock ahead of ours (99): nothing added.
    assert refill(2.0, 100.0, 99.0, rate=2, burst=10) == 2.0
    assert refill(-3.0, 100.0, 101.0, rate=2, burst=10) == -1.0  # still owed to earlier claims


def test_an_allowance_spends_what_was_there_then_each_owed_token_when_it_comes() -> None:
    # A claim of 4 found 2.5 tokens: 2 now, the third at +0.25 s, the fourth at +0.75 s.
    held = Allowance.from_claim(4, tokens_after=-1.5, updated_at=100.0, now=100.0, rate=2)
    assert held.refill == 2.5
    assert held.spend(100.0) is None
    assert held.spend(100.0) is None
    assert held.spend(100.0) == pytest.approx(0.25)
    assert held.spend(100.25) is None
    assert held.spend(100.5) == pytest.approx(0.25)
    assert held.spend(100.75) is None
    assert held.exhausted


def test_owed_tokens_come_after_the_buckets_time_when_its_writer_was_ahead() -> None:
    # The row says 101 (another host's clock); ours says 100: the owed token comes at 101.5.
    held = Allowance.from_claim(1, tokens_after=-1.0, updated_at=101.0, now=100.0, rate=2)
    assert held.spend(100.0) == pytest.approx(1.5)


def test_an_allowance_that_is_all_there_is_spent_at_once() -> None:
    held = Allowance.from_claim(3, tokens_after=7.0, updated_at=50.0, now=50.0, rate=0.001)
    assert [held.spend(50.0) for _ in range(3)] == [None, None, None]
    assert held.exhausted


def test_limits_by_profile_are_read_from_the_environment_as_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "LIG_RATE_LIMITS", '{"medical-security": {"per_second": 500, "burst": 1000}}'
    )
    settings = Settings()
    assert settings.rate_limits == {"medical-security": RateLimit(per_second=500, burst=1000)}
    monkeypatch.setenv("LIG_RATE_LIMITS", '{"medical": {"per_second": 5, "burst": 10}}')
    with pytest.raises(ValidationError, match="unknown profile"):
        Settings()
    monkeypatch.setenv("LIG_RATE_LIMITS", '{"education": {"per_second": -1, "burst": 10}}')
    with pytest.raises(ValidationError):
        Settings()


# ---------------------------------------------------------------------------------------------
# RateLimiter on real databases


@asynccontextmanager
async def limiters(
    url: str, count: int = 1, **settings: Any
) -> AsyncIterator[list[tuple[RateLimiter, Database]]]:
    """`count` limiters, each on a `Database` of its own (as `count` processes would have)."""
    config = Settings(database_url=url, **settings)
    made = [Database(config) for _ in range(count)]
    try:
        yield [(RateLimiter(db, config), db) for db in made]
    finally:
        for db in made:
            await db.dispose()


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Every statement `db` sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engines = {db.engine.sync_engine, db.reader.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def bucket_rows(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM rate_buckets"))).scalar_one())


async def test_the_burst_is_admitted_then_refused_with_the_wait_for_a_token(
    database_url: str,
) -> None:
    async with limiters(database_url, rate_limit_per_second=2, rate_limit_burst=20) as [(lim, _)]:
        started = time.time()
        answers = [await lim.admit("lig_a", None) for _ in range(25)]
        elapsed = time.time() - started
    admitted = answers.count(None)
    assert 20 <= admitted <= 20 + math.floor(2 * elapsed)
    assert answers[:20] == [None] * 20
    waits = [a for a in answers if a is not None]
    assert waits, answers
    # One token every half second: the next is at most half a second away.
    assert all(0 < wait <= 0.5 + 1e-6 for wait in waits), waits


async def test_tokens_come_back_at_the_rate(database_url: str) -> None:
    rate = 10.0
    async with limiters(database_url, rate_limit_per_second=rate, rate_limit_burst=2) as [(lim, _)]:
        while await lim.admit("lig_a", None) is None:
            pass
        emptied = time.time()
        await asyncio.sleep(0.3)
        admitted = 0
        while await lim.admit("lig_a", None) is None:
            admitted += 1
        elapsed = time.time() - emptied
        wait = await lim.admit("lig_a", None)
    # 0.3 s at 10 a second: 3 tokens (a slow machine sleeps longer and gets a few more).
    assert 2 <= admitted <= math.floor(rate * elapsed) + 1, (admitted, elapsed)
    assert wait is not None
    assert 0 < wait <= 1 / rate + 1e-6


async def _hammer(lim: RateLimiter, client_id: str, until: float) -> int:
    """Ask as often as the answers allow until `until`; how many were admitted."""
    admitted = 0
    while time.time() < until:
        wait = await lim.admit(client_id, None)
        if wait is None:
            admitted += 1
        else:
            await asyncio.sleep(min(wait, 0.02))
    return admitted


async def test_two_processes_draw_on_one_bucket(database_url: str) -> None:
    rate, burst = 20.0, 40
    size = slice_size(rate, burst)
    async with limiters(
        database_url, count=2, rate_limit_per_second=rate, rate_limit_burst=burst
    ) as pair:
        started = time.time()
        first, second = await asyncio.gather(
            *(_hammer(lim, "lig_shared", started + 1.2) for lim, _ in pair)
        )
        elapsed = time.time() - started
        rows = await bucket_rows(pair[0][1])
    total = first + second
    assert rows == 1
    assert total <= burst + rate * elapsed + 2 * size, (first, second, elapsed)
    # Both drew on it, and between them they had the burst and much of the refill (what each
    # held at the end is lost).
    assert min(first, second) > 0, (first, second)
    assert total >= burst + rate * 1.2 / 2 - 2 * size, (first, second, elapsed)


async def test_a_profiles_limit_overrides_the_default(database_url: str) -> None:
    by_profile = {
        "medical-security": RateLimit(per_second=0.01, burst=10),
        "public-security": RateLimit(per_second=0, burst=1),
    }
    async with limiters(
        database_url, rate_limit_per_second=0.01, rate_limit_burst=3, rate_limits=by_profile
    ) as [(lim, db)]:

        async def admitted(client_id: str, profile: str | None) -> int:
            return [await lim.admit(client_id, profile) for _ in range(20)].count(None)

        assert await admitted("lig_none", None) == 3
        assert await admitted("lig_education", "education") == 3
        assert await admitted("lig_medical", "medical-security") == 10
        # A profile without a limit, where the default has one.
        with statements(db) as seen:
            assert await admitted("lig_police", "public-security") == 20
        assert seen == []


async def test_rate_zero_is_no_limit_and_no_database_write(database_url: str) -> None:
    async with limiters(database_url, rate_limit_per_second=0, rate_limit_burst=1) as [(lim, db)]:
        with statements(db) as seen:
            answers = [await lim.admit("lig_a", "education") for _ in range(500)]
        assert answers == [None] * 500
        assert seen == []
        assert await bucket_rows(db) == 0


async def test_refusals_while_the_bucket_is_empty_cost_no_statement(database_url: str) -> None:
    async with limiters(database_url, rate_limit_per_second=1, rate_limit_burst=4) as [(lim, db)]:
        with statements(db) as seen:
            while await lim.admit("lig_a", None) is None:
                pass
        # One claim per slice, the last of them finding the bucket empty.
        assert len([s for s in seen if "rate_buckets" in s]) == 4 + 1
        with statements(db) as seen:
            refusals = [await lim.admit("lig_a", None) for _ in range(1000)]
        assert seen == []
        assert all(wait is not None and 0 < wait <= 1 for wait in refusals)


async def test_concurrent_requests_of_a_client_make_one_claim(database_url: str) -> None:
    async with limiters(database_url, rate_limit_per_second=1, rate_limit_burst=50) as [(lim, db)]:
        with statements(db) as seen:
            answers = await asyncio.gather(*(lim.admit("lig_a", None) for _ in range(5)))
        assert answers == [None] * 5
        assert len([s for s in seen if "rate_buckets" in s]) == 1


async def test_a_failing_database_admits_and_says_so_once(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with limiters(database_url, rate_limit_per_second=1, rate_limit_burst=10) as [(lim, db)]:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP TABLE rate_buckets"))
        with caplog.at_level(logging.WARNING, logger="lig.ratelimit"), statements(db) as seen:
            answers = [await lim.admit("lig_a", None) for _ in range(30)]
        assert answers == [None] * 30
        # No more often than a working database: one attempt per slice (of 1 token here).
        assert len([s for s in seen if "rate_buckets" in s]) == 30
        warnings = [r for r in caplog.records if r.name == "lig.ratelimit"]
        assert len(warnings) == 1
        assert "rate limits not applied" in warnings[0].getMessage()


async def test_idle_clients_are_forgotten_and_the_clients_kept_are_bounded(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limiter, "MAX_CLIENTS", 5)
    offset = 0.0
    settings = Settings(database_url=database_url, rate_limit_per_second=100, rate_limit_burst=10)
    db = Database(settings)
    try:
        lim = RateLimiter(db, settings, clock=lambda: time.time() + offset)
        for n in range(20):
            assert await lim.admit(f"lig_{n}", None) is None
        assert len(lim._clients) <= 5
        # An hour later every one of them is idle, with nothing owed: all go at the next sweep.
        offset = 3600.0
        assert await lim.admit("lig_new", None) is None
        assert list(lim._clients) == ["lig_new"]
    finally:
        await db.dispose()


# ---------------------------------------------------------------------------------------------
# Two `lig serve` processes limiting one client together (needs the HTTP wiring: the /graphql
# endpoint answers a request over the limit 429 with Retry-After).

SERVE_RATE, SERVE_BURST = 5.0, 20
SERVE_PROFILE = "medical-security"


@contextmanager
def _two_servers(url: str, tmp_path: Path) -> Iterator[tuple[list[str], list[Path]]]:
    """Two `lig serve` processes on `url`, each in a process group of its own (killed at the
    end); the base URLs and the logs. Started one after the other: each migrates at start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIG_")}
    limits = f'{{"{SERVE_PROFILE}": {{"per_second": {SERVE_RATE}, "burst": {SERVE_BURST}}}}}'
    env |= {
        "LIG_DATABASE_URL": url,
        # One issuer for both (unset, each would name itself by its own port, and refuse the
        # other's tokens).
        "LIG_ISSUER": "http://lig.test",
        "LIG_AUDIT_SEAL_INTERVAL": "3600",
        "LIG_COMPARE_INTERVAL_SECONDS": "0",
        "LIG_WEBHOOK_POLL_SECONDS": "0",
        "LIG_RATE_LIMITS": limits,
    }
    procs: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    logs: list[Path] = []
    try:
        for n in range(2):
            port = free_port()
            log = tmp_path / f"serve-{n}.log"
            args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
            procs.append(start_lig(args, env=env, cwd=tmp_path, log=log))
            bases.append(f"http://127.0.0.1:{port}")
            logs.append(log)
            deadline = time.monotonic() + 60
            while True:
                assert procs[-1].poll() is None, log.read_text()[-3000:]
                try:
                    if httpx.get(bases[-1] + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "not ready in 60 s\n" + log.read_text()[-3000:]
                time.sleep(0.2)
        yield bases, logs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


async def _send_until(base: str, token: str, until: float, statuses: list[int]) -> list[str]:
    """POST `{ __typename }` to `base` until `until`, noting each status; the Retry-After
    headers of the 429s."""
    retry_after: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        while time.time() < until:
            response = await http.post(
                "/graphql", json={"query": "{ __typename }"}, headers=headers
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry_after.append(response.headers.get("retry-after", ""))
                await asyncio.sleep(0.005)
    return retry_after


@pytest.fixture
def postgres_url(templates: Templates) -> str:
    """A migrated, empty PostgreSQL database (the processes share it as production would)."""
    return templates.fresh("postgresql", demo=False)


@pytest.mark.slow
async def test_two_lig_serve_processes_limit_one_client_together(
    postgres_url: str, tmp_path: Path
) -> None:
    url = postgres_url
    added = lig(
        "clients", "add", "--name", "rate test", "--agency", SERVE_PROFILE,
        "--profile", SERVE_PROFILE, url=url,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    credentials = json.loads(added.stdout)
    size = slice_size(SERVE_RATE, SERVE_BURST)
    with _two_servers(url, tmp_path) as (bases, logs):
        # The token request may be limited too (it then spends from the same bucket): the window
        # opens before it.
        started = time.time()
        async with httpx.AsyncClient(base_url=bases[0], timeout=10) as http:
            response = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(credentials["client_id"], credentials["client_secret"]),
            )
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        until = time.time() + 2.0
        # Two connections to each process, so that each also has requests of the client racing.
        per_server: list[list[int]] = [[], []]
        waits = await asyncio.gather(
            *(
                _send_until(base, token, until, statuses)
                for base, statuses in zip(bases, per_server, strict=True)
                for _ in range(2)
            )
        )
        elapsed = time.time() - started
    ok = [statuses.count(200) for statuses in per_server]
    refused = [statuses.count(429) for statuses in per_server]
    assert set().union(*map(set, per_server)) <= {200, 429}, per_server
    assert sum(ok) <= SERVE_BURST + SERVE_RATE * elapsed + 2 * size, (ok, elapsed)
    assert sum(ok) >= SERVE_BURST, ok
    assert all(n > 0 for n in ok), ok  # both processes admitted some
    assert all(n > 0 for n in refused), refused  # and both refused some
    retry_after = [value for server in waits for value in server]
    assert all(value.isdigit() and 1 <= int(value) <= 5 for value in retry_after), retry_after[:20]
