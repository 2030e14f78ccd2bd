"""The public security bureau's feed of deaths and vehicle registrations, simulated (see
`feed.py` for the fields and `adapters/feeds/paged_simulator.py` for the wire and the faults).

    lig simulate public-security --size 5000 --fault timeout=0.1,disorder=0.3
"""

from __future__ import annotations

from functools import partial
from random import Random

from adapters.feeds import synthetic
from adapters.feeds.paged_simulator import Agency, Record, agency_app, agency_dataset
from adapters.public_security.feed import DEATH, VEHICLE

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _new(draw: Random, serial: int, id_number: str) -> Record:
    happened = synthetic.day(draw)
    record: Record = {
        "ywlsh": f"GA{happened:%Y%m%d}{serial:07d}",
        "bbh": 1,
        "gmsfhm": id_number,
        "xm": synthetic.name(draw),
    }
    if draw.random() < 0.3:
        record.update(ywlx=DEATH, swrq=f"{happened:%Y%m%d}")
    else:
        plate = "".join(draw.choice(PLATE_LETTERS + "0123456789") for _ in range(5))
        record.update(
            ywlx=VEHICLE,
            hpzl="02",  # 小型汽车
            hphm=f"苏F{plate}",
            ccdjrq=f"{happened:%Y%m%d}",
            gcjg=draw.randrange(30_000, 400_000, 100),
        )
    return record


def _correct(draw: Random, record: Record) -> Record:
    if record["ywlx"] == DEATH:
        day = int(record["swrq"][-2:])  # a day keyed in wrongly, corrected within the month
        record["swrq"] = record["swrq"][:-2] + f"{max(1, day - draw.randint(1, 3)):02d}"
    else:
        record["gcjg"] = draw.randrange(30_000, 400_000, 100)
    return record


def _spoil(draw: Random, record: Record) -> tuple[Record, str]:
    how = draw.choice(("future", "id", "ywlx", "missing"))
    if how == "future":
        if record["ywlx"] == DEATH:
            record["swrq"] = "20991231"
            return record, "swrq in 2099"
        record["gcjg"] = -record["gcjg"]
        return record, "negative gcjg"
    if how == "id":
        record["gmsfhm"] = record["gmsfhm"][:17]
        return record, "gmsfhm of 17 characters"
    if how == "ywlx":
        record["ywlx"] = "QTYW"
        return record, "unknown ywlx QTYW"
    del record["gmsfhm"]
    return record, "gmsfhm missing"


AGENCY = Agency("public-security", "ywlsh", "bbh", _new, _correct, _spoil)


# Each simulator module offers `dataset(seed, size, faults, id_numbers)` and
# `create_app(seed, faults, size, …)` (what `lig simulate` and the tests call).
dataset = partial(agency_dataset, AGENCY)
create_app = partial(agency_app, AGENCY)
