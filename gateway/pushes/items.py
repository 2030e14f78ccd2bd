"""What one pushed item must be: an assistance record or a monitoring event, checked strictly.

Pure: no database. Each check names the field it concerns (`amount`, `details.disability_grade`);
an item either becomes a `ValidItem` (its normalised content and hash) or a list of problems.
The same checks serve GraphQL, REST, NDJSON and the agency feeds (issue 6), so a batch means the
same thing whichever way it arrives.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from gateway.domain.enums import (
    AssistanceKind,
    AssistanceSubject,
    DisabilityType,
    EventKind,
    LossCause,
    PropertyKind,
    PushKind,
    StudentStage,
)
from gateway.validation import Amount, Day, IdNumber, RegionCode, Strict, problem

# An agency's own id for a record or event: printable ASCII without spaces, as their systems
# print them (e.g. "YB-2026-000123", "320681:HOSP/88").
AGENCY_ID = re.compile(r"[!-~]{1,64}")
MAX_REVISION = 2**31 - 1
MAX_NOTES = 500
# A period may run ahead (a monthly allowance for the current month), not years ahead.
MAX_PERIOD_AHEAD = timedelta(days=366)

# An item is a flat object with one small `details` object: anything much bigger is refused
# before it is validated, so one item cannot cost the gateway memory or a deep recursion.
MAX_FIELDS = 32
MAX_DEPTH = 4
# A rejection lists this many problems at most (the rest are counted).
MAX_PROBLEMS = 20

Problems = list[tuple[str, str]]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: str) -> str:
    # PostgreSQL cannot store NUL in text; the other control characters are never meant.
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


Revision = Annotated[StrictInt, Field(ge=1, le=MAX_REVISION)]
Notes = Annotated[str, Field(max_length=MAX_NOTES), AfterValidator(_text)]
ShortText = Annotated[str, Field(max_length=200), AfterValidator(_text)]


class _Item(Strict):
    """What every pushed item has: whom it is about and the agency's id for it."""

    revision: Revision = 1
    id_number: IdNumber


def _not_after(day: date, today: date, field: str) -> None:
    if day > today:
        raise ValueError(f"{field}: {day.isoformat()} is in the future (today is {today})")


class AssistanceRecordIn(_Item):
    agency_record_id: str
    kind: AssistanceKind
    applies_to: AssistanceSubject = AssistanceSubject.PERSON
    amount: Amount
    # A payment on one day gives `date` (stored as a period of that one day); assistance over a
    # period gives its start, and its end unless it is still running.
    date: Day | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _dates(self) -> AssistanceRecordIn:
        if (self.date is None) == (self.period_start is None):
            raise ValueError("period_start: give either `date` or `period_start`, not both")
        if self.date is not None and self.period_end is not None:
            raise ValueError("period_end: a one-day payment (`date`) has no period end")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError(
                f"period_end: {self.period_end} is before period_start {self.period_start}"
            )
        return self

    @property
    def starts(self) -> dt.date:
        start = self.date or self.period_start
        assert start is not None  # one of them is required (_dates)
        return start

    @property
    def ends(self) -> dt.date | None:
        """The last day assisted; None while assistance is still running."""
        return self.date or self.period_end


# ---- Event details, one model per kind of event -----------------------------------------------


class NoDetails(Strict):
    pass


class OutpatientSettlement(Strict):
    out_of_pocket: Amount  # 个人自付 after insurance: what the household itself paid
    total_cost: Amount | None = None

    @model_validator(mode="after")
    def _parts(self) -> OutpatientSettlement:
        if self.total_cost is not None and self.out_of_pocket > self.total_cost:
            raise ValueError("out_of_pocket: more than total_cost")
        return self


class HospitalSettlement(OutpatientSettlement):
    days: Annotated[StrictInt, Field(ge=0, le=3660)] | None = None


class IllnessCertified(Strict):
    illness: Literal["SEVERE", "CHRONIC"]
    diagnosis: ShortText | None = None


class DisabilityCertified(Strict):
    disability_type: DisabilityType
    disability_grade: Annotated[StrictInt, Field(ge=1, le=4)]


class SchoolEnrolment(Strict):
    stage: Literal[
        StudentStage.PRESCHOOL,
        StudentStage.PRIMARY,
        StudentStage.JUNIOR_SECONDARY,
        StudentStage.SENIOR_SECONDARY,
        StudentStage.VOCATIONAL,
        StudentStage.HIGHER,
    ]
    fees: Amount  # tuition and board for the year


