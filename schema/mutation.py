"""The root Mutation type. Each mutation commits its own unit of work (the request's edge)."""

from __future__ import annotations

import strawberry

from resolvers import applications as application_resolvers
from resolvers import assessment as resolvers
from resolvers import documents as document_resolvers
from resolvers import fieldwork as fieldwork_resolvers
from resolvers import push as push_resolvers
from resolvers import warnings as warning_resolvers
from resolvers import webhooks as webhook_resolvers
from schema import applications as ap
from schema import assessment as a
from schema import documents as d
from schema import fieldwork as fw
from schema import push as p
from schema import types as t
from schema import warnings as w
from schema import webhooks as wh


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
    report_visit: fw.Visit = strawberry.field(
        resolver=fieldwork_resolvers.report_visit,
        description=(
            "Record a home visit (走访): when, who, what was found, and changes to current "
            "members, applied at once (as `from` → `to`). Any wrong change refuses the whole "
            "visit, naming the field. A change queues the household for the comparison rules."
        ),
    )
    record_authorisation: fw.Authorisation = strawberry.field(
        resolver=fieldwork_resolvers.record_authorisation,
        description=(
            "Record a household's verification authorisation (核对授权书), or with `granted: "
            "false` its refusal to sign: the conduct exclusion every later assessment applies."
        ),
    )
    withdraw_authorisation: fw.Authorisation = strawberry.field(
        resolver=fieldwork_resolvers.withdraw_authorisation,
        description="Withdraw an authorisation from the day `on` (no longer valid from then).",
    )
    dispatch_warning: t.Warning = strawberry.field(
        resolver=warning_resolvers.dispatch_warning,
        description=(
            "Dispatch a warning to agencies (civil affairs): new ones are assigned and told. "
            "Give `version` to act only on the warning as you last saw it."
        ),
    )
    acknowledge_warning: t.Warning = strawberry.field(
        resolver=warning_resolvers.acknowledge_warning,
        description="Acknowledge a warning dispatched to your agency (or region).",
    )
    resolve_warning: t.Warning = strawberry.field(
        resolver=warning_resolvers.resolve_warning,
        description="Resolve a warning with its resolution and a note of what was done.",
    )
    escalate_warning: t.Warning = strawberry.field(
        resolver=warning_resolvers.escalate_warning,
        description="Escalate a warning to the county coordination mechanism (协调机制).",
    )
    set_warning_route: w.WarningRoute = strawberry.field(
        resolver=warning_resolvers.set_warning_route,
        description="Set the route of a warning kind and hardship type (audited).",
    )
    delete_warning_route: bool = strawberry.field(
        resolver=warning_resolvers.delete_warning_route,
        description='Remove a route (audited); the kind\'s "*" route then applies.',
    )
    start_application: ap.Application = strawberry.field(
        resolver=application_resolvers.start_application,
        description=(
            "Start an application for assistance for a household (申请), on `appliedOn` "
            "(default today), optionally from the warning that found it; the application "
            "already under way, if there is one, is answered instead. A household outside "
            "assistance becomes APPLYING."
        ),
    )
    accept_application: ap.Application = strawberry.field(
        resolver=application_resolvers.accept_application,
        description=(
            "The town accepts an APPLIED application (受理) on `acceptedOn` (default today); "
            "its written opinion is then due within the TOWN_REVIEW limit of working days."
        ),
    )
    record_town_review: ap.Application = strawberry.field(
        resolver=application_resolvers.record_town_review,
        description=(
            "The town's written opinion (审核) on `reviewedOn` (default today): publicly noticed "
            "from the next working day for at least the PUBLIC_NOTICE working days; the "
            "county's decision is due within the COUNTY_CONFIRMATION limit after the notice."
        ),
    )
    decide_application: ap.Application = strawberry.field(
        resolver=application_resolvers.decide_application,
        description=(
            "The county's confirmation (确认) on `decidedOn` (default today), after the public "
            "notice has run: the rules engine decides the household's category from its "
            "recorded economic situation and records the determination with its reasons."
        ),
    )
    withdraw_application: ap.Application = strawberry.field(
        resolver=application_resolvers.withdraw_application,
        description=(
            "Withdraw an application under way (by the household, or not accepted), with the "
            "reason."
        ),
    )
    register_webhook: wh.WebhookRegistration = strawberry.field(
        resolver=webhook_resolvers.register_webhook,
        description=(
            "Register an endpoint to which your agency's warning notices are POSTed, signed "
            "(https; plain http only to a loopback address). Answers the signing secret, this "
            "once. Not for clients bound to a region: they subscribe to warningNotices."
        ),
    )
    rotate_webhook_secret: wh.WebhookRegistration = strawberry.field(
        resolver=webhook_resolvers.rotate_webhook_secret,
        description=(
            "A new signing secret for one of your endpoints, in force at once (answered this "
            "once). Deliveries your receiver refuses meanwhile are retried."
        ),
    )
    deactivate_webhook: wh.WebhookEndpoint = strawberry.field(
        resolver=webhook_resolvers.deactivate_webhook,
        description=(
            "Stop delivering to one of your endpoints; its pending deliveries are given up "
            "(replay them to another endpoint)."
        ),
    )
    replay_webhook_deliveries: wh.WebhookReplay = strawberry.field(
        resolver=webhook_resolvers.replay_webhook_deliveries,
        description=(
            "Deliver your agency's notices again to one of your endpoints, from `fromNoticeId` "
            "on (inclusive, also notices from before the endpoint was registered), or with "
            "`onlyFailed` only those it never received; notices still on their way are left "
            "out. Each is a new delivery (generation + 1) in the log."
        ),
    )
    register_trusted_document: d.TrustedDocument = strawberry.field(
        resolver=document_resolvers.register_trusted_document,
        description=(
            "Register a document a client may then send by id (audited): it must parse, hold "
            "no subscription and be valid for the client's scopes; at most 64 KiB. The same "
            "text again answers the same document (renamed if `name` is given). `name` "
            "defaults to its operations' names."
        ),
    )
    remove_trusted_document: bool = strawberry.field(
        resolver=document_resolvers.remove_trusted_document,
        description=(
            "Remove a client's document (audited); false if it had none of that id. Running "
            "gateways stop answering it within LIG_TRUSTED_DOCUMENTS_CACHE_SECONDS (10 s)."
        ),
    )
    require_trusted_documents: d.TrustedDocumentsRequirement = strawberry.field(
        resolver=document_resolvers.require_trusted_documents,
        description=(
            "Require a client to send registered documents only, by id, or with `required: "
            "false` allow free-form queries again (audited). Running gateways apply it within "
            "LIG_TRUSTED_DOCUMENTS_CACHE_SECONDS (10 s)."
        ),
    )
