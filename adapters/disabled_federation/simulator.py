"""The disabled persons' federation's certificate feed, simulated (see `feed.py` for the fields
and `adapters/feeds/paged_simulator.py` for the wire and the faults).

    lig simulate disabled-federation --size 2000 --fault bad_record=0.05
"""

from __future__ import annotations

from functools import partial
from random import Random

from adapters.feeds import synthetic
from adapters.feeds.paged_simulator import Agency, Record, agency_app, agency_dataset

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


# Each simulator module offers `dataset(seed, size, faults, id_numbers)` and
# `create_app(seed, faults, size, …)` (what `lig simulate` and the tests call).
dataset = partial(agency_dataset, AGENCY)
create_app = partial(agency_app, AGENCY)
