"""The domain enumerations, registered as GraphQL enums under the same names.

`strawberry.enum` marks the domain classes in place, so the rules, the tables and the API share
one definition of each.
"""

from __future__ import annotations

from enum import StrEnum

import strawberry

from gateway.domain import enums as d

strawberry.enum(d.Category, description="低收入人口类别: the category of a household.")
strawberry.enum(d.Channel, description="How a household came in (几个一批).")
for _enum in (
    d.HouseholdStatus,
    d.UrbanRural,
    d.Relation,
    d.LaborCapacity,
    d.DisabilityType,
    d.Illness,
    d.StudentStage,
    d.EmploymentStatus,
    d.AssistanceKind,
    d.AssistanceSubject,
    d.PushKind,
    d.PushOutcome,
    d.PushTransport,
    d.EventKind,
    d.RecordSource,
    d.WarningKind,
    d.WarningStatus,
    d.Severity,
    d.RegionLevel,
    d.StandardFigure,
    d.StandardStatus,
    d.SituationSource,
):
    strawberry.enum(_enum)


@strawberry.enum(description="What an eligibility lookup found about a person.")
class EligibilityStatus(StrEnum):
    ACTIVE = "ACTIVE"  # in a household whose assistance is running
    APPLYING = "APPLYING"
    SUSPENDED = "SUSPENDED"  # under verification; assistance continues until decided
    ENDED = "ENDED"
    NOT_COVERED = "NOT_COVERED"  # known, in no category
    DECEASED = "DECEASED"
    NO_HOUSEHOLD = "NO_HOUSEHOLD"  # known, but not currently a member of any household
    UNKNOWN = "UNKNOWN"  # not in the database


@strawberry.enum
class Sex(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"
