"""The root Query type. Resolvers live in `resolvers/`; this file only names the operations."""

from __future__ import annotations

import strawberry

from resolvers import assessment as assessment_resolvers
from resolvers import audit as audit_resolvers
from resolvers import caller as caller_resolvers
from resolvers import eligibility as eligibility_resolvers
from resolvers import households as household_resolvers
from resolvers import push as push_resolvers
from schema import assessment as a
from schema import audit as audit_types
from schema import push as p
from schema import types as t


@strawberry.type
class Query:
    me: t.Caller = strawberry.field(
        resolver=caller_resolvers.me,
        description="Who the gateway takes you to be: client, agency, scopes and region.",
    )
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
    assess: a.Assessment = strawberry.field(
        resolver=assessment_resolvers.assess,
        description=(
            "Which category a household qualifies for, rule by rule (CONTRACT.md); the same "
            "answer as `lig assess`. Figures not given come from the stored standards."
        ),
    )
    standards: a.StandardsView = strawberry.field(
        resolver=assessment_resolvers.standards,
        description="The stored figures for a region, and those in force on `asOf`.",
    )
    reviews_due: t.Connection[t.Household] = strawberry.field(
        resolver=assessment_resolvers.reviews_due,
        description=(
            "MARGINAL, EXPENDITURE and LEGACY_LOW_INCOME households whose yearly review "
            "falls before `before`, in id order."
        ),
    )
    assistance_records: t.Connection[t.AssistanceRecord] = strawberry.field(
        resolver=push_resolvers.assistance_records,
        description=(
            "Assistance records, newest first: your agency's own (civil affairs: every "
            "agency's, or `agency`'s). Latest revisions only unless `includeRevisions`; "
            "`agencyRecordId` and `idNumber` narrow the list."
        ),
    )
    push_receipt: p.PushReceipt | None = strawberry.field(
        resolver=push_resolvers.push_receipt,
        description="The receipt of a batch your agency pushed (civil affairs: any batch).",
    )
    audit_events: t.Connection[audit_types.AuditEvent] = strawberry.field(
        resolver=audit_resolvers.audit_events,
        description=(
            "The audit trail, newest first: every read of personal data (also refused ones) "
            "and every change, with who, why and what. Reading it is itself audited."
        ),
    )
