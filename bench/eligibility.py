#!/usr/bin/env python3
"""Eligibility benchmark: `lig serve` against a throwaway PostgreSQL, and the raw-SQL floor.

Run it with `bench/run_eligibility.sh` (see bench/README.md). Steps:

 1. initdb + start a private PostgreSQL 15 cluster in a temp dir (127.0.0.1, free port,
    fsync=off: a benchmark cluster, never for data you want to keep);
 2. `lig demo load --households N` under /usr/bin/time -v: wall time and peak RSS;
 3. VACUUM ANALYZE, then sample existing ID numbers (plus valid unknown ones) into batches;
 4. start one `lig serve` process, register a medical-security client with `lig clients add`
    and get an access token from POST /oauth/token (a gateway without `lig clients`, e.g. an
    older --ref, is called without auth); every request carries `Authorization: Bearer` and
    `X-Purpose`. Warm up, then wrk (concurrency 8) for R rounds of D seconds with batches of
    100 IDs and with 1 ID; the gateway's peak RSS is its VmHWM;
 5. check the gateway's answers against the raw SQL for a sample of batches, count the SQL
    statements the gateway runs per request (pg_stat_statements), and compare the READ audit
    events the run wrote with the eligibility requests the gateway answered;
 6. the raw-SQL floor: the same batches as one SQL statement each, asyncpg, 8 connections,
    8 concurrent workers, same rounds;
 7. print a report and write bench/results/eligibility-<date>.md (+ .json).

Everything listens on 127.0.0.1 only, every wait is bounded in time, and the server and the
cluster are stopped (and the temp dir removed) on exit, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import hashlib
import io
import json
import math
import os
import platform
import pwd
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
LUA = HERE / "eligibility.lua"
DEFAULT_HOUSEHOLDS = 460_000
HZ = os.sysconf("SC_CLK_TCK")
SCENARIOS = {"batch100": 100, "batch1": 1}

QUERY = (
    "query($ids:[String!]!){ eligibility(idNumbers:$ids)"
    "{ idNumber found category status validUntil } }"
)
# Sent as X-Purpose with every request (the gateway requires one for personal data, <= 200 chars).
PURPOSE = "lig benchmark: eligibility lookups under load (bench/eligibility.py)"
# Who the benchmark is: a department client with the medical-security profile.
CLIENT = ("--name", "bench", "--agency", "medical-security", "--profile", "medical-security")
# The statement gateway/eligibility/lookup.py builds on PostgreSQL, written out by hand.
RAW_SQL = (
    "SELECT p.id_number, p.deceased_on, h.category, h.status, h.valid_until "
    "FROM persons p "
    "LEFT JOIN memberships m ON m.person_id = p.id AND m.left_on IS NULL "
    "LEFT JOIN households h ON h.id = m.household_id "
    "WHERE p.id_number = ANY($1::char(18)[])"
)

# A benchmark cluster: modest memory, durability off (fsync etc.) because nothing here is kept.
# pg_stat_statements is loaded but tracks nothing except while the statements are counted.
PG_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_buffers": "'1GB'",
    "effective_cache_size": "'4GB'",
    "work_mem": "'16MB'",
    "maintenance_work_mem": "'512MB'",
    "max_connections": "60",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "'8GB'",
    "checkpoint_timeout": "'30min'",
    "jit": "off",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "none",
}

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


class Interrupted(BaseException):
    pass


def _on_signal(signum: int, _frame: Any) -> None:
    raise Interrupted(f"signal {signal.Signals(signum).name}")


def take_signals() -> None:
    """SIGTERM and SIGHUP raise Interrupted, so that a benchmark cleans up (servers, clusters,
    temp dirs) on its way out; Ctrl-C raises KeyboardInterrupt even when a background job of a
    non-interactive shell started with SIGINT ignored."""
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))]


def body(ids: list[str]) -> dict[str, Any]:
    return {"query": QUERY, "variables": {"ids": ids}}


# --------------------------------------------------------------------------------------------
# ID numbers (GB 11643-1999), written here independently of gateway.domain.idnumber.

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(area: str, born: dt.date, seq: int) -> str:
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return (
        first17
        + "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]
    )


# --------------------------------------------------------------------------------------------
# CPU accounting: the gateway, everything this run started, and the rest of the machine


def processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and of its exited, waited-for children)."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(d)] = (int(f[1]), sum(int(x) for x in f[11:15]) / HZ)
    return out


def tree_cpu(procs: dict[int, tuple[int, float]], roots: list[int]) -> float:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    seen: set[int] = set()
    todo = [r for r in roots if r in procs]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return sum(procs[pid][1] for pid in seen)


def machine_cpu() -> tuple[float, float]:
    """(busy, stolen by the hypervisor) CPU seconds over all cores since boot (/proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq) / HZ, steal / HZ


class CpuMeter:
    """CPU use over an interval, 100 % = one core: the machine, the gateway process (with its
    children: `lig serve --workers N` serves from N worker processes), and the processes that
    are neither this run's (itself, its children, its PostgreSQL) nor idle, and the
    hypervisor's steal."""

    def __init__(self, gateway_pid: int | None = None, postmaster_pid: int | None = None) -> None:
        self.gateway, self.roots = gateway_pid, [os.getpid(), *filter(None, [postmaster_pid])]
        self.start = self._sample()

    def _sample(self) -> tuple[float, ...]:
        procs = processes()
        gw = tree_cpu(procs, [self.gateway]) if self.gateway else 0.0
        return time.perf_counter(), *machine_cpu(), tree_cpu(procs, self.roots), gw

    def read(self) -> dict[str, float]:
        wall, busy, steal, ours, gw = (
            b - a for a, b in zip(self.start, self._sample(), strict=True)
        )
        out = {
            "machine_cpu_pct": 100 * busy / wall,
            "other_cpu_pct": max(0.0, 100 * (busy - ours) / wall),  # >= 0: accounting noise
            "steal_pct": 100 * steal / wall,
        }
        if self.gateway:
            out["gateway_cpu_pct"] = 100 * gw / wall
        return out