class EmploymentStarted(Strict):
    monthly_wage: Amount | None = None


class VehicleRegistered(Strict):
    value: Amount  # purchase or assessed value, yuan


class PropertyRegistered(Strict):
    property_kind: PropertyKind
    area: Amount  # m²
    residential: StrictBool


_CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")


def _credit_code(value: str) -> str:
    if not _CREDIT_CODE.fullmatch(value):
        raise ValueError("must be an 18-character unified social credit code (统一社会信用代码)")
    return value


class CapitalSubscribed(Strict):
    amount: Amount
    entity_credit_code: (
        Annotated[
            str,
            AfterValidator(_credit_code),
            WithJsonSchema({"type": "string", "pattern": f"^{_CREDIT_CODE.pattern}$"}),
        ]
        | None
    ) = None


class FireIncident(Strict):
    loss: Amount | None = None


class DisasterLoss(Strict):
    amount: Amount
    cause: LossCause


class RegistrationChanged(Strict):
    region_code: RegionCode  # the 户籍 area the person's registration moved to


DETAILS: dict[EventKind, type[Strict]] = {
    EventKind.DECEASED: NoDetails,
    EventKind.HOSPITAL_SETTLEMENT: HospitalSettlement,
    EventKind.OUTPATIENT_SETTLEMENT: OutpatientSettlement,
    EventKind.ILLNESS_CERTIFIED: IllnessCertified,
    EventKind.DISABILITY_CERTIFIED: DisabilityCertified,
    EventKind.SCHOOL_ENROLMENT: SchoolEnrolment,
    EventKind.UNEMPLOYMENT_REGISTERED: NoDetails,
    EventKind.EMPLOYMENT_STARTED: EmploymentStarted,
    EventKind.VEHICLE_REGISTERED: VehicleRegistered,
    EventKind.PROPERTY_REGISTERED: PropertyRegistered,
    EventKind.CAPITAL_SUBSCRIBED: CapitalSubscribed,
    EventKind.FIRE_INCIDENT: FireIncident,
    EventKind.DISASTER_LOSS: DisasterLoss,
    EventKind.REGISTRATION_CHANGED: RegistrationChanged,
}


class EventIn(_Item):
    agency_event_id: str
    kind: EventKind
    occurred_on: Day
    # Checked against the model of `kind` (DETAILS) once `kind` is known.
    details: dict[str, Any] = Field(default_factory=dict)


# ---- Validation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValidItem:
    """An item that passed every check: its key, its normalised content and that content's hash."""

    key: str
    revision: int
    id_number: str
    model: AssistanceRecordIn | EventIn
    details: dict[str, Any]  # an event's details, normalised by the model of its kind
    content_hash: str  # of the normalised content: money as "12.50", dates ISO


@dataclass(frozen=True, slots=True)
class RejectedItem:
    key: str | None  # the agency's id, when the item had a readable one
    revision: int | None
    problems: Problems


def _key_of(raw: Any, field: str) -> tuple[str | None, int | None]:
    """The agency id and revision of an item, if they are readable, for the receipt."""
    if not isinstance(raw, Mapping):
        return None, None
    key = raw.get(field)
    revision = raw.get("revision", 1)
    readable = type(revision) is int and 1 <= revision <= MAX_REVISION
    return (
        key if isinstance(key, str) and AGENCY_ID.fullmatch(key) else None,
        revision if readable else None,
    )


def _too_big(raw: Mapping[str, Any]) -> str | None:
    """Why an item is refused unread, if it is far bigger or deeper than any item can be."""
    if len(raw) > MAX_FIELDS:
        return f"more than {MAX_FIELDS} fields"
    stack: list[tuple[Any, int]] = [(v, 1) for v in raw.values()]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping | list):
            if depth >= MAX_DEPTH or len(value) > MAX_FIELDS:
                return f"nested deeper than {MAX_DEPTH} levels or wider than {MAX_FIELDS} fields"
            values = value.values() if isinstance(value, Mapping) else value
            stack.extend((v, depth + 1) for v in values)
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


def content_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _errors(error: ValidationError, prefix: tuple[str, ...] = ()) -> Problems:
    return [
        problem({**e, "loc": (*prefix, *e["loc"])}, "item") for e in error.errors(include_url=False)
    ]


def _rejected(key: str | None, revision: int | None, problems: Problems) -> RejectedItem:
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], ("item", f"and {more} more problems")]
    return RejectedItem(key, revision, problems)


