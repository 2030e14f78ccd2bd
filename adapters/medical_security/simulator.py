"""The medical security bureau's settlement feed, simulated (see `feed.py` for the fields and
`adapters/feeds/paged_simulator.py` for the wire and the faults).

    lig simulate medical-security --size 5000 --fault error=0.2,duplicate=0.3,bad_record=0.05
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import partial
from random import Random

from adapters.feeds import synthetic
from adapters.feeds.paged_simulator import Agency, Record, agency_app, agency_dataset
from adapters.medical_security.feed import INPATIENT, OUTPATIENT


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _bill(draw: Random, record: Record, inpatient: bool) -> None:
    total = Decimal(draw.randint(8_000, 9_000_000) if inpatient else draw.randint(3_000, 300_000))
    total /= 100
    share = Decimal(draw.randint(15, 60)) / 100
    part = (total * share).quantize(Decimal("0.01"))
    record["medfee_sumamt"] = _money(total)
    record["psn_part_amt"] = _money(part)
    record["fund_pay_sumamt"] = _money(total - part)


def _new(draw: Random, serial: int, id_number: str) -> Record:
    inpatient = draw.random() < 0.4
    settled = synthetic.day(draw)
    record: Record = {
        "setl_id": f"YB{synthetic.QIDONG}{settled:%Y%m%d}{serial:06d}",
        "rec_ver": 1,
        "certno": id_number,
        "psn_name": synthetic.name(draw),
        "med_type": draw.choice(sorted(INPATIENT if inpatient else OUTPATIENT)),
        "setl_time": f"{settled} {draw.randint(8, 17):02d}:{draw.randint(0, 59):02d}:00",
    }
    if inpatient:
        stay = draw.randint(0, 40)
        record["begndate"] = str(settled - timedelta(days=stay))
        record["enddate"] = str(settled)
    _bill(draw, record, inpatient)
    return record


def _correct(draw: Random, record: Record) -> Record:
    # A settlement redone: the amounts change, the settlement stays.
    _bill(draw, record, record["med_type"] in INPATIENT)
    return record


def _spoil(draw: Random, record: Record) -> tuple[Record, str]:
    how = draw.choice(("part", "certno", "med_type", "setl_time", "missing"))
    if how == "part":
        record["psn_part_amt"] = _money(Decimal(record["medfee_sumamt"]) + 100)
        return record, "psn_part_amt more than medfee_sumamt"
    if how == "certno":
        record["certno"] = synthetic.wrong_check(record["certno"])
        return record, "certno with a wrong check character"
    if how == "med_type":
        record["med_type"] = "99"
        return record, "unknown med_type 99"
    if how == "setl_time":
        record["setl_time"] = "2026-02-30 09:00:00"
        return record, "setl_time on 30 February"
    del record["certno"]
    return record, "certno missing"


AGENCY = Agency("medical-security", "setl_id", "rec_ver", _new, _correct, _spoil)


# Each simulator module offers `dataset(seed, size, faults, id_numbers)` and
# `create_app(seed, faults, size, …)` (what `lig simulate` and the tests call).
dataset = partial(agency_dataset, AGENCY)
create_app = partial(agency_app, AGENCY)
