"""REST bulk push: 100,000 assistance records as one NDJSON body, and the raw-insert floor.

    .venv/bin/python bench/push.py [--records 100000] [--engine sqlite|postgresql|both]
                                   [--households 4000]

For each engine (a SQLite file; a throwaway PostgreSQL 15 cluster, the eligibility benchmark's:
durability off, pg_stat_statements loaded):

 1. `lig db upgrade`, then `lig demo load --households N` (a small county);
 2. an NDJSON body of `--records` assistance records written to a temp file: `--known-share` of
    them name people of the county (read from `persons`), the rest valid ID numbers nobody has;
    kinds, amounts, one-day payments and periods, person and household records, notes, mixed;
 3. `lig serve` as a subprocess (its pid is checked to be the process that listens on the port:
    uvicorn runs in it, no wrapper), a medical-security client from `lig clients add`, a token
    from POST /oauth/token;
 4. a warm-up push of a tenth of the records (other agency record ids), then the measured push:
    POST /api/v1/assistance-records with an Idempotency-Key, the body streamed from the file in
    64 KiB chunks (chunked transfer encoding), the receipt read to its end. The server's VmRSS
    is sampled every 10 ms during each push, and its VmHWM read before and after; on PostgreSQL
    pg_stat_statements counts the measured push's statements (`--profile DIR`: py-spy too);
 5. checks: every item of the receipt ACCEPTED, in order, the counts, the rows stored for the
    receipt; the same body and key again must replay the first receipt (200) and store nothing;
 6. the gateway stopped, the raw floor: the measured push's rows read back, deleted, and inserted
    again into the same `assistance_records` table (same indexes, constraints and foreign keys)
    in one transaction: PostgreSQL with asyncpg `copy_records_to_table` and with `executemany`,
    SQLite with the standard library's `sqlite3` `executemany`.

Prints a table and writes it to bench/results/push-<date>.txt. Everything listens on 127.0.0.1;
the gateway, the cluster and the temp dir are cleaned up on exit, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

# From the eligibility benchmark: its cluster (durability off, pg_stat_statements loaded), and
# its readers of /proc and a free port.
from eligibility import (  # noqa: E402
    Cluster,
    Interrupted,
    free_port,
    processes,
    take_signals,
    tree_cpu,
)

from tests.support.idnumbers import id_number  # noqa: E402

RESULTS = HERE / "results"
PG_BIN = "/usr/lib/postgresql/15/bin"
LIG = str(Path(sys.executable).parent / "lig")
PY_SPY = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
HZ = os.sysconf("SC_CLK_TCK")
CLIENT = ("--name", "bench-push", "--agency", "medical-security", "--profile", "medical-security")
URL_PATH = "/api/v1/assistance-records"
NDJSON = "application/x-ndjson"
# The columns a pushed row has (all but the generated id), for the raw floor.
COLUMNS = (
    "agency_code agency_record_id revision is_current kind id_number applies_to household_id "
    "person_id amount period_start period_end notes source received_at received_by content_hash "
    "receipt_id receipt_index"
).split()
KINDS = ("MEDICAL",) * 14 + ("TEMPORARY", "EDUCATION", "HOUSING", "DISABILITY_SUBSIDY")
NOTES = ("inpatient, second tier", "outpatient, chronic illness", "catastrophic illness top-up")

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


# ---- /proc: memory, CPU, who listens on a port ----------------------------------------------


def status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def listening_pid(port: int) -> int | None:
    """The process holding the socket that listens on 127.0.0.1:`port` (or any address)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                f = line.split()
                if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{f[9]}]")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{d}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{d}/fd/{fd}") in inodes:
                        return int(d)
    return None


def machine_busy() -> float:
    user, nice, system, _idle, _iowait, irq, softirq = map(
        int, Path("/proc/stat").read_text().split()[1:8]
    )
    return (user + nice + system + irq + softirq) / HZ


