"""The civil-affairs console on a province-sized database: how long each page takes, signed in
as a browser is, and whether a deep page of the warning queue costs what the first one does.

    .venv/bin/python bench/console.py [--households 460000] [--ref REF | --live]
    .venv/bin/python bench/console.py --households 20000      # quick run, a few minutes

All on 127.0.0.1, in a temp dir. Every `lig` (and the load) runs from a copy of the working tree
made at the start (`--ref REF`: from `git archive REF`; `--live`: the working tree itself).

 1. The eligibility benchmark's throwaway PostgreSQL 15 cluster (durability off,
    pg_stat_statements loaded; auto_explain loaded into every new session, off until step 6),
    `lig db upgrade`, the demo county at `--households N` (`gateway.demo.loader.load`, COPY, as
    bench/compare.py loads it), then the full comparison as the product runs it: `lig compare
    --json`, timed, which opens, routes and assigns the warnings.
 2. A history (`--no-history` skips it): a comparison run today leaves every warning raised
    today, OPEN or DISPATCHED and due in a few working days, so nothing is overdue and every
    warning is 0-7 days old: not a queue anyone works. Each warning is moved back by 0-179 days
    (raised, due and its transitions alike, seeded), and the dispatched ones are then worked as
    a bureau would: the older, the likelier RESOLVED; the rest DISPATCHED, ACKNOWLEDGED or
    ESCALATED, each move written to `warning_transitions`. Then VACUUM ANALYZE.
 3. `lig serve` (LIG_COMPARE_INTERVAL_SECONDS=0, LIG_WEBHOOK_POLL_SECONDS=0; everything else the
    defaults, the audit sealer included) and two accounts from `lig users add`: `bench.civil`
    (civil-affairs) and `bench.town` (town, region 320681100, 汇龙镇). Each signs in with httpx
    as a browser does: GET /console/login, follow to /oauth/authorize, POST the form with its
    hidden fields, the CSRF cookie and an Origin header, follow to /console/callback; the
    cookie jar then holds the console session.
 4. For each account, sequential requests (each timed from sending to the body's last byte;
    anything but 200 fails the run): a warm-up; the queue walked from page 1 along the
    `next-page` links to page `--pages` (each page once); then `--requests` rounds, each
    requesting in turn queue page 1, page 10 and page `--pages` (their URLs from the walk), the
    queue filtered by kind + town + overdue=yes, and by severity=HIGH (statement statistics
    for this "queue" phase); then rounds of a warning page, a household page (a different one
    each round, sampled in the town so that both accounts see them), the dashboard and the
    audit page (the "other pages" phase). Optionally `--concurrency` requests at once
    (asyncio) on queue page 1 and the deepest page. pg_stat_statements gives the top
    statements by total time per phase; CPU of the gateway, PostgreSQL and the rest of the
    machine and the load average are read per phase (the machine is shared).
 5. The gateway's start-up and peak RSS (VmRSS, VmHWM of the `lig serve` process).
 6. The plans: auto_explain (log_analyze, log_buffers, every statement) switched on for one
    request of each queue variant and the dashboard per account; the slowest statements of
    each, with their plans, from the cluster's log.

Prints a table and writes it to bench/results/console-<date>.txt (-HHMMSS added rather than
overwrite), the statements and plans after it. The gateway, the cluster and the temp dir are
cleaned up on exit, Ctrl-C and SIGTERM (`--keep` keeps the temp dir and its logs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

# From the other benchmarks: eligibility's log, signals and percentiles; push's cluster engine,
# gateway process, `lig` runs, CPU meter and machine line; sync's measured `lig` command and
# `--ref`; compare's demo load (no comparison), load average and code line.
from compare import code_line, load_county, loadavg  # noqa: E402
from eligibility import T0, Interrupted, log, pct, take_signals  # noqa: E402
from push import CpuMeter, Gateway, PostgresEngine, machine, run, status_kb  # noqa: E402
from sync import measure, mib, use_ref  # noqa: E402

RESULTS = HERE / "results"
DEFAULT_HOUSEHOLDS = 460_000  # ~1,000,000 people, as the other benchmarks
TOWN_REGION = "320681100"  # 汇龙镇, the county seat: the largest town of the demo county
TOWN_CODE = TOWN_REGION + "000"
USERS = (("bench.civil", "civil-affairs", None), ("bench.town", "town", TOWN_REGION))
OPEN = "('OPEN', 'DISPATCHED', 'ACKNOWLEDGED', 'ESCALATED')"  # OPEN_WARNING_STATUSES
HISTORY_DAYS = 180
MARKER = "bench-console marker"
PLANS_PER_PAGE = 3
TOP_STATEMENTS = 8
SLOW_MS = 200.0

# Step 2: the history. One statement each, in one transaction; `setseed` makes it repeatable.
# A warning raised `age` days ago: its dates move back by `age` days; OPEN ones (no agency to
# route to) stay OPEN; a dispatched one is RESOLVED with probability age / 200 (older ones are
# likelier done), else DISPATCHED 45 %, ACKNOWLEDGED 40 %, ESCALATED 15 %.
HISTORY_SQL = [
    """
    CREATE TEMP TABLE aged ON COMMIT DROP AS
    SELECT id, status AS was, age,
           CASE WHEN status <> 'DISPATCHED' THEN status
                WHEN r1 < age / 200.0 THEN 'RESOLVED'
                WHEN r2 < 0.45 THEN 'DISPATCHED'
                WHEN r2 < 0.85 THEN 'ACKNOWLEDGED'
                ELSE 'ESCALATED' END AS now,
           r3
    FROM (SELECT id, status, floor(random() * {days})::int AS age, random() AS r1,
                 random() AS r2, random() AS r3
          FROM warnings ORDER BY id) s
    """,
    "CREATE INDEX ON aged (id)",
    "ANALYZE aged",
    """
    UPDATE warning_transitions t SET at = t.at - make_interval(days => a.age)
    FROM aged a WHERE a.id = t.warning_id AND a.age > 0
    """,
    # The moves after dispatch: acknowledged two days after it was raised; resolved (after an
    # acknowledgement) some time before today; escalated on its due day.
    """
    INSERT INTO warning_transitions (warning_id, from_status, to_status, at, by, note)
    SELECT a.id, 'DISPATCHED', 'ACKNOWLEDGED', w.created_at - make_interval(days => a.age - 2),
           'bench.console', NULL
    FROM aged a JOIN warnings w ON w.id = a.id
    WHERE a.now IN ('ACKNOWLEDGED', 'RESOLVED') AND a.age >= 2
    """,
    """
    INSERT INTO warning_transitions (warning_id, from_status, to_status, at, by, note)
    SELECT a.id, CASE WHEN a.age >= 2 THEN 'ACKNOWLEDGED' ELSE 'DISPATCHED' END, 'RESOLVED',
           w.created_at - make_interval(days => (a.age * (1 - a.r3) / 2)::int),
           'bench.console', 'bench: synthetic history'
    FROM aged a JOIN warnings w ON w.id = a.id WHERE a.now = 'RESOLVED'
    """,
    """
    INSERT INTO warning_transitions (warning_id, from_status, to_status, at, by, note)
    SELECT a.id, 'DISPATCHED', 'ESCALATED',
           (w.due_on - a.age)::timestamp AT TIME ZONE 'UTC', 'bench.console', 'overdue'
    FROM aged a JOIN warnings w ON w.id = a.id WHERE a.now = 'ESCALATED'
    """,
    """
    UPDATE warnings w SET
        created_at = w.created_at - make_interval(days => a.age),
        updated_at = w.updated_at - make_interval(days => (a.age * (1 - a.r3) / 2)::int),
        due_on = w.due_on - a.age,
        status = a.now,
        resolution = CASE WHEN a.now = 'RESOLVED'
            THEN (ARRAY['DELIVERED', 'APPLIED', 'TERMINATED', 'NO_ACTION'])[1 + (a.r3 * 4)::int % 4]
            END,
        resolution_note = CASE WHEN a.now = 'RESOLVED' THEN 'bench: synthetic history' END,
        version = w.version + CASE a.now WHEN 'RESOLVED' THEN 2 WHEN 'DISPATCHED' THEN 0
                                         WHEN 'OPEN' THEN 0 ELSE 1 END
    FROM aged a WHERE a.id = w.id AND (a.age > 0 OR a.now <> a.was)
    """,
]

# The plan of every statement a request runs, logged by auto_explain while step 6 lasts.
EXPLAIN_ON = {
    "auto_explain.log_min_duration": "0",
    "auto_explain.log_analyze": "on",
    "auto_explain.log_buffers": "on",
    "auto_explain.log_timing": "on",
    "auto_explain.log_nested_statements": "off",
}
LOG_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
DURATION = re.compile(r"duration: ([0-9.]+) ms\s+plan:")


# ---- The browser ------------------------------------------------------------------------------


class Page(HTMLParser):
    """What the benchmark reads from a page: the sign-in form's hidden fields, the queue's
    next-page link and its rows, and the page's data-testid names."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.next_link: str | None = None
        self.rows = 0
        self.testids: set[str] = set()
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "hidden" and "name" in a:
            self.hidden[a["name"]] = a.get("value", "")
        if "data-testid" in a:
            self.testids.add(a["data-testid"])
            if tag == "a" and a["data-testid"] == "next-page":
                self.next_link = a.get("href")
        if tag == "tr" and a.get("data-href", "").startswith("/console/warnings/"):
            self.rows += 1


