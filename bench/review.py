"""`lig review` over ~100,000 due households on PostgreSQL: households per second, peak memory.

    .venv/bin/python bench/review.py [--households 560000]

Starts a throwaway PostgreSQL cluster (as the tests do), loads the demo county (about 18 % of
its households are MARGINAL, EXPENDITURE or LEGACY_LOW_INCOME, all due within the next year),
sets the two figures nobody has published as operator figures, then runs
`lig review --due-before 2028-01-01` under /usr/bin/time and prints what it did and cost.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import postgres  # noqa: E402

LIG = str(Path(sys.executable).parent / "lig")


def run(args: list[str], env: dict[str, str]) -> tuple[str, float, int | None]:
    """stdout, wall seconds and peak RSS (KiB) of one `lig` command."""
    timed = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    start = time.perf_counter()
    done = subprocess.run([*timed, LIG, *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"lig {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return done.stdout, elapsed, int(peak.group(1)) if peak else None


def mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=560_000)
    args = parser.parse_args()
    cluster = postgres.start()
    try:
        env = dict(os.environ, LIG_DATABASE_URL=cluster.database_url("postgres"))
        out, seconds, peak = run(["demo", "load", "--households", str(args.households)], env)
        loaded = json.loads(out)["loaded"]
        print(f"load: {loaded['households']:,} households, {loaded['persons']:,} people "
              f"in {seconds:.0f} s, peak RSS {mib(peak)} MiB")  # fmt: skip
        for figure, since, value in (
            ("DISPOSABLE_INCOME", "2025-01-01", "55000"),
            ("HOUSING_AREA_PER_CAPITA", "2020-01-01", "30"),
        ):
            run(["standards", "set", "--figure", figure, "--from", since, "--value", value,
                 "--source", "benchmark operator figure"], env)  # fmt: skip
        out, seconds, peak = run(
            ["review", "--due-before", "2027-11-23", "--as-of", "2026-11-23"], env
        )
        report = json.loads(out)
        decided = report["reviewed"] + sum(report["blocked"].values())
        print(f"review: {json.dumps(report)}")
        print(f"review: {decided:,} due households in {seconds:.1f} s = "
              f"{decided / seconds:,.0f} households/s, peak RSS {mib(peak)} MiB")  # fmt: skip
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