class CpuMeter:
    """CPU over an interval, 100 % = one core: the gateway, PostgreSQL (the postmaster and its
    backends), the machine, and the processes that are not this run's (this script and its
    children, the cluster): the noise."""

    def __init__(self, gateway: int | None, postmaster: int | None) -> None:
        self.gateway, self.postmaster = gateway, postmaster
        self.start = self._sample()

    def _sample(self) -> tuple[float, ...]:
        procs = processes()
        gw = procs[self.gateway][1] if self.gateway in procs else 0.0
        pg = tree_cpu(procs, [self.postmaster]) if self.postmaster else 0.0
        return time.perf_counter(), machine_busy(), tree_cpu(procs, [os.getpid()]), gw, pg

    def read(self) -> dict[str, float]:
        wall, busy, mine, gw, pg = (b - a for a, b in zip(self.start, self._sample(), strict=True))
        return {
            "gateway_cpu_pct": 100 * gw / wall,
            "postgres_cpu_pct": 100 * pg / wall,
            "machine_cpu_pct": 100 * busy / wall,
            "other_cpu_pct": max(0.0, 100 * (busy - mine - pg) / wall),
        }


class RssSampler(threading.Thread):
    """VmRSS of one process every `interval` seconds, until stopped."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            kb = status_kb(self.pid, "VmRSS")
            if kb is not None:
                self.samples.append((time.perf_counter(), kb))
            self._halt.wait(self.interval)

    def stop(self) -> list[tuple[float, int]]:
        self._halt.set()
        self.join(5)
        return self.samples


def timeline(samples: list[tuple[float, int]], start: float, end: float) -> list[int]:
    """VmRSS (MiB) last sampled at or before each tenth of [start, end]."""
    out = []
    for i in range(11 if samples else 0):
        at = start + (end - start) * i / 10
        kb = next((kb for t, kb in reversed(samples) if t <= at), samples[0][1])
        out.append(round(kb / 1024))
    return out


# ---- The body ---------------------------------------------------------------------------------


def unknown_numbers(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """Valid ID numbers nobody in the county has (another area code than the demo's 320681)."""
    out: dict[str, None] = {}
    while len(out) < count:
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(90 * 365))
        number = id_number(born, rng.randrange(1, 1000), area=rng.choice(("320682", "320684")))
        if number not in taken:
            out[number] = None
    return list(out)


def write_body(
    path: Path,
    count: int,
    prefix: str,
    known: list[str],
    unknown: list[str],
    share: float,
    rng: random.Random,
) -> dict[str, int]:
    """`count` NDJSON lines; answers how many name a known person."""
    today = dt.date.today()
    named = 0
    with open(path, "w") as f:
        for i in range(count):
            is_known = rng.random() < share
            named += is_known
            item: dict[str, Any] = {
                "agency_record_id": f"{prefix}-{i:09d}",
                "kind": rng.choice(KINDS),
                "id_number": rng.choice(known if is_known else unknown),
                "amount": rng.randint(100, 2_000_000) / 100,
            }
            start = today - dt.timedelta(days=rng.randint(0, 360))
            if rng.random() < 0.8:
                item["date"] = start.isoformat()
            else:
                item["period_start"] = start.isoformat()
                item["period_end"] = (start + dt.timedelta(days=rng.choice((30, 90)))).isoformat()
            if rng.random() < 0.1:
                item["applies_to"] = "HOUSEHOLD"
            if rng.random() < 0.2:
                item["notes"] = rng.choice(NOTES)
            f.write(json.dumps(item, separators=(",", ":")) + "\n")
    return {"records": count, "known": named, "bytes": path.stat().st_size}


def chunks(path: Path, sent: dict[str, float]) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while block := f.read(65536):
            yield block
    sent["body_sent"] = time.perf_counter()


# ---- The engines ------------------------------------------------------------------------------


