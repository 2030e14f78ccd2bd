"""`lig serve --workers N`: the background jobs run in one process of their own beside the
workers, which `lig serve` restarts when it dies and stops when it stops.

The real server runs as a subprocess. Every refused GraphQL request stores an audit event (an
`UNAUTHENTICATED` one here), and the workers do not seal: an event that gets its place in the
hash chain shows that the jobs' process is at work.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, start_lig
from tests.support.sql import sql

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine")]

JOBS_LINE = re.compile(r"background jobs in process (\d+)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that ended but was not reaped yet is a zombie: gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


async def _wait_for(what: str, check: object, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        result = check() if callable(check) else check
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"{what} within {seconds} s\n" + log.read_text()[-3000:]
        await asyncio.sleep(0.2)


def _jobs_pids(log: Path) -> list[int]:
    return [int(pid) for pid in JOBS_LINE.findall(log.read_text(errors="replace"))]


async def _refused_read(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        response = await http.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 401


async def _all_sealed(url: str, at_least: int) -> bool:
    (row,) = await sql(
        url, "SELECT count(*), count(seq) FROM audit_events WHERE outcome = 'UNAUTHENTICATED'"
    )
    return bool(row[0] >= at_least and row[1] == row[0])


async def test_the_jobs_run_in_their_own_process_restarted_and_stopped_with_the_server(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIG_")}
    env |= {"LIG_DATABASE_URL": database_url, "LIG_AUDIT_SEAL_INTERVAL": "0.3"}
    proc = start_lig(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        log=log,
    )
    try:

        async def ready() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                async with httpx.AsyncClient(base_url=base, timeout=2) as http:
                    return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await _wait_for("the server ready", ready, log)
        await _wait_for("the jobs' process started", lambda: _jobs_pids(log), log)
        (first,) = _jobs_pids(log)

        # The jobs' process seals what the workers store.
        await _refused_read(base)
        await _wait_for("the refused read sealed", lambda: _all_sealed(database_url, 1), log)

        # Killed, it is started again, and the events stored meanwhile are sealed by the next.
        os.kill(first, signal.SIGKILL)
        await _refused_read(base)
        await _wait_for("the jobs' process started again", lambda: len(_jobs_pids(log)) == 2, log)
        second = _jobs_pids(log)[1]
        assert second != first
        await _refused_read(base)
        await _wait_for("every refused read sealed", lambda: _all_sealed(database_url, 3), log)

        # Stopping the server stops the jobs too, and they are not started again.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
        await _wait_for("the jobs' process gone", lambda: not _alive(second), log, seconds=15)
        assert len(_jobs_pids(log)) == 2
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
