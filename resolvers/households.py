"""`household`, `households` and `person`."""

from __future__ import annotations

import strawberry

from gateway.context import Context
from gateway.domain import idnumber
from gateway.errors import InvalidInput
from gateway.households import queries
from resolvers import rows
from resolvers.inputs import row_id
from resolvers.loaders import connection
from resolvers.pagination import decode_cursor, page_size
from schema import types as t


def household_id_argument(raw: strawberry.ID, field: str = "id") -> int:
    return row_id(raw, field, "household")


def _ctx(info: strawberry.Info) -> Context:
    return info.context  # type: ignore[no-any-return]


async def household(info: strawberry.Info, id: strawberry.ID) -> t.Household | None:
    ctx = _ctx(info)
    region = ctx.principal.region_code
    found = await ctx.fetch(queries.households_by_id([household_id_argument(id)], region))
    ctx.saw(households=(r.id for r in found))
    return rows.household(found[0]) if found else None


async def households(
    info: strawberry.Info,
    filter: t.HouseholdFilter | None = None,
    first: int | None = None,
    after: str | None = None,
) -> t.Connection[t.Household]:
    ctx = _ctx(info)
    size = page_size(first, ctx.db.settings)
    after_id = decode_cursor("households", after)
    flt = queries.HouseholdFilter()
    if filter is not None:
        flt = queries.HouseholdFilter(
            region_prefix=filter.region_prefix,
            category=filter.category,
            status=filter.status,
            review_due_before=filter.review_due_before,
            former_registered_poor=filter.former_registered_poor,
        )
    found = await ctx.fetch(
        queries.household_page(
            flt, after_id=after_id, limit=size + 1, region=ctx.principal.region_code
        )
    )
    ctx.saw(households=(r.id for r in found[:size]))
    return connection("households", found, size, rows.household)


async def person(info: strawberry.Info, id_number: str) -> t.Person | None:
    try:
        number = idnumber.validate(id_number)
    except idnumber.IdNumberError as exc:
        raise InvalidInput("idNumber", str(exc)) from None
    ctx = _ctx(info)
    found = await ctx.fetch(queries.person_by_id_number(number, ctx.principal.region_code))
    ctx.saw(persons=(r.id for r in found))
    return rows.person(found[0]) if found else None
