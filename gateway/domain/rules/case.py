"""What the rules look at: one household's situation on a date, and the figures in force.

Plain frozen dataclasses, built by the request parser or from stored rows; the rules never see
an ORM object or a request body.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

from gateway.domain.enums import Category, Channel, DisabilityType, LaborCapacity, Relation


@dataclass(frozen=True, slots=True)
class Member:
    id_number: str
    relation: Relation = Relation.SELF
    labor_capacity: LaborCapacity = LaborCapacity.FULL
    disability_type: DisabilityType | None = None
    disability_grade: int | None = None
    severe_illness: bool = False
    single_person_dibao: bool = False  # 单人保: dibao paid to this person alone
    has_capable_supporter: bool = True  # a legal supporter able to support (TEKUN)


@dataclass(frozen=True, slots=True)
class RigidExpenditure:
    """刚性支出, each already net of insurance, assistance, charity and compensation."""

    medical: Decimal = Decimal(0)
    education: Decimal = Decimal(0)
    disability_rehabilitation: Decimal = Decimal(0)
    disaster_accident: Decimal = Decimal(0)
    other: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return sum((getattr(self, f.name) for f in fields(self)), Decimal(0))


@dataclass(frozen=True, slots=True)
class Assets:
    financial: Decimal = Decimal(0)
    cars: tuple[Decimal, ...] = ()  # the value of each car for private use
    homes: int = 0
    floor_area: Decimal = Decimal(0)  # all homes together, square metres
    homes_from_demolition: bool = False
    non_residential_acquired: bool = False  # within the year before applying or while valid
    subscribed_capital: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Conduct:
    refused_investigation: bool = False
    refused_authorisation: bool = False
    deliberate_disposal: bool = False
    high_consumption: bool = False
    refuses_work: bool = False


@dataclass(frozen=True, slots=True)
class HouseholdCase:
    as_of: date
    region_code: str
    members: tuple[Member, ...]
    annual_income: Decimal  # the household's total over the last 12 months
    current_category: Category = Category.NONE
    legacy_recognised_on: date | None = None
    channel: Channel = Channel.APPLICATION
    rigid_expenditure: RigidExpenditure = field(default_factory=RigidExpenditure)
    assets: Assets = field(default_factory=Assets)
    conduct: Conduct = field(default_factory=Conduct)


@dataclass(frozen=True, slots=True)
class Standards:
    """The figures in force for one region on one date; None where nobody has set one.

    `provenance` says, per figure name, where its value came from (a stored standard and its
    status, or the request), so that a determination can record it.
    """

    dibao_monthly: Decimal | None = None
    disposable_income_prev_year: Decimal | None = None
    housing_area_per_capita: Decimal | None = None
    car_value_cap: Decimal | None = None
    legacy_transition_end: date | None = None
    provenance: dict[str, str] = field(default_factory=dict, compare=False)

    def overridden_by(self, given: Standards) -> Standards:
        """These figures, with every figure set in `given` taking precedence."""
        values: dict[str, object] = {}
        provenance = dict(self.provenance)
        for f in fields(self):
            if f.name == "provenance":
                continue
            mine, theirs = getattr(self, f.name), getattr(given, f.name)
            values[f.name] = theirs if theirs is not None else mine
            if theirs is not None:
                provenance[f.name] = given.provenance.get(f.name, "request")
        return Standards(**values, provenance=provenance)  # type: ignore[arg-type]


FIGURE_NAMES = tuple(f.name for f in fields(Standards) if f.name != "provenance")
