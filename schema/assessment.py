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
    dibao_monthly: Money | None = strawberry.UNSET
    disposable_income_prev_year: Money | None = strawberry.UNSET
    housing_area_per_capita: Area | None = strawberry.UNSET
    car_value_cap: Money | None = strawberry.UNSET
    legacy_transition_end: date | None = strawberry.UNSET


@strawberry.input
class AssessmentMemberInput:
    id_number: str
    relation: Relation
    labor_capacity: LaborCapacity
    disability_type: DisabilityType | None = strawberry.UNSET
    disability_grade: int | None = strawberry.UNSET
    severe_illness: bool | None = strawberry.UNSET
    single_person_dibao: bool | None = strawberry.UNSET
    has_capable_supporter: bool | None = strawberry.UNSET


@strawberry.input(description="Rigid expenditure over the last 12 months, net of reimbursements.")
class RigidExpenditureInput:
    medical: Money | None = strawberry.UNSET
    education: Money | None = strawberry.UNSET
    disability_rehabilitation: Money | None = strawberry.UNSET
    disaster_accident: Money | None = strawberry.UNSET
    other: Money | None = strawberry.UNSET


@strawberry.input(description="A car for private use.")
class CarInput:
    value: Money


@strawberry.input
class AssetsInput:
    financial: Money | None = strawberry.UNSET
    cars: list[CarInput] | None = strawberry.UNSET
    homes: int | None = strawberry.UNSET
    floor_area: Area | None = strawberry.UNSET
    homes_from_demolition: bool | None = strawberry.UNSET
    non_residential_acquired: bool | None = strawberry.UNSET
    subscribed_capital: Money | None = strawberry.UNSET


@strawberry.input
class ConductInput:
    refused_investigation: bool | None = strawberry.UNSET
    refused_authorisation: bool | None = strawberry.UNSET
    deliberate_disposal: bool | None = strawberry.UNSET
    high_consumption: bool | None = strawberry.UNSET
    refuses_work: bool | None = strawberry.UNSET


@strawberry.input(description="One household's situation on a date (CONTRACT.md, `lig assess`).")
class AssessmentInput:
    as_of: date
    region_code: str
    members: list[AssessmentMemberInput]
    annual_income: Money
    standards: StandardsInput | None = strawberry.UNSET
    current_category: Category | None = strawberry.field(
        default=strawberry.UNSET, description="NONE (default), DIBAO, TEKUN or LEGACY_LOW_INCOME."
    )
    legacy_recognised_on: date | None = strawberry.UNSET
    channel: Channel | None = strawberry.UNSET
    rigid_expenditure: RigidExpenditureInput | None = strawberry.UNSET
    assets: AssetsInput | None = strawberry.UNSET
    conduct: ConductInput | None = strawberry.UNSET


@strawberry.input(description="A household's economic situation as declared or verified.")
class EconomicSituationInput:
    recorded_on: date
    source: SituationSource
    annual_income: Money
    rigid_expenditure: RigidExpenditureInput | None = strawberry.UNSET
    assets: AssetsInput | None = strawberry.UNSET
    conduct: ConductInput | None = strawberry.UNSET


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
