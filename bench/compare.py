"""Full data comparison benchmark (issue 7): `lig compare` over 1,000,000 people and 1,000,000
monitoring events on PostgreSQL, against one hand-written SQL query that finds the same
policy-not-delivered (`policy.medical`) cases: the floor.

    .venv/bin/python bench/compare.py [--people 1000000] [--events 1000000] [--ref REF | --live]

All on 127.0.0.1, in a temp dir. Every `lig` (and the load) runs from a copy of the working tree
made at the start (`--ref REF`: from `git archive REF`; `--live`: from the working tree itself),
so that others' edits during the run do not change what is measured.

 1. A throwaway PostgreSQL 15 cluster (the eligibility benchmark's: durability off,
    pg_stat_statements loaded) and `lig db upgrade`.
 2. The demo county, sized for `--people`: `gateway.demo.loader.load` (COPY, one
    transaction), its county cut after the chunk of 2,000 households in which the people reach
    `--people` (`--households N`: exactly N). Not `lig demo load`: that also runs a full
    comparison at the end, and the measured `lig compare` must be the first one.
 3. `monitoring_events` topped up to `--events` current events: synthetic ones, COPY, for
    people drawn at random (with repetition) among those with a current membership, each with
    their household; kinds and details drawn by the generator's own `_event_facts` (hospital
    settlements with out-of-pocket costs, school enrolments, vehicles, disabilities,
    unemployment, disaster losses), occurred 1-200 days before the demo date 2026-11-01; unique
    agency event ids `EV-BENCH-...`, revision 1. Then VACUUM ANALYZE (timed apart). The share
    of covered households with a valid verification authorisation on the day is reported (the
    generator signs one for ~94 %).
 4. The measured run, as a user runs it: `lig compare --json` as a subprocess, as of today as
    it always is (the day is read back from comparison_runs for the floor; LIG_DATABASE_URL on
    the cluster; grace and look-back days passed explicitly, the defaults), wall time from its
    start to its exit, its VmRSS and VmHWM read every 50 ms
    (peak = the last VmHWM: not wait4's ru_maxrss, which after vfork + exec also counts this
    script's own high-water mark), CPU of the command, of PostgreSQL and of the rest of the
    machine; pg_stat_statements (top level) over this pass gives the database's time by
    statement. Then the warnings it left, by finding.
 5. The steady state: the same command again (nothing new to open, join or clear).
 6. The floor: one SQL statement that finds the covered households with a current hospital
    settlement (out of pocket > 0) within the look-back and at least the grace days old with no
    current MEDICAL assistance record for the patient or the household running on or after the
    stay (rules.py `policy.medical`), with the events that show it. Best of 3, plus one
    EXPLAIN (ANALYZE, BUFFERS). Its households and events are checked against the open
    `policy.medical` warnings the first pass left: any difference is printed, and is a failure.

Prints a table and writes it to bench/results/compare-<date>.txt (-HHMMSS added rather than
overwrite). `--profile DIR` runs py-spy on both passes (DIR/compare{,-again}.folded); it costs
CPU, so measured figures should come from a run without it. The cluster and the temp dir are
cleaned up on exit, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

# From the eligibility benchmark: the log and signal handling; from the push benchmark: its
# PostgreSQL engine (eligibility's cluster), `lig` runs and the report's machine and code lines;
# from the sync benchmark: one measured `lig` command and `--ref`.
from eligibility import T0, Interrupted, log, take_signals  # noqa: E402
from push import PostgresEngine, code_fingerprint, machine, run  # noqa: E402
from sync import Measured, measure, mib, use_ref  # noqa: E402

from gateway.demo.generator import DEMO_DATE, DEMO_TIME, DemoCounty, Town  # noqa: E402
from gateway.domain.enums import RecordSource, StudentStage  # noqa: E402

RESULTS = HERE / "results"
RULE = "policy.medical"
GRACE_DAYS = 30  # LIG_COMPARE_GRACE_DAYS, the default, passed explicitly
LOOKBACK_DAYS = 365  # LIG_COMPARE_LOOKBACK_DAYS, the default, passed explicitly
EVENT_DAYS = 200  # synthetic events occurred 1-200 days before the demo date, as the generator's
COPY_BATCH = 50_000
EVENT_COLUMNS = (
    "kind agency_code agency_event_id revision is_current id_number person_id household_id "
    "occurred_on details source received_at received_by"
).split()
OPEN = "('OPEN', 'DISPATCHED', 'ACKNOWLEDGED', 'ESCALATED')"  # OPEN_WARNING_STATUSES

# Run by `python -c` in the temp dir, so that it imports the gateway every `lig` command of
# the run imports (use_ref's PYTHONPATH). Args: people, households, seed. With households 0
# the county is cut after the chunk of 2,000 households in which its people reach `people`
# (the generator makes the same first households whatever the total; `load` is given an upper
# bound). Prints {"households": N, "rows": {table: rows}}.
LOADER = """
import asyncio, json, sys
from gateway.database import Database
from gateway.demo import loader
from gateway.settings import get_settings

