"""The disabled persons' federation's certificate feed, simulated (see `feed.py` for the fields
and `adapters/feeds/paged_simulator.py` for the wire and the faults).

    lig simulate disabled-federation --size 2000 --fault bad_record=0.05
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import Any

from starlette.applications import Starlette

from adapters.faults import Faults
from adapters.feeds import synthetic
from adapters.feeds.paged_simulator import Agency, Entry, Record, create_paged_app, entries

# The categories of feed.CATEGORIES, weighted: physical disability is by far the most common.
CATEGORY_WEIGHTS = {"1": 12, "2": 14, "3": 2, "4": 45, "5": 8, "6": 9, "7": 10}


def _new(draw: Random, serial: int, id_number: str) -> Record:
    category = draw.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    grade = draw.choice("1234")
    issued = synthetic.day(draw)
    return {
        "fzjlid": f"CL{synthetic.QIDONG}{issued:%Y}{serial:07d}",
        "bbh": 1,
        "sfzh": id_number,
        "xm": synthetic.name(draw),
        "cjrzh": f"{id_number}{category}{grade}",
        "cjlb": category,
        "cjdj": grade,
        "fzrq": str(issued),
    }


def _correct(draw: Random, record: Record) -> Record:
    # The grade keyed in wrongly: the certificate number carries it too.
    grade = draw.choice([g for g in "1234" if g != record["cjdj"]])
    record.update(cjdj=grade, cjrzh=record["cjrzh"][:-1] + grade)
    return record


def _spoil(draw: Random, record: Record) -> tuple[Record, str]:
    how = draw.choice(("grade", "category", "id", "missing"))
    if how == "grade":
        record["cjdj"] = "5"
        return record, "cjdj 5 (grades are 1 to 4)"
    if how == "category":
        record["cjlb"] = "9"
        return record, "unknown cjlb 9"
    if how == "id":
        record["sfzh"] = synthetic.wrong_check(record["sfzh"])
        return record, "sfzh with a wrong check character"
    del record["fzrq"]
    return record, "fzrq missing"


AGENCY = Agency("disabled-federation", "fzjlid", "bbh", _new, _correct, _spoil)


def dataset(
    seed: int = 2026,
    size: int = 1000,
    faults: Faults | None = None,
    id_numbers: Sequence[str] | None = None,
) -> list[Entry]:
    """The certificates the simulator serves, in order, each marked if a fault broke it."""
    return entries(AGENCY, seed=seed, size=size, faults=faults, id_numbers=id_numbers)


def create_app(
    seed: int = 2026,
    faults: Faults | None = None,
    size: int = 1000,
    *,
    id_numbers: Sequence[str] | None = None,
    api_key: str | None = None,
    **_options: Any,
) -> Starlette:
    return create_paged_app(dataset(seed, size, faults, id_numbers), faults, api_key=api_key)