def machine_info() -> dict[str, Any]:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in open("/proc/cpuinfo")
            if ln.startswith("model name")
        ),
        "?",
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def code_fingerprint(src: Path, ref: str | None) -> dict[str, str]:
    """The commit (of --ref, else HEAD) and a hash of the gateway's sources under `src` now."""
    git = ["git", "-C", str(ROOT), "rev-parse", "--short", ref or "HEAD"]
    head = subprocess.run(git, capture_output=True, text=True).stdout.strip() or "(no commit)"
    h = hashlib.sha256()
    for pkg in ("gateway", "schema", "resolvers", "adapters", "auth"):
        for path in sorted((src / pkg).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".graphql", ".txt", ".ini"}:
                h.update(str(path.relative_to(src)).encode() + path.read_bytes())
    where = f"`git archive {ref}`" if ref else "working tree"
    return {"git_head": head, "where": where, "sources_sha256": h.hexdigest()[:16]}


def export_ref(ref: str, dest: Path) -> Path:
    """The sources of commit `ref` in `dest` (git archive reads the repository, changes nothing)."""
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True, timeout=120
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(dest, filter="data")
    return dest


def proc_status_mb(pid: int, key: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------------------------
# PostgreSQL


class Cluster:
    def __init__(self, tmp: Path, pg_bin: Path) -> None:
        self.tmp, self.bin, self.data = tmp, pg_bin, tmp / "pgdata"
        self.port = free_port()
        self.started = False
        self.as_pg: list[str] = []
        if os.geteuid() == 0:  # postgres refuses to run as root
            pw = pwd.getpwnam("postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]
            os.chown(tmp, pw.pw_uid, pw.pw_gid)
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/lig"
        self.sqlalchemy_url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/lig"

    def pg(self, tool: str, *args: str, timeout: float = 150, check: bool = True) -> None:
        cmd = [*self.as_pg, str(self.bin / tool), *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")

    def start(self) -> None:
        self.pg(
            "initdb", "-D", str(self.data), *"--auth=trust -U postgres -E UTF8 --locale=C".split()
        )
        conf = dict(PG_SETTINGS, port=str(self.port), unix_socket_directories=f"'{self.data}'")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n# lig bench\n" + "".join(f"{k} = {v}\n" for k, v in conf.items()))
        log_file = str(self.tmp / "postgres.log")
        self.pg("pg_ctl", "-D", str(self.data), "-l", log_file, *"-w -t 120 start".split())
        self.started = True
        self.pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "lig")

    @property
    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if self.started:
            try:
                self.pg(
                    "pg_ctl", "-D", str(self.data), *"-m fast -w -t 60 stop".split(), timeout=90
                )
            except Exception as exc:  # noqa: BLE001 - last resort: immediate stop
                log(f"pg_ctl stop: {exc}; trying immediate mode")
                self.pg("pg_ctl", "-D", str(self.data), *"-m immediate stop".split(), check=False)
            self.started = False

    def version(self) -> str:
        cmd = [str(self.bin / "postgres"), "--version"]
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------------------------------
# Load and data


def load_demo(args: argparse.Namespace, cluster: Cluster, env: dict[str, str]) -> dict[str, Any]:
    time_file = cluster.tmp / "load.time"
    cmd = [args.lig, "demo", "load", "--households", str(args.households), "--seed", str(args.seed)]
    cmd = ["/usr/bin/time", "-v", "-o", str(time_file), *cmd]
    log(f"loading {args.households} households: {' '.join(cmd)}")
    t = time.perf_counter()
    # Own process group, so that an interrupted load is stopped whole (not only /usr/bin/time).
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cluster.tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=args.load_timeout)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    wall = time.perf_counter() - t
    if proc.returncode:
        raise RuntimeError(f"`lig demo load` failed ({proc.returncode}):\n{stdout}\n{stderr}")
    rows: dict[str, int] = next(
        (json.loads(ln)["loaded"] for ln in stdout.splitlines() if ln.startswith("{")), {}
    )
    text = time_file.read_text()

    def field(name: str) -> float:
        m = re.search(rf"{re.escape(name)}: ([\d.]+)", text)
        return float(m.group(1)) if m else float("nan")

    out = {
        "wall_s": wall,
        "rows": rows,
        "peak_rss_mb": field("Maximum resident set size (kbytes)") / 1024,
        "cpu_s": field("User time (seconds)") + field("System time (seconds)"),
    }
    log(f"loaded in {wall:.1f}s, peak RSS {out['peak_rss_mb']:.0f} MB: {rows}")
    return out


async def prepare_data(args: argparse.Namespace, dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        t = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        vacuum_s = time.perf_counter() - t
        persons = await conn.fetchval("SELECT count(*) FROM persons")
        db_size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        # Deterministic sample of existing numbers (same data + same seed => same sample).
        await conn.execute(f"SELECT setseed({(args.seed % 1000) / 1000.0})")
        sql = "SELECT id_number FROM persons ORDER BY random() LIMIT $1"
        known = [r[0] for r in await conn.fetch(sql, args.sample)]
        # Valid numbers (right shape, right check character) that are not in the database.
        rng = random.Random(args.seed)
        want = int(len(known) * args.unknown_share / max(1e-9, 1 - args.unknown_share)) + 50
        unknown: dict[str, None] = {}  # insertion-ordered set
        while len(unknown) < want:
            cands: set[str] = set()
            while len(cands) < 2 * want:
                born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(90 * 365))
                area = rng.choice(["320681", "320682", "320684"])
                cands.add(id_number(area, born, rng.randrange(1000)))
            sql = "SELECT id_number FROM persons WHERE id_number = ANY($1::char(18)[])"
            present = {r[0] for r in await conn.fetch(sql, list(cands))}
            unknown.update(dict.fromkeys(sorted(cands - present)))
        plan = await conn.fetch("EXPLAIN " + RAW_SQL, known[:100])
    finally:
        await conn.close()
    log(
        f"VACUUM ANALYZE {vacuum_s:.1f}s; {persons} persons, db {db_size}; sampled {len(known)} "
        f"known + {want} unknown ID numbers"
    )
    return {
        "vacuum_s": vacuum_s,
        "persons": persons,
        "db_size": db_size,
        "known": known,
        "unknown": list(unknown)[:want],
        # The literal array would fill the page: show its place only.
        "plan": re.sub(r"'\{[^}]*\}'", "'{...100 ID numbers...}'", "\n".join(r[0] for r in plan)),
    }


def make_batches(
    rng: random.Random, known: list[str], unknown: list[str], size: int, count: int, share: float
) -> list[list[str]]:
    out = []
    for _ in range(count):
        n_unknown = sum(rng.random() < share for _ in range(size))
        batch = rng.sample(known, size - n_unknown) + rng.sample(unknown, n_unknown)
        rng.shuffle(batch)
        out.append(batch)
    return out


# --------------------------------------------------------------------------------------------
# The gateway and the raw floor under load


class Gateway:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], tmp: Path) -> None:
        self.args, self.env = args, env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/graphql"
        self.log_path = tmp / "gateway.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_args: list[str] = []  # more `lig serve` options (bench/province.py: --workers)

    def start(self) -> int:
        cmd = [self.args.lig, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += self.extra_args
        log(f"starting gateway: {' '.join(cmd)} (LIG_DB_POOL_SIZE={self.env['LIG_DB_POOL_SIZE']})")
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(
                cmd,
                env=self.env,
                cwd=self.log_path.parent,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"`lig serve` exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    log(f"gateway up on 127.0.0.1:{self.port} (pid {self.proc.pid})")
                    return self.proc.pid
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"`lig serve` not healthy within 120 s:\n{self.log_tail()}")

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                # its own session: the process group holds any worker processes too
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None


class Auth:
    """The benchmark's client of the gateway under test, and its bearer token.

    `lig clients add` (same database) registers a medical-security client; POST /oauth/token
    (client credentials, HTTP Basic) gives a token, fetched again when it has less than 10 minutes
    left. A gateway without `lig clients` (an older --ref) gets no auth headers, as before. The
    headers are also kept in a file for wrk (in the temp dir; the token is never reported)."""

    def __init__(
        self,
        args: argparse.Namespace,
        env: dict[str, str],
        gw: Gateway,
        client: tuple[str, ...] = CLIENT,
        purpose: str = PURPOSE,
        file_name: str = "headers.txt",
    ) -> None:
        self.args, self.env, self.gw = args, env, gw
        self.client, self.purpose = client, purpose
        self.file = gw.log_path.parent / file_name
        self.enabled = False
        self.client_id: str | None = None
        self._secret = ""
        self._token = ""
        self._expires = 0.0

    def register(self) -> bool:
        """Register the client; False when the gateway has no `lig clients` command."""
        run = functools.partial(
            subprocess.run, env=self.env, capture_output=True, text=True, timeout=120
        )
        probe = run([self.args.lig, "clients", "--help"])
        if probe.returncode:
            if "No such command" in probe.stdout + probe.stderr:
                log("this gateway has no `lig clients` command: calling it without auth")
                self.file.write_text("")
                return False
            raise RuntimeError(f"`lig clients --help` failed:\n{probe.stdout}{probe.stderr}")
        r = run([self.args.lig, "clients", "add", *self.client])
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith("{")), None)
        if r.returncode or line is None:
            raise RuntimeError(f"`lig clients add` failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        creds = json.loads(line)
        self.client_id, self._secret = creds["client_id"], creds["client_secret"]
        self.enabled = True
        self.headers()
        log(f"registered client {self.client_id} ({' '.join(self.client)}); token fetched")
        return True

    def headers(self) -> dict[str, str]:
        """The auth headers for a request (a fresh token when needed); {} without auth."""
        if not self.enabled:
            return {}
        if time.monotonic() > self._expires - 600:
            # RFC 6749 2.3.1: both parts of the Basic credentials form-url-encoded.
            basic = (quote_plus(self.client_id or ""), quote_plus(self._secret))
            r = httpx.post(
                f"{self.gw.base}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=basic,
                timeout=30,
            )
            if r.status_code != 200:
                raise RuntimeError(f"POST /oauth/token: HTTP {r.status_code} {r.text[:500]}")
            answer = r.json()
            self._token = answer["access_token"]
            self._expires = time.monotonic() + float(answer.get("expires_in", 3600))
        out = {"Authorization": f"Bearer {self._token}", "X-Purpose": self.purpose}
        self.file.write_text("".join(f"{k}: {v}\n" for k, v in out.items()))
        return out

    def wrk_file(self) -> Path:
        self.headers()  # refresh the file's token if it is near its end
        return self.file


async def audit_rows(dsn: str, client_id: str) -> dict[str, int]:
    """READ audit events of `eligibility` by the benchmark's client, by outcome.

    Polled until two reads 0.2 s apart agree (at most 10 s): a request still in flight when wrk
    stopped stores its event a moment later."""
    sql = (
        "SELECT outcome, count(*) FROM audit_events WHERE kind = 'READ' "
        "AND action = 'eligibility' AND client_id = $1 GROUP BY outcome"
    )
    conn = await asyncpg.connect(dsn)
    try:
        last: dict[str, int] | None = None
        deadline = time.monotonic() + 10
        while True:
            now = {r[0]: r[1] for r in await conn.fetch(sql, client_id)}
            if now == last or time.monotonic() > deadline:
                return now
            last = now
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


def audit_summary(
    by_outcome: dict[str, int], sent: dict[str, int], in_flight: int
) -> dict[str, Any]:
    """The audit events against the requests answered: one OK READ event per request.

    wrk counts the answers it read; a request still in flight when a wrk run stops (at most its
    concurrency) is answered and audited after wrk has gone, so the events may exceed the count
    by up to `in_flight` (concurrency x wrk runs), never fall short of it."""
    rows, requests = sum(by_outcome.values()), sum(sent.values())
    return {
        "rows": rows,
        "requests": requests,
        "difference": rows - requests,
        "in_flight_allowance": in_flight,
        "by_outcome": by_outcome,
        "requests_by_source": sent,
        "ok": 0 <= rows - requests <= in_flight and set(by_outcome) <= {"OK"},
    }


def wrk_round(
    args: argparse.Namespace, url: str, bodies: Path, auth: Auth, duration: int
) -> dict[str, Any]:
    cmd = [args.wrk, f"-t{args.wrk_threads}", f"-c{args.concurrency}", f"-d{duration}s"]
    cmd += ["--timeout", "10s", "-s", str(LUA), url, "--", str(bodies), str(auth.wrk_file())]
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=duration + 60)
    for line in r.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            d = json.loads(line.removeprefix("WRK_JSON "))
            errors = (
                "err_connect",
                "err_read",
                "err_write",
                "err_timeout",
                "non_200",
                "graphql_errors",
            )
            secs = d["duration_us"] / 1e6
            return {
                "rps": d["requests"] / secs,
                **{f"{k}_ms": d[f"{k}_us"] / 1000 for k in ("p50", "p90", "p99", "max")},
                "requests": d["requests"],
                "seconds": secs,
                "errors": sum(d[k] for k in errors),
                "first_error": d["first_error"],
            }
    raise RuntimeError(f"wrk failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")