async def main(people, households, seed):
    if not households:
        class Sized(loader.DemoCounty):
            def chunks(self, size=2000):
                made = 0
                for chunk in super().chunks(size):
                    made += chunk.count("persons")
                    yield chunk
                    if made >= people:
                        return
        loader.DemoCounty = Sized
        households = people  # an upper bound: every household has a member
    db = Database(get_settings())
    done = 0
    def progress(n):
        nonlocal done
        done += n
        if done % 50_000 < n:
            print(f"  loaded {done:,} households", file=sys.stderr, flush=True)
    try:
        async with db.engine.begin() as conn:
            report = await loader.load(conn, households, seed, progress=progress)
    finally:
        await db.dispose()
    print(json.dumps({"households": report.rows["households"], "rows": report.rows}))

asyncio.run(main(*map(int, sys.argv[1:])))
"""

# The floor: rules.py `policy.medical` (`_not_delivered`, `_events`, `_delivered`,
# `_still_relevant`) and what facts.py loads for it, as one statement. $1 the look-back's first
# day (as_of - look-back days), $2 the last day whose events have had their grace (as_of -
# grace days, itself before as_of). The household is the event's own (facts.py loads events
# and records by their household_id); a record for a person counts for that person only, one
# for the household (or without a person) for everyone in it.
FLOOR_SQL = """
SELECT e.household_id, array_agg(e.id ORDER BY e.id) AS events
FROM monitoring_events e
JOIN households h ON h.id = e.household_id
WHERE e.kind = 'HOSPITAL_SETTLEMENT'
  AND e.is_current
  AND e.occurred_on BETWEEN $1 AND $2
  AND (e.details ->> 'out_of_pocket')::numeric > 0
  AND h.category <> 'NONE'
  AND h.status IN ('ACTIVE', 'SUSPENDED')
  AND NOT EXISTS (
        SELECT 1
        FROM assistance_records r
        WHERE r.household_id = e.household_id
          AND r.is_current
          AND r.kind = 'MEDICAL'
          AND (r.applies_to <> 'PERSON' OR r.person_id IS NULL OR r.person_id = e.person_id)
          AND (r.period_end IS NULL OR r.period_end >= e.occurred_on)
          AND (r.period_end IS NULL OR r.period_end >= $1))
GROUP BY e.household_id
"""

# The open warnings of the rule and the events they cite (evidence keys "event:<id>").
WARNED_SQL = f"""
SELECT w.household_id, array_agg((ev ->> 'event_id')::bigint ORDER BY (ev ->> 'event_id')::bigint)
FROM warnings w, json_array_elements(w.evidence::json) ev
WHERE w.finding = '{RULE}' AND w.status IN {OPEN}
GROUP BY w.household_id
"""

AUTHORISED_SQL = """
SELECT count(*),
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM verification_authorisations a
           WHERE a.household_id = h.id AND a.granted AND a.signed_on <= $1
             AND (a.valid_until IS NULL OR $1 <= a.valid_until)
             AND (a.withdrawn_on IS NULL OR $1 < a.withdrawn_on)))
