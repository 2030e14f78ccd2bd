#!/usr/bin/env python3
"""The raw-SQL floors of bench/province.py, run in a process of their own so that the raw
client's peak memory is its own (VmHWM), not the benchmark script's.

    python bench/province_raw.py SPEC.json

SPEC.json: {"kind": "eligibility" | "households", "dsn": ..., "postmaster": pid,
"requests": [...], "label": ..., "args": {"concurrency", "seed", "warmup", "rounds", "duration"}}.
`requests` are batches of ID numbers (eligibility) or the ids after which a page of households
starts (households). Prints one line, `RAW_JSON {"result": <run_rounds' figures>,
"peak_rss_mb": ...}`; progress goes to stderr.

- eligibility: bench/eligibility.py's own floor (`raw_scenario`): one prepared statement per
  batch, `... WHERE p.id_number = ANY($1::char(18)[])`, asyncpg, N connections, N workers.
- households: HOUSEHOLDS_SQL, one prepared statement per page: 50 households in id order after a
  cursor, each with its current members (and their persons) and its latest current assistance
  records, aggregated to JSON by PostgreSQL and decoded here, as a caller would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

import asyncpg
import orjson

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import eligibility  # noqa: E402
from eligibility import proc_status_mb, raw_scenario, run_rounds, timed_round  # noqa: E402

PAGE = 50  # households per page
RECORDS = 3  # latest assistance records per household

# What the gateway's page of households answers (bench/province.py HOUSEHOLDS_QUERY), by hand:
# members in membership order (current only), records newest first (latest revisions only), the
# amount in yuan with two places as the Money scalar writes it.
HOUSEHOLDS_SQL = f"""
SELECT h.id, h.code, h.category, h.status, h.valid_until,
    (SELECT coalesce(json_agg(json_build_object('relation', m.relation, 'joinedOn', m.joined_on,
                'idNumber', p.id_number, 'name', p.name) ORDER BY m.id), '[]')
     FROM memberships m JOIN persons p ON p.id = m.person_id
     WHERE m.household_id = h.id AND m.left_on IS NULL) AS members,
    (SELECT coalesce(json_agg(json_build_object('agency', r.agency_code,
                'agencyRecordId', r.agency_record_id, 'kind', r.kind,
                'amount', (r.amount::numeric / 100)::numeric(20, 2)::text,
                'periodStart', r.period_start, 'periodEnd', r.period_end) ORDER BY r.id DESC), '[]')
     FROM (SELECT * FROM assistance_records r
           WHERE r.household_id = h.id AND r.is_current
           ORDER BY r.id DESC LIMIT {RECORDS}) r) AS records
FROM households h
WHERE h.id > $1
ORDER BY h.id
LIMIT {PAGE}
"""


def decode(rows: list[Any]) -> list[tuple[Any, ...]]:
    """The page's rows with their JSON decoded: what a caller of the floor would use."""
    return [(*r[:5], orjson.loads(r["members"]), orjson.loads(r["records"])) for r in rows]


async def households_round(
    stmts: list[Any], afters: list[int], duration: float, rng: random.Random
) -> dict[str, Any]:
    """As eligibility.raw_round: each worker asks for random pages on its own connection."""

    async def ask(stmt: Any, wrng: random.Random) -> None:
        decode(await stmt.fetch(afters[wrng.randrange(len(afters))], timeout=10))

    return await timed_round(stmts, duration, rng, ask)


def households_scenario(
    args: argparse.Namespace, dsn: str, afters: list[int], label: str, postmaster: int
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with asyncio.Runner() as runner:
        conns = [runner.run(asyncpg.connect(dsn)) for _ in range(args.concurrency)]
        try:
            stmts = [runner.run(c.prepare(HOUSEHOLDS_SQL)) for c in conns]

            def one(duration: int) -> dict[str, Any]:
                return runner.run(households_round(stmts, afters, duration, rng))

            return run_rounds(args, label, one, None, postmaster)
        finally:
            for c in conns:
                runner.run(c.close())


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    eligibility.T0 = spec.get("t0", eligibility.T0)  # log lines count from the run's start
    args = argparse.Namespace(**spec["args"])
    run = raw_scenario if spec["kind"] == "eligibility" else households_scenario
    result = run(args, spec["dsn"], spec["requests"], spec["label"], spec["postmaster"])
    peak = proc_status_mb(os.getpid(), "VmHWM")
    print("RAW_JSON " + json.dumps({"result": result, "peak_rss_mb": peak}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
