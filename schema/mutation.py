"""The root Mutation type. Each mutation commits its own unit of work (the request's edge)."""

from __future__ import annotations

import strawberry

from resolvers import assessment as resolvers
from resolvers import push as push_resolvers
from schema import assessment as a
from schema import push as p
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
    push_assistance_records: p.PushReceipt = strawberry.field(
        resolver=push_resolvers.push_assistance_records,
        description=(
            "Store assistance your agency delivered: up to 10,000 items, each judged on its "
            "own (ACCEPTED, DUPLICATE, REJECTED with field and reason) unless `allOrNothing`. "
            "Send an `idempotencyKey`: the same key again answers the first receipt and stores "
            "nothing. The same as POST /api/v1/assistance-records."
        ),
    )
    push_events: p.PushReceipt = strawberry.field(
        resolver=push_resolvers.push_events,
        description=(
            "Store monitoring events your agency observed (as pushAssistanceRecords). Events "
            "about people not in the database are kept for later matching. The same as "
            "POST /api/v1/events."
        ),
    )