FROM households h
WHERE h.category <> 'NONE' AND h.status IN ('ACTIVE', 'SUSPENDED')
"""


# The pass's keyset page of household ids (compare.py `run_full`), as pg_stat_statements
# normalises it: the rows it returned are the households taken so far.
PAGES_SQL = (
    "SELECT coalesce(sum(rows), 0)::bigint FROM pg_stat_statements "
    "WHERE query LIKE 'SELECT households.id %FROM households %WHERE households.id > %LIMIT%'"
)
PROGRESS_SECONDS = 60


class Progress(threading.Thread):
    """Households taken by the running pass, read every PROGRESS_SECONDS and logged."""

    def __init__(self, engine: PostgresEngine, label: str, total: int) -> None:
        super().__init__(daemon=True)
        self.engine, self.label, self.total = engine, label, total
        self.samples: list[tuple[float, int]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while not self.stopped.wait(PROGRESS_SECONDS):
            with contextlib.suppress(Exception):
                done = int(self.engine.query(PAGES_SQL)[0][0])
                at = time.perf_counter() - start
                self.samples.append((at, done))
                log(
                    f"  {self.label}: {done:,} of {self.total:,} households in {at:,.0f} s "
                    f"({done / at:,.0f}/s), load average {loadavg()}"
                )

    def stop(self) -> list[tuple[float, int]]:
        self.stopped.set()
        self.join(10)
        return self.samples


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def _connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, command_timeout=None)


# ---- Data ---------------------------------------------------------------------------------------


def load_county(
    engine: PostgresEngine, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """The demo county by `gateway.demo.loader.load` (no comparison), in a subprocess."""
    cmd = [sys.executable, "-c", LOADER, str(args.people), str(args.households or 0)]
    cmd += [str(args.seed)]
    start = time.perf_counter()
    done = subprocess.run(
        cmd, env=env, cwd=engine.tmp, stdout=subprocess.PIPE, text=True, timeout=args.timeout
    )
    if done.returncode:
        raise RuntimeError(f"the demo load failed ({done.returncode}):\n{done.stdout[-2000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["seconds"] = time.perf_counter() - start
    return out


async def top_up_events(dsn: str, target: int, seed: int) -> dict[str, Any]:
    """Add synthetic current events until `target` are current, for random members."""
    conn, writer = await _connect(dsn), await _connect(dsn)
    try:
        current = await conn.fetchval("SELECT count(*) FROM monitoring_events WHERE is_current")
        need = target - current
        out: dict[str, Any] = {"before": current, "added": max(0, need), "kinds": Counter()}
        if need <= 0:
            return out
        members = await conn.fetchval("SELECT count(*) FROM memberships WHERE left_on IS NULL")
        picks = random.Random(seed)
        # Which members get an event (with repetition), in the order they are read.
        at = array("q", sorted(picks.randrange(members) for _ in range(need)))
        # The generator's own draw of an event's kind, agency and details (a county of its own,
        # seeded apart, so the draws do not depend on the loaded county's).
        facts = DemoCounty([Town("320681000000", "bench", 1.0, 0.0)], 1, seed + 1)
        days = random.Random(seed + 2)
        batch: list[tuple[Any, ...]] = []
        made = i = position = 0
        async with conn.transaction():
            rows = conn.cursor(
                "SELECT m.person_id, m.household_id, p.id_number, p.student_stage "
                "FROM memberships m JOIN persons p ON p.id = m.person_id "
                "WHERE m.left_on IS NULL ORDER BY m.person_id, m.id",
                prefetch=20_000,
            )
            async for person_id, household_id, id_number, stage in rows:
                while i < need and at[i] == position:
                    i += 1
                    kind, agency, details = facts._event_facts(
                        {"student_stage": StudentStage(stage)}
                    )
                    made += 1
                    out["kinds"][kind.value] += 1
                    batch.append(
                        (
                            kind.value,
                            agency,
                            f"EV-BENCH-{agency[:3].upper()}-{made:09d}",
                            1,
                            True,
                            id_number,
                            person_id,
                            household_id,
                            DEMO_DATE - dt.timedelta(days=days.randint(1, EVENT_DAYS)),
                            orjson.dumps(details).decode(),
                            RecordSource.DEMO.value,
                            DEMO_TIME,
                            "bench-compare",
                        )
                    )
                position += 1
                if len(batch) >= COPY_BATCH:
                    await writer.copy_records_to_table(
                        "monitoring_events", records=batch, columns=EVENT_COLUMNS
                    )
                    batch.clear()
                    if made % 250_000 < COPY_BATCH:
                        log(f"  {made:,} of {need:,} events added")
                if i >= need:
                    break
        if batch:
            await writer.copy_records_to_table(
                "monitoring_events", records=batch, columns=EVENT_COLUMNS
            )
        if made != need:
            raise RuntimeError(f"{made} events made, {need} needed ({members} members)")
        return out
    finally:
        await conn.close()
        await writer.close()


async def describe(dsn: str, as_of: dt.date) -> dict[str, Any]:
    """What the comparison will look at."""
    conn = await _connect(dsn)
    try:
        t = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        out: dict[str, Any] = {"vacuum_s": time.perf_counter() - t}
        for name, sql in (
            ("households", "SELECT count(*) FROM households"),
            ("persons", "SELECT count(*) FROM persons"),
            ("events", "SELECT count(*) FROM monitoring_events WHERE is_current"),
            (
                "events_matched",
                "SELECT count(*) FROM monitoring_events WHERE is_current AND household_id "
                "IS NOT NULL",
            ),
            ("records", "SELECT count(*) FROM assistance_records WHERE is_current"),
            ("db_bytes", "SELECT pg_database_size(current_database())"),
        ):
            out[name] = await conn.fetchval(sql)
        out["event_kinds"] = dict(
            await conn.fetch(
                "SELECT kind, count(*) FROM monitoring_events WHERE is_current "
                "GROUP BY kind ORDER BY count(*) DESC"
            )
        )
        out["covered"], out["authorised"] = await conn.fetchrow(AUTHORISED_SQL, as_of)
        return out
    finally:
        await conn.close()


# ---- The gateway's answer and the floor ---------------------------------------------------------


async def warnings_left(dsn: str) -> dict[str, Any]:
    conn = await _connect(dsn)
    try:
        by_finding = dict(
            await conn.fetch(
                f"SELECT finding, count(*) FROM warnings WHERE status IN {OPEN} "
                "GROUP BY finding ORDER BY finding"
            )
        )
        warned = {r[0]: tuple(r[1]) for r in await conn.fetch(WARNED_SQL)}
        return {"open_by_finding": by_finding, "warned": warned}
    finally:
        await conn.close()


async def floor(dsn: str, as_of: dt.date, rounds: int = 3) -> dict[str, Any]:
    since = as_of - dt.timedelta(days=LOOKBACK_DAYS)
    due_by = as_of - dt.timedelta(days=GRACE_DAYS)
    conn = await _connect(dsn)
    try:
        times, found = [], {}
        for _ in range(rounds):
            t = time.perf_counter()
            rows = await conn.fetch(FLOOR_SQL, since, due_by)
            times.append(time.perf_counter() - t)
            found = {r[0]: tuple(r[1]) for r in rows}
        plan = [
            r[0] for r in await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + FLOOR_SQL, since, due_by)
        ]
        return {"times": times, "found": found, "plan": plan, "since": since, "due_by": due_by}
    finally:
        await conn.close()


def check(found: dict[int, tuple[int, ...]], warned: dict[int, tuple[int, ...]]) -> dict[str, Any]:
    """The floor's households (and their events) against the open warnings'."""
    only_floor = sorted(set(found) - set(warned))
    only_gateway = sorted(set(warned) - set(found))
    other_events = sorted(h for h in set(found) & set(warned) if found[h] != warned[h])
    problems = []
    if only_floor:
        problems.append(f"{len(only_floor)} households found by the floor only: {only_floor[:10]}")
    if only_gateway:
        problems.append(f"{len(only_gateway)} households warned only: {only_gateway[:10]}")
    if other_events:
        h = other_events[0]
        problems.append(
            f"{len(other_events)} households with other events, e.g. {h}: floor "
            f"{list(found[h])[:6]}, warning {list(warned[h])[:6]}"
        )
    return {
        "floor": len(found),
        "gateway": len(warned),
        "floor_events": sum(map(len, found.values())),
        "gateway_events": sum(map(len, warned.values())),
        "problems": problems,
    }


# ---- One run ------------------------------------------------------------------------------------


def bench(engine: PostgresEngine, args: argparse.Namespace, res: dict[str, Any]) -> None:
    """Every step, filling `res` as it goes (what was reached is reported if a step fails)."""
    engine.start()
    env = dict(
        os.environ,
        LIG_DATABASE_URL=engine.url,
        LIG_COMPARE_GRACE_DAYS=str(GRACE_DAYS),
        LIG_COMPARE_LOOKBACK_DAYS=str(LOOKBACK_DAYS),
    )
    _, res["migrate_s"] = run(["db", "upgrade"], env)
    log(f"migrated in {res['migrate_s']:.1f} s; loading the demo county for {args.people:,} people")

    load = res["load"] = load_county(engine, env, args)
    log(f"loaded {load['households']:,} households in {load['seconds']:.0f} s: {load['rows']}")

    t = time.perf_counter()
    top = res["top_up"] = asyncio.run(top_up_events(engine.dsn, args.events, args.seed))
    top["seconds"] = time.perf_counter() - t
    log(
        f"events: {top['before']:,} from the demo, {top['added']:,} added in {top['seconds']:.0f} s"
    )

    data = res["data"] = asyncio.run(describe(engine.dsn, dt.date.today()))
    log(
        f"VACUUM ANALYZE {data['vacuum_s']:.0f} s; {data['persons']:,} people, "
        f"{data['events']:,} events, {data['authorised']:,} of {data['covered']:,} covered "
        f"households authorised, database {data['db_bytes'] / 2**20:,.0f} MiB"
    )

    def step(label: str) -> Measured:
        """One measured pass; pg_stat_statements (top level) counts its statements."""
        spy = Path(args.profile) / f"{label}.folded" if args.profile else None
        cmd = ["compare", "--json"]
        res[f"loadavg_{label}"] = loadavg()
        engine.track()
        progress = Progress(engine, label, data["households"])
        progress.start()
        try:
            m = measure(cmd, env, engine.tmp, label, args.timeout, engine.postmaster, None, spy)
        finally:
            res[f"progress_{label}"] = progress.stop()
        # `lig compare` compares as of today: the day the run recorded.
        res[f"as_of_{label}"] = engine.query(
            "SELECT as_of FROM comparison_runs WHERE id = $1", m.result["run"]
        )[0][0]
        res[f"statements_total_{label}"] = engine.query(
            "SELECT sum(calls)::bigint, sum(total_exec_time) FROM pg_stat_statements "
            "WHERE query NOT LIKE '%pg_stat_statements%'"
        )[0]
        res[f"statements_{label}"] = engine.statements()
        return m

    log(f"lig compare --json (load average {loadavg()})")
    first = res["compare"] = step("compare")
    r = first.result
    log(
        f"compared {r['households']:,} households in {first.wall_s:.1f} s "
        f"({r['households'] / first.wall_s:,.0f}/s), peak RSS {mib(first.peak_rss_kb)}: "
        f"{r['findings']:,} findings, {r['opened']:,} opened"
    )
    left = res["left"] = asyncio.run(warnings_left(engine.dsn))

    log("lig compare again (steady state)")
    again = res["again"] = step("compare-again")
    a = again.result
    if res["as_of_compare-again"] != res["as_of_compare"]:
        res["failures"].append(
            f"the passes ran as of {res['as_of_compare']} and {res['as_of_compare-again']}"
        )
    log(
        f"second pass {again.wall_s:.1f} s, opened {a['opened']}, joined {a['joined']}, "
        f"cleared {a['cleared']}"
    )
    if a["opened"] or a["joined"] or a["cleared"]:
        res["failures"].append(
            f"second pass opened {a['opened']}, joined {a['joined']}, cleared {a['cleared']}"
        )

    log("the floor: one SQL statement, best of 3")
    low = res["floor"] = asyncio.run(floor(engine.dsn, res["as_of_compare"]))
    verdict = res["check"] = check(low["found"], left["warned"])
    if r["by_rule"].get(RULE, 0) != verdict["gateway"]:
        verdict["problems"].append(
            f"{r['by_rule'].get(RULE, 0)} {RULE} findings, {verdict['gateway']} open warnings"
        )
    res["failures"] += verdict["problems"]
    log(
        f"floor {min(low['times']):.2f} s: {verdict['floor']:,} households; open {RULE} "
        f"warnings: {verdict['gateway']:,}; "
        + (
            "same households and events"
            if not verdict["problems"]
            else "; ".join(verdict["problems"])
        )
    )


# ---- Report -------------------------------------------------------------------------------------


def cpu(m: Measured) -> str:
    pct = {k: 100 * v / m.wall_s for k, v in m.cpu.items()}
    return (
        f"command {pct['command']:.0f} %, PostgreSQL {pct['postgresql']:.0f} %, "
        f"other {pct['other']:.0f} % (machine {pct['machine']:.0f} %)"
    )


def data_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    load, top, data = res["load"], res["top_up"], res["data"]
    return [
        ("people", f"{data['persons']:,}"),
        (
            "events (current)",
            f"{data['events']:,} ({top['before']:,} from the demo + {top['added']:,} "
            f"added; {data['events_matched']:,} with a household)",
        ),
        ("  by kind", ", ".join(f"{k} {v:,}" for k, v in data["event_kinds"].items())),
        ("households", f"{data['households']:,}"),
        (
            "covered households / with a valid authorisation",
            f"{data['covered']:,} / {data['authorised']:,} "
            f"({100 * data['authorised'] / max(1, data['covered']):.1f} %)",
        ),
        ("assistance records (current)", f"{data['records']:,}"),
        ("database size before the comparison", f"{data['db_bytes'] / 2**20:,.0f} MiB"),
        (
            "set-up: migrate / load / events / VACUUM ANALYZE",
            f"{res['migrate_s']:.0f} s / {load['seconds']:.0f} s / {top['seconds']:.0f} s / "
            f"{data['vacuum_s']:.0f} s",
        ),
    ]


def first_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    m: Measured = res["compare"]
    r = m.result
    as_of = res["as_of_compare"]
    since = as_of - dt.timedelta(days=LOOKBACK_DAYS)
    due_by = as_of - dt.timedelta(days=GRACE_DAYS)
    out = [
        (
            "as of (look-back from, grace up to)",
            f"{as_of} ({since}, {due_by}): today, as `lig compare` always compares",
        ),
        ("lig compare wall time (first full pass)", f"{m.wall_s:,.1f} s"),
        ("  rate", f"{r['households'] / m.wall_s:,.0f} households/s"),
        ("  peak RSS", mib(m.peak_rss_kb)),
        ("  RSS at each tenth", " ".join(map(str, m.rss_timeline_mib)) + " MiB"),
        ("  households taken, every 5 min", progress_line(res["progress_compare"])),
        ("  CPU (100 % = a core)", cpu(m)),
        ("  load average at its start", res["loadavg_compare"]),
        (
            "  counts",
            f"households {r['households']:,}, findings {r['findings']:,}, opened "
            f"{r['opened']:,}, joined {r['joined']:,}, cleared {r['cleared']:,}, "
            f"escalated {r['escalated']:,}",
        ),
        ("  findings by rule", ", ".join(f"{k} {v:,}" for k, v in r["by_rule"].items())),
        ("  skipped", json.dumps(r["skipped"])),
    ]
    out += statement_rows(res, "compare")
    out.append(
        (
            "open warnings by finding (after it)",
            ", ".join(f"{k} {v:,}" for k, v in res["left"]["open_by_finding"].items()),
        )
    )
    return out


def again_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    a: Measured = res["again"]
    x = a.result
    out = [
        ("lig compare again (steady state)", f"{a.wall_s:,.1f} s"),
        ("  rate", f"{x['households'] / a.wall_s:,.0f} households/s"),
        ("  peak RSS", mib(a.peak_rss_kb)),
        ("  CPU", cpu(a)),
        ("  load average at its start", res["loadavg_compare-again"]),
        (
            "  counts",
            f"findings {x['findings']:,}, opened {x['opened']:,}, joined {x['joined']:,}, "
            f"cleared {x['cleared']:,}, escalated {x['escalated']:,}",
        ),
    ]
    return out + statement_rows(res, "compare-again")


def floor_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    f, c = res["floor"], res["check"]
    best = min(f["times"])
    out = [
        (
            f"floor: one SQL statement ({RULE})",
            f"{best:.2f} s best of {len(f['times'])} "
            f"({', '.join(f'{t:.2f}' for t in f['times'])} s)",
        ),
        ("  households / events found", f"{c['floor']:,} / {c['floor_events']:,}"),
        (f"  open {RULE} warnings / their events", f"{c['gateway']:,} / {c['gateway_events']:,}"),
        (
            "  check: floor = gateway",
            "same households, same events" if not c["problems"] else "; ".join(c["problems"]),
        ),
    ]
    m: Measured = res["compare"]
    n = m.result["households"]
    out += [
        ("ratio compare / floor (wall)", f"{m.wall_s / best:,.0f} x"),
        (
            "  per household: floor / whole pass",
            f"{1e6 * best / n:.2f} / {1e6 * m.wall_s / n:.0f} us",
        ),
    ]
    return out


def rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    """The table: each part as far as the run got (a failed step leaves its part out)."""
    out: list[tuple[str, str]] = []
    for part in (data_rows, first_rows, again_rows, floor_rows):
        with contextlib.suppress(KeyError, TypeError, ValueError, ZeroDivisionError):
            out += part(res)
    out.append(("failures", "; ".join(res["failures"]) or "none"))
    return out


def progress_line(samples: list[tuple[float, int]]) -> str:
    """Every fifth sample (5 min apart): seconds, households taken, rate since the last one."""
    picked = samples[4::5]
    out, last = [], (0.0, 0)
    for at, done in picked:
        out.append(f"{at:,.0f} s {done:,} ({(done - last[1]) / (at - last[0]):,.0f}/s)")
        last = (at, done)
    return "; ".join(out) or "-"


def statement_rows(res: dict[str, Any], label: str) -> list[tuple[str, str]]:
    """The database's share of a pass: every statement, and the six that took longest."""
    calls, total_ms = res[f"statements_total_{label}"]
    out = [
        (
            "  PostgreSQL statements (pg_stat_statements)",
            f"{calls:,} calls, {total_ms / 1000:,.1f} s of execution",
        )
    ]
    for s in res[f"statements_{label}"]:
        out.append(
            (
                f"    {s['total_ms'] / 1000:,.1f} s, {s['calls']:,} calls, {s['rows']:,} rows",
                s["query"],
            )
        )
    return out


