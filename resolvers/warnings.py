"""The warning queue over GraphQL: reading warnings, moving them through their life, routing.

Reads run on the request's connection in autocommit; the nested fields of a warning (agencies,
people, history, household) each load in one statement for the whole page. Every person and
household shown is recorded for the audit of the read.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from datetime import date
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from auth.masking import mask_id_number, mask_name
from auth.policy import PII
from gateway.context import Context
from gateway.domain.enums import (
    OPEN_WARNING_STATUSES,
    HardshipType,
    Resolution,
    WarningKind,
)
from gateway.errors import InvalidInput
from gateway.monitoring import lifecycle, routing
from gateway.monitoring import queries as q
from gateway.monitoring.rules import RULES_BY_ID
from gateway.standards.service import region_code_of
from gateway.validation import agency_code, code, written
from resolvers import rows
from resolvers.households import household_id_argument
from resolvers.inputs import parse_row_id, row_id
from resolvers.loaders import connection
from resolvers.pagination import MAX_CURSOR, decode_cursor, page_size
from schema import types as t
from schema import warnings as w


def _ctx(info: strawberry.Info) -> Context:
    return info.context  # type: ignore[no-any-return]


# ---- Cursors by due date ------------------------------------------------------------------------


def _cursor(due: date, warning_id: int) -> str:
    text = f"warnings:{due.isoformat()}:{warning_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _after(cursor: str | None) -> tuple[date, int] | None:
    if cursor is None:
        return None
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError("too long")
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        kind, due, wid = text.split(":")
        warning_id = parse_row_id(wid)
        if kind != "warnings" or warning_id is None:
            raise ValueError(kind)
        return date.fromisoformat(due), warning_id
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput("after", "is not a cursor returned by this list") from None


MAX_FINDING = 128  # warnings.finding: a comparison rule's id


def _distinct(values: list[Any] | None) -> tuple[Any, ...]:
    # Each value once: a list repeating one kind thousands of times would otherwise become as
    # many statement parameters (PostgreSQL takes at most 32,767).
    return tuple(dict.fromkeys(values or ()))


def _filter(raw: w.WarningFilterInput | None) -> q.WarningFilter:
    if raw is None:
        return q.WarningFilter()
    return q.WarningFilter(
        kinds=_distinct(raw.kinds),
        statuses=_distinct(raw.statuses),
        agency=agency_code("filter.agency", raw.agency) if raw.agency is not None else None,
        region_code=(
            region_code_of(raw.region_code, "filter.regionCode") if raw.region_code else None
        ),
        severities=_distinct(raw.severities),
        hardship_types=_distinct(raw.hardship_types),
        overdue=raw.overdue,
        household_id=(
            household_id_argument(raw.household_id, "filter.householdId")
            if raw.household_id is not None
            else None
        ),
        finding=code("filter.finding", raw.finding, limit=MAX_FINDING)
        if raw.finding is not None
        else None,
    )


# ---- Queries ------------------------------------------------------------------------------------


async def warnings(
    info: strawberry.Info,
    filter: w.WarningFilterInput | None = None,
    first: int | None = None,
    after: str | None = None,
) -> t.Connection[t.Warning]:
    ctx = _ctx(info)
    size = page_size(first, ctx.db.settings)
    found = await ctx.fetch(
        q.warning_page(
            ctx.principal, _filter(filter), date.today(), after=_after(after), limit=size + 1
        )
    )
    ctx.saw(households=(r.household_id for r in found[:size]))
    return connection(
        "warnings", found, size, rows.warning, cursor=lambda r: _cursor(r.due_on, r.id)
    )


async def warning(info: strawberry.Info, id: strawberry.ID) -> t.Warning | None:
    ctx = _ctx(info)
    found = await ctx.fetch(q.warning_by_id(ctx.principal, row_id(id, "id", "warning")))
    ctx.saw(households=(r.household_id for r in found))
    return rows.warning(found[0]) if found else None


async def warning_counts(
    info: strawberry.Info, filter: w.WarningFilterInput | None = None
) -> list[w.WarningCount]:
    ctx = _ctx(info)
    found = await ctx.fetch(q.counts_by_status(ctx.principal, _filter(filter), date.today()))
    return [w.WarningCount(status=r.status, count=r._mapping["count"]) for r in found]


def _route(row: Any) -> w.WarningRoute:
    return w.WarningRoute(
        kind=row.kind,
        hardship_type=row.hardship_type,
        agencies=list(row.agencies),
        due_working_days=row.due_working_days,
        severity=row.severity,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def warning_routes(info: strawberry.Info) -> list[w.WarningRoute]:
    return [_route(r) for r in await _ctx(info).fetch(q.routes())]


async def comparison_runs(
    info: strawberry.Info, first: int | None = None, after: str | None = None
) -> t.Connection[w.ComparisonRun]:
    ctx = _ctx(info)
    size = page_size(first, ctx.db.settings)
    found = await ctx.fetch(q.runs(size + 1, decode_cursor("runs", after)))
    return connection("runs", found, size, _run)


def _run(r: Any) -> w.ComparisonRun:
    return w.ComparisonRun(
        db_id=r.id,
        mode=r.mode,
        as_of=r.as_of,
        started_at=r.started_at,
        finished_at=r.finished_at,
        started_by=r.started_by,
        households=r.households,
        findings=r.findings,
        opened=r.opened,
        joined=r.joined,
        cleared=r.cleared,
        by_rule=r.by_rule,
        skipped=r.skipped,
    )


# ---- Nested fields of a warning -----------------------------------------------------------------


def _loader(ctx: Context, name: str, load: Any) -> DataLoader[Any, Any]:
    loaders: dict[str, DataLoader[Any, Any]] = ctx.loaders.extra
    if name not in loaders:
        loaders[name] = DataLoader(load_fn=load)
    return loaders[name]


def rule_of(finding: str) -> t.WarningRule | None:
    rule = RULES_BY_ID.get(finding)
    if rule is None:
        return None
    return t.WarningRule(
        id=rule.id,
        kind=rule.kind,
        clause=rule.clause,
        summary=rule.summary,
        needs_authorisation=rule.needs_authorisation,
    )


async def agencies_of(info: strawberry.Info, warning_id: int) -> list[str]:
    ctx = _ctx(info)

    async def load(ids: list[int]) -> list[list[str]]:
        found: dict[int, list[str]] = defaultdict(list)
        for r in await ctx.fetch(q.assignments(ids)):
            found[r.warning_id].append(r.agency_code)
        return [found.get(i, []) for i in ids]

    return await _loader(ctx, "warning_agencies", load).load(warning_id)  # type: ignore[no-any-return]


async def history_of(info: strawberry.Info, warning_id: int) -> list[t.WarningTransition]:
    ctx = _ctx(info)

    async def load(ids: list[int]) -> list[list[t.WarningTransition]]:
        found: dict[int, list[t.WarningTransition]] = defaultdict(list)
        for r in await ctx.fetch(q.transitions(ids)):
            found[r.warning_id].append(
                t.WarningTransition(
                    from_status=r.from_status,
                    to_status=r.to_status,
                    at=r.at,
                    by=r.by,
                    note=r.note,
                )
            )
        return [found.get(i, []) for i in ids]

    return await _loader(ctx, "warning_history", load).load(warning_id)  # type: ignore[no-any-return]


async def _place(ctx: Context, household_id: int) -> Any:
    async def load(ids: list[int]) -> list[Any]:
        found = {r.id: r for r in await ctx.fetch(q.household_places(ids))}
        return [found.get(i) for i in ids]

    return await _loader(ctx, "household_places", load).load(household_id)


async def subjects_of(info: strawberry.Info, warning: t.Warning) -> list[t.WarningSubject]:
    """The people named, whole to whom may act on them, masked to anyone else."""
    ctx = _ctx(info)
    principal = ctx.principal
    if not warning.subject_ids:
        return []

    async def load(ids: list[int]) -> list[Any]:
        found = {r.id: r for r in await ctx.fetch(q.persons_by_id(ids))}
        return [found.get(i) for i in ids]

    people = _loader(ctx, "warning_persons", load)
    place = await _place(ctx, warning.household_id)
    agencies = await agencies_of(info, warning.db_id)
    whole = (PII in principal.scopes and principal.covers_region(place.region_code)) or (
        warning.status in OPEN_WARNING_STATUSES and principal.agency in agencies
    )
    out: list[t.WarningSubject] = []
    for person in await people.load_many(warning.subject_ids):
        if person is None:
            continue
        out.append(
            t.WarningSubject(
                name=person.name if whole else mask_name(person.name),
                id_number=person.id_number if whole else mask_id_number(person.id_number),
                phone=person.phone if whole else None,
                address=place.address if whole else None,
                masked=not whole,
            )
        )
    ctx.saw(households=[warning.household_id], persons=warning.subject_ids)
    return out


async def household_of(info: strawberry.Info, household_id: int) -> t.Household | None:
    from gateway.households import queries as household_queries

    ctx = _ctx(info)

    async def load(ids: list[int]) -> list[t.Household | None]:
        found = {
            r.id: rows.household(r)
            for r in await ctx.fetch(
                household_queries.households_by_id(ids, ctx.principal.region_code)
            )
        }
        ctx.saw(households=found)
        return [found.get(i) for i in ids]

    return await _loader(ctx, "warning_households", load).load(household_id)  # type: ignore[no-any-return]


# ---- Mutations ----------------------------------------------------------------------------------


def _note(note: str | None, *, required: bool = False) -> str | None:
    if note is None or (not required and not note.strip()):
        return None
    return written("note", note)


async def _act(info: strawberry.Info, id: strawberry.ID, action: str, **kwargs: Any) -> t.Warning:
    ctx = _ctx(info)
    warning_id = row_id(id, "id", "warning")
    async with ctx.db.unit_of_work() as session:
        row = await lifecycle.act(
            session, ctx.principal, warning_id, action, request_id=ctx.request_id, **kwargs
        )
        result = rows.warning(row)
    ctx.saw(households=[result.household_id])
    return result


async def dispatch_warning(
    info: strawberry.Info,
    id: strawberry.ID,
    agencies: list[str],
    note: str | None = None,
    version: int | None = None,
) -> t.Warning:
    return await _act(
        info, id, "dispatch", agencies=agencies, note=_note(note), expected_version=version
    )


async def acknowledge_warning(
    info: strawberry.Info, id: strawberry.ID, note: str | None = None, version: int | None = None
) -> t.Warning:
    return await _act(info, id, "acknowledge", note=_note(note), expected_version=version)


async def resolve_warning(
    info: strawberry.Info,
    id: strawberry.ID,
    resolution: Resolution,
    note: str,
    version: int | None = None,
) -> t.Warning:
    return await _act(
        info,
        id,
        "resolve",
        resolution=resolution,
        note=_note(note, required=True),
        expected_version=version,
    )


async def escalate_warning(
    info: strawberry.Info, id: strawberry.ID, note: str | None = None, version: int | None = None
) -> t.Warning:
    return await _act(info, id, "escalate", note=_note(note), expected_version=version)


async def set_warning_route(info: strawberry.Info, input: w.WarningRouteInput) -> w.WarningRoute:
    ctx = _ctx(info)
    async with ctx.db.unit_of_work() as session:
        row = await routing.set_route(
            session,
            ctx.principal,
            kind=input.kind,
            hardship=input.hardship_type,
            agencies=input.agencies,
            due_working_days=input.due_working_days,
            severity=input.severity,
            request_id=ctx.request_id,
        )
        return _route(row)


async def delete_warning_route(
    info: strawberry.Info, kind: WarningKind, hardship_type: HardshipType | None = None
) -> bool:
    ctx = _ctx(info)
    async with ctx.db.unit_of_work() as session:
        return await routing.delete_route(
            session, ctx.principal, kind, hardship_type, request_id=ctx.request_id
        )
