"""GraphQL types of fieldwork: the survey list, home visits, verification authorisations."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from gateway.fieldwork.authorisations import MissingReason
from gateway.fieldwork.survey import SurveyGroup
from gateway.fieldwork.visits import VisitField
from schema import types as t

strawberry.enum(
    SurveyGroup, description="The priority groups of the survey (重点摸底排查对象), DOMAIN.md."
)
strawberry.enum(VisitField, description="What a visit may report about a member.")
strawberry.enum(
    MissingReason, description="Why a covered household has no valid verification authorisation."
)


@strawberry.type(description="A household of the survey list, with the priority groups it is in.")
class SurveyEntry:
    household: t.Household
    groups: list[SurveyGroup]


@strawberry.type(description="A change a visit reported about a member, as applied.")
class VisitChange:
    id_number: str
    field: VisitField
    from_value: str | None = strawberry.field(
        name="from", description="The value before the visit (null: none)."
    )
    to_value: str | None = strawberry.field(
        name="to", description="The value the visit reported (null: cleared)."
    )


@strawberry.type(description="A home visit (走访) by a town or grid worker.")
class Visit:
    db_id: strawberry.Private[int]
    visited_on: date
    visitor: str = strawberry.field(description="Who visited (the worker, not the household).")
    findings: str
    reason: str | None = strawberry.field(
        description="Why: a random sample (its seed and ratio), a warning, a routine visit."
    )
    changes: list[VisitChange]
    created_at: datetime
    created_by: str

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.db_id))


@strawberry.type(
    description=(
        "A household's answer on the economic-status verification authorisation (核对授权书): "
        "signed (`granted`) or refused."
    )
)
class Authorisation:
    db_id: strawberry.Private[int]
    granted: bool = strawberry.field(
        description="False: the household refused to sign (a conduct exclusion)."
    )
    signed_on: date
    signed_by: str = strawberry.field(description="The member who signed (or refused).")
    document_ref: str | None
    valid_until: date | None = strawberry.field(description="The last valid day; null: no end.")
    withdrawn_on: date | None = strawberry.field(
        description="The day the withdrawal took effect (no longer valid from that day)."
    )
    created_at: datetime
    created_by: str

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.db_id))


@strawberry.type(description="A covered household without a valid authorisation, for follow-up.")
class MissingAuthorisation:
    household: t.Household
    reason: MissingReason
    latest: Authorisation | None = strawberry.field(
        description="The household's latest answer on or before the day, if any."
    )


@strawberry.input(description="A change to a member reported by a visit.")
class VisitChangeInput:
    id_number: str = strawberry.field(description="A current member of the visited household.")
    field: VisitField
    value: str | None = strawberry.field(
        default=None,
        description=(
            "The new value as text: a day (YYYY-MM-DD) for DECEASED_ON, 1–4 for "
            "DISABILITY_GRADE, else the enumeration value (FULL, CHRONIC, PHYSICAL …). Null "
            "clears DECEASED_ON, or DISABILITY_TYPE with DISABILITY_GRADE."
        ),
    )


@strawberry.input
class ReportVisitInput:
    household_id: strawberry.ID
    visited_on: date
    visitor: str
    findings: str
    reason: str | None = None
    changes: list[VisitChangeInput] = strawberry.field(default_factory=list)


@strawberry.input
class RecordAuthorisationInput:
    household_id: strawberry.ID
    granted: bool = strawberry.field(description="False records a refusal to sign.")
    signed_on: date
    signed_by: str
    document_ref: str | None = None
    valid_until: date | None = strawberry.field(
        default=None, description="The last valid day; null: no end (a refusal: null)."
    )
