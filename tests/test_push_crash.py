"""A push killed while it is being stored leaves nothing; its retry stores every item once.

The real server runs as a subprocess (`lig serve`) and gets SIGKILL in the middle of storing a
large NDJSON batch of assistance records. There are no hooks in the server: the moment is seen
from outside, on the database itself, once the whole body has been sent —
- PostgreSQL: another backend of the test database holds an open write transaction (it has a
  transaction id) and `assistance_records` has grown on disk, while no row is committed yet;
- SQLite: the write lock is held (a probe's `BEGIN IMMEDIATE` finds the database locked) and the
  write-ahead log has grown, i.e. uncommitted pages are spilling out of the server's cache.
Then: nothing of the batch is visible; a restarted server stores the same request with the same
`Idempotency-Key` in full (201), and the next retry replays that receipt (200) and stores nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

import asyncpg
import httpx
import pytest

from tests.conftest import lig
from tests.support.idnumbers import id_number
from tests.support.servers import free_port, start_lig
from tests.support.sql import sql

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine")]

AGENCY = "medical-security"
# Large enough that storing takes seconds on either engine, so the kill lands part-way.
ITEMS = 60_000
KEY = "crash-test-7f3c2a9e"
# How much the push must have written (uncommitted) before the kill.
GROWN = 4 * 1024 * 1024


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def serve(tmp_path: Path, database_url: str) -> Iterator[Callable[[], Awaitable[Server]]]:
    """Start `lig serve` on the test database (answers once it is ready); every server started
    is killed, with its process group, at teardown."""
    started: list[Server] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIG_")}
    env |= {"LIG_DATABASE_URL": database_url, "LIG_AUDIT_SEAL_INTERVAL": "3600"}

    async def start() -> Server:
        port = free_port()
        log = tmp_path / f"serve-{len(started)}.log"
        proc = start_lig(
            ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp_path, log=log
        )
        server = Server(proc, f"http://127.0.0.1:{port}", log)
        started.append(server)
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=server.base, timeout=2) as http:
            while True:
                assert proc.poll() is None, server.output()
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return server
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server not ready in 60 s\n" + server.output()
                await asyncio.sleep(0.2)

    yield start
    for server in started:
        if server.proc.poll() is None:
            os.killpg(server.proc.pid, signal.SIGKILL)  # its own session: pgid == pid
        server.proc.wait(timeout=30)


def ndjson_batch(count: int) -> bytes:
    """`count` valid assistance records, one per line, each with its own agency record id."""
    day = (date.today() - timedelta(days=30)).isoformat()
    lines = []
    for i in range(count):
        number = id_number(date(1950, 1, 1) + timedelta(days=i // 1000), i % 1000)
        lines.append(
            f'{{"agency_record_id":"CRASH-{i:06d}","kind":"MEDICAL","id_number":"{number}",'
            f'"amount":{i % 100_000 / 100},"date":"{day}","notes":"crash test item {i}"}}\n'
        )
    return "".join(lines).encode()


async def token(base: str, client_id: str, secret: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        response = await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
    assert response.status_code == 200, response.text
    access: str = response.json()["access_token"]
    return access


async def counts(url: str) -> dict[str, int]:
    """What is committed: the agency's records (and distinct record ids), receipts, items."""
    (row,) = await sql(
        url,
        "SELECT (SELECT count(*) FROM assistance_records WHERE agency_code = :agency),"
        " (SELECT count(DISTINCT agency_record_id) FROM assistance_records"
        "  WHERE agency_code = :agency),"
        " (SELECT count(*) FROM push_receipts WHERE agency_code = :agency),"
        " (SELECT count(*) FROM push_receipt_items)",
        agency=AGENCY,
    )
    return dict(zip(("records", "distinct", "receipts", "receipt_items"), row, strict=True))


class Probe(Protocol):
    """Looks at the database from outside the server."""

    def mark(self) -> None:
        """Take the database as it stands as the starting point."""
        ...

    async def storing(self) -> bool:
        """A push is part-way through storing: its transaction is open and has written."""
        ...

    async def settled(self) -> bool:
        """No transaction of the killed server is left open."""
        ...

    async def close(self) -> None: ...


class SqliteProbe:
    """The write lock, tried with `BEGIN IMMEDIATE` and no wait, and the write-ahead log's size:
    an open write transaction spills its pages there (uncommitted) once the cache is full."""

    def __init__(self, url: str) -> None:
        self.path = Path(url.removeprefix("sqlite+aiosqlite:///"))
        self.wal = self.path.with_name(self.path.name + "-wal")
        self.baseline = self._wal_size()

    def _wal_size(self) -> int:
        return self.wal.stat().st_size if self.wal.exists() else 0

    def _locked(self) -> bool:
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            return True
        else:
            conn.execute("ROLLBACK")
            return False
        finally:
            conn.close()

    def mark(self) -> None:
        self.baseline = self._wal_size()

    async def storing(self) -> bool:
        # The size first: once the log has grown, the probe no longer competes for the lock.
        return self._wal_size() >= self.baseline + GROWN and self._locked()

    async def settled(self) -> bool:
        return not self._locked()

    async def close(self) -> None:
        pass


