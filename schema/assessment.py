"""GraphQL types of the rules engine: the `assess` request and answer, regional standards.

The input mirrors the request of `lig assess` in camelCase (CONTRACT.md); it is checked by the
same parser, so both paths accept and refuse exactly the same requests.
"""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.domain.enums import (
    Category,
    Channel,
    DisabilityType,
    LaborCapacity,
    Relation,
    SituationSource,
    StandardFigure,
    StandardStatus,
)
from schema.scalars import Area, Money


@strawberry.input(description="Figures that override the stored standards for this request.")
class StandardsInput:
    dibao_monthly: Money | None = None
    disposable_income_prev_year: Money | None = None
    housing_area_per_capita: Area | None = None
    car_value_cap: Money | None = None
    legacy_transition_end: date | None = None


@strawberry.input
class AssessmentMemberInput:
    id_number: str
    relation: Relation
    labor_capacity: LaborCapacity
    disability_type: DisabilityType | None = None
    disability_grade: int | None = None
    severe_illness: bool | None = None
    single_person_dibao: bool | None = None
    has_capable_supporter: bool | None = None


@strawberry.input(description="Rigid expenditure over the last 12 months, net of reimbursements.")
class RigidExpenditureInput:
    medical: Money | None = None
    education: Money | None = None
    disability_rehabilitation: Money | None = None
    disaster_accident: Money | None = None
    other: Money | None = None


@strawberry.input(description="A car for private use.")
class CarInput:
    value: Money


@strawberry.input
class AssetsInput:
    financial: Money | None = None
    cars: list[CarInput] | None = None
    homes: int | None = None
    floor_area: Area | None = None
    homes_from_demolition: bool | None = None
    non_residential_acquired: bool | None = None
    subscribed_capital: Money | None = None


@strawberry.input
class ConductInput:
    refused_investigation: bool | None = None
    refused_authorisation: bool | None = None
    deliberate_disposal: bool | None = None
    high_consumption: bool | None = None
    refuses_work: bool | None = None


@strawberry.input(description="One household's situation on a date (CONTRACT.md, `lig assess`).")
class AssessmentInput:
    as_of: date
    region_code: str
    members: list[AssessmentMemberInput]
    annual_income: Money
    standards: StandardsInput | None = None
    current_category: Category | None = strawberry.field(
        default=None, description="NONE (default), DIBAO, TEKUN or LEGACY_LOW_INCOME."
    )
    legacy_recognised_on: date | None = None
    channel: Channel | None = None
    rigid_expenditure: RigidExpenditureInput | None = None
    assets: AssetsInput | None = None
    conduct: ConductInput | None = None


@strawberry.input(description="A household's economic situation as declared or verified.")
class EconomicSituationInput:
    recorded_on: date
    source: SituationSource
    annual_income: Money
    rigid_expenditure: RigidExpenditureInput | None = None
    assets: AssetsInput | None = None
    conduct: ConductInput | None = None


@strawberry.type(description="A recorded economic situation (append-only).")
class EconomicSituation:
    id: strawberry.ID
    recorded_on: date
    source: SituationSource
    annual_income: Money


@strawberry.type(description="One rule as evaluated: its stable id, outcome and figures.")
class Reason:
    rule: str
    passed: bool
    detail: str


@strawberry.type(description="The category a household qualifies for, and why.")
class Assessment:
    category: Category
    eligible: bool
    per_capita_monthly_income: float = strawberry.field(
        description="Rounded to two places: the same number `lig assess` prints."
    )
    reasons: list[Reason]


@strawberry.type(description="A stored figure for a region, in force from a day on.")
class RegionalStandard:
    region_code: str
    figure: StandardFigure
    effective_from: date
    value: str = strawberry.field(description="Yuan or m² as a decimal, or an ISO date.")
    status: StandardStatus
    source: str
    set_by: str


@strawberry.type(description="A figure the rules read, as in force on a day; null when unset.")
class FigureInForce:
    name: str
    value: str | None
    provenance: str | None


@strawberry.type
class StandardsView:
    region_code: str
    as_of: date
    in_force: list[FigureInForce]
    rows: list[RegionalStandard]


@strawberry.input
class SetStandardInput:
    region_code: str
    figure: StandardFigure
    effective_from: date
    value: str
    source: str
    status: StandardStatus | None = None
    replace: bool | None = None