def validate(kind: PushKind, raw: Any, today: date) -> ValidItem | RejectedItem:
    """One pushed item, judged on its own (duplicates are the store's business)."""
    key_field = "agency_record_id" if kind == PushKind.ASSISTANCE_RECORDS else "agency_event_id"
    key, revision = _key_of(raw, key_field)
    if not isinstance(raw, Mapping):
        return RejectedItem(None, None, [("item", "must be a JSON object")])
    if (reason := _too_big(raw)) is not None:
        return RejectedItem(key, revision, [("item", reason)])
    problems: Problems = []
    if key is None:
        given = raw.get(key_field)
        if given is None:
            problems.append((key_field, "required"))
        else:
            problems.append((key_field, "1 to 64 printable ASCII characters without spaces"))
    model: type[AssistanceRecordIn | EventIn] = (
        AssistanceRecordIn if kind == PushKind.ASSISTANCE_RECORDS else EventIn
    )
    try:
        item = model.model_validate(raw)
    except ValidationError as error:
        problems.extend(p for p in _errors(error) if p[0] != key_field)
        return _rejected(key, revision, problems)
    details: dict[str, Any] = {}
    try:
        if isinstance(item, AssistanceRecordIn):
            _not_after(item.starts, today, "date" if item.date else "period_start")
            if item.period_end and item.period_end > today + MAX_PERIOD_AHEAD:
                raise ValueError(f"period_end: more than {MAX_PERIOD_AHEAD.days} days ahead")
        else:
            assert isinstance(item, EventIn)
            _not_after(item.occurred_on, today, "occurred_on")
            try:
                details = DETAILS[item.kind].model_validate(item.details).model_dump()
            except ValidationError as error:
                problems.extend(_errors(error, ("details",)))
    except ValueError as error:
        problems.append(problem({"loc": (), "msg": str(error), "type": "value_error"}, "item"))
    if problems:
        return _rejected(key, revision, problems)
    assert key is not None
    content = item.model_dump(exclude_none=True)
    if isinstance(item, EventIn):
        content["details"] = details
    plain = _plain(content)
    return ValidItem(key, item.revision, item.id_number, item, _plain(details), content_hash(plain))


def fingerprint(raw: Any) -> bytes:
    """A stable digest of an item as sent, whatever the transport: keys sorted, numbers as
    exact decimals, dates as ISO days, JSON types kept apart ("12" is not 12, null is not
    absent). The same items sent as a JSON array, as NDJSON or as GraphQL input make the same
    batch, so a retry may switch transport."""
    return hashlib.sha256(orjson.dumps(_canonical(raw, 0), option=orjson.OPT_SORT_KEYS)).digest()


def _canonical(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):  # GraphQL enums are str too: their value, as REST sends it
        return "s:" + value
    if isinstance(value, int | float | Decimal):
        return "n:" + _number_text(value)
    if isinstance(value, date):
        return "s:" + value.isoformat()
    if depth > MAX_DEPTH:
        # Refused by validation anyway; digest it without recursing further.
        try:
            return "x:" + orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS).hex()
        except orjson.JSONEncodeError:
            # orjson writes about 255 levels and 64-bit integers; a JSON body may nest 1024
            # levels, and a GraphQL literal hold a longer integer.
            return "y:" + _walked_digest(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, depth + 1) for v in value]
    return "o:" + str(value)


def _walked_digest(value: Any) -> str:
    """A digest of a value of any depth, walked with a stack rather than recursion."""
    digest = hashlib.sha256()
    stack: list[tuple[bool, Any]] = [(False, value)]
    while stack:
        is_key, item = stack.pop()
        if is_key:
            digest.update(b"k" + orjson.dumps(item))
        elif isinstance(item, Mapping):
            digest.update(b"{%d" % len(item))
            for key in sorted(item, key=str, reverse=True):  # popped in sorted order
                stack += [(False, item[key]), (True, str(key))]
        elif isinstance(item, list | tuple):
            digest.update(b"[%d" % len(item))
            stack += [(False, v) for v in reversed(item)]
        else:
            digest.update(b"v" + orjson.dumps(_canonical(item, 0)))
    return digest.hexdigest()


def _number_text(value: int | float | Decimal) -> str:
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or abs(number.adjusted()) > 64:
        return str(value)  # far outside any amount: kept as written, never expanded
    return format(number.normalize(), "f")
