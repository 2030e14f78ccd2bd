"""The assessment request of CONTRACT.md, validated strictly, made into a `HouseholdCase`.

The field validators (gateway/validation.py) are the ones every request shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, ValidationError, model_validator

from gateway.domain import idnumber
from gateway.domain.enums import Category, Channel, DisabilityType, LaborCapacity, Relation
from gateway.domain.rules import (
    Assets,
    Conduct,
    HouseholdCase,
    Member,
    RigidExpenditure,
    Standards,
)
from gateway.errors import InvalidInput
from gateway.validation import (
    Amount,
    Day,
    IdNumber,
    Positive,
    RegionCode,
    Strict,
    problem,
)

MAX_MEMBERS = 30


class StandardsIn(Strict):
    dibao_monthly: Positive | None = None
    disposable_income_prev_year: Positive | None = None
    housing_area_per_capita: Positive | None = None
    car_value_cap: Positive | None = None
    legacy_transition_end: Day | None = None


class MemberIn(Strict):
    id_number: IdNumber
    relation: Relation
    labor_capacity: LaborCapacity
    disability_type: DisabilityType | None = None
    disability_grade: Annotated[StrictInt, Field(ge=1, le=4)] | None = None
    severe_illness: StrictBool = False
    single_person_dibao: StrictBool = False
    has_capable_supporter: StrictBool = True

    @model_validator(mode="after")
    def _grade_goes_with_type(self) -> MemberIn:
        if (self.disability_type is None) != (self.disability_grade is None):
            raise ValueError("disability_grade: given with disability_type, or neither is given")
        return self


class RigidIn(Strict):
    medical: Amount = Decimal(0)
    education: Amount = Decimal(0)
    disability_rehabilitation: Amount = Decimal(0)
    disaster_accident: Amount = Decimal(0)
    other: Amount = Decimal(0)


class CarIn(Strict):
    value: Amount


class AssetsIn(Strict):
    financial: Amount = Decimal(0)
    cars: list[CarIn] = Field(default_factory=list, max_length=100)
    homes: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    floor_area: Amount = Decimal(0)
    homes_from_demolition: StrictBool = False
    non_residential_acquired: StrictBool = False
    subscribed_capital: Amount = Decimal(0)


class ConductIn(Strict):
    refused_investigation: StrictBool = False
    refused_authorisation: StrictBool = False
    deliberate_disposal: StrictBool = False
    high_consumption: StrictBool = False
    refuses_work: StrictBool = False


class AssessmentRequest(Strict):
    as_of: Day
    region_code: RegionCode
    standards: StandardsIn = Field(default_factory=StandardsIn)
    current_category: Literal["NONE", "DIBAO", "TEKUN", "LEGACY_LOW_INCOME"] = "NONE"
    legacy_recognised_on: Day | None = None
    channel: Channel = Channel.APPLICATION
    members: list[MemberIn] = Field(min_length=1, max_length=MAX_MEMBERS)
    annual_income: Amount
    rigid_expenditure: RigidIn = Field(default_factory=RigidIn)
    assets: AssetsIn = Field(default_factory=AssetsIn)
    conduct: ConductIn = Field(default_factory=ConductIn)

    @model_validator(mode="after")
    def _consistent(self) -> AssessmentRequest:
        seen: set[str] = set()
        for member in self.members:
            if member.id_number in seen:
                raise ValueError(f"members: {member.id_number} is listed twice")
            seen.add(member.id_number)
            if idnumber.birth_date(member.id_number) > self.as_of:
                raise ValueError(f"members: {member.id_number} is born after as_of")
        if self.legacy_recognised_on and self.legacy_recognised_on > self.as_of:
            raise ValueError("legacy_recognised_on: after as_of")
        return self

    def case(self) -> HouseholdCase:
        return HouseholdCase(
            as_of=self.as_of,
            region_code=self.region_code,
            members=tuple(Member(**m.model_dump()) for m in self.members),
            annual_income=self.annual_income,
            current_category=Category(self.current_category),
            legacy_recognised_on=self.legacy_recognised_on,
            channel=self.channel,
            rigid_expenditure=RigidExpenditure(**self.rigid_expenditure.model_dump()),
            assets=Assets(
                **self.assets.model_dump(exclude={"cars"}),
                cars=tuple(car.value for car in self.assets.cars),
            ),
            conduct=Conduct(**self.conduct.model_dump()),
        )

    def given_standards(self) -> Standards:
        given = self.standards.model_dump()
        provenance = {name: "request" for name, value in given.items() if value is not None}
        return Standards(**given, provenance=provenance)


def parse_request(payload: Any) -> AssessmentRequest:
    """The request, or InvalidInput naming every bad field (the first in `.field`)."""
    if not isinstance(payload, Mapping):
        raise InvalidInput("request", "must be a JSON object")
    try:
        return AssessmentRequest.model_validate(payload)
    except ValidationError as error:
        problems = [problem(e) for e in error.errors(include_url=False)]
        raise InvalidInput.many(problems) from None
