"""Rows from the statements of `gateway.households.queries` turned into GraphQL objects."""

from __future__ import annotations

from typing import Any

from gateway.domain.enums import AssistanceSubject
from gateway.fieldwork.visits import VisitField
from schema import fieldwork as f
from schema import types as t


def household(row: Any) -> t.Household:
    return t.Household(
        db_id=row.id,
        region_code_value=row.region_code,
        code=row.code,
        address=row.address,
        phone=row.phone,
        urban_rural=row.urban_rural,
        former_registered_poor=row.former_registered_poor,
        category=row.category,
        status=row.status,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        next_review_on=row.next_review_on,
        channel=row.channel,
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def person(row: Any, prefix: str = "") -> t.Person:
    m = row._mapping
    return t.Person(
        db_id=m[prefix + "id"],
        id_number=m[prefix + "id_number"],
        name=m[prefix + "name"],
        phone=m[prefix + "phone"],
        labor_capacity=m[prefix + "labor_capacity"],
        disability_type=m[prefix + "disability_type"],
        disability_grade=m[prefix + "disability_grade"],
        illness=m[prefix + "illness"],
        student_stage=m[prefix + "student_stage"],
        employment_status=m[prefix + "employment_status"],
        deceased_on=m[prefix + "deceased_on"],
        national_person_id=m[prefix + "national_person_id"],
    )


def region(row: Any) -> t.Region:
    return t.Region(code=row.code, name=row.name, level=row.level, parent_code=row.parent_code)


def member(row: Any) -> t.Member:
    return t.Member(
        db_id=row.id,
        relation=row.relation,
        joined_on=row.joined_on,
        left_on=row.left_on,
        person=person(row, prefix="person__"),
    )


def determination(row: Any) -> t.Determination:
    return t.Determination(
        db_id=row.id,
        category=row.category,
        channel=row.channel,
        decided_on=row.decided_on,
        decided_by=row.decided_by,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        reasons=row.reasons,
        standards=row.standards,
    )


def assistance_record(row: Any) -> t.AssistanceRecord:
    return t.AssistanceRecord(
        db_id=row.id,
        agency=row.agency_code,
        agency_record_id=row.agency_record_id,
        revision=row.revision,
        current=row.is_current,
        kind=row.kind,
        applies_to=row.applies_to,
        amount=row.amount,
        period_start=row.period_start,
        period_end=row.period_end,
        id_number=row.id_number,
        person_id_number=row.id_number if row.applies_to == AssistanceSubject.PERSON else None,
        notes=row.notes,
        source=row.source,
        received_at=row.received_at,
    )


def event(row: Any) -> t.MonitoringEvent:
    return t.MonitoringEvent(
        db_id=row.id,
        kind=row.kind,
        agency=row.agency_code,
        agency_event_id=row.agency_event_id,
        revision=row.revision,
        current=row.is_current,
        id_number=row.id_number,
        occurred_on=row.occurred_on,
        details=row.details,
        source=row.source,
        received_at=row.received_at,
    )


def warning(row: Any) -> t.Warning:
    return t.Warning(
        db_id=row.id,
        household_id=row.household_id,
        subject_ids=list(row.subjects or ()),
        kind=row.kind,
        finding=row.finding,
        hardship_type=row.hardship_type,
        severity=row.severity,
        status=row.status,
        due_on=row.due_on,
        evidence=row.evidence,
        resolution=row.resolution,
        resolution_note=row.resolution_note,
        last_found_on=row.last_found_on,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def household_version(row: Any) -> t.HouseholdVersion:
    return t.HouseholdVersion(
        version=row.version, changed_at=row.changed_at, changed_by=row.changed_by, state=row.state
    )


def visit(row: Any) -> f.Visit:
    return f.Visit(
        db_id=row.id,
        visited_on=row.visited_on,
        visitor=row.visitor,
        findings=row.findings,
        reason=row.reason,
        changes=[
            f.VisitChange(
                id_number=c["id_number"],
                field=VisitField(c["field"]),
                from_value=None if c["from"] is None else str(c["from"]),
                to_value=None if c["to"] is None else str(c["to"]),
            )
            for c in row.changes or ()
        ],
        created_at=row.created_at,
        created_by=row.created_by,
    )


def authorisation(row: Any) -> f.Authorisation:
    return f.Authorisation(
        db_id=row.id,
        granted=row.granted,
        signed_on=row.signed_on,
        signed_by=row.signed_by,
        document_ref=row.document_ref,
        valid_until=row.valid_until,
        withdrawn_on=row.withdrawn_on,
        created_at=row.created_at,
        created_by=row.created_by,
    )


CHILD_MAPPERS: dict[str, Any] = {
    "members": member,
    "determinations": determination,
    "records": assistance_record,
    "events": event,
    "warnings": warning,
    "history": household_version,
    "visits": visit,
    "authorisations": authorisation,
}
