"""Home visits (走访): what a town or grid worker found, and the changes to members it reports.

A reported change is typed by its field and checked before anything is stored; the whole visit
is refused, naming each bad field, when any change is wrong. Changes are applied to the people
through the ORM (so their version counters move and a later national change meets them as local
edits), stored on the visit as applied (from → to), audited, and the household is queued for
the comparison rules in the same transaction: a reported change runs the rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from gateway.audit import record_change
from gateway.domain import idnumber
from gateway.domain.enums import (
    DisabilityType,
    EmploymentStatus,
    EventKind,
    Illness,
    LaborCapacity,
    RecordSource,
    StudentStage,
)
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.models import Household, Membership, MonitoringEvent, Person, Visit
from gateway.models.base import table_of
from gateway.monitoring import queue as comparison_queue
from gateway.principal import Principal

MAX_CHANGES = 100
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class VisitField(StrEnum):
    """What a visit may report about a member; each names the person's attribute it changes."""

    DECEASED_ON = "DECEASED_ON"  # a day (YYYY-MM-DD), or null to correct a wrong death
    LABOR_CAPACITY = "LABOR_CAPACITY"  # FULL, WEAK, NONE
    ILLNESS = "ILLNESS"  # NONE, CHRONIC, SEVERE
    DISABILITY_TYPE = "DISABILITY_TYPE"  # a disability type, or null (with DISABILITY_GRADE)
    DISABILITY_GRADE = "DISABILITY_GRADE"  # 1 to 4, or null (with DISABILITY_TYPE)
    EMPLOYMENT_STATUS = "EMPLOYMENT_STATUS"
    STUDENT_STAGE = "STUDENT_STAGE"

    @property
    def attribute(self) -> str:
        return self.value.lower()


_ENUMS: dict[VisitField, type[StrEnum]] = {
    VisitField.LABOR_CAPACITY: LaborCapacity,
    VisitField.ILLNESS: Illness,
    VisitField.DISABILITY_TYPE: DisabilityType,
    VisitField.EMPLOYMENT_STATUS: EmploymentStatus,
    VisitField.STUDENT_STAGE: StudentStage,
}
_NULLABLE = frozenset(
    {VisitField.DECEASED_ON, VisitField.DISABILITY_TYPE, VisitField.DISABILITY_GRADE}
)


@dataclass(frozen=True, slots=True)
class ChangeIn:
    """One reported change as sent (`value` as text, or None)."""

    id_number: str
    field: VisitField
    value: str | None


@dataclass(frozen=True, slots=True)
class VisitIn:
    household_id: int
    visited_on: date
    visitor: str
    findings: str
    reason: str | None
    changes: Sequence[ChangeIn]


@dataclass(frozen=True, slots=True)
class ParsedChange:
    index: int
    id_number: str
    field: VisitField
    value: Any  # date, an enum member, an int, or None


def _text(
    problems: list[tuple[str, str]], field: str, value: str | None, limit: int, required: bool
) -> None:
    if value is None or not value.strip():
        if required:
            problems.append((field, "must not be empty"))
        return
    if len(value) > limit:
        problems.append((field, f"at most {limit} characters"))
    if _CONTROL.search(value):
        problems.append((field, "must not hold control characters"))


def parse_value(field: VisitField, raw: str | None) -> Any:
    """The typed value of a change, or ValueError with the reason (pure)."""
    if raw is None:
        if field in _NULLABLE:
            return None
        raise ValueError(f"{field.value} cannot be cleared: send a value")
    text = raw.strip()
    if field is VisitField.DECEASED_ON:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError("must be a date as YYYY-MM-DD")
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError("must be a date as YYYY-MM-DD") from None
    if field is VisitField.DISABILITY_GRADE:
        if text not in ("1", "2", "3", "4"):
            raise ValueError("must be a disability grade from 1 to 4")
        return int(text)
    enum = _ENUMS[field]
    try:
        return enum(text)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(m.value for m in enum)}") from None


