"""The root Query type. Resolvers live in `resolvers/`; this file only names the operations."""

from __future__ import annotations

import strawberry

from resolvers import eligibility as eligibility_resolvers
from resolvers import households as household_resolvers
from schema import types as t


@strawberry.type
class Query:
    household: t.Household | None = strawberry.field(
        resolver=household_resolvers.household, description="One household by its id."
    )
    households: t.Connection[t.Household] = strawberry.field(
        resolver=household_resolvers.households,
        description="Households matching the filter, in id order, a page at a time.",
    )
    person: t.Person | None = strawberry.field(
        resolver=household_resolvers.person, description="One person by resident ID number."
    )
    eligibility: list[t.Eligibility] = strawberry.field(
        resolver=eligibility_resolvers.eligibility,
        description=(
            "For 1 to 1,000 resident ID numbers: one answer per number, in the order given; "
            "`found: false` for numbers not in the database."
        ),
    )