async def timed_round(
    stmts: list[Any],
    duration: float,
    rng: random.Random,
    ask: Callable[[Any, random.Random], Awaitable[object]],
) -> dict[str, Any]:
    """Each of len(stmts) workers calls `ask(stmt, its rng)` on its own connection until the
    deadline; latency per call. The raw floors' one loop (this file and province_raw.py)."""
    lat: list[float] = []
    deadline = time.perf_counter() + duration

    async def worker(stmt: Any, wrng: random.Random) -> None:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            await ask(stmt, wrng)
            lat.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker(s, random.Random(rng.random())) for s in stmts))
    secs = time.perf_counter() - start
    lat.sort()
    return {
        "rps": len(lat) / secs,
        **{f"p{q}_ms": pct(lat, q / 100) * 1000 for q in (50, 90, 99)},
        "max_ms": lat[-1] * 1000,
        "requests": len(lat),
        "seconds": secs,
        "errors": 0,
    }


async def raw_round(
    stmts: list[Any], batches: list[list[str]], duration: float, rng: random.Random
) -> dict[str, Any]:
    """Random batches of ID numbers, one prepared statement per worker."""

    async def ask(stmt: Any, wrng: random.Random) -> None:
        rows = await stmt.fetch(batches[wrng.randrange(len(batches))], timeout=10)
        _ = {r[0]: r for r in rows}  # hand the rows over by number, as a caller would

    return await timed_round(stmts, duration, rng, ask)


