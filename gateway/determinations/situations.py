"""Recording a household's economic situation (a declaration or a verification result).

Validated by the same models as the assessment request, so a situation that can be stored can
always be assessed; appended, never overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.assessment.request import AssetsIn, ConductIn, RigidIn
from gateway.audit import record_change
from gateway.domain.enums import SituationSource
from gateway.errors import InvalidInput, NotFound
from gateway.models import EconomicSituation, Household
from gateway.monitoring import queue as comparison_queue
from gateway.principal import Principal
from gateway.validation import Amount, Day, Strict, problem


class SituationIn(Strict):
    recorded_on: Day
    source: SituationSource
    annual_income: Amount
    rigid_expenditure: RigidIn = Field(default_factory=RigidIn)
    assets: AssetsIn = Field(default_factory=AssetsIn)
    conduct: ConductIn = Field(default_factory=ConductIn)


def parse_situation(payload: Mapping[str, Any]) -> SituationIn:
    try:
        situation = SituationIn.model_validate(payload)
    except ValidationError as error:
        raise InvalidInput.many([problem(e) for e in error.errors(include_url=False)]) from None
    if situation.recorded_on > date.today():
        raise InvalidInput("recorded_on", "is in the future")
    return situation


async def record_situation(
    session: AsyncSession,
    principal: Principal,
    household_id: int,
    payload: Mapping[str, Any],
    *,
    request_id: str,
) -> EconomicSituation:
    situation = parse_situation(payload)
    household = await session.get(Household, household_id)
    if household is None or not principal.covers_region(household.region_code):
        raise NotFound(f"household {household_id} not found", field="householdId")
    rigid, assets, conduct = situation.rigid_expenditure, situation.assets, situation.conduct
    row = EconomicSituation(
        household_id=household_id,
        recorded_on=situation.recorded_on,
        source=situation.source,
        annual_income=situation.annual_income,
        **{f"rigid_{name}": value for name, value in rigid.model_dump().items()},
        **assets.model_dump(exclude={"cars"}),
        car_values=[str(car.value) for car in assets.cars],
        **conduct.model_dump(),
        created_by=principal.client_id,
    )
    session.add(row)
    await session.flush()
    # A verified situation can settle what the comparison found (a car now on record).
    await comparison_queue.enqueue(session, [household_id])
    record_change(
        session,
        principal,
        action="household.record_situation",
        request_id=request_id,
        subjects={"households": [household_id], "situation": row.id},
    )
    return row
