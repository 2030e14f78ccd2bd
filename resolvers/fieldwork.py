"""`surveyList`, `authorisationsMissing`, `reportVisit`, `recordAuthorisation` and
`withdrawAuthorisation`. Thin: the rules and statements are in `gateway.fieldwork`."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import strawberry

from gateway.context import Context
from gateway.domain.enums import RegionLevel
from gateway.errors import InvalidInput
from gateway.fieldwork import authorisations, survey, visits
from gateway.households import queries
from resolvers import rows
from resolvers.households import household_id_argument
from resolvers.inputs import row_id
from resolvers.loaders import connection
from resolvers.pagination import decode_cursor, page_size
from schema import fieldwork as f
from schema import types as t


def _ctx(info: strawberry.Info) -> Context:
    return info.context  # type: ignore[no-any-return]


async def survey_list(
    info: strawberry.Info,
    town_code: str,
    first: int | None = None,
    after: str | None = None,
    on: date | None = None,
) -> t.Connection[f.SurveyEntry]:
    ctx = _ctx(info)
    size = page_size(first, ctx.db.settings)
    after_id = decode_cursor("surveyList", after)
    # Looked up only when it can be a code: PostgreSQL fails a statement on a NUL in any text.
    is_code = len(town_code) == 12 and town_code.isascii() and town_code.isdigit()
    town = await ctx.fetch(queries.regions_by_code([town_code])) if is_code else []
    if not town or town[0].level != RegionLevel.TOWN:
        raise InvalidInput("townCode", "is not the 12-digit code of a town")
    day = on or date.today()
    found = await ctx.fetch(
        survey.survey_page(
            town_code, day, after_id=after_id, limit=size + 1, region=ctx.principal.region_code
        )
    )
    ctx.saw(households=(r.id for r in found[:size]))

    def entry(row: Any) -> f.SurveyEntry:
        return f.SurveyEntry(household=rows.household(row), groups=survey.groups_of(row))

    return connection("surveyList", found, size, entry)


async def authorisations_missing(
    info: strawberry.Info,
    region_code: str,
    on: date | None = None,
    first: int | None = None,
    after: str | None = None,
) -> t.Connection[f.MissingAuthorisation]:
    ctx = _ctx(info)
    size = page_size(first, ctx.db.settings)
    after_id = decode_cursor("authorisationsMissing", after)
    day = on or date.today()
    found = await ctx.fetch(
        authorisations.missing_page(
            region_code, day, after_id=after_id, limit=size + 1, region=ctx.principal.region_code
        )
    )
    page = found[:size]
    ctx.saw(households=(r.id for r in page))
    answers: dict[int, list[Any]] = defaultdict(list)
    if page:
        for row in await ctx.fetch(authorisations.of_households([r.id for r in page])):
            answers[row.household_id].append(row)

    def entry(row: Any) -> f.MissingAuthorisation:
        mine = [a for a in answers[row.id] if a.signed_on <= day]
        reason = authorisations.missing_reason(map(authorisations.facts, mine), day)
        latest = max(mine, key=lambda a: (a.signed_on, a.id)) if mine else None
        return f.MissingAuthorisation(
            household=rows.household(row),
            reason=reason or authorisations.MissingReason.NONE_ON_RECORD,
            latest=rows.authorisation(latest) if latest is not None else None,
        )

    return connection("authorisationsMissing", found, size, entry)


async def report_visit(info: strawberry.Info, input: f.ReportVisitInput) -> f.Visit:
    ctx = _ctx(info)
    visit = visits.VisitIn(
        household_id=household_id_argument(input.household_id, "input.householdId"),
        visited_on=input.visited_on,
        visitor=input.visitor,
        findings=input.findings,
        reason=input.reason,
        changes=[visits.ChangeIn(c.id_number, c.field, c.value) for c in input.changes],
    )
    async with ctx.db.unit_of_work() as session:
        row = await visits.report_visit(
            session, ctx.principal, visit, today=date.today(), request_id=ctx.request_id
        )
    ctx.saw(households=[row.household_id], persons=(c["person"] for c in row.changes))
    return rows.visit(row)


async def record_authorisation(
    info: strawberry.Info, input: f.RecordAuthorisationInput
) -> f.Authorisation:
    ctx = _ctx(info)
    answer = authorisations.AuthorisationIn(
        household_id=household_id_argument(input.household_id, "input.householdId"),
        granted=input.granted,
        signed_on=input.signed_on,
        signed_by=input.signed_by,
        document_ref=input.document_ref,
        valid_until=input.valid_until,
    )
    async with ctx.db.unit_of_work() as session:
        row = await authorisations.record_authorisation(
            session, ctx.principal, answer, today=date.today(), request_id=ctx.request_id
        )
    ctx.saw(households=[row.household_id])
    return rows.authorisation(row)


async def withdraw_authorisation(
    info: strawberry.Info, id: strawberry.ID, on: date
) -> f.Authorisation:
    ctx = _ctx(info)
    authorisation_id = row_id(id, "id", "authorisation")
    async with ctx.db.unit_of_work() as session:
        row = await authorisations.withdraw_authorisation(
            session,
            ctx.principal,
            authorisation_id,
            on,
            today=date.today(),
            request_id=ctx.request_id,
        )
    ctx.saw(households=[row.household_id])
    return rows.authorisation(row)
