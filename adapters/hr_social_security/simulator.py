"""The human resources and social security bureau's unemployment registrations, simulated (see
`feed.py` for the fields and `adapters/feeds/paged_simulator.py` for the wire and the faults).

    lig simulate hr-social-security --size 3000 --fault slow=0.5,malformed=0.1
"""

from __future__ import annotations

from functools import partial
from random import Random

from adapters.feeds import synthetic
from adapters.feeds.paged_simulator import Agency, Record, agency_app, agency_dataset

# 失业原因: 1 合同期满, 2 解除劳动合同, 3 单位破产, 9 其他 (the codes are the bureau's).
REASONS = ("1", "2", "3", "9")
# Qidong's towns, where registrations are taken.
OFFICES = ("320681100000", "320681101000", "320681102000", "320681103000")


def _new(draw: Random, serial: int, id_number: str) -> Record:
    began = synthetic.day(draw)
    return {
        "sydjbh": f"SY{began:%Y%m}{serial:08d}",
        "bbh": "1",  # the bureau sends its numbers as text
        "aac002": id_number,
        "aac003": synthetic.name(draw),
        "aae030": f"{began:%Y%m%d}",
        "ajc093": draw.choice(REASONS),
        "aab301": draw.choice(OFFICES),
    }


def _correct(draw: Random, record: Record) -> Record:
    record["ajc093"] = draw.choice(REASONS)
    record["aae030"] = f"{synthetic.day(draw):%Y%m%d}"
    return record


def _spoil(draw: Random, record: Record) -> tuple[Record, str]:
    how = draw.choice(("month", "id", "missing"))
    if how == "month":
        record["aae030"] = record["aae030"][:4] + "13" + record["aae030"][6:]
        return record, "aae030 in month 13"
    if how == "id":
        record["aac002"] = synthetic.wrong_check(record["aac002"])
        return record, "aac002 with a wrong check character"
    record["aac002"] = ""
    return record, "aac002 blank"


AGENCY = Agency("hr-social-security", "sydjbh", "bbh", _new, _correct, _spoil)


# Each simulator module offers `dataset(seed, size, faults, id_numbers)` and
# `create_app(seed, faults, size, …)` (what `lig simulate` and the tests call).
dataset = partial(agency_dataset, AGENCY)
create_app = partial(agency_app, AGENCY)