class PostgresProbe:
    """Another backend with a transaction id (it has written, not committed) and the size on
    disk of `assistance_records`, which uncommitted rows grow too."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, url: str) -> PostgresProbe:
        return cls(await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://")))

    async def _writers(self) -> int:
        writers: int = await self.conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
        )
        return writers

    def mark(self) -> None:
        pass

    async def storing(self) -> bool:
        size: int = await self.conn.fetchval("SELECT pg_relation_size('assistance_records')")
        return size >= GROWN and await self._writers() > 0

    async def settled(self) -> bool:
        return await self._writers() == 0

    async def close(self) -> None:
        await self.conn.close()


@pytest.fixture
async def probe(engine: str, database_url: str) -> AsyncIterator[Probe]:
    found: Probe = (
        SqliteProbe(database_url)
        if engine == "sqlite"
        else await PostgresProbe.connect(database_url)
    )
    yield found
    await found.close()


async def streamed(body: bytes, sent: asyncio.Event | None = None) -> AsyncIterator[bytes]:
    """The body in parts (so sent chunked, every time alike); `sent` is set once the last part
    has gone out."""
    step = 256 * 1024
    for start in range(0, len(body), step):
        yield body[start : start + step]
    if sent is not None:
        sent.set()  # the transport asks for the next part only after writing this one


async def push(http: httpx.AsyncClient, access: str, body: AsyncIterator[bytes]) -> httpx.Response:
    return await http.post(
        "/api/v1/assistance-records",
        content=body,
        headers={
            "Authorization": f"Bearer {access}",
            "Content-Type": "application/x-ndjson",
            "Idempotency-Key": KEY,
        },
    )


async def kill_while_storing(
    server: Server, request: asyncio.Task[httpx.Response], sent: asyncio.Event, probe: Probe
) -> None:
    """Wait until the whole body is sent and the probe sees the push part-way through storing."""
    deadline = time.monotonic() + 120
    while not (sent.is_set() and await probe.storing()):
        if request.done():
            error = request.exception()
            answer = (
                f"{request.result().status_code} {request.result().text[:500]}"
                if error is None
                else repr(error)
            )
            pytest.fail(
                f"the push ended before it was seen being stored ({answer}); if it was stored, "
                f"make the batch larger\n{server.output()}"
            )
        assert time.monotonic() < deadline, "the push was not seen being stored in 120 s"
        await asyncio.sleep(0.01)


async def test_a_push_killed_mid_store_leaves_nothing_and_its_retry_stores_it_once(
    database_url: str,
    tmp_path: Path,
    serve: Callable[[], Awaitable[Server]],
    probe: Probe,
) -> None:
    added = lig(
        "clients", "add", "--name", "crash test", "--agency", AGENCY, "--profile", AGENCY,
        url=database_url, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    credentials = json.loads(added.stdout)
    body = ndjson_batch(ITEMS)
    timeout = httpx.Timeout(300, connect=10)

    # 1. Send the batch; once it is all sent and being stored, SIGKILL the server.
    first = await serve()
    access = await token(first.base, credentials["client_id"], credentials["client_secret"])
    probe.mark()  # the database as it stands before the push (client, token, audit rows)
    sent = asyncio.Event()
    async with httpx.AsyncClient(base_url=first.base, timeout=timeout) as http:
        request = asyncio.create_task(push(http, access, streamed(body, sent)))
        try:
            await kill_while_storing(first, request, sent, probe)
            assert (await counts(database_url))["receipts"] == 0  # being stored, not stored
            first.kill()
            try:
                response = await request
            except httpx.TransportError:
                pass
            else:
                pytest.fail(f"the killed server answered {response.status_code}")
        finally:
            request.cancel()

    # 2. Nothing of the batch is there: no record, no receipt, no receipt item. (On PostgreSQL the
    # killed server's backend rolls back once it reads the closed socket; wait for that first.)
    deadline = time.monotonic() + 30
    while not await probe.settled():
        assert time.monotonic() < deadline, "the killed push's transaction is still open"
        await asyncio.sleep(0.1)
    assert await counts(database_url) == {
        "records": 0,
        "distinct": 0,
        "receipts": 0,
        "receipt_items": 0,
    }

    # 3. A new server, the same request with the same key: stored in full, each item once.
    second = await serve()
    access = await token(second.base, credentials["client_id"], credentials["client_secret"])
    async with httpx.AsyncClient(base_url=second.base, timeout=timeout) as http:
        stored = await push(http, access, streamed(body))
        assert stored.status_code == 201, stored.text[:2000]
        assert "idempotent-replayed" not in stored.headers
        receipt = stored.json()
        assert receipt["idempotency_key"] == KEY
        assert receipt["counts"] == {
            "received": ITEMS,
            "accepted": ITEMS,
            "duplicate": 0,
            "rejected": 0,
        }
        assert len(receipt["items"]) == ITEMS
        assert {item["outcome"] for item in receipt["items"]} == {"ACCEPTED"}
        assert [item["index"] for item in receipt["items"]] == list(range(ITEMS))
        assert [item["agency_record_id"] for item in receipt["items"]] == [
            f"CRASH-{i:06d}" for i in range(ITEMS)
        ]
        assert await counts(database_url) == {
            "records": ITEMS,
            "distinct": ITEMS,
            "receipts": 1,
            "receipt_items": 0,
        }
        assert await sql(
            database_url,
            "SELECT count(*), count(DISTINCT receipt_index) FROM assistance_records"
            " WHERE receipt_id = :receipt",
            receipt=receipt["id"],
        ) == [(ITEMS, ITEMS)]

        # 4. Once more: the first receipt, replayed; nothing new stored.
        replayed = await push(http, access, streamed(body))
        assert replayed.status_code == 200, replayed.text[:2000]
        assert replayed.headers.get("idempotent-replayed") == "true"
        again = replayed.json()
        assert again["id"] == receipt["id"]
        assert again["counts"] == receipt["counts"]
        assert await counts(database_url) == {
            "records": ITEMS,
            "distinct": ITEMS,
            "receipts": 1,
            "receipt_items": 0,
        }
