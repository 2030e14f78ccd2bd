"""Unemployment registrations (失业登记) into UNEMPLOYMENT_REGISTERED events (pure).

The human resources and social security bureau's feed uses the data dictionary of the national
labour and social security system (金保工程), whose fields are coded (aac002, aae030 …):

    sydjbh   失业登记编号, the registration's number                   → agency_event_id
    bbh      版本号, the record's version (a corrected entry: higher)  → revision
    aac002   公民身份号码, the person's resident ID number             → id_number
    aac003   姓名 (not kept)
    aae030   开始日期, the day the registration begins, YYYYMMDD      → occurred_on
    ajc093   失业原因 code (not kept)
    aab301   经办地行政区划, the registering office's division code (not kept)
"""

from __future__ import annotations

from typing import Any

from adapters.convert import Item, day, field, present, unreadable, whole
from gateway.domain.enums import EventKind

KEY, VERSION = "sydjbh", "bbh"


def normalise(record: Any) -> Item:
    if not isinstance(record, dict):
        return unreadable(record, "a registration must be a JSON object", key=KEY, version=VERSION)
    return present(
        agency_event_id=field(record, KEY),
        revision=field(record, VERSION, whole),
        id_number=field(record, "aac002"),
        kind=EventKind.UNEMPLOYMENT_REGISTERED.value,
        occurred_on=field(record, "aae030", day),
        details={},
    )
