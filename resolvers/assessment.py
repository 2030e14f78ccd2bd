"""`assess`, `standards`, `reviewsDue` and the mutations that decide and set figures."""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.assessment import assess_parsed, parse_request
from gateway.context import Context
from gateway.determinations.service import determine, due_for_review
from gateway.determinations.situations import record_situation
from gateway.domain.enums import StandardStatus
from gateway.domain.rules import FIGURE_NAMES
from gateway.errors import InvalidInput
from gateway.standards import (
    StandardRow,
    figure_text,
    in_force,
    list_rows,
    pick_in_force,
    region_code_of,
    set_standard,
)
from resolvers import rows
from resolvers.households import household_id_argument
from resolvers.inputs import camel, plain
from resolvers.loaders import connection
from resolvers.pagination import decode_cursor, page_size
from schema import assessment as a
from schema import types as t


def _ctx(info: strawberry.Info) -> Context:
    return info.context  # type: ignore[no-any-return]


def _camel(path: str) -> str:
    return "input." + camel(path)


def _in_graphql_terms(error: InvalidInput) -> InvalidInput:
    return InvalidInput.many([(_camel(field), reason) for field, reason in error.problems])


async def assess(info: strawberry.Info, input: a.AssessmentInput) -> a.Assessment:
    ctx = _ctx(info)
    try:
        request = parse_request(plain(input))
    except InvalidInput as error:
        raise _in_graphql_terms(error) from None
    async with ctx.db.sessions() as session:
        stored = await in_force(session, request.region_code, request.as_of)
    result = assess_parsed(request, stored)
    return a.Assessment(
        category=result.category,
        eligible=result.eligible,
        per_capita_monthly_income=float(result.per_capita_monthly_income),
        reasons=[a.Reason(rule=r.rule, passed=r.passed, detail=r.detail) for r in result.reasons],
    )


def _standard(row: StandardRow) -> a.RegionalStandard:
    return a.RegionalStandard(
        region_code=row.region_code,
        figure=row.figure,
        effective_from=row.effective_from,
        value=figure_text(row.value) or "",
        status=row.status,
        source=row.source,
        set_by=row.created_by,
    )


async def standards(
    info: strawberry.Info, region_code: str, as_of: date | None = None
) -> a.StandardsView:
    ctx = _ctx(info)
    region = region_code_of(region_code, "regionCode")
    day = as_of or date.today()
    async with ctx.db.sessions() as session:
        stored = await list_rows(session, region)
    now = pick_in_force(stored, region, day)
    figures = [
        a.FigureInForce(
            name=name,
            value=figure_text(getattr(now, name)),
            provenance=now.provenance.get(name),
        )
        for name in FIGURE_NAMES
    ]
    return a.StandardsView(
        region_code=region, as_of=day, in_force=figures, rows=[_standard(r) for r in stored]
    )


async def set_standard_mutation(
    info: strawberry.Info, input: a.SetStandardInput
) -> a.RegionalStandard:
    ctx = _ctx(info)
    region = region_code_of(input.region_code, "input.regionCode")
    try:
        async with ctx.db.unit_of_work() as session:
            row = await set_standard(
                session,
                ctx.principal,
                region_code=region,
                figure=input.figure,
                effective_from=input.effective_from,
                value=input.value,
                source=input.source,
                status=input.status or StandardStatus.OPERATOR,
                replace=bool(input.replace),
                request_id=ctx.request_id,
            )
    except InvalidInput as error:
        raise _in_graphql_terms(error) from None
    return _standard(row)


async def assess_household(
    info: strawberry.Info, household_id: strawberry.ID, as_of: date | None = None
) -> t.Determination:
    ctx = _ctx(info)
    hid = household_id_argument(household_id, "householdId")
    async with ctx.db.unit_of_work() as session:
        determination = await determine(
            session, ctx.principal, hid, as_of or date.today(), request_id=ctx.request_id
        )
    ctx.saw(households=[hid])
    return rows.determination(determination)


async def reviews_due(
    info: strawberry.Info, before: date, first: int | None = None, after: str | None = None
) -> t.Connection[t.Household]:
    ctx = _ctx(info)
    size = page_size(first, ctx.db.settings)
    after_id = decode_cursor("households", after)
    found = await ctx.fetch(
        due_for_review(before, after_id=after_id, limit=size + 1, region=ctx.principal.region_code)
    )
    ctx.saw(households=(r.id for r in found[:size]))
    return connection("households", found, size, rows.household)


async def record_economic_situation(
    info: strawberry.Info, household_id: strawberry.ID, input: a.EconomicSituationInput
) -> a.EconomicSituation:
    ctx = _ctx(info)
    hid = household_id_argument(household_id, "householdId")
    try:
        async with ctx.db.unit_of_work() as session:
            row = await record_situation(
                session, ctx.principal, hid, plain(input), request_id=ctx.request_id
            )
    except InvalidInput as error:
        raise _in_graphql_terms(error) from None
    ctx.saw(households=[hid])
    return a.EconomicSituation(
        id=strawberry.ID(str(row.id)),
        recorded_on=row.recorded_on,
        source=row.source,
        annual_income=row.annual_income,  # type: ignore[arg-type]
    )