def render(res: dict[str, Any], args: argparse.Namespace, meta: dict[str, Any]) -> str:
    table = rows(res)
    width = max(len(k) for k, _ in table)
    intro = [
        f"bench/compare.py {' '.join(sys.argv[1:])}".rstrip(),
        f"started {meta['started']}, total {meta['total_s']:,.0f} s; {meta['machine']}",
        f"code: {meta['code']}",
        f"working tree at the start: {meta['tree']}",
        f"load average: at the start {meta['loadavg']}, at the end {meta['loadavg_end']} "
        "(the machine is shared with other work)",
        f"PostgreSQL 15 throwaway cluster (bench/eligibility.py PG_SETTINGS: durability off); "
        f"demo seed {args.seed}, {res['load']['households'] if 'load' in res else '?'} households",
        "",
    ]
    if meta.get("note"):
        intro[4:4] = [meta["note"]]
    if meta["tree_after"] != meta["tree"]:
        intro[4:4] = [
            ("CODE CHANGED DURING THE RUN" if args.live else "(not used by this run)")
            + f" working tree at the end: {meta['tree_after']}"
        ]
    body = [f"{k.ljust(width)}  {v}" for k, v in table]
    plan = res.get("floor", {}).get("plan")
    tail = (
        ["", "The floor:", FLOOR_SQL.strip(), "", "EXPLAIN (ANALYZE, BUFFERS):", *plan]
        if plan
        else []
    )
    return "\n".join(intro + body + tail) + "\n"


