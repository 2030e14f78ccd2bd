"""How many assessments per second the pure rules engine makes on one core.

    .venv/bin/python bench/assess_engine.py [--cases 20000] [--rounds 5]

Builds a deterministic mix of households (1 to 5 members, incomes across every category, some
cars, homes and rigid expenditure), then times `assess(case, standards)` over all of them, and
separately `assess_request(payload)` (validating the JSON-like request first, as `lig assess`
and GraphQL `assess` do). One process, so one core. Prints the median of the rounds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

from gateway.assessment import assess_request, parse_request
from gateway.domain import idnumber
from gateway.domain.rules import Standards, assess

AS_OF = date(2023, 3, 1)
STANDARDS = {
    "dibao_monthly": 780,
    "disposable_income_prev_year": 49862,
    "housing_area_per_capita": 30,
    "legacy_transition_end": "2024-08-31",
}


def payloads(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        size = rng.choice((1, 1, 2, 2, 3, 4, 5))
        members = []
        for i in range(size):
            born = AS_OF - timedelta(days=rng.randint(1 * 365, 90 * 365))
            members.append(
                {
                    "id_number": idnumber.compose("320681", born, (n * 7 + i) % 999 + 1),
                    "relation": "SELF" if i == 0 else rng.choice(("SPOUSE", "CHILD", "PARENT")),
                    "labor_capacity": rng.choice(("FULL", "WEAK", "NONE")),
                    "severe_illness": rng.random() < 0.05,
                    "has_capable_supporter": rng.random() < 0.8,
                }
            )
        monthly = rng.choice((400, 700, 900, 1100, 1500, 2500, 4000)) + rng.randint(0, 99)
        out.append(
            {
                "as_of": AS_OF.isoformat(),
                "region_code": "320681",
                "standards": STANDARDS,
                "current_category": rng.choice(("NONE",) * 8 + ("DIBAO", "LEGACY_LOW_INCOME")),
                "members": members,
                "annual_income": monthly * 12 * size,
                "rigid_expenditure": {"medical": rng.choice((0, 0, 5000, 30000))},
                "assets": {
                    "cars": [{"value": 50000}] if rng.random() < 0.15 else [],
                    "homes": rng.choice((0, 1, 1, 1, 2)),
                    "floor_area": rng.randint(40, 200),
                    "financial": rng.randint(0, 60000),
                },
            }
        )
    return out


def rate(fn: Any, items: list[Any], rounds: int) -> float:
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            fn(item)
        results.append(len(items) / (time.perf_counter() - start))
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = payloads(args.cases)
    parsed = [parse_request(p) for p in items]
    cases = [p.case() for p in parsed]
    standards = Standards().overridden_by(parsed[0].given_standards())
    mix = Counter(assess(c, standards).category.value for c in cases)
    engine = rate(lambda c: assess(c, standards), cases, args.rounds)
    full = rate(assess_request, items, args.rounds)
    print(f"cases: {len(cases)}, categories: {dict(sorted(mix.items()))}")
    print(f"pure engine, assess(case, standards): {engine:,.0f} assessments/s (one core)")
    print(f"with request validation, assess_request(payload): {full:,.0f} assessments/s")
    print(f"per assessment: engine {1e6 / engine:.1f} µs, with validation {1e6 / full:.1f} µs")


if __name__ == "__main__":
    main()