def parse_visit(visit: VisitIn, today: date, prefix: str = "input.") -> list[ParsedChange]:
    """Check everything that needs no database; raise InvalidInput naming each bad field."""
    problems: list[tuple[str, str]] = []
    if visit.visited_on > today:
        problems.append((f"{prefix}visitedOn", "is in the future"))
    _text(problems, f"{prefix}visitor", visit.visitor, 64, required=True)
    _text(problems, f"{prefix}findings", visit.findings, 2000, required=True)
    _text(problems, f"{prefix}reason", visit.reason, 100, required=False)
    if len(visit.changes) > MAX_CHANGES:
        problems.append((f"{prefix}changes", f"at most {MAX_CHANGES} changes in one visit"))
        raise InvalidInput.many(problems)
    parsed: list[ParsedChange] = []
    seen: dict[tuple[str, VisitField], int] = {}
    for i, change in enumerate(visit.changes):
        at = f"{prefix}changes[{i}]"
        try:
            number = idnumber.validate(change.id_number)
        except idnumber.IdNumberError as error:
            problems.append((f"{at}.idNumber", str(error)))
            continue
        if (number, change.field) in seen:
            problems.append(
                (f"{at}.field", f"changed already by changes[{seen[number, change.field]}]")
            )
            continue
        seen[number, change.field] = i
        try:
            value = parse_value(change.field, change.value)
        except ValueError as error:
            problems.append((f"{at}.value", str(error)))
            continue
        if change.field is VisitField.DECEASED_ON and value is not None:
            if value > visit.visited_on:
                problems.append((f"{at}.value", "is after the visit"))
                continue
            if value < idnumber.birth_date(number):
                problems.append((f"{at}.value", "is before the person's birth"))
                continue
        parsed.append(ParsedChange(i, number, change.field, value))
    if problems:
        raise InvalidInput.many(problems)
    return parsed