def run_rounds(
    args: argparse.Namespace,
    label: str,
    one: Callable[[int], dict[str, Any]],
    gateway_pid: int | None,
    postmaster_pid: int,
) -> dict[str, Any]:
    """A warm-up, then args.rounds measured rounds; each figure is the median of the rounds."""
    log(f"{label}: warm-up {args.warmup}s")
    warm = one(args.warmup)
    rounds = []
    for i in range(args.rounds):
        meter = CpuMeter(gateway_pid, postmaster_pid)
        r = one(args.duration) | meter.read()
        rounds.append(r)
        gw = f", gateway CPU {r['gateway_cpu_pct']:.0f}%" if gateway_pid else ""
        log(
            f"{label} round {i + 1}/{args.rounds}: {r['rps']:.1f} req/s, p50 {r['p50_ms']:.2f} ms, "
            f"p99 {r['p99_ms']:.2f} ms, errors {r['errors']}{gw}, machine "
            f"{r['machine_cpu_pct']:.0f}%, other processes {r['other_cpu_pct']:.0f}%, "
            f"steal {r['steal_pct']:.0f}%"
        )
        if r["errors"]:
            log(f"  first error: {r['first_error']}")
    keys = "rps p50_ms p90_ms p99_ms machine_cpu_pct other_cpu_pct steal_pct gateway_cpu_pct"
    med = {k: statistics.median(r[k] for r in rounds) for k in keys.split() if k in rounds[0]}
    if warm["errors"]:
        log(f"{label} warm-up: {warm['errors']} errors; first: {warm.get('first_error')}")
    return med | {
        "errors": sum(r["errors"] for r in rounds),
        "warmup_requests": warm["requests"],
        "warmup_errors": warm["errors"],
        "rounds": rounds,
    }