@dataclass
class Hit:
    ms: float
    status: int
    size: int
    rows: int
    location: str = ""


@dataclass
class Series:
    """Timed requests of one page for one account."""

    label: str
    hits: list[Hit] = field(default_factory=list)
    note: str = ""

    def ms(self) -> list[float]:
        return sorted(h.ms for h in self.hits)

    def summary(self) -> tuple[float, float, float]:
        values = self.ms()
        return pct(values, 0.5), pct(values, 0.95), values[-1] if values else float("nan")


class Browser:
    """One person's browser: a cookie jar, and GETs timed to the body's last byte."""

    def __init__(self, base: str, username: str) -> None:
        self.base, self.username = base, username
        self.client = httpx.Client(base_url=base, timeout=httpx.Timeout(300, connect=10))
        self.failures: list[str] = []

    def sign_in(self, password: str) -> None:
        """As a browser does: the console sends to the authorization server's form, whose
        answer sends back to the console's callback, which sets the session cookie."""
        form_page = self.client.get("/console/login", follow_redirects=True)
        path = urlsplit(str(form_page.url)).path
        if form_page.status_code != 200 or path != "/oauth/authorize":
            raise RuntimeError(f"sign-in form: HTTP {form_page.status_code} at {form_page.url}")
        hidden = Page(form_page.text).hidden
        if "csrf" not in hidden or "lig_signin" not in self.client.cookies:
            raise RuntimeError("the sign-in form has no CSRF field or cookie")
        landed = self.client.post(
            "/oauth/authorize",
            data={**hidden, "username": self.username, "password": password},
            headers={"Origin": self.base},
            follow_redirects=True,
        )
        path = urlsplit(str(landed.url)).path
        if landed.status_code != 200 or path != "/console/warnings":
            raise RuntimeError(f"sign-in ended on HTTP {landed.status_code} at {landed.url}")
        if "lig_console" not in self.client.cookies:
            raise RuntimeError("signed in without a console session cookie")

    def get(self, url: str, expect: int | None = 200) -> tuple[Hit, Page]:
        """GET, timed; any status but `expect` (None: any) is a failure of the run."""
        start = time.perf_counter()
        r = self.client.get(url)
        ms = 1000 * (time.perf_counter() - start)
        page = Page(r.text) if r.headers.get("content-type", "").startswith("text/html") else None
        hit = Hit(ms, r.status_code, len(r.content), page.rows if page else 0)
        hit.location = r.headers.get("location", "")
        if expect is not None and r.status_code != expect:
            self.failures.append(
                f"{self.username} GET {url}: HTTP {r.status_code} {hit.location}".strip()
            )
        return hit, page or Page("")

    def close(self) -> None:
        self.client.close()


