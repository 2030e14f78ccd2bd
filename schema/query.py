"""The root Query type. Resolvers live in `resolvers/`; this file only names the operations."""

from __future__ import annotations

import strawberry

from resolvers import applications as application_resolvers
from resolvers import assessment as assessment_resolvers
from resolvers import audit as audit_resolvers
from resolvers import caller as caller_resolvers
from resolvers import documents as document_resolvers
from resolvers import eligibility as eligibility_resolvers
from resolvers import fieldwork as fieldwork_resolvers
from resolvers import households as household_resolvers
from resolvers import push as push_resolvers
from resolvers import warnings as warning_resolvers
from resolvers import webhooks as webhook_resolvers
from schema import applications as ap
from schema import assessment as a
from schema import audit as audit_types
from schema import documents as d
from schema import fieldwork as fw
from schema import push as p
from schema import types as t
from schema import warnings as w
from schema import webhooks as wh


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
    survey_list: t.Connection[fw.SurveyEntry] = strawberry.field(
        resolver=fieldwork_resolvers.survey_list,
        description=(
            "The survey list of a town (重点摸底排查; `townCode`: its 12-digit code): households "
            "not covered (category NONE, or assistance not running) in any of the six priority "
            "groups, each with its groups, in id order. `on` (default today) dates the members "
            "and the 12 months of emergencies."
        ),
    )
    authorisations_missing: t.Connection[fw.MissingAuthorisation] = strawberry.field(
        resolver=fieldwork_resolvers.authorisations_missing,
        description=(
            "Households of the region whose assistance is running and which have no valid "
            "verification authorisation on `on` (default today), with why, for follow-up; in "
            "id order."
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
    warnings: t.Connection[t.Warning] = strawberry.field(
        resolver=warning_resolvers.warnings,
        description=(
            "Warnings by due date (then id), a page at a time: civil affairs sees every "
            "warning, a town those of its region, an agency those assigned to it."
        ),
    )
    warning: t.Warning | None = strawberry.field(
        resolver=warning_resolvers.warning,
        description="One warning by id, if you may see it.",
    )
    warning_counts: list[w.WarningCount] = strawberry.field(
        resolver=warning_resolvers.warning_counts,
        description="How many warnings you may see are in each status, under the filter.",
    )
    warning_routes: list[w.WarningRoute] = strawberry.field(
        resolver=warning_resolvers.warning_routes,
        description="The routing table: kind × hardship type → agencies, due, severity.",
    )
    comparison_runs: t.Connection[w.ComparisonRun] = strawberry.field(
        resolver=warning_resolvers.comparison_runs,
        description="Comparison passes, newest first, with their counts.",
    )
    audit_events: t.Connection[audit_types.AuditEvent] = strawberry.field(
        resolver=audit_resolvers.audit_events,
        description=(
            "The audit trail, newest first: every read of personal data (also refused ones) "
            "and every change, with who, why and what. Reading it is itself audited."
        ),
    )
    applications: t.Connection[ap.Application] = strawberry.field(
        resolver=application_resolvers.applications,
        description=(
            "Applications for assistance in id order, a page at a time; `status`, `overdue` "
            "(under way past the step's deadline) and `householdId` narrow the list."
        ),
    )
    application: ap.Application | None = strawberry.field(
        resolver=application_resolvers.application, description="One application by its id."
    )
    webhook_endpoints: list[wh.WebhookEndpoint] = strawberry.field(
        resolver=webhook_resolvers.webhook_endpoints,
        description=(
            "Your agency's webhook endpoints, newest first (civil affairs: every agency's)."
        ),
    )
    webhook_deliveries: t.Connection[wh.WebhookDelivery] = strawberry.field(
        resolver=webhook_resolvers.webhook_deliveries,
        description=(
            "The delivery log of your agency's webhooks, newest first, each delivery with its "
            "attempts (civil affairs: every agency's); `status` and `endpointId` narrow it."
        ),
    )
    trusted_documents: list[d.TrustedDocument] = strawberry.field(
        resolver=document_resolvers.trusted_documents,
        description=(
            "Documents registered for a client (`clientId`), or for every client, by client "
            "and name."
        ),
    )