def _shown(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def _check_disability(
    people: Mapping[str, Person], changes: Sequence[ParsedChange], prefix: str
) -> list[tuple[str, str]]:
    """A disability has a type and a grade, or neither: judged on the person after the visit."""
    problems = []
    by_person: dict[str, dict[VisitField, ParsedChange]] = {}
    for c in changes:
        by_person.setdefault(c.id_number, {})[c.field] = c
    for number, fields in by_person.items():
        touched = [
            fields[f]
            for f in (VisitField.DISABILITY_TYPE, VisitField.DISABILITY_GRADE)
            if f in fields
        ]
        if not touched:
            continue
        person = people[number]
        kind = (
            fields[VisitField.DISABILITY_TYPE].value
            if VisitField.DISABILITY_TYPE in fields
            else person.disability_type
        )
        grade = (
            fields[VisitField.DISABILITY_GRADE].value
            if VisitField.DISABILITY_GRADE in fields
            else person.disability_grade
        )
        if (kind is None) != (grade is None):
            needed = "DISABILITY_GRADE" if grade is None else "DISABILITY_TYPE"
            problems.append(
                (
                    f"{prefix}changes[{touched[0].index}].value",
                    f"a disability has both a type and a grade: send {needed} too",
                )
            )
    return problems


async def report_visit(
    session: AsyncSession,
    principal: Principal,
    visit: VisitIn,
    *,
    today: date,
    request_id: str,
    prefix: str = "input.",
) -> Visit:
    """Store a visit and apply its changes; refuse the whole visit if anything is wrong."""
    parsed = parse_visit(visit, today, prefix)
    household = await session.get(Household, visit.household_id)
    if household is None or not principal.covers_region(household.region_code):
        raise NotFound(f"household {visit.household_id} not found", field=f"{prefix}householdId")
    numbers = sorted({c.id_number for c in parsed})
    people: dict[str, Person] = {}
    if numbers:
        found = await session.scalars(
            select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(
                Membership.household_id == household.id,
                Membership.left_on.is_(None),
                Person.id_number.in_(numbers),
            )
        )
        people = {p.id_number: p for p in found}
    problems = [
        (
            f"{prefix}changes[{c.index}].idNumber",
            f"is not a current member of household {household.id}",
        )
        for c in parsed
        if c.id_number not in people
    ]
    if problems:
        raise InvalidInput.many(problems)
    problems = _check_disability(people, parsed, prefix)
    if problems:
        raise InvalidInput.many(problems)
    applied: list[dict[str, Any]] = []
    changed_people: set[int] = set()
    changed: list[Any] = []  # the changes that changed something
    for c in parsed:
        person = people[c.id_number]
        before = getattr(person, c.field.attribute)
        applied.append(
            {
                "person": person.id,
                "id_number": person.id_number,
                "field": c.field.value,
                "from": _shown(before),
                "to": _shown(c.value),
            }
        )
        if before != c.value:
            setattr(person, c.field.attribute, c.value)
            person.updated_by = principal.client_id
            changed_people.add(person.id)
            changed.append(c)
    row = Visit(
        household_id=household.id,
        visited_on=visit.visited_on,
        visitor=visit.visitor.strip(),
        findings=visit.findings.strip(),
        reason=visit.reason.strip() if visit.reason and visit.reason.strip() else None,
        changes=applied,
        created_by=principal.client_id,
    )
    session.add(row)
    try:
        await session.flush()  # the people's new versions, and the visit's id
    except StaleDataError:
        raise Conflict(
            "a member of the household was changed meanwhile: look again and resend the visit",
            field=f"{prefix}changes",
        ) from None
    if changed_people:
        await _observed(session, principal, row, [people[c.id_number] for c in changed], changed)
        await comparison_queue.enqueue(session, [household.id])
    record_change(
        session,
        principal,
        action="household.visit",
        request_id=request_id,
        subjects={
            "households": [household.id],
            "persons": sorted(changed_people),
            "visit": row.id,
            "changes": len(applied),
        },
    )
    return row


async def _observed(
    session: AsyncSession,
    principal: Principal,
    visit: Visit,
    people: list[Person],
    changes: list[Any],
) -> None:
    """What the visitor saw, as the monitoring events the comparison rules read: a death, a
    disability or an illness certified, unemployment or a new job (source MANUAL, dated the
    visit, named by the visit so a resend is the same event)."""
    rows: dict[tuple[int, EventKind], dict[str, Any]] = {}
    for person, change in zip(people, changes, strict=True):
        kind_details = _event_of(change.field, person)
        if kind_details is None:
            continue
        kind, details = kind_details
        rows[(person.id, kind)] = {
            "kind": kind,
            "agency_code": principal.agency,
            "agency_event_id": f"VISIT-{visit.id}-{person.id}-{kind.value}",
            "revision": 1,
            "is_current": True,
            "id_number": person.id_number,
            "person_id": person.id,
            "household_id": visit.household_id,
            "occurred_on": visit.visited_on,
            "details": details,
            "source": RecordSource.MANUAL,
            "received_by": principal.client_id,
        }
    if rows:
        await session.execute(insert(table_of(MonitoringEvent)), list(rows.values()))


def _event_of(field: VisitField, person: Person) -> tuple[EventKind, dict[str, Any]] | None:
    if field is VisitField.DECEASED_ON and person.deceased_on is not None:
        return EventKind.DECEASED, {}
    if (
        field in (VisitField.DISABILITY_TYPE, VisitField.DISABILITY_GRADE)
        and person.disability_type is not None
        and person.disability_grade is not None
    ):
        return EventKind.DISABILITY_CERTIFIED, {
            "disability_type": person.disability_type.value,
            "disability_grade": person.disability_grade,
        }
    if field is VisitField.ILLNESS and person.illness is not Illness.NONE:
        return EventKind.ILLNESS_CERTIFIED, {"illness": person.illness.value}
    if field is VisitField.EMPLOYMENT_STATUS:
        if person.employment_status is EmploymentStatus.UNEMPLOYED:
            return EventKind.UNEMPLOYMENT_REGISTERED, {}
        if person.employment_status in (EmploymentStatus.EMPLOYED, EmploymentStatus.SELF_EMPLOYED):
            return EventKind.EMPLOYMENT_STARTED, {}
    return None
