"""Which scopes each part of the GraphQL schema needs: the one place that decides who sees what.

Every schema view (schema/views.py) is cut from this table, and the same table drives the
runtime check on each protected field. A field not listed is visible to every client that can
reach its type; a root field must be listed (`check_roots` fails the build otherwise), so a new
operation is never exposed by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from auth.masking import mask_id_number, mask_name

PII = "household:pii"
FINANCE = "household:finance"


@dataclass(frozen=True, slots=True)
class Rule:
    """Allowed when the client holds every scope of at least one alternative."""

    alternatives: tuple[frozenset[str], ...]

    def allows(self, scopes: frozenset[str]) -> bool:
        return any(alternative <= scopes for alternative in self.alternatives)

    def describe(self) -> str:
        return " or ".join(" and ".join(sorted(a)) or "any client" for a in self.alternatives)


def needs(*scopes: str) -> Rule:
    return Rule((frozenset(scopes),))


def either(*scopes: str) -> Rule:
    return Rule(tuple(frozenset({s}) for s in scopes))


ANYONE = needs()

# "Type.field" (GraphQL names) → who may see it.
FIELDS: dict[str, Rule] = {
    # Operations
    "Query.me": ANYONE,
    "Query.eligibility": needs("eligibility:read"),
    "Query.household": needs("household:read"),
    "Query.households": needs("household:read"),
    "Query.person": needs("household:read"),
    "Query.reviewsDue": needs("household:read"),
    "Query.assess": either("eligibility:read", FINANCE),
    "Query.standards": either("eligibility:read", FINANCE),
    "Query.auditEvents": needs("audit:read"),
    # Fieldwork (gateway/fieldwork): surveys and visits are the towns' and civil affairs' work;
    # authorisations concern economic-status verification, hence household:finance.
    "Query.surveyList": needs("household:read"),
    "Query.authorisationsMissing": needs("household:read", FINANCE),
    "Mutation.reportVisit": needs("household:read", "warning:handle"),
    "Mutation.recordAuthorisation": needs(FINANCE),
    "Mutation.withdrawAuthorisation": needs(FINANCE),
    "Household.visits": needs("household:read"),
    "Household.authorisations": needs(FINANCE),
    "Visit.findings": needs(PII),  # visitors write names and circumstances
    "Authorisation.signedBy": needs(PII),  # a member's name
    # Applications: the town's steps are warning handling on its households (towns and civil
    # affairs); the county's decision is civil affairs' (gateway/applications).
    "Query.applications": needs("household:read"),
    "Query.application": needs("household:read"),
    "Mutation.startApplication": needs("warning:handle", "household:read"),
    "Mutation.acceptApplication": needs("warning:handle", "household:read"),
    "Mutation.recordTownReview": needs("warning:handle", "household:read"),
    "Mutation.withdrawApplication": needs("warning:handle", "household:read"),
    "Mutation.decideApplication": needs("warning:manage", "household:read"),
    # A determination is the county's decision (as decideApplication), made by civil affairs'
    # caseworkers from the console too: not an operator's (`admin`) task.
    "Mutation.assessHousehold": needs("warning:manage", FINANCE),
    "Mutation.recordEconomicSituation": needs(FINANCE),
    "Mutation.setStandard": needs("admin"),
    "Mutation.pushAssistanceRecords": needs("assistance:write"),
    "Mutation.pushEvents": needs("feed:push"),
    "Query.pushReceipt": either("assistance:write", "feed:push"),
    "Query.assistanceRecords": needs("assistance:read"),
    "Query.warnings": needs("warning:read"),
    "Query.warning": needs("warning:read"),
    "Query.warningCounts": needs("warning:read"),
    "Query.warningRoutes": needs("warning:read"),
    "Query.comparisonRuns": needs("warning:manage"),
    "Mutation.dispatchWarning": needs("warning:manage"),
    "Mutation.acknowledgeWarning": needs("warning:handle"),
    "Mutation.resolveWarning": needs("warning:handle"),
    "Mutation.escalateWarning": either("warning:handle", "warning:manage"),
    "Mutation.setWarningRoute": needs("warning:manage"),
    "Mutation.deleteWarningRoute": needs("warning:manage"),
    "Warning.household": needs("household:read"),
    # Delivery of warnings (gateway/webhooks, gateway/subscriptions): an agency registers and
    # works its own endpoints and reads its own log (civil affairs reads every agency's); a
    # subscription streams the notices of the subscriber's own agency (and region).
    "Query.webhookEndpoints": needs("warning:read"),
    "Query.webhookDeliveries": needs("warning:read"),
    "Mutation.registerWebhook": needs("warning:read"),
    "Mutation.rotateWebhookSecret": needs("warning:read"),
    "Mutation.deactivateWebhook": needs("warning:read"),
    "Mutation.replayWebhookDeliveries": needs("warning:read"),
    "Subscription.warningNotices": needs("warning:read"),
    # Trusted documents (gateway/documents): which operations a client may send is decided
    # by civil affairs' operators, as the clients themselves are (`lig clients`).
    "Query.trustedDocuments": needs("admin"),
    "Mutation.registerTrustedDocument": needs("admin"),
    "Mutation.removeTrustedDocument": needs("admin"),
    "Mutation.requireTrustedDocuments": needs("admin"),
    # Personal data: contact details, birth date, national ids, what agencies observed.
    "Household.address": needs(PII),
    "Household.phone": needs(PII),
    "Household.history": needs(PII),  # each past state holds the address and phone
    "Person.phone": needs(PII),
    "Person.birthDate": needs(PII),
    "Person.ageOn": needs(PII),
    "Person.nationalPersonId": needs(PII),
    "MonitoringEvent.details": needs(PII),
    # Financial data: the rule-by-rule reasons quote income and assets.
    "Determination.reasons": needs(FINANCE),
    "Warning.evidence": needs(PII, FINANCE),
    "Warning.resolutionNote": needs(PII),  # caseworkers write names and circumstances
    "WarningTransition.note": needs(PII),  # as the resolution note
    "Application.townOpinion": needs(PII),  # the same
    "Application.note": needs(PII),
    # Other departments' work.
    "Household.assistanceRecords": needs("assistance:read"),
    "Household.warnings": needs("warning:read"),
}

# "Type.field" → (the scope that shows the value whole, how to mask it otherwise).
MASKED: dict[str, tuple[str, Callable[[str], str]]] = {
    "Person.idNumber": (PII, mask_id_number),
    "Person.name": (PII, mask_name),
    "AssistanceRecord.personIdNumber": (PII, mask_id_number),
    "AssistanceRecord.idNumber": (PII, mask_id_number),
    "MonitoringEvent.idNumber": (PII, mask_id_number),
    "VisitChange.idNumber": (PII, mask_id_number),
}

# Operations whose answers are personal data: they need an X-Purpose and are audited. An
# eligibility answer is personal data: it says that a person is in a low-income household.
PERSONAL_OPERATIONS = frozenset(
    {
        "Query.eligibility",
        "Query.household",
        "Query.households",
        "Query.person",
        "Query.reviewsDue",
        "Query.auditEvents",
        "Query.applications",
        "Query.application",
        "Mutation.startApplication",
        "Mutation.acceptApplication",
        "Mutation.recordTownReview",
        "Mutation.decideApplication",
        "Mutation.withdrawApplication",
        "Query.assistanceRecords",
        "Mutation.assessHousehold",
        "Mutation.recordEconomicSituation",
        "Query.surveyList",
        "Query.authorisationsMissing",
        "Mutation.reportVisit",
        "Mutation.recordAuthorisation",
        "Mutation.withdrawAuthorisation",
        "Query.warnings",
        "Query.warning",
        "Mutation.dispatchWarning",
        "Mutation.acknowledgeWarning",
        "Mutation.resolveWarning",
        "Mutation.escalateWarning",
    }
)


def allows(coordinate: str, scopes: frozenset[str]) -> bool:
    rule = FIELDS.get(coordinate)
    return rule is None or rule.allows(scopes)


def check_roots(coordinates: Iterable[str]) -> None:
    """Every operation must have a rule: fail loudly when one is added without deciding."""
    missing = sorted(c for c in coordinates if c not in FIELDS)
    if missing:
        raise RuntimeError(f"no access rule in auth/policy.py for: {', '.join(missing)}")
