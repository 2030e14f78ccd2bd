"""Statements that read the audit trail (`auditEvents`). Each returns one SELECT.

Events come newest first, a page at a time, by keyset on id. The subject filters (a household or
a person among those an event names) look inside the JSON `subjects` column, which has no index:
on a large trail, combine them with a time range or a client to keep the scan short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, String, cast, exists, func, select

from gateway.database import AnySelect
from gateway.models import AuditEvent

events = AuditEvent.__table__


@dataclass(frozen=True, slots=True)
class AuditEventFilter:
    """All given filters must hold. `since` is inclusive, `until` exclusive."""

    client_id: str | None = None
    agency: str | None = None
    kind: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    household_id: int | None = None
    person_id: int | None = None


def subject_condition(dialect: str, key: str, subject_id: int) -> ColumnElement[bool]:
    """The event names `subject_id` in its `subjects[key]` list (as a number or a string)."""
    if dialect == "postgresql":
        items = func.json_array_elements_text(events.c.subjects[key]).table_valued("value")
        return exists(select(1).select_from(items).where(items.c.value == str(subject_id)))
    if dialect == "sqlite":
        items = func.json_each(events.c.subjects, f"$.{key}").table_valued("value")
        return exists(
            select(1).select_from(items).where(cast(items.c.value, String) == str(subject_id))
        )
    # lig runs on these two engines only (gateway/database.py); say so rather than guess.
    raise RuntimeError(f"audit subject filters need SQLite or PostgreSQL, not {dialect}")


def audit_event_page(
    flt: AuditEventFilter, *, dialect: str, before_id: int | None, limit: int
) -> AnySelect:
    """A page of events newest first (by id); `before_id` is the last id of the previous page."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (events.c.client_id, flt.client_id),
        (events.c.agency, flt.agency),
        (events.c.kind, flt.kind),
        (events.c.action, flt.action),
        (events.c.outcome, flt.outcome),
    ):
        if value is not None:
            conditions.append(column == value)
    if flt.since is not None:
        conditions.append(events.c.at >= flt.since)
    if flt.until is not None:
        conditions.append(events.c.at < flt.until)
    if flt.household_id is not None:
        conditions.append(subject_condition(dialect, "households", flt.household_id))
    if flt.person_id is not None:
        conditions.append(subject_condition(dialect, "persons", flt.person_id))
    if before_id is not None:
        conditions.append(events.c.id < before_id)
    return select(events).where(*conditions).order_by(events.c.id.desc()).limit(limit)
