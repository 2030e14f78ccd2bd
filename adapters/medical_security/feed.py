"""Medical security settlements into monitoring events (pure).

The bureau's feed serves one record per settlement (结算), with the field names of the national
healthcare security information platform's interface (国家医保信息平台):

    setl_id          结算ID, the settlement's id                       → agency_event_id
    rec_ver          the record's version: a settlement redone (冲正后重结) comes again with a
                     higher one                                         → revision
    certno           证件号码, the insured person's resident ID number  → id_number
    psn_name         姓名 (not kept: an event names its person by ID number only)
    med_type         医疗类别: 11 普通门诊, 12 门诊挂号, 13 急诊, 14 门诊慢特病
                                                             → OUTPATIENT_SETTLEMENT;
                     21 普通住院, 22 外检住院, 23 急诊转住院 → HOSPITAL_SETTLEMENT
    setl_time        结算时间 "YYYY-MM-DD HH:MM:SS"                      → occurred_on (the day)
    begndate/enddate 开始/结束日期 of a stay, "YYYY-MM-DD"              → details.days
    medfee_sumamt    医疗费总额, the whole bill, yuan as a decimal string → details.total_cost
    fund_pay_sumamt  基金支付总额, what the funds paid (not kept)
    psn_part_amt     个人负担总金额, what the person bore               → details.out_of_pocket
"""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters.convert import (
    MISSING,
    Item,
    Unmapped,
    code,
    day,
    field,
    present,
    unreadable,
    whole,
    yuan,
)
from gateway.domain.enums import EventKind

KEY, VERSION = "setl_id", "rec_ver"
OUTPATIENT = {"11", "12", "13", "14"}
INPATIENT = {"21", "22", "23"}
MED_TYPES = {
    **dict.fromkeys(OUTPATIENT, EventKind.OUTPATIENT_SETTLEMENT),
    **dict.fromkeys(INPATIENT, EventKind.HOSPITAL_SETTLEMENT),
}


def _days(record: dict[str, Any]) -> Any:
    """Days in hospital: discharge day minus admission day (a stay within one day counts one),
    as hospitals count 住院天数. Left out when either day is missing or not a day."""
    try:
        begin = date.fromisoformat(day(record.get("begndate")))
        end = date.fromisoformat(day(record.get("enddate")))
    except (TypeError, ValueError):
        return MISSING
    return max(1, (end - begin).days)


def normalise(record: Any) -> Item:
    if not isinstance(record, dict):
        return unreadable(record, "a settlement must be a JSON object", key=KEY, version=VERSION)
    try:
        kind = code(record, "med_type", MED_TYPES)
    except Unmapped as error:
        return unreadable(record, str(error), key=KEY, version=VERSION)
    details = present(
        out_of_pocket=field(record, "psn_part_amt", yuan),
        total_cost=field(record, "medfee_sumamt", yuan),
        days=_days(record) if kind == EventKind.HOSPITAL_SETTLEMENT else MISSING,
    )
    return present(
        agency_event_id=field(record, KEY),
        revision=field(record, VERSION, whole),
        id_number=field(record, "certno"),
        kind=kind.value,
        occurred_on=field(record, "setl_time", day),
        details=details,
    )
