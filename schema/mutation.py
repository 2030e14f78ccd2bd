"""The root Mutation type. Each mutation commits its own unit of work (the request's edge)."""

from __future__ import annotations

import strawberry

from resolvers import assessment as resolvers
from schema import assessment as a
from schema import types as t


@strawberry.type
class Mutation:
    assess_household: t.Determination = strawberry.field(
        resolver=resolvers.assess_household,
        description=(
            "Assess a stored household from its latest recorded economic situation on `asOf` "
            "(default today), record the determination with its reasons and the standards "
            "used, and update the household's category, validity and next review."
        ),
    )
    record_economic_situation: a.EconomicSituation = strawberry.field(
        resolver=resolvers.record_economic_situation,
        description=(
            "Record a household's economic situation on a day, as declared by the household "
            "or as found by verification (核对); the latest on or before a day is what "
            "`assessHousehold` and the yearly review assess."
        ),
    )
    set_standard: a.RegionalStandard = strawberry.field(
        resolver=resolvers.set_standard_mutation,
        description=(
            "Set a regional figure from a day on (audited). An existing figure for the same "
            "region, figure and day is replaced only with `replace: true`."
        ),
    )