# ---- Set-up -----------------------------------------------------------------------------------


async def _execute(dsn: str, statements: list[str], transaction: bool = True) -> float:
    conn = await asyncpg.connect(dsn, command_timeout=None)
    try:
        start = time.perf_counter()
        if transaction:
            async with conn.transaction():
                for sql in statements:
                    await conn.execute(sql)
        else:
            for sql in statements:
                await conn.execute(sql)
        return time.perf_counter() - start
    finally:
        await conn.close()


def prepare_cluster(engine: PostgresEngine) -> None:
    """auto_explain in every new session (gateway connections included), logging nothing
    until step 6 turns it on; pg_stat_statements counting top-level statements."""
    asyncio.run(
        _execute(
            engine.dsn,
            [
                "LOAD 'auto_explain'",
                "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'",
                "ALTER SYSTEM SET auto_explain.log_min_duration = -1",
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
                "ALTER SYSTEM SET pg_stat_statements.track = 'top'",
                "SELECT pg_reload_conf()",
            ],
            transaction=False,
        )
    )


def history(engine: PostgresEngine, seed: int) -> float:
    seeded = [f"SELECT setseed({(seed % 1000) / 1000})"]
    sql = [s.replace("{days}", str(HISTORY_DAYS)) for s in HISTORY_SQL]
    return asyncio.run(_execute(engine.dsn, seeded + sql))


def describe(engine: PostgresEngine) -> dict[str, Any]:
    out: dict[str, Any] = {}
    q = engine.query
    out["vacuum_s"] = asyncio.run(_execute(engine.dsn, ["VACUUM (ANALYZE)"], transaction=False))
    for name, sql in (
        ("households", "SELECT count(*) FROM households"),
        ("persons", "SELECT count(*) FROM persons"),
        ("events", "SELECT count(*) FROM monitoring_events WHERE is_current"),
        ("warnings", "SELECT count(*) FROM warnings"),
        ("active", f"SELECT count(*) FROM warnings WHERE status IN {OPEN}"),
        (
            "overdue",
            f"SELECT count(*) FROM warnings WHERE status IN {OPEN} AND due_on < current_date",
        ),
        ("assignments", "SELECT count(*) FROM warning_assignments"),
        ("transitions", "SELECT count(*) FROM warning_transitions"),
        ("audit_events", "SELECT count(*) FROM audit_events"),
        ("db_bytes", "SELECT pg_database_size(current_database())"),
        ("warnings_bytes", "SELECT pg_total_relation_size('warnings')"),
        (
            "town_households",
            f"SELECT count(*) FROM households WHERE region_code LIKE '{TOWN_REGION}%'",
        ),
        (
            "town_active",
            "SELECT count(*) FROM warnings w JOIN households h ON h.id = w.household_id "
            f"WHERE h.region_code LIKE '{TOWN_REGION}%' AND w.status IN {OPEN}",
        ),
    ):
        out[name] = q(sql)[0][0]
    for column in ("status", "kind", "severity"):
        out[f"by_{column}"] = dict(
            q(f"SELECT {column}, count(*) FROM warnings GROUP BY 1 ORDER BY 2 DESC")
        )
    out["due_range"] = q(f"SELECT min(due_on), max(due_on) FROM warnings WHERE status IN {OPEN}")[0]
    out["indexes"] = [
        r[0]
        for r in q(
            "SELECT indexdef FROM pg_indexes WHERE tablename IN ('warnings', "
            "'warning_assignments', 'households') ORDER BY tablename, indexname"
        )
    ]
    return out