def raw_scenario(
    args: argparse.Namespace, dsn: str, batches: list[list[str]], label: str, postmaster_pid: int
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with asyncio.Runner() as runner:
        conns = [runner.run(asyncpg.connect(dsn)) for _ in range(args.concurrency)]
        try:
            stmts = [runner.run(c.prepare(RAW_SQL)) for c in conns]

            def one(duration: int) -> dict[str, Any]:
                return runner.run(raw_round(stmts, batches, duration, rng))

            return run_rounds(args, label, one, None, postmaster_pid)
        finally:
            for c in conns:
                runner.run(c.close())


# --------------------------------------------------------------------------------------------
# Correctness, and the statements per request


def expected_answers(ids: list[str], rows: list[Any]) -> tuple[list[dict[str, Any]], int]:
    """What eligibility should answer for `ids`, from the raw rows (schema/enums.py semantics):
    unknown -> found false, UNKNOWN; deceased -> DECEASED; no current household -> NO_HOUSEHOLD;
    otherwise the household's status, and its category (and validUntil) only while the status is
    ACTIVE or SUSPENDED, else category NONE."""
    by: dict[str, list[Any]] = {}
    for r in rows:
        by.setdefault(r["id_number"], []).append(r)
    out = []
    for n in ids:
        category, status, valid_until = "NONE", "UNKNOWN", None
        if n in by:
            r = by[n][0]
            if r["deceased_on"] is not None:
                status = "DECEASED"
            elif r["status"] is None:
                status = "NO_HOUSEHOLD"
            else:
                status = r["status"]
                if status in ("ACTIVE", "SUSPENDED") and r["category"] != "NONE":
                    category = r["category"]
                    valid_until = r["valid_until"] and r["valid_until"].isoformat()
        out.append(
            {
                "idNumber": n,
                "found": n in by,
                "category": category,
                "status": status,
                "validUntil": valid_until,
            }
        )
    return out, sum(len(v) > 1 for v in by.values())


async def check_answers(
    args: argparse.Namespace,
    url: str,
    dsn: str,
    batch_sets: dict[str, list[list[str]]],
    headers: dict[str, str],
) -> dict[str, Any]:
    rng = random.Random(args.seed + 7)
    c: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    examples: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        stmt = await conn.prepare(RAW_SQL)
        async with httpx.AsyncClient(timeout=30, headers=headers) as client:
            for name, batches in batch_sets.items():
                for ids in rng.sample(batches, min(args.check_batches, len(batches))):
                    c["batches"] += 1
                    r = await client.post(url, json=body(ids))
                    answer = r.json() if r.status_code == 200 else {}
                    got = (answer.get("data") or {}).get("eligibility")
                    if answer.get("errors") or got is None:
                        c["errors"] += 1
                        examples.append(f"{name}: HTTP {r.status_code} {r.text[:500]}")
                        continue
                    want, duplicates = expected_answers(ids, await stmt.fetch(ids))
                    c["duplicate_rows"] += duplicates
                    if len(got) != len(want):
                        c["length_mismatch"] += 1
                        continue
                    for g, w in zip(got, want, strict=True):
                        c["ids"] += 1
                        statuses[w["status"]] += 1
                        bad = [k for k in w if g.get(k) != w[k]]
                        if bad:
                            c["mismatched_ids"] += 1
                            c.update(f"{k} mismatch" for k in bad)
                            examples.append(f"{name}: gateway {g} raw {w}")
    finally:
        await conn.close()
    ok = c["ids"] > 0 and not (c["mismatched_ids"] or c["errors"] or c["length_mismatch"])
    return {"ok": ok, **c, "statuses": dict(statuses), "examples": examples[:5]}


async def count_statements(
    url: str,
    dsn: str,
    batch_sets: dict[str, list[list[str]]],
    n: int,
    headers: dict[str, str],
    make_body: Callable[[list[str]], dict[str, Any]] = body,
) -> dict[str, Any]:
    """SQL statements PostgreSQL runs per gateway request (pg_stat_statements, track = top).

    Sequential requests; the warm-up cycles through the gateway's pooled connections so that
    each has reloaded the setting. pg_stat_statements does not see the empty statement (";")
    of SQLAlchemy's pool pre-ping, a round trip per checkout. The gateway's audit sealer (a
    background task that hash-chains the stored audit events every few seconds) is counted too:
    its share is spread over the requests. `make_body` makes a request's body of a batch
    (bench/province.py counts a page of households with it too)."""
    conn = await asyncpg.connect(dsn)
    out: dict[str, Any] = {}
    try:
        await conn.execute("ALTER SYSTEM SET pg_stat_statements.track = 'top'")
        await conn.execute("SELECT pg_reload_conf()")
        async with httpx.AsyncClient(timeout=30, headers=headers) as client:

            async def send(batches: list[list[str]]) -> None:
                for ids in batches:
                    r = await client.post(url, json=make_body(ids))
                    if r.status_code != 200 or "errors" in r.json():
                        raise RuntimeError(f"statement count: {r.status_code} {r.text[:500]}")

            await asyncio.sleep(0.5)
            await send((batch_sets.get("batch1") or next(iter(batch_sets.values())))[:50])
            for name, batches in batch_sets.items():
                await conn.execute("SELECT pg_stat_statements_reset()")
                await send(batches[:n])
                rows = await conn.fetch(
                    "SELECT calls, query FROM pg_stat_statements WHERE query NOT LIKE "
                    "'%pg_stat_statements%' AND dbid = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()) ORDER BY calls DESC"
                )
                total = sum(r["calls"] for r in rows)
                out[name] = {
                    "requests": n,
                    "statements": total,
                    "per_request": total / n,
                    "top": [(r["calls"], " ".join(r["query"].split())[:160]) for r in rows[:10]],
                }
                log(f"statements per request, {name}: {total / n:.2f} ({total} for {n})")
    finally:
        await conn.execute("ALTER SYSTEM RESET pg_stat_statements.track")
        await conn.execute("SELECT pg_reload_conf()")
        await conn.close()
    return out


# --------------------------------------------------------------------------------------------
# Report


def fmt(x: Any, nd: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.{nd}f}" if isinstance(x, float) else str(x)


def other_steal(r: dict[str, Any]) -> str:
    return f"{r['other_cpu_pct']:.0f} % / {r['steal_pct']:.0f} %"


def render(res: dict[str, Any]) -> str:
    a, ld, mi, data = res["args"], res["load"], res["machine"], res["data"]
    settings = ", ".join(f"{k}={v.strip(chr(39))}" for k, v in PG_SETTINGS.items())
    code = res["code"]
    quick = res.get("quick")
    au = res.get("auth") or {}
    if au.get("enabled"):
        auth_line = (
            f"- Auth and audit on: every request carries `Authorization: Bearer` (a token of "
            f"client {au['client_id']}, registered with `lig clients add {au['client']}`, from "
            f"POST /oauth/token) and `X-Purpose: {au['purpose']}`; the gateway checks the "
            "token's client and stores one READ audit event per eligibility request."
        )
    elif au:
        auth_line = "- Auth: none (this gateway has no `lig clients` command)."
    else:
        auth_line = "- Auth: not reached (the gateway failed to start)."
    L = [
        f"# Eligibility benchmark, {res['started']}" + (" (quick run)" if quick else ""),
        "",
        f"Command: `{res['command']}`",
        "",
    ]
    if quick:
        L += [
            "**Quick run**: smaller data and/or shorter rounds than the full benchmark; a check "
            "that it works, not figures to compare with full-size runs.",
            "",
        ]
    L += [
        "## Setup",
        "",
        f"- Machine: {mi['cpu']}, {mi['cores']} cores, {mi['ram_gb']} GB RAM, Linux "
        f"{mi['kernel']}, Python {mi['python']}. Load generator, gateway and PostgreSQL share "
        f"these cores. Other processes before the run: {res['other_cpu_before_pct']:.0f} % CPU "
        f"(100 % = one core), load average {res['loadavg_before']}.",
        f"- {res['pg_version']}, throwaway cluster on 127.0.0.1: {settings}. **fsync=off / "
        "synchronous_commit=off / full_page_writes=off: benchmark-only, not durable.**",
        f"- Code: git {code['git_head']}, run from the {code['where']}; sources sha256 "
        f"{code['sources_sha256']} at the start, {res['gateway'].get('sources_sha256', 'n/a')} "
        "when the gateway started.",
        f"- Data: `lig demo load --households {a['households']} --seed {a['seed']}` → "
        + ", ".join(f"{k} {v:,}" for k, v in ld["rows"].items())
        + f"; database {data['db_size']}.",
        f"- Load generator: wrk ({a['wrk_threads']} threads, bench/eligibility.lua), concurrency "
        f"{a['concurrency']}, keep-alive, {a['rounds']} rounds × {a['duration']} s after a "
        f"{a['warmup']} s warm-up per scenario; figures are the median of the rounds.",
        f"- Requests: random pre-built batches from {data['known_sampled']:,} sampled existing ID "
        f"numbers and {data['unknown_sampled']:,} valid unknown ones ({a['unknown_share']:.0%} "
        f"unknown per ID on average); {data['batch100_count']:,} batches of 100 and "
        f"{data['batch1_count']:,} single IDs. Gateway: one `lig serve` process, "
        f"LIG_DB_POOL_SIZE={a['pool_size']}. Raw SQL: asyncpg, {a['concurrency']} connections, "
        f"{a['concurrency']} workers, one prepared statement per batch.",
        auth_line,
        "",
        "## Load",
        "",
        "| households | people | wall time | peak RSS of `lig demo load` | CPU time | "
        "VACUUM ANALYZE after | other processes / steal |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {ld['rows'].get('households', 0):,} | {ld['rows'].get('persons', 0):,} "
        f"| {ld['wall_s']:.1f} s | {fmt(ld['peak_rss_mb'], 0)} MB | {fmt(ld['cpu_s'])} s "
        f"| {data['vacuum_s']:.1f} s | {other_steal(ld)} |",
        "",
        "## Eligibility",
        "",
        "| batch | path | req/s | IDs/s | p50 ms | p99 ms | errors | gateway CPU | machine CPU "
        "| other processes / steal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for sc, size in SCENARIOS.items():
        for path in ("gateway", "raw"):
            r = res["eligibility"][sc].get(path)
            label = f"| {size} | {'gateway' if path == 'gateway' else 'raw SQL'}"
            if not r:
                L.append(f"{label} | failed | | | | | | | |")
                continue
            gw_cpu = f"{r['gateway_cpu_pct']:.0f} %" if "gateway_cpu_pct" in r else "–"
            L.append(
                f"{label} | {fmt(r['rps'])} | {fmt(r['rps'] * size, 0)} | {fmt(r['p50_ms'], 2)} "
                f"| {fmt(r['p99_ms'], 2)} | {r['errors']} | {gw_cpu} "
                f"| {r['machine_cpu_pct']:.0f} % | {other_steal(r)} |"
            )
    L += [
        "",
        f"CPU: 100 % = one core fully busy (this machine has {mi['cores']}, so machine CPU tops "
        f"out at {100 * mi['cores']} %). Other processes: machine CPU not used by this run; "
        "steal: CPU the hypervisor gave to other guests.",
        "",
        "| batch | gateway/raw req/s | gateway/raw p50 | gateway/raw p99 |",
        "|---|---:|---:|---:|",
    ]
    for sc, size in SCENARIOS.items():
        if rr := res["ratios"].get(sc):
            L.append(f"| {size} | {rr['rps']:.3f} | {rr['p50']:.1f}× | {rr['p99']:.1f}× |")
    gw = res["gateway"]
    L += [
        "",
        f"Gateway peak RSS (VmHWM of the `lig serve` process over the whole run): "
        f"**{fmt(gw.get('peak_rss_mb'), 0)} MB** (RSS right after start-up: "
        f"{fmt(gw.get('start_rss_mb'), 0)} MB).",
        "",
        "## SQL statements per gateway request",
        "",
    ]
    for sc, st in res.get("statements", {}).items():
        L.append(
            f"- {sc}: **{st['per_request']:.2f}** ({st['statements']} statements for "
            f"{st['requests']} sequential requests, pg_stat_statements): "
            + "; ".join(f"{calls} × `{q}`" for calls, q in st["top"])
        )
    if not res.get("statements"):
        L.append("not measured (the gateway failed).")
    L += [
        "",
        "pg_stat_statements does not count the empty statement (`;`) of SQLAlchemy's pool "
        "pre-ping, one more round trip per pool checkout; the asyncpg dialect runs that ping "
        "inside `BEGIN` … `ROLLBACK` unless the connection is already in autocommit. The "
        "gateway's audit sealer (a background task that hash-chains stored audit events every "
        "few seconds) is counted with the requests.",
        "",
        "## Audit",
        "",
    ]
    if ad := res.get("audit"):
        L += [
            f"**{ad['rows']:,}** READ audit events of `eligibility` by the benchmark's client for "
            f"**{ad['requests']:,}** eligibility requests answered (difference "
            f"{ad['difference']:+,}; outcomes "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(ad["by_outcome"].items()))
            + f"): **{'one event per request' if ad['ok'] else 'MISMATCH'}**. Requests: "
            + ", ".join(f"{k} {v:,}" for k, v in ad["requests_by_source"].items())
            + " (wrk: warm-ups and rounds). wrk counts the answers it read; the requests still "
            "in flight when a wrk run stops are answered and audited after it has gone, so the "
            f"events may exceed the requests by up to {ad['in_flight_allowance']} "
            "(concurrency × wrk runs), never fall short.",
        ]
    elif au.get("enabled") is False:
        L.append("not measured (no auth, so no client to attribute audit events to).")
    else:
        L.append("not measured (the gateway failed).")
    L += [
        "",
        "## Correctness",
        "",
    ]
    if ck := res.get("check"):
        verdict = "all equal" if ck["ok"] else "MISMATCH"
        mism = ", ".join(f"{k} {v}" for k, v in ck.items() if k.endswith("mismatch")) or "none"
        L.append(
            f"{ck.get('batches', 0)} sampled batches ({ck.get('ids', 0):,} IDs) sent to the "
            f"gateway and run as raw SQL: **{verdict}**; mismatched IDs "
            f"{ck.get('mismatched_ids', 0)} ({mism}), GraphQL/HTTP errors {ck.get('errors', 0)}, "
            f"IDs with more than one raw row {ck.get('duplicate_rows', 0)}. Statuses covered: "
            + ", ".join(f"{k} {v}" for k, v in sorted(ck["statuses"].items()))
            + "."
        )
        L += [f"- `{e}`" for e in ck["examples"]]
    else:
        L.append("not run (the gateway failed).")
    for f_ in res["failures"]:
        L += ["", "## Failure", "", "```", f_, "```"]
    L += ["", "## Raw-SQL plan (batch of 100)", "", "```", data["plan"], "```", "", "## Rounds", ""]
    L += [
        "| batch | path | round | req/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors "
        "| other processes / steal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for sc in SCENARIOS:
        for path in ("gateway", "raw"):
            r = res["eligibility"][sc].get(path)
            for i, x in enumerate(r["rounds"] if r else [], 1):
                L.append(
                    f"| {sc} | {path} | {i} | {fmt(x['rps'])} | {fmt(x['p50_ms'], 2)} "
                    f"| {fmt(x['p90_ms'], 2)} | {fmt(x['p99_ms'], 2)} | {fmt(x['max_ms'])} "
                    f"| {x['requests']:,} | {x['errors']} | {other_steal(x)} |"
                )
    L += ["", f"Total run time {res['total_s'] / 60:.1f} min."]
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------------------------


OPTIONS: list[tuple[str, type, Any, str]] = [  # flag, type, default, help
    ("--households", int, DEFAULT_HOUSEHOLDS, "households to load (≈ 2.2 people each)"),
    ("--duration", int, 20, "seconds per measured round"),
    ("--rounds", int, 3, "measured rounds per scenario"),
    ("--warmup", int, 5, "warm-up seconds per scenario"),
    ("--concurrency", int, 8, "concurrent requests (wrk connections, raw-SQL workers)"),
    ("--pool-size", int, 8, "LIG_DB_POOL_SIZE for the gateway"),
    ("--seed", int, 2021, "demo data and sampling seed"),
    ("--sample", int, 50_000, "existing ID numbers sampled"),
    ("--unknown-share", float, 0.10, "share of unknown IDs"),
    ("--batches", int, 2000, "distinct batches of 100"),
    ("--singles", int, 20_000, "distinct single-ID requests"),
    ("--check-batches", int, 100, "batches per scenario checked against raw SQL"),
    ("--count-requests", int, 100, "requests per scenario for the statement count"),
    ("--wrk-threads", int, 2, "wrk threads"),
    ("--ref", str, None, "run the gateway from this commit (git archive), not the working tree"),
    ("--load-timeout", int, 1500, "give up on the load after this many seconds"),
    (
        "--pg-bin",
        str,
        os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"),
        "PostgreSQL binaries",
    ),
    ("--tmpdir", str, None, "parent of the temp dir (default: system temp)"),
    ("--out", str, None, "markdown file to write (default: bench/results/...)"),
]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for flag, typ, default, help_ in OPTIONS:
        more = "" if default is None or "default" in help_ else f" (default {default})"
        p.add_argument(flag, type=typ, default=default, help=help_ + more)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data) afterwards")
    a = p.parse_args()
    a.lig = str(Path(sys.executable).parent / "lig")
    if not Path(a.lig).exists():
        a.lig = shutil.which("lig") or a.lig
    a.wrk = shutil.which("wrk")
    if not a.wrk:
        p.error("wrk not found (apt-get install -y wrk)")
    if not Path("/usr/bin/time").exists():
        p.error("/usr/bin/time not found (apt-get install -y time)")
    return a


def main() -> int:
    args = parse_args()
    take_signals()
    started = dt.datetime.now()
    meter = CpuMeter()
    time.sleep(2)
    res: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "command": "bench/run_eligibility.sh " + " ".join(sys.argv[1:]),
        "args": vars(args),
        "machine": machine_info(),
        "other_cpu_before_pct": meter.read()["other_cpu_pct"],
        "loadavg_before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "eligibility": {sc: {} for sc in SCENARIOS},
        "ratios": {},
        "gateway": {},
        "failures": [],
    }
    defaults = {o[0].removeprefix("--"): o[2] for o in OPTIONS}
    res["quick"] = any(
        getattr(args, k) < defaults[k] for k in ("households", "duration", "rounds", "warmup")
    )
    tmp = Path(tempfile.mkdtemp(prefix="lig-bench-", dir=args.tmpdir))
    cluster = Cluster(tmp, Path(args.pg_bin))
    gw = Gateway(args, {}, tmp)
    rc = 0
    try:
        src = export_ref(args.ref, tmp / "src") if args.ref else ROOT
        res["code"] = code_fingerprint(src, args.ref)
        log(f"temp dir {tmp}; PostgreSQL on 127.0.0.1:{cluster.port}")
        cluster.start()
        pm = cluster.postmaster_pid
        res["pg_version"] = cluster.version()
        env = dict(
            os.environ,
            LIG_DATABASE_URL=cluster.sqlalchemy_url,
            LIG_DB_POOL_SIZE=str(args.pool_size),
            # The benchmark's one client asks as fast as it can: measure the gateway, not the
            # rate limit that would stop it (bench/flood.py measures that).
            LIG_RATE_LIMIT_PER_SECOND="0",
        )
        if args.ref:  # ahead of the venv's editable install of the working tree
            env["PYTHONPATH"] = str(src)
        meter = CpuMeter(None, pm)
        res["load"] = load_demo(args, cluster, env) | meter.read()
        data = asyncio.run(prepare_data(args, cluster.dsn))
        rng = random.Random(args.seed)
        batches = {
            sc: make_batches(
                rng,
                data["known"],
                data["unknown"],
                size,
                args.batches if size > 1 else args.singles,
                args.unknown_share,
            )
            for sc, size in SCENARIOS.items()
        }
        res["data"] = {k: data[k] for k in ("vacuum_s", "persons", "db_size", "plan")} | {
            "known_sampled": len(data["known"]),
            "unknown_sampled": len(data["unknown"]),
            "batch100_count": len(batches["batch100"]),
            "batch1_count": len(batches["batch1"]),
        }
        bodies = {}
        for sc, bs in batches.items():
            bodies[sc] = tmp / f"{sc}.jsonl"
            bodies[sc].write_text(
                "".join(json.dumps(body(b), separators=(",", ":")) + "\n" for b in bs)
            )

        # Gateway
        gw = Gateway(args, env, tmp)
        try:
            res["gateway"]["sources_sha256"] = code_fingerprint(src, args.ref)["sources_sha256"]
            gw_pid = gw.start()
            res["gateway"]["start_rss_mb"] = proc_status_mb(gw_pid, "VmRSS")
            auth = Auth(args, env, gw)
            res["auth"] = {"enabled": auth.register(), "client_id": auth.client_id}
            if auth.enabled:
                res["auth"] |= {"client": " ".join(CLIENT), "purpose": PURPOSE}
            # Eligibility requests the gateway answered, by where they came from (audit check).
            sent: dict[str, int] = {}
            probe = httpx.post(
                gw.url, json=body(batches["batch100"][0]), headers=auth.headers(), timeout=30
            )
            sent["probe"] = 1
            if probe.status_code != 200 or probe.json().get("errors"):
                raise RuntimeError(
                    f"gateway probe failed: HTTP {probe.status_code}\n{probe.text[:2000]}\n"
                    f"--- gateway log ---\n{gw.log_tail()}"
                )
            for sc in SCENARIOS:
                one = functools.partial(wrk_round, args, gw.url, bodies[sc], auth)
                g = res["eligibility"][sc]["gateway"] = run_rounds(
                    args, f"gateway {sc}", one, gw_pid, pm
                )
                sent[f"wrk {sc}"] = g["warmup_requests"] + sum(r["requests"] for r in g["rounds"])
            res["gateway"]["peak_rss_mb"] = proc_status_mb(gw_pid, "VmHWM")
            log("checking the gateway's answers against raw SQL")
            ck = res["check"] = asyncio.run(
                check_answers(args, gw.url, cluster.dsn, batches, auth.headers())
            )
            sent["correctness check"] = ck["batches"]
            log(
                f"check: {ck.get('ids', 0)} IDs in {ck['batches']} batches, mismatched "
                f"{ck.get('mismatched_ids', 0)}, errors {ck.get('errors', 0)} -> "
                f"{'OK' if ck['ok'] else 'MISMATCH'}"
            )
            res["statements"] = asyncio.run(
                count_statements(gw.url, cluster.dsn, batches, args.count_requests, auth.headers())
            )
            sent["statement count"] = 50 + sum(st["requests"] for st in res["statements"].values())
            if auth.enabled and auth.client_id:
                au = res["audit"] = audit_summary(
                    asyncio.run(audit_rows(cluster.dsn, auth.client_id)),
                    sent,
                    in_flight=args.concurrency * len(SCENARIOS) * (1 + args.rounds),
                )
                log(
                    f"audit: {au['rows']:,} READ events of eligibility for {au['requests']:,} "
                    f"requests answered (difference {au['difference']:+,}, outcomes "
                    f"{au['by_outcome']}) -> {'OK' if au['ok'] else 'MISMATCH'}"
                )
                if not au["ok"]:
                    res["failures"].append(
                        f"audit: {au['rows']} READ events for {au['requests']} requests "
                        f"(outcomes {au['by_outcome']}); expected one OK event per request"
                    )
            errors_in_log = [
                ln
                for ln in gw.log_tail(10**7).splitlines()
                if "Traceback" in ln or "ERROR" in ln or "unexpected error" in ln
            ]
            if errors_in_log:
                res["failures"].append(
                    "gateway log errors (first 20 lines):\n" + "\n".join(errors_in_log[:20])
                )
        except Exception as exc:  # noqa: BLE001 - report the gateway's failure, keep the raw floor
            log(f"GATEWAY FAILED: {exc}")
            res["failures"].append(f"gateway: {exc}")
        finally:
            gw.stop()

        # Raw SQL floor (gateway stopped, so it does not compete for CPU)
        for sc in SCENARIOS:
            raw = raw_scenario(args, cluster.dsn, batches[sc], f"raw SQL {sc}", pm)
            res["eligibility"][sc]["raw"] = raw
            if g := res["eligibility"][sc].get("gateway"):
                res["ratios"][sc] = {k: g[f"{k}_ms"] / raw[f"{k}_ms"] for k in ("p50", "p99")} | {
                    "rps": g["rps"] / raw["rps"]
                }
        if res["failures"] or not res.get("check", {}).get("ok"):
            rc = 1
    except (Interrupted, KeyboardInterrupt) as exc:
        log(f"interrupted ({exc or 'Ctrl-C'}); cleaning up")
        return 130
    except Exception as exc:  # noqa: BLE001 - the load or the raw floor failed: no report
        log(f"FAILED: {exc}")
        return 1
    finally:
        gw.stop()
        cluster.stop()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    res["total_s"] = time.perf_counter() - T0
    md = render(res)
    if args.out:
        out = Path(args.out)
    else:
        suffix = "" if args.households == DEFAULT_HOUSEHOLDS else f"-{args.households}hh"
        out = RESULTS / f"eligibility-{started:%Y-%m-%d}{suffix}.md"
        if out.exists():
            out = out.with_name(f"{out.stem}-{started:%H%M%S}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    out.with_suffix(".json").write_text(json.dumps(res, indent=2, default=str))
    print(md)
    log(f"written {out} (+ .json)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
