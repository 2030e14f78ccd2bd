"""Disability certificates (第二代残疾人证) into DISABILITY_CERTIFIED events (pure).

The federation's feed serves one record per certificate issued or re-issued, with its field
names:

    fzjlid   发证记录ID, the id of this issue of a certificate           → agency_event_id
    bbh      版本号, the record's version (a corrected entry: higher)  → revision
    sfzh     身份证号, the holder's resident ID number                 → id_number
    xm       姓名 (not kept)
    cjrzh    残疾人证号: the ID number followed by the category and grade digits (not kept:
             a re-issue in the same category and grade has the same number)
    cjlb     残疾类别: 1 视力 2 听力 3 言语 4 肢体 5 智力 6 精神 7 多重 → details.disability_type
    cjdj     残疾等级: 1 to 4, one the most severe                     → details.disability_grade
    fzrq     发证日期, the day of issue, YYYY-MM-DD                   → occurred_on
"""

from __future__ import annotations

from typing import Any

from adapters.convert import Item, Unmapped, code, day, field, present, unreadable, whole
from gateway.domain.enums import DisabilityType, EventKind

KEY, VERSION = "fzjlid", "bbh"
CATEGORIES = {
    "1": DisabilityType.VISUAL,
    "2": DisabilityType.HEARING,
    "3": DisabilityType.SPEECH,
    "4": DisabilityType.PHYSICAL,
    "5": DisabilityType.INTELLECTUAL,
    "6": DisabilityType.MENTAL,
    "7": DisabilityType.MULTIPLE,
}


def normalise(record: Any) -> Item:
    if not isinstance(record, dict):
        return unreadable(record, "a certificate must be a JSON object", key=KEY, version=VERSION)
    try:
        disability = code(record, "cjlb", CATEGORIES)
    except Unmapped as error:
        return unreadable(record, str(error), key=KEY, version=VERSION)
    return present(
        agency_event_id=field(record, KEY),
        revision=field(record, VERSION, whole),
        id_number=field(record, "sfzh"),
        kind=EventKind.DISABILITY_CERTIFIED.value,
        occurred_on=field(record, "fzrq", day),
        details=present(
            disability_type=disability.value, disability_grade=field(record, "cjdj", whole)
        ),
    )
