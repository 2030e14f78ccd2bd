"""`eligibility(idNumbers)`: one statement for up to 1,000 ID numbers."""

from __future__ import annotations

import strawberry

from gateway.context import Context
from gateway.eligibility import lookup
from schema import types as t
from schema.enums import EligibilityStatus


async def eligibility(info: strawberry.Info, id_numbers: list[str]) -> list[t.Eligibility]:
    ctx: Context = info.context
    numbers = lookup.validate_batch(id_numbers, ctx.db.settings.max_eligibility_batch)
    found = lookup.visible(
        await ctx.fetch(lookup.statement(numbers, ctx.db.dialect)), ctx.principal.region_code
    )
    ctx.saw(persons=(r.person_id for r in found), households=(r.household_id for r in found))
    return [
        t.Eligibility(
            id_number=a.id_number,
            found=a.found,
            category=a.category,
            status=EligibilityStatus(a.status),
            valid_until=a.valid_until,
        )
        for a in lookup.answers(id_numbers, numbers, found)
    ]