def code_line() -> str:
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    return f"{head.stdout.strip()}{' dirty' if dirty.stdout.strip() else ''}: {code_fingerprint()}"


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--people", type=int, default=1_000_000, help="people in the demo county")
    p.add_argument("--events", type=int, default=1_000_000, help="current monitoring events")
    p.add_argument("--households", type=int, help="households to load (default: for --people)")
    p.add_argument("--seed", type=int, default=2021, help="the demo county's seed")
    p.add_argument("--timeout", type=float, default=3 * 3600, help="seconds a step may take")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    p.add_argument("--profile", metavar="DIR", help="py-spy both passes into DIR")
    p.add_argument("--out", help="report file (default bench/results/compare-<date>.txt)")
    p.add_argument(
        "--ref", help="run `lig` from `git archive REF` in the temp dir, not the working tree"
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="run `lig` from the working tree itself, not from a copy made at the start "
        "(each command then runs the code as it is when the command starts)",
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
    tmp = Path(tempfile.mkdtemp(prefix="lig-bench-compare-"))
    tmp.chmod(0o711)  # PostgreSQL runs as its own user, in a directory of this one
    res: dict[str, Any] = {"failures": []}
    engine = PostgresEngine(tmp / "postgresql")
    engine.tmp.mkdir()
    try:
        if not args.live:
            # `lig` from `git archive REF`, or a copy of the working tree made now: others'
            # edits during the run do not change what is measured.
            meta["code"], meta["note"] = use_ref(
                args.ref, tmp / "src", ("gateway/demo/generator.py",), "the events added use"
            )
        try:
            bench(engine, args, res)
        except (Interrupted, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - report what was reached
            log(f"FAILED: {exc}")
            res.setdefault("failures", []).append(" ".join(f"{exc}".split())[:400])
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
    meta["tree_after"] = code_line()
    report = render(res, args, meta)
    out = Path(args.out) if args.out else RESULTS / f"compare-{started:%Y-%m-%d}.txt"
    if not args.out and out.exists():
        out = out.with_name(f"{out.stem}-{started:%H%M%S}.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    log(f"written {out}")
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
