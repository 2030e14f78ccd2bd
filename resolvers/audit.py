"""`auditEvents`: the audit trail, newest first, a page at a time."""

from __future__ import annotations

from typing import Any

import strawberry

from gateway.audit import queries
from gateway.context import Context
from gateway.errors import Forbidden, InvalidInput
from gateway.validation import code
from resolvers.inputs import row_id
from resolvers.loaders import connection
from resolvers.pagination import decode_cursor, page_size
from schema import audit as a
from schema import types as t

_CURSOR = "auditEvents"
_MAX_TEXT = 64  # the widest of the filtered columns


def _ctx(info: strawberry.Info) -> Context:
    return info.context  # type: ignore[no-any-return]


def _text(value: str | None, field: str) -> str | None:
    return None if value is None else code(field, value, limit=_MAX_TEXT)


def filter_of(flt: a.AuditEventFilter | None) -> queries.AuditEventFilter:
    if flt is None:
        return queries.AuditEventFilter()
    problems: list[tuple[str, str]] = []
    for name, moment in (("filter.from", flt.from_), ("filter.to", flt.to)):
        if moment is not None and moment.tzinfo is None:
            problems.append((name, "must give a UTC offset, e.g. 2026-03-01T00:00:00+08:00"))
    if not problems and flt.from_ is not None and flt.to is not None and flt.to <= flt.from_:
        problems.append(("filter.to", "must be after filter.from"))
    values: dict[str, Any] = {}
    for name, camel, value in (
        ("client_id", "clientId", flt.client_id),
        ("agency", "agency", flt.agency),
        ("action", "action", flt.action),
        ("outcome", "outcome", flt.outcome),
    ):
        try:
            values[name] = _text(value, f"filter.{camel}")
        except InvalidInput as error:
            problems += error.problems
    try:
        values["household_id"] = (
            row_id(flt.household_id, "filter.householdId", "household")
            if flt.household_id is not None
            else None
        )
    except InvalidInput as error:
        problems += error.problems
    try:
        values["person_id"] = (
            row_id(flt.person_id, "filter.personId", "person")
            if flt.person_id is not None
            else None
        )
    except InvalidInput as error:
        problems += error.problems
    if problems:
        raise InvalidInput.many(problems)
    return queries.AuditEventFilter(
        kind=flt.kind.value if flt.kind is not None else None,
        since=flt.from_,
        until=flt.to,
        **values,
    )


def audit_event(row: Any) -> a.AuditEvent:
    subjects = row.subjects if isinstance(row.subjects, dict) else {}
    return a.AuditEvent(
        db_id=row.id,
        at=row.at,
        request_id=row.request_id,
        client_id=row.client_id,
        agency=row.agency,
        kind=a.AuditEventKind(row.kind),
        action=row.action,
        purpose=row.purpose,
        households=_ids(subjects.get("households")),
        persons=_ids(subjects.get("persons")),
        fields=[str(f) for f in row.fields or []],
        subjects=row.subjects,
        result_count=row.result_count,
        outcome=row.outcome,
        seq=row.seq,
        hash=row.hash,
    )


def _ids(value: Any) -> list[strawberry.ID]:
    if not isinstance(value, list):
        return []
    return [strawberry.ID(str(item)) for item in value]


async def audit_events(
    info: strawberry.Info,
    filter: a.AuditEventFilter | None = None,
    first: int | None = None,
    after: str | None = None,
) -> t.Connection[a.AuditEvent]:
    ctx = _ctx(info)
    if ctx.principal.region_code is not None:
        # Events name households and people of every region; they are not cut per region.
        raise Forbidden(
            "auditEvents: the audit trail is county-wide; a region-bound client may not read it"
        )
    size = page_size(first, ctx.db.settings)
    before_id = decode_cursor(_CURSOR, after)
    flt = filter_of(filter)
    statement = queries.audit_event_page(
        flt, dialect=ctx.db.dialect, before_id=before_id, limit=size + 1
    )
    found = await ctx.fetch(statement)
    return connection(_CURSOR, found, size, audit_event)
