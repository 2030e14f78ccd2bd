"""`applications`, `application` and the steps of an application (gateway/applications)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.applications import queries, service
from gateway.applications.procedure import is_overdue
from gateway.context import Context
from gateway.domain.enums import ApplicationStatus
from gateway.households.queries import households_by_id
from gateway.models import Application, Determination, Household
from resolvers import rows
from resolvers.households import household_id_argument
from resolvers.inputs import row_id
from resolvers.loaders import connection
from resolvers.pagination import decode_cursor, page_size
from schema import applications as ap
from schema import types as t


def _ctx(info: strawberry.Info) -> Context:
    return info.context  # type: ignore[no-any-return]


def _application(
    row: Any, household: t.Household, determination: t.Determination | None, today: date
) -> ap.Application:
    return ap.Application(
        db_id=row.id,
        warning_db_id=row.warning_id,
        status=row.status,
        applied_on=row.applied_on,
        accepted_on=row.accepted_on,
        reviewed_on=row.reviewed_on,
        town_opinion=row.town_opinion,
        notice_from=row.notice_from,
        notice_until=row.notice_until,
        decided_on=row.decided_on,
        due_on=row.due_on,
        overdue=is_overdue(row.status, row.due_on, today),
        note=row.note,
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        household=household,
        determination=determination,
    )


async def _complete(ctx: Context, found: Sequence[Any]) -> dict[int, ap.Application]:
    """The page's applications with their households and determinations: two statements more,
    however long the page."""
    today = date.today()
    household_ids = sorted({r.household_id for r in found})
    households = {
        r.id: rows.household(r)
        for r in await ctx.fetch(households_by_id(household_ids, ctx.principal.region_code))
    }
    decided = sorted({r.determination_id for r in found if r.determination_id is not None})
    determinations = (
        {
            r.id: rows.determination(r)
            for r in await ctx.fetch(select(Determination).where(Determination.id.in_(decided)))
        }
        if decided
        else {}
    )
    ctx.saw(households=household_ids)
    return {
        r.id: _application(
            r, households[r.household_id], determinations.get(r.determination_id), today
        )
        for r in found
    }


async def applications(
    info: strawberry.Info,
    status: ApplicationStatus | None = None,
    overdue: bool | None = None,
    household_id: strawberry.ID | None = None,
    first: int | None = None,
    after: str | None = None,
) -> t.Connection[ap.Application]:
    ctx = _ctx(info)
    size = page_size(first, ctx.db.settings)
    after_id = decode_cursor("applications", after)
    hid = None if household_id is None else household_id_argument(household_id, "householdId")
    found = await ctx.fetch(
        queries.applications_page(
            today=date.today(),
            status=status,
            is_overdue=overdue,
            household_id=hid,
            after_id=after_id,
            limit=size + 1,
            region=ctx.principal.region_code,
        )
    )
    complete = await _complete(ctx, found[:size])
    return connection("applications", found, size, lambda r: complete[r.id])


async def application(info: strawberry.Info, id: strawberry.ID) -> ap.Application | None:
    ctx = _ctx(info)
    found = await ctx.fetch(
        queries.applications_by_id([row_id(id, "id", "application")], ctx.principal.region_code)
    )
    if not found:
        return None
    return (await _complete(ctx, found))[found[0].id]


async def _answer(ctx: Context, session: AsyncSession, row: Application) -> ap.Application:
    """The application just changed, from the session (its rows are in the identity map)."""
    household = await session.get(Household, row.household_id)
    assert household is not None  # the step checked it
    determination = (
        await session.get(Determination, row.determination_id)
        if row.determination_id is not None
        else None
    )
    ctx.saw(households=[row.household_id])
    return _application(
        row,
        rows.household(household),
        rows.determination(determination) if determination is not None else None,
        date.today(),
    )


async def start_application(
    info: strawberry.Info,
    household_id: strawberry.ID,
    applied_on: date | None = None,
    warning_id: strawberry.ID | None = None,
) -> ap.Application:
    ctx = _ctx(info)
    hid = household_id_argument(household_id, "householdId")
    wid = None if warning_id is None else row_id(warning_id, "warningId", "warning")
    async with ctx.db.unit_of_work() as session:
        row = await service.start_application(
            session,
            ctx.principal,
            hid,
            applied_on=applied_on or date.today(),
            warning_id=wid,
            request_id=ctx.request_id,
        )
        return await _answer(ctx, session, row)


async def accept_application(
    info: strawberry.Info,
    id: strawberry.ID,
    accepted_on: date | None = None,
    expected_version: int | None = None,
) -> ap.Application:
    ctx = _ctx(info)
    async with ctx.db.unit_of_work() as session:
        row = await service.accept_application(
            session,
            ctx.principal,
            row_id(id, "id", "application"),
            accepted_on=accepted_on or date.today(),
            request_id=ctx.request_id,
            expected_version=expected_version,
        )
        return await _answer(ctx, session, row)


async def record_town_review(
    info: strawberry.Info,
    id: strawberry.ID,
    opinion: str,
    reviewed_on: date | None = None,
    expected_version: int | None = None,
) -> ap.Application:
    ctx = _ctx(info)
    async with ctx.db.unit_of_work() as session:
        row = await service.record_town_review(
            session,
            ctx.principal,
            row_id(id, "id", "application"),
            opinion=opinion,
            reviewed_on=reviewed_on or date.today(),
            request_id=ctx.request_id,
            expected_version=expected_version,
        )
        return await _answer(ctx, session, row)


async def decide_application(
    info: strawberry.Info,
    id: strawberry.ID,
    decided_on: date | None = None,
    expected_version: int | None = None,
) -> ap.Application:
    ctx = _ctx(info)
    async with ctx.db.unit_of_work() as session:
        row = await service.decide_application(
            session,
            ctx.principal,
            row_id(id, "id", "application"),
            decided_on=decided_on or date.today(),
            request_id=ctx.request_id,
            expected_version=expected_version,
        )
        return await _answer(ctx, session, row)


async def withdraw_application(
    info: strawberry.Info,
    id: strawberry.ID,
    reason: str,
    expected_version: int | None = None,
) -> ap.Application:
    ctx = _ctx(info)
    async with ctx.db.unit_of_work() as session:
        row = await service.withdraw_application(
            session,
            ctx.principal,
            row_id(id, "id", "application"),
            reason=reason,
            request_id=ctx.request_id,
            expected_version=expected_version,
        )
        return await _answer(ctx, session, row)