class Engine(ABC):
    """A database for one run: its URL for `lig`, and raw access for checks and the floor."""

    name = ""
    url = ""
    postmaster: int | None = None

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp

    @abstractmethod
    def start(self) -> None:
        """Create the database (and its server) and make `url` point at it."""

    @abstractmethod
    def stop(self) -> None:
        """Remove what `start` made."""

    @abstractmethod
    def track(self) -> None:
        """Start counting statements for `statements` (where the engine can)."""

    def statements(self) -> list[dict[str, Any]]:
        """The statements run since `track`, where the engine counts them."""
        return []

    @abstractmethod
    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of one statement, read directly (not through the gateway)."""

    @abstractmethod
    def raw_floor(self, receipt_id: str) -> list[dict[str, Any]]:
        """Insert the receipt's rows again with the engine's fastest bulk path; the timings."""


class SqliteEngine(Engine):
    name = "sqlite"

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        self.path = tmp / "lig.db"
        self.url = f"sqlite+aiosqlite:///{self.path}"

    def start(self) -> None:
        # A file: `lig db upgrade` creates it. No server to start, stop, or count statements of.
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def stop(self) -> None:
        return None

    def track(self) -> None:
        return None

    def connect(self) -> sqlite3.Connection:
        # The gateway's own pragmas (gateway/database.py), driver transactions off.
        conn = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(self.connect()) as conn:
            return conn.execute(sql.replace("$1", "?"), args).fetchall()

    def raw_floor(self, receipt_id: str) -> list[dict[str, Any]]:
        cols = ", ".join(COLUMNS)
        insert = f"INSERT INTO assistance_records ({cols}) VALUES ({', '.join('?' * len(COLUMNS))})"
        with contextlib.closing(self.connect()) as conn:
            rows = conn.execute(
                f"SELECT {cols} FROM assistance_records WHERE receipt_id = ? "
                "ORDER BY receipt_index",
                (receipt_id,),
            ).fetchall()
            conn.execute("DELETE FROM assistance_records WHERE receipt_id = ?", (receipt_id,))
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            start = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, rows)
            conn.execute("COMMIT")
            seconds = time.perf_counter() - start
            (stored,) = conn.execute(
                "SELECT count(*) FROM assistance_records WHERE receipt_id = ?", (receipt_id,)
            ).fetchone()
        method = "sqlite3 executemany, one transaction"
        return [{"method": method, "rows": stored, "seconds": seconds}]


class PostgresEngine(Engine):
    name = "postgresql"

    def start(self) -> None:
        self.cluster = Cluster(self.tmp, Path(os.environ.get("PG_BIN", PG_BIN)))
        self.cluster.start()
        self.url, self.dsn = self.cluster.sqlalchemy_url, self.cluster.dsn
        self.postmaster = self.cluster.postmaster_pid

    def stop(self) -> None:
        if hasattr(self, "cluster"):
            self.cluster.stop()

    def track(self) -> None:
        """Count statements from now on (pg_stat_statements, top level)."""
        self.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.query("ALTER SYSTEM SET pg_stat_statements.track = 'top'")
        self.query("SELECT pg_reload_conf()")
        self.query("SELECT pg_stat_statements_reset()")

    def statements(self) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT calls, rows, total_exec_time, mean_exec_time, max_exec_time, query "
            "FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' "
            "ORDER BY total_exec_time DESC LIMIT 6"
        )
        self.query("ALTER SYSTEM RESET pg_stat_statements.track")
        self.query("SELECT pg_reload_conf()")
        keys = ("calls", "rows", "total_ms", "mean_ms", "max_ms", "query")
        return [dict(zip(keys, (*r[:5], " ".join(r[5].split())[:90]), strict=True)) for r in rows]

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async def run() -> list[tuple[Any, ...]]:
            conn = await asyncpg.connect(self.dsn)
            try:
                return [tuple(r) for r in await conn.fetch(sql, *args)]
            finally:
                await conn.close()

        return asyncio.run(run())

    def raw_floor(self, receipt_id: str) -> list[dict[str, Any]]:
        return asyncio.run(self._raw_floor(receipt_id))

    async def _raw_floor(self, receipt_id: str) -> list[dict[str, Any]]:
        cols = ", ".join(COLUMNS)
        params = ", ".join(f"${i + 1}" for i in range(len(COLUMNS)))
        insert = f"INSERT INTO assistance_records ({cols}) VALUES ({params})"
        count = "SELECT count(*) FROM assistance_records WHERE receipt_id = $1"
        conn = await asyncpg.connect(self.dsn)
        out = []
        try:
            rows = [
                tuple(r)
                for r in await conn.fetch(
                    f"SELECT {cols} FROM assistance_records WHERE receipt_id = $1 "
                    "ORDER BY receipt_index",
                    receipt_id,
                )
            ]
            for method in ("copy_records_to_table", "executemany"):
                await conn.execute(
                    "DELETE FROM assistance_records WHERE receipt_id = $1", receipt_id
                )
                await conn.execute("VACUUM ANALYZE assistance_records")
                start = time.perf_counter()
                async with conn.transaction():
                    if method == "executemany":
                        await conn.executemany(insert, rows)
                    else:
                        await conn.copy_records_to_table(
                            "assistance_records", records=rows, columns=COLUMNS
                        )
                seconds = time.perf_counter() - start
                stored = await conn.fetchval(count, receipt_id)
                label = f"asyncpg {method}, one transaction"
                out.append({"method": label, "rows": stored, "seconds": seconds})
        finally:
            await conn.close()
        return out


# ---- The gateway ------------------------------------------------------------------------------


class Gateway:
    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "gateway.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""

    def start(self) -> int:
        cmd = [LIG, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, env=self.env, cwd=self.log_path.parent, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"`lig serve` exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        else:
            raise RuntimeError(f"`lig serve` not healthy within 120 s:\n{self.tail()}")
        # Measure the process that serves: the one holding the listening socket.
        holder = listening_pid(self.port)
        if holder != self.proc.pid:
            raise RuntimeError(f"port {self.port} is held by pid {holder}, not {self.proc.pid}")
        log(f"gateway up on {self.base}, pid {self.proc.pid} holds the listening socket")
        return self.proc.pid

    def register(self) -> str:
        r = subprocess.run(
            [LIG, "clients", "add", *CLIENT], env=self.env, capture_output=True, text=True
        )
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith("{")), None)
        if r.returncode or line is None:
            raise RuntimeError(f"`lig clients add` failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        creds = json.loads(line)
        basic = (quote_plus(creds["client_id"]), quote_plus(creds["client_secret"]))
        answer = httpx.post(
            f"{self.base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=basic,
            timeout=30,
        )
        answer.raise_for_status()
        self.token = answer.json()["access_token"]
        return str(creds["client_id"])

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def errors(self) -> list[str]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [ln for ln in text.splitlines() if "Traceback" in ln or "ERROR" in ln]

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful stop), SIGKILL after 10 s: when the run is interrupted
        mid-push, uvicorn would otherwise wait for the push to end."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def push(
        self,
        body: Path,
        key: str,
        timeout: float,
        postmaster: int | None,
        profile: Path | None = None,
    ) -> dict[str, Any]:
        """POST the body; time it, sample the server's memory, read the whole receipt.
        With `profile`, py-spy samples the server's stacks meanwhile (collapsed stacks)."""
        assert self.proc is not None
        pid = self.proc.pid
        headers = {
            "authorization": f"Bearer {self.token}",
            "content-type": NDJSON,
            "idempotency-key": key,
        }
        before = {k: status_kb(pid, k) for k in ("VmRSS", "VmHWM")}
        sampler = RssSampler(pid)
        meter = CpuMeter(pid, postmaster)
        sent: dict[str, float] = {}
        spy = None
        if profile is not None:
            cmd = [PY_SPY, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
            spy = subprocess.Popen(
                [*cmd, "--nonblocking", "--output", str(profile)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)  # py-spy attaches
        sampler.start()
        start = time.perf_counter()
        with (
            httpx.Client(timeout=httpx.Timeout(timeout, connect=10)) as client,
            client.stream(
                "POST", self.base + URL_PATH, content=chunks(body, sent), headers=headers
            ) as response,
        ):
            first = time.perf_counter()
            data = response.read()
        done = time.perf_counter()
        samples = sampler.stop()
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        cpu = meter.read()
        after_hwm = status_kb(pid, "VmHWM")
        peak_at, peak = max(samples, key=lambda s: s[1]) if samples else (done, 0)
        out: dict[str, Any] = {
            "status": response.status_code,
            "replayed": response.headers.get("idempotent-replayed") == "true",
            "wall_s": done - start,
            "body_sent_s": sent.get("body_sent", first) - start,
            "headers_s": first - start,
            "receipt_s": done - first,
            "receipt_bytes": len(data),
            "rss_before_kb": before["VmRSS"],
            "hwm_before_kb": before["VmHWM"],
            "rss_peak_kb": max(peak, after_hwm or 0)
            if (after_hwm or 0) > (before["VmHWM"] or 0)
            else peak,
            "rss_peak_sampled_kb": peak,
            "rss_peak_at_s": peak_at - start,
            "rss_after_kb": samples[-1][1] if samples else None,
            "hwm_after_kb": after_hwm,
            "samples": len(samples),
            # VmRSS at each tenth of the push, MiB: flat when the push streams.
            "rss_timeline_mib": timeline(samples, start, done),
        } | cpu
        out["receipt"] = json.loads(data) if data.startswith(b"{") else data[:2000].decode()
        return out


# ---- One engine, start to end -----------------------------------------------------------------


def run(cmd: list[str], env: dict[str, str]) -> tuple[str, float]:
    start = time.perf_counter()
    done = subprocess.run([LIG, *cmd], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"lig {' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return done.stdout, time.perf_counter() - start


def check_receipt(push: dict[str, Any], records: int) -> list[str]:
    """What is wrong with a receipt that should accept every item, in order."""
    receipt = push["receipt"]
    if push["status"] not in (200, 201) or not isinstance(receipt, dict):
        return [f"HTTP {push['status']}: {str(receipt)[:500]}"]
    problems = []
    want = {"received": records, "accepted": records, "duplicate": 0, "rejected": 0}
    if receipt["counts"] != want:
        problems.append(f"counts {receipt['counts']}, expected {want}")
    items = receipt["items"]
    outcomes = Counter(item["outcome"] for item in items)
    if len(items) != records or outcomes != Counter(ACCEPTED=records):
        problems.append(f"{len(items)} items in the receipt, outcomes {dict(outcomes)}")
    if [item["index"] for item in items] != list(range(len(items))):
        problems.append("receipt items not in index order 0..n-1")
    rejected = [item for item in items if item["outcome"] == "REJECTED"][:3]
    if rejected:
        problems.append(f"first rejections: {rejected}")
    return problems


def run_engine(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {"engine": engine.name, "failures": []}
    engine.start()
    env = dict(os.environ, LIG_DATABASE_URL=engine.url, LIG_RATE_LIMIT_PER_SECOND="0")
    _, res["migrate_s"] = run(["db", "upgrade"], env)
    out, res["load_s"] = run(
        ["demo", "load", "--households", str(args.households), "--seed", str(args.seed)], env
    )
    res["loaded"] = json.loads(out)["loaded"]
    log(f"{engine.name}: migrated {res['migrate_s']:.1f}s, demo loaded {res['load_s']:.1f}s")

    rng = random.Random(args.seed)
    known = sorted(r[0] for r in engine.query("SELECT id_number FROM persons"))
    unknown = unknown_numbers(rng, max(1000, len(known)), set(known))
    warm_n = max(100, args.records // 10)
    bodies = {"warm-up": engine.tmp / "warmup.ndjson", "measured": engine.tmp / "push.ndjson"}
    res["warmup_body"] = write_body(
        bodies["warm-up"], warm_n, "BENCH-W", known, unknown, args.known_share, rng
    )
    res["body"] = write_body(
        bodies["measured"], args.records, "BENCH-P", known, unknown, args.known_share, rng
    )
    log(f"{engine.name}: body of {args.records:,} records, {res['body']['bytes'] / 2**20:.1f} MiB")

    gw = Gateway(env, engine.tmp)
    try:
        pid = gw.start()
        res["client_id"] = gw.register()
        res["start_rss_kb"] = status_kb(pid, "VmRSS")
        for label, key in (("warm-up", str(uuid.uuid4())), ("measured", str(uuid.uuid4()))):
            n = res["warmup_body" if label == "warm-up" else "body"]["records"]
            log(f"{engine.name}: {label} push of {n:,} records")
            spy = None
            if args.profile and label == "measured":
                spy = Path(args.profile) / f"push-{engine.name}.folded"
                spy.parent.mkdir(parents=True, exist_ok=True)
            if label == "measured":
                engine.track()
            p = gw.push(bodies[label], key, args.timeout, engine.postmaster, spy)
            if label == "measured":
                res["statements"] = engine.statements()
            problems = check_receipt(p, n)
            res["failures"] += [f"{label} push: {x}" for x in problems]
            receipt = p.pop("receipt")
            p["receipt_id"] = receipt.get("id") if isinstance(receipt, dict) else None
            p["counts"] = receipt.get("counts") if isinstance(receipt, dict) else None
            p["key"] = key
            res[label] = p
            log(
                f"{engine.name}: {label}: HTTP {p['status']} in {p['wall_s']:.1f}s "
                f"({n / p['wall_s']:,.0f} records/s), RSS {p['rss_before_kb'] / 1024:.0f} -> "
                f"peak {p['rss_peak_kb'] / 1024:.0f} MiB, counts {p['counts']}"
                + (f"; PROBLEMS: {problems}" if problems else "")
            )
            if problems:
                raise RuntimeError(f"{label} push failed: {problems[0]}")
        m = res["measured"]
        count = "SELECT count(*) FROM assistance_records WHERE receipt_id = $1"
        res["rows_stored"] = engine.query(count, m["receipt_id"])[0][0]
        res["rows_matched"] = engine.query(
            count + " AND household_id IS NOT NULL", m["receipt_id"]
        )[0][0]
        if res["rows_stored"] != args.records:
            res["failures"].append(f"{res['rows_stored']} rows stored, expected {args.records}")
        # The same body and key again: the first receipt, nothing stored.
        log(f"{engine.name}: replay with the same Idempotency-Key")
        again = gw.push(bodies["measured"], m["key"], args.timeout, engine.postmaster)
        receipt = again.pop("receipt")
        same = isinstance(receipt, dict) and receipt.get("id") == m["receipt_id"]
        rows_after = engine.query(
            "SELECT count(*) FROM assistance_records WHERE agency_record_id LIKE 'BENCH-P-%'"
        )[0][0]
        res["replay"] = again | {"same_receipt": same, "rows_after": rows_after}
        if again["status"] != 200 or not again["replayed"] or not same:
            res["failures"].append(f"replay: HTTP {again['status']}, same receipt {same}")
        if rows_after != args.records:
            res["failures"].append(f"after the replay {rows_after} rows, expected {args.records}")
        res["gateway_errors"] = gw.errors()[:20]
        if res["gateway_errors"]:
            res["failures"].append("gateway log: " + "; ".join(res["gateway_errors"][:3]))
    finally:
        gw.stop()
        if res["failures"]:
            log(f"{engine.name}: gateway log tail:\n{gw.tail()}")

    log(f"{engine.name}: raw floor")
    res["raw"] = engine.raw_floor(res["measured"]["receipt_id"])
    for r in res["raw"]:
        if r["rows"] != args.records:
            res["failures"].append(f"raw floor {r['method']}: {r['rows']} rows")
        rate = r["rows"] / r["seconds"]
        log(f"{engine.name}: {r['method']}: {r['seconds']:.2f}s = {rate:,.0f} rows/s")
    return res


# ---- Report -----------------------------------------------------------------------------------


def mib(kb: int | None) -> str:
    return "?" if kb is None else f"{kb / 1024:.0f} MiB"


def column(r: dict[str, Any], records: int) -> dict[str, str]:
    """One engine's figures, by row label."""
    out: dict[str, str] = {}
    with contextlib.suppress(KeyError, TypeError, IndexError):
        loaded, body, m = r["loaded"], r["body"], r["measured"]
        out["demo county"] = f"{loaded['households']:,} households, {loaded['persons']:,} people"
        out["body (NDJSON)"] = (
            f"{body['records']:,} records, {body['bytes'] / 2**20:.1f} MiB, "
            f"{100 * body['known'] / body['records']:.0f} % name known people"
        )
        out["push wall time, send -> receipt read"] = f"{m['wall_s']:.1f} s"
        out["  body sent (client side)"] = f"{m['body_sent_s']:.1f} s"
        out["  response headers (stored, committed)"] = f"{m['headers_s']:.1f} s"
        out["  receipt streamed"] = f"{m['receipt_s']:.1f} s ({m['receipt_bytes'] / 2**20:.1f} MiB)"
        out["gateway records/s, wall"] = f"{records / m['wall_s']:,.0f}"
        out["gateway records/s, to headers"] = f"{records / m['headers_s']:,.0f}"
        out["receipt counts"] = " ".join(f"{k} {v:,}" for k, v in m["counts"].items())
        out["rows stored (DB count)"] = (
            f"{r['rows_stored']:,} ({r['rows_matched']:,} with a household)"
        )
        w = r["warm-up"]
        out["warm-up push (before)"] = (
            f"{w['counts']['accepted']:,} records in {w['wall_s']:.1f} s, RSS "
            f"{mib(w['rss_before_kb'])} -> peak {mib(w['rss_peak_kb'])}"
        )
        out["gateway RSS at start-up"] = mib(r["start_rss_kb"])
        out["gateway RSS before the push"] = mib(m["rss_before_kb"])
        out["gateway peak RSS during the push"] = (
            f"{mib(m['rss_peak_kb'])} (+{(m['rss_peak_kb'] - m['rss_before_kb']) / 1024:.0f} MiB, "
            f"at {m['rss_peak_at_s']:.1f} s)"
        )
        out["gateway RSS after the push"] = mib(m["rss_after_kb"])
        out["  RSS at each tenth of the push"] = " ".join(map(str, m["rss_timeline_mib"])) + " MiB"
        out["gateway CPU during the push"] = f"{m['gateway_cpu_pct']:.0f} % of a core"
        if r["engine"] == "postgresql":
            out["PostgreSQL CPU during the push"] = f"{m['postgres_cpu_pct']:.0f} % of a core"
        out["machine CPU / other processes"] = (
            f"{m['machine_cpu_pct']:.0f} % / {m['other_cpu_pct']:.0f} % (100 % = a core)"
        )
        rp = r["replay"]
        out["replay, same key"] = (
            f"HTTP {rp['status']} in {rp['wall_s']:.1f} s, same receipt {rp['same_receipt']}, "
            f"rows {rp['rows_after']:,}, peak {mib(rp['rss_peak_kb'])}"
        )
        for i, raw in enumerate(r["raw"], 1):
            rate = raw["rows"] / raw["seconds"]
            out[f"raw floor {i}"] = raw["method"]
            out[f"  raw {i}: time, rows/s"] = f"{raw['seconds']:.2f} s, {rate:,.0f} rows/s"
            out[f"  gateway/raw {i} (wall records/s)"] = f"{records / m['wall_s'] / rate:.3f}"
    out["failures"] = "; ".join(r["failures"]) or "none"
    return out


def render(results: list[dict[str, Any]], args: argparse.Namespace, meta: dict[str, Any]) -> str:
    columns = [column(r, args.records) for r in results]
    labels: list[str] = []  # every column's labels in its order, merged
    for c in columns:
        at = 0
        for label in c:
            if label in labels:
                at = labels.index(label) + 1
            else:
                labels.insert(at, label)
                at += 1
    head = ("figure", *(r["engine"] for r in results))
    rows = [(label, *(c.get(label, "-") for c in columns)) for label in labels]
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]
    table = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (head, tuple("-" * w for w in widths), *rows)
    ]
    intro = [
        f"bench/push.py {' '.join(sys.argv[1:])}".rstrip(),
        f"started {meta['started']}, total {meta['total_s']:.0f} s; {meta['machine']}",
        f"code: {meta['code']}",
        f"other processes before the run: {meta['other_before']:.0f} % of a core; load average "
        f"{meta['loadavg']}",
        "",
    ]
    if meta["code_after"].rsplit(" ", 1)[1] != meta["code"].rsplit(" ", 1)[1]:
        # The gateway reads its code at start-up: engines after the change ran other code.
        intro[3:3] = [f"SOURCES CHANGED DURING THE RUN, at the end: {meta['code_after']}"]
    elif meta["code_after"] != meta["code"]:
        intro[3:3] = [f"(committed during the run, same sources: {meta['code_after']})"]
    tail = []
    for r in results:
        if r.get("statements"):
            tail += [
                "",
                f"{r['engine']}: statements during the measured push (pg_stat_statements, top "
                "level, by execution time)",
                f"{'calls':>7} {'rows':>7} {'total s':>8} {'mean ms':>8} {'max ms':>8}  query",
                *(
                    f"{st['calls']:>7,} {st['rows']:>7,} {st['total_ms'] / 1000:>8.2f} "
                    f"{st['mean_ms']:>8.2f} {st['max_ms']:>8.1f}  {st['query']}"
                    for st in r["statements"]
                ),
            ]
    return "\n".join(intro + table + tail) + "\n"


def code_fingerprint() -> str:
    """The commit, the uncommitted files of the gateway's packages, a hash of their sources."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    packages = ("gateway", "auth", "schema", "resolvers", "adapters")
    status = subprocess.run(
        [*git, "status", "--porcelain", "--", *packages], capture_output=True, text=True
    ).stdout.split("\n")
    h = hashlib.sha256()
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            h.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    changed = [line[3:] for line in status if line.strip()]
    return (
        f"{head.stdout.strip()} + working tree ({len(changed)} files changed: "
        f"{', '.join(changed) or 'none'}), sources sha256 {h.hexdigest()[:12]}"
    )


def machine() -> str:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in open("/proc/cpuinfo")
            if ln.startswith("model name")
        ),
        "?",
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    return f"{os.cpu_count()} x {cpu}, {mem:.1f} GiB, Python {platform.python_version()}"


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--records", type=int, default=100_000, help="records in the measured push")
    p.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--households", type=int, default=4000, help="demo county size")
    p.add_argument("--known-share", type=float, default=0.3, help="records naming known people")
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--timeout", type=float, default=900, help="seconds one push may take")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    p.add_argument(
        "--profile",
        metavar="DIR",
        help="py-spy the gateway during the measured push: DIR/push-<engine>.folded",
    )
    p.add_argument("--out", help="report file (default bench/results/push-<date>.txt)")
    args = p.parse_args()
    take_signals()

    started = dt.datetime.now()
    meter = CpuMeter(None, None)
    time.sleep(2)
    meta = {
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "other_before": meter.read()["other_cpu_pct"],
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "code": code_fingerprint(),
    }
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    tmp = Path(tempfile.mkdtemp(prefix="lig-bench-push-"))
    tmp.chmod(0o711)  # PostgreSQL runs as its own user, in a directory of this one
    results = []
    try:
        for name in engines:
            where = tmp / name
            where.mkdir()
            engine = SqliteEngine(where) if name == "sqlite" else PostgresEngine(where)
            try:
                results.append(run_engine(engine, args))
            except Exception as exc:  # noqa: BLE001 - report it, go on with the next engine
                log(f"{name}: FAILED: {exc}")
                results.append({"engine": name, "failures": [f"{exc}".splitlines()[0]]})
            finally:
                engine.stop()
    except (Interrupted, KeyboardInterrupt) as exc:
        log(f"interrupted ({exc or 'Ctrl-C'})")
        return 130
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    meta["total_s"] = time.perf_counter() - T0
    meta["code_after"] = code_fingerprint()
    report = render(results, args, meta)
    out = Path(args.out) if args.out else RESULTS / f"push-{started:%Y-%m-%d}.txt"
    if not args.out and out.exists():
        out = out.with_name(f"{out.stem}-{started:%H%M%S}.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    log(f"written {out}")
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