@dataclass(frozen=True)
class Targets:
    kind: str
    warnings: list[int]
    households: list[int]


def targets(engine: PostgresEngine, count: int, seed: int) -> Targets:
    """The kind of the town's filtered queue (its most common overdue kind, so the page is not
    empty), and warnings of the town with their households (both accounts see them)."""
    in_town = (
        f"JOIN households h ON h.id = w.household_id WHERE h.region_code LIKE '{TOWN_REGION}%'"
    )
    kinds = engine.query(
        f"SELECT w.kind, count(*) FROM warnings w {in_town} AND w.status IN {OPEN} "
        "AND w.due_on < current_date GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ) or engine.query("SELECT kind, count(*) FROM warnings GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
    if not kinds:
        raise RuntimeError("the comparison opened no warnings")

    async def sample() -> list[tuple[int, int]]:
        conn = await asyncpg.connect(engine.dsn)
        try:
            await conn.execute(f"SELECT setseed({(seed % 1000) / 1000})")
            rows = await conn.fetch(
                f"SELECT w.id, w.household_id FROM warnings w {in_town} "
                f"ORDER BY random() LIMIT {count}"
            )
            return [(r[0], r[1]) for r in rows]
        finally:
            await conn.close()

    picked = asyncio.run(sample())
    return Targets(kinds[0][0], [w for w, _ in picked], [h for _, h in picked])


def add_user(env: dict[str, str], username: str, role: str, region: str | None) -> str:
    cmd = ["users", "add", username, "--role", role]
    out, _ = run([*cmd, "--region", region] if region else cmd, env)
    line = next((ln for ln in out.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"`lig users add` printed no JSON:\n{out}")
    return str(json.loads(line)["password"])


# ---- Measuring --------------------------------------------------------------------------------


def statements(engine: PostgresEngine) -> list[dict[str, Any]]:
    rows = engine.query(
        "SELECT calls, rows, total_exec_time, mean_exec_time, max_exec_time, query "
        "FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' "
        f"ORDER BY total_exec_time DESC LIMIT {TOP_STATEMENTS}"
    )
    keys = ("calls", "rows", "total_ms", "mean_ms", "max_ms", "query")
    return [dict(zip(keys, (*r[:5], " ".join(r[5].split())[:600]), strict=True)) for r in rows]


@dataclass
class Phase:
    """Requests whose database statements and CPU are counted together."""

    name: str
    statements: list[dict[str, Any]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    loadavg: str = ""
    calls: int = 0
    db_ms: float = 0.0


@contextlib.contextmanager
def phase(engine: PostgresEngine, gateway_pid: int, name: str) -> Iterator[Phase]:
    out = Phase(name, loadavg=loadavg())
    engine.query("SELECT pg_stat_statements_reset()")
    meter = CpuMeter(gateway_pid, engine.postmaster)
    yield out
    out.cpu = meter.read()
    out.statements = statements(engine)
    calls, total = engine.query(
        "SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(total_exec_time), 0) "
        "FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'"
    )[0]
    out.calls, out.db_ms = int(calls), float(total)


@dataclass
class Account:
    username: str
    role: str
    series: dict[str, Series] = field(default_factory=dict)
    walk: list[Hit] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    concurrent: dict[str, dict[str, float]] = field(default_factory=dict)
    urls: dict[str, list[str]] = field(default_factory=dict)  # the walk's, by "page N"
    pages: dict[str, list[str]] = field(default_factory=dict)  # what the rounds requested
    refused: set[str] = field(default_factory=set)  # pages the role may not see (403)
    pages_walked: int = 0


def queue_urls(kind: str) -> dict[str, str]:
    return {
        "filtered": f"/console/warnings?kind={kind}&region={TOWN_CODE}&overdue=yes",
        "severity": "/console/warnings?severity=HIGH",
    }


def walk(browser: Browser, account: Account, pages: int) -> None:
    """Page 1, then the next-page links, to page `pages` (or the last)."""
    url: str | None = "/console/warnings"
    n = 0
    while url is not None and n < pages:
        n += 1
        hit, page = browser.get(url)
        account.walk.append(hit)
        account.urls[f"page {n}"] = [url]
        if hit.status != 200:
            break
        url = "/console/warnings" + page.next_link if page.next_link else None
        if n % 25 == 0:
            log(f"  {account.username}: walked to page {n} ({hit.ms:.0f} ms)")
    account.pages_walked = n


def rounds(browser: Browser, account: Account, pages: dict[str, list[str]], count: int) -> None:
    """`count` rounds, each requesting every page once in turn (a different URL of a page's
    list each round): noise from the rest of the machine falls on every page alike."""
    for name in pages:
        note = "403 (not for this role)" if name in account.refused else ""
        account.series.setdefault(name, Series(name, note=note))
    for i in range(count):
        for name, urls in pages.items():
            expect = 403 if name in account.refused else 200
            hit, _ = browser.get(urls[i % len(urls)], expect)
            account.series[name].hits.append(hit)


async def concurrently(
    base: str, cookies: httpx.Cookies, url: str, workers: int, each: int
) -> dict[str, float]:
    """`workers` requests at once, `each` per worker, sharing one session (tabs of one
    browser): per-request latency and requests per second."""
    times: list[float] = []
    statuses: list[int] = []
    async with httpx.AsyncClient(
        base_url=base, cookies=cookies, timeout=httpx.Timeout(300, connect=10)
    ) as client:

        async def worker() -> None:
            for _ in range(each):
                start = time.perf_counter()
                r = await client.get(url)
                times.append(1000 * (time.perf_counter() - start))
                statuses.append(r.status_code)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        wall = time.perf_counter() - start
    times.sort()
    return {
        "p50": pct(times, 0.5),
        "p95": pct(times, 0.95),
        "max": times[-1],
        "rps": len(times) / wall,
        "errors": float(sum(s != 200 for s in statuses)),
        "n": float(len(times)),
    }


def measure_account(
    base: str,
    engine: PostgresEngine,
    gateway_pid: int,
    account: Account,
    password: str,
    tg: Targets,
    args: argparse.Namespace,
) -> Browser:
    browser = Browser(base, account.username)
    browser.sign_in(password)
    log(f"{account.username} ({account.role}) signed in; warming up")
    others = {
        "warning page": [f"/console/warnings/{w}" for w in tg.warnings],
        "household page": [f"/console/households/{h}" for h in tg.households],
        "dashboard": ["/console/dashboard"],
        "audit page": ["/console/audit"],
    }
    # The audit trail is county-wide: a role without audit:read, or bound to a region, is
    # refused (403); the refusal is what is timed then.
    probe, _ = browser.get("/console/audit", expect=None)
    if probe.status == 403:
        account.refused.add("audit page")
    elif probe.status != 200:
        browser.failures.append(f"{account.username} GET /console/audit: HTTP {probe.status}")
    for _ in range(args.warmup):
        for url in ("/console/warnings", *queue_urls(tg.kind).values()):
            browser.get(url)
        for name, urls in others.items():
            browser.get(urls[0], 403 if name in account.refused else 200)

    with phase(engine, gateway_pid, "queue") as p:
        log(f"{account.username}: walking the queue to page {args.pages}")
        walk(browser, account, args.pages)
        deep = account.pages_walked
        queue = {
            "queue page 1": account.urls["page 1"],
            **({"queue page 10": account.urls["page 10"]} if deep >= 10 else {}),
            f"queue page {deep}": account.urls[f"page {deep}"],
            "queue kind+town+overdue": [queue_urls(tg.kind)["filtered"]],
            "queue severity=HIGH": [queue_urls(tg.kind)["severity"]],
        }
        log(f"{account.username}: {args.requests} rounds of the queue ({', '.join(queue)})")
        rounds(browser, account, queue, args.requests)
    account.phases.append(p)
    account.pages = {**queue, **others}

    with phase(engine, gateway_pid, "other pages") as p:
        log(f"{account.username}: {args.requests} rounds of the other pages")
        rounds(browser, account, others, args.requests)
    account.phases.append(p)

    if args.concurrency > 1:
        each = max(1, args.requests // 2)
        for name in ("queue page 1", f"queue page {deep}"):
            log(f"{account.username}: {name}, {args.concurrency} at once")
            account.concurrent[name] = asyncio.run(
                concurrently(base, browser.client.cookies, queue[name][0], args.concurrency, each)
            )
    return browser


# ---- Plans ------------------------------------------------------------------------------------


def log_size(engine: PostgresEngine) -> int:
    path = engine.tmp / "postgres.log"
    return path.stat().st_size if path.exists() else 0


def explain(
    engine: PostgresEngine, browsers: dict[str, Browser], pages: list[tuple[str, str, str]]
) -> dict[str, list[tuple[float, str]]]:
    """One request of each (account, label, url) with auto_explain logging every statement's
    plan (ANALYZE, BUFFERS); the slowest statements of each, by label."""
    start = log_size(engine)
    settings = [f"ALTER SYSTEM SET {k} = {v}" for k, v in EXPLAIN_ON.items()]
    asyncio.run(_execute(engine.dsn, [*settings, "SELECT pg_reload_conf()"], transaction=False))
    time.sleep(1)  # every backend reloads before its next statement
    try:
        for username, label, url in pages:
            engine.query(f"SELECT '{MARKER} {username} {label}'")
            browsers[username].get(url)
        engine.query(f"SELECT '{MARKER} end'")
    finally:
        resets = [
            f"ALTER SYSTEM RESET {k}" for k in EXPLAIN_ON if k != "auto_explain.log_min_duration"
        ]
        asyncio.run(
            _execute(
                engine.dsn,
                [
                    *resets,
                    "ALTER SYSTEM SET auto_explain.log_min_duration = -1",
                    "SELECT pg_reload_conf()",
                ],
                transaction=False,
            )
        )
    with open(engine.tmp / "postgres.log", "rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    entries: list[list[str]] = []
    for line in text.splitlines():
        if LOG_ENTRY.match(line):
            entries.append([line])
        elif entries:
            entries[-1].append(line)
    found: dict[str, list[tuple[float, str]]] = {}
    current: str | None = None
    for entry in entries:
        body = "\n".join(entry)
        m = DURATION.search(entry[0])
        if m is None:
            continue
        if MARKER in body:
            label = body.split(MARKER, 1)[1].split("'", 1)[0].strip()
            current = None if label == "end" else label
            continue
        if current is not None:
            found.setdefault(current, []).append((float(m.group(1)), body))
    return {k: sorted(v, key=lambda e: -e[0]) for k, v in found.items()}


# ---- One run ----------------------------------------------------------------------------------


def bench(engine: PostgresEngine, args: argparse.Namespace, res: dict[str, Any]) -> None:
    engine.start()
    prepare_cluster(engine)
    env = dict(
        os.environ,
        LIG_DATABASE_URL=engine.url,
        LIG_COMPARE_INTERVAL_SECONDS="0",
        LIG_WEBHOOK_POLL_SECONDS="0",
        LIG_RATE_LIMIT_PER_SECOND="0",
    )
    _, res["migrate_s"] = run(["db", "upgrade"], env)
    log(f"migrated in {res['migrate_s']:.1f} s; loading {args.households:,} households")
    sized = argparse.Namespace(
        people=args.households * 3, households=args.households, seed=args.seed, timeout=args.timeout
    )
    load = res["load"] = load_county(engine, env, sized)
    log(f"loaded {load['households']:,} households in {load['seconds']:.0f} s")
    asyncio.run(_execute(engine.dsn, ["VACUUM (ANALYZE)"], transaction=False))

    log(f"lig compare --json (load average {loadavg()})")
    res["loadavg_compare"] = loadavg()
    m = res["compare"] = measure(
        ["compare", "--json"], env, engine.tmp, "compare", args.timeout, engine.postmaster
    )
    log(
        f"compared {m.result['households']:,} households in {m.wall_s:.0f} s: "
        f"{m.result['opened']:,} warnings opened"
    )
    if not args.no_history:
        res["history_s"] = history(engine, args.seed)
        log(f"history written in {res['history_s']:.0f} s")
    data = res["data"] = describe(engine)
    log(
        f"VACUUM ANALYZE {data['vacuum_s']:.0f} s: {data['warnings']:,} warnings "
        f"({data['active']:,} active, {data['overdue']:,} overdue), database "
        f"{data['db_bytes'] / 2**20:,.0f} MiB"
    )
    tg = res["targets"] = targets(engine, max(args.requests, 20), args.seed)
    passwords = {name: add_user(env, name, role, region) for name, role, region in USERS}

    gw = Gateway(env, engine.tmp)
    res["gateway"] = gw
    try:
        pid = gw.start()
        res["rss_start_kb"] = status_kb(pid, "VmRSS")
        browsers: dict[str, Browser] = {}
        try:
            for name, role, _ in USERS:
                account = Account(name, role)
                res.setdefault("accounts", []).append(account)
                browsers[name] = measure_account(
                    gw.base, engine, pid, account, passwords[name], tg, args
                )
                res["failures"] += browsers[name].failures
            res["rss_end_kb"] = status_kb(pid, "VmRSS")
            res["hwm_kb"] = status_kb(pid, "VmHWM")
            log("plans: one request of each queue variant and the dashboard, auto_explain on")
            pages = [
                (account.username, label, account.pages[label][0])
                for account in res["accounts"]
                for label in account.pages
                if label.startswith("queue") or label == "dashboard"
            ]
            res["plans"] = explain(engine, browsers, pages)
        finally:
            for b in browsers.values():
                b.close()
        res["gateway_errors"] = gw.errors()
        if res["gateway_errors"]:
            res["failures"].append(f"{len(res['gateway_errors'])} errors in the gateway's log")
    finally:
        gw.stop()


# ---- Report -----------------------------------------------------------------------------------


def data_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    load, data, m = res["load"], res["data"], res["compare"]
    r = m.result
    per_household = data["warnings"] / max(1, data["households"])
    return [
        ("households / people", f"{data['households']:,} / {data['persons']:,}"),
        ("current monitoring events", f"{data['events']:,} (the demo's own)"),
        (
            "lig compare --json (full pass)",
            f"{m.wall_s:,.0f} s, peak RSS {mib(m.peak_rss_kb)}, load average at its start "
            f"{res['loadavg_compare']}: {r['findings']:,} findings, {r['opened']:,} opened",
        ),
        (
            "warnings",
            f"{data['warnings']:,} ({per_household:.2f} per household); active "
            f"{data['active']:,}, overdue {data['overdue']:,}; active due "
            f"{data['due_range'][0]} .. {data['due_range'][1]}",
        ),
        ("  by status", ", ".join(f"{k} {v:,}" for k, v in data["by_status"].items())),
        ("  by kind", ", ".join(f"{k} {v:,}" for k, v in data["by_kind"].items())),
        ("  by severity", ", ".join(f"{k} {v:,}" for k, v in data["by_severity"].items())),
        (
            "  assignments / transitions",
            f"{data['assignments']:,} / {data['transitions']:,}",
        ),
        (
            "history (step 2)",
            f"dates moved back 0-{HISTORY_DAYS - 1} days, dispatched ones worked, in "
            f"{res['history_s']:.0f} s"
            if "history_s" in res
            else "none (--no-history): every warning raised today",
        ),
        (
            f"town {TOWN_REGION} (bench.town)",
            f"{data['town_households']:,} households, {data['town_active']:,} active warnings",
        ),
        ("audit events before the gateway", f"{data['audit_events']:,}"),
        (
            "database / warnings table",
            f"{data['db_bytes'] / 2**20:,.0f} MiB / {data['warnings_bytes'] / 2**20:,.0f} MiB",
        ),
        (
            "set-up: migrate / load / VACUUM ANALYZE",
            f"{res['migrate_s']:.0f} s / {load['seconds']:.0f} s / {data['vacuum_s']:.0f} s",
        ),
    ]


def fmt_ms(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}"


def page_rows(res: dict[str, Any], slow_ms: float) -> list[str]:
    head = (
        f"{'account':<12} {'page':<26} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'rows':>5} {'KiB':>6}  note"
    )
    out = [head, "-" * len(head)]
    for account in res.get("accounts", []):
        walked = [h.ms for h in account.walk]
        for name, s in account.series.items():
            if not s.hits:
                continue
            p50, p95, top = s.summary()
            note = s.note
            if p50 > slow_ms and not note:
                note = f"SLOW (p50 > {slow_ms:.0f} ms)"
            rows = s.hits[-1].rows
            kib = sum(h.size for h in s.hits) / len(s.hits) / 1024
            out.append(
                f"{account.username:<12} {name:<26} {len(s.hits):>3} {fmt_ms(p50):>8} "
                f"{fmt_ms(p95):>8} {fmt_ms(top):>8} {rows:>5} {kib:>6.0f}  {note}"
            )
        if len(walked) > 1:
            rest = sorted(walked[1:])
            out.append(
                f"{account.username:<12} {'walk: pages 2..' + str(len(walked)) + ', once':<26} "
                f"{len(rest):>3} {fmt_ms(pct(rest, 0.5)):>8} {fmt_ms(pct(rest, 0.95)):>8} "
                f"{fmt_ms(rest[-1]):>8} {'':>5} {'':>6}  page 1 of the walk "
                f"{fmt_ms(walked[0])} ms (the first after warm-up)"
            )
        for name, c in account.concurrent.items():
            out.append(
                f"{account.username:<12} {name + ', ' + str(res['concurrency']) + ' at once':<26} "
                f"{int(c['n']):>3} {fmt_ms(c['p50']):>8} {fmt_ms(c['p95']):>8} "
                f"{fmt_ms(c['max']):>8} {'':>5} {'':>6}  {c['rps']:.1f} req/s"
                + (f", {int(c['errors'])} errors" if c["errors"] else "")
            )
    return out


def phase_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for account in res.get("accounts", []):
        for p in account.phases:
            c = p.cpu
            out.append(
                (
                    f"{account.username}, {p.name} phase",
                    f"gateway {c.get('gateway_cpu_pct', 0):.0f} %, PostgreSQL "
                    f"{c.get('postgres_cpu_pct', 0):.0f} %, other processes "
                    f"{c.get('other_cpu_pct', 0):.0f} % of a core; load average {p.loadavg}; "
                    f"{p.calls:,} statements, {p.db_ms / 1000:,.1f} s in PostgreSQL",
                )
            )
    return out


def gateway_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            "lig serve RSS",
            f"{mib(res['rss_start_kb'])} after start-up, {mib(res['rss_end_kb'])} at the end, "
            f"peak (VmHWM) {mib(res['hwm_kb'])}",
        ),
        ("gateway log errors", str(len(res.get("gateway_errors", [])))),
    ]


def statement_tail(res: dict[str, Any]) -> list[str]:
    out = []
    for account in res.get("accounts", []):
        for p in account.phases:
            out += [
                "",
                f"{account.username}, {p.name} phase: top statements by total time "
                "(pg_stat_statements, top level)",
                f"{'calls':>7} {'rows':>9} {'total s':>8} {'mean ms':>8} {'max ms':>8}  query",
            ]
            out += [
                f"{s['calls']:>7,} {s['rows']:>9,} {s['total_ms'] / 1000:>8.2f} "
                f"{s['mean_ms']:>8.2f} {s['max_ms']:>8.1f}  {s['query']}"
                for s in p.statements
            ]
    return out


def plan_tail(res: dict[str, Any]) -> list[str]:
    out = []
    for label, entries in res.get("plans", {}).items():
        total = sum(ms for ms, _ in entries)
        out += [
            "",
            f"== {label}: {len(entries)} statements, {total:,.1f} ms in all; the "
            f"{min(PLANS_PER_PAGE, len(entries))} slowest (auto_explain, ANALYZE, BUFFERS) ==",
        ]
        for _, body in entries[:PLANS_PER_PAGE]:
            out += [line.rstrip() for line in body.splitlines()]
    return out


def render(res: dict[str, Any], args: argparse.Namespace, meta: dict[str, Any]) -> str:
    table: list[tuple[str, str]] = []
    for part in (data_rows, phase_rows, gateway_rows):
        with contextlib.suppress(KeyError, TypeError, ValueError, ZeroDivisionError):
            table += part(res)
    table.append(("failures", "; ".join(res["failures"]) or "none"))
    width = max(len(k) for k, _ in table)
    intro = [
        f"bench/console.py {' '.join(sys.argv[1:])}".rstrip(),
        f"started {meta['started']}, total {meta['total_s']:,.0f} s; {meta['machine']}",
        f"code: {meta['code']}",
        f"working tree at the start: {meta['tree']}",
        f"load average: at the start {meta['loadavg']}, at the end {meta['loadavg_end']} "
        "(2 cores shared with other work: read the figures with the CPU lines below)",
        "PostgreSQL 15 throwaway cluster (bench/eligibility.py PG_SETTINGS: durability off); "
        f"demo seed {args.seed}; requests sequential, timed to the body's last byte, "
        f"after {args.warmup} warm-up rounds",
        "",
    ]
    if meta.get("note"):
        intro[4:4] = [meta["note"]]
    body = [f"{k.ljust(width)}  {v}" for k, v in table]
    pages = ["", *page_rows(res, args.slow_ms)]
    indexes = ["", "Indexes on warnings, warning_assignments, households:"]
    indexes += [f"  {i}" for i in res.get("data", {}).get("indexes", [])]
    return "\n".join(intro + body + pages + statement_tail(res) + indexes + plan_tail(res)) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS)
    p.add_argument("--seed", type=int, default=2021, help="the demo county's seed")
    p.add_argument("--pages", type=int, default=100, help="queue pages to walk (the deepest)")
    p.add_argument("--requests", type=int, default=20, help="timed requests per page")
    p.add_argument("--warmup", type=int, default=3, help="warm-up rounds of every page")
    p.add_argument("--concurrency", type=int, default=4, help="requests at once (<2: none)")
    p.add_argument("--no-history", action="store_true", help="leave the warnings as raised")
    p.add_argument("--slow-ms", type=float, default=SLOW_MS, help="flag pages slower (p50)")
    p.add_argument("--timeout", type=float, default=3 * 3600, help="seconds a step may take")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    p.add_argument("--out", help="report file (default bench/results/console-<date>.txt)")
    p.add_argument("--ref", help="run `lig` from `git archive REF`, not the working tree")
    p.add_argument(
        "--live", action="store_true", help="run `lig` from the working tree itself, not a copy"
    )
    args = p.parse_args()
    if args.live and args.ref:
        p.error("--live runs the working tree; --ref a commit: not both")
    take_signals()

    started = dt.datetime.now()
    meta: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "loadavg": loadavg(),
        "tree": code_line(),
    }
    meta["code"] = meta["tree"]
    tmp = Path(tempfile.mkdtemp(prefix="lig-bench-console-"))
    tmp.chmod(0o711)  # PostgreSQL runs as its own user, in a directory of this one
    res: dict[str, Any] = {"failures": [], "concurrency": args.concurrency}
    engine = PostgresEngine(tmp / "postgresql")
    engine.tmp.mkdir()
    try:
        if not args.live:
            meta["code"], meta["note"] = use_ref(args.ref, tmp / "src", (), "")
        try:
            bench(engine, args, res)
        except (Interrupted, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - report what was reached
            log(f"FAILED: {exc}")
            res["failures"].append(" ".join(f"{exc}".split())[:400])
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
    meta["loadavg_end"] = loadavg()
    report = render(res, args, meta)
    out = Path(args.out) if args.out else RESULTS / f"console-{started:%Y-%m-%d}.txt"
    if not args.out and out.exists():
        out = out.with_name(f"{out.stem}-{started:%H%M%S}.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    log(f"written {out}")
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
