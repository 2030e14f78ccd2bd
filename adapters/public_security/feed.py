"""Public security records into monitoring events (pure): deaths and vehicle registrations.

The bureau's feed mixes two kinds of business (业务) from the population register and the
vehicle register, with their field names:

    ywlsh    业务流水号, the business serial number                    → agency_event_id
    bbh      版本号, the record's version (a corrected entry: higher)  → revision
    ywlx     业务类型: SWZX 死亡注销 (a death: the registration is cancelled) → DECEASED;
             JDCZCDJ 机动车注册登记 (a vehicle's first registration)      → VEHICLE_REGISTERED
    gmsfhm   公民身份号码, the person's resident ID number             → id_number
    xm       姓名 (not kept)
    swrq     死亡日期 YYYYMMDD (SWZX)                                  → occurred_on
    hpzl     号牌种类, hphm 号牌号码 (JDCZCDJ; not kept)
    ccdjrq   初次登记日期 YYYYMMDD (JDCZCDJ)                           → occurred_on
    gcjg     购车价格, the purchase price in whole yuan (JDCZCDJ)      → details.value
"""

from __future__ import annotations

from typing import Any

from adapters.convert import Item, Unmapped, code, day, field, present, unreadable, whole, yuan
from gateway.domain.enums import EventKind

KEY, VERSION = "ywlsh", "bbh"
DEATH, VEHICLE = "SWZX", "JDCZCDJ"
BUSINESS = {DEATH: EventKind.DECEASED, VEHICLE: EventKind.VEHICLE_REGISTERED}


def normalise(record: Any) -> Item:
    if not isinstance(record, dict):
        return unreadable(record, "a record must be a JSON object", key=KEY, version=VERSION)
    try:
        kind = code(record, "ywlx", BUSINESS)
    except Unmapped as error:
        return unreadable(record, str(error), key=KEY, version=VERSION)
    if kind == EventKind.DECEASED:
        occurred, details = field(record, "swrq", day), {}
    else:
        occurred, details = field(record, "ccdjrq", day), present(value=field(record, "gcjg", yuan))
    return present(
        agency_event_id=field(record, KEY),
        revision=field(record, VERSION, whole),
        id_number=field(record, "gmsfhm"),
        kind=kind.value,
        occurred_on=occurred,
        details=details,
    )
