"""Reading pushed assistance records back: an agency its own (CONTRACT.md), civil affairs all."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from gateway.database import AnySelect
from gateway.households.queries import in_region
from gateway.models import AssistanceRecord, Household
from gateway.principal import Principal


def records_page(
    principal: Principal,
    *,
    agency: str | None,
    agency_record_id: str | None,
    id_number: str | None,
    include_revisions: bool,
    after_id: int | None,
    limit: int,
) -> AnySelect:
    """Newest first. A region-bound client sees only records of households in its region."""
    own = agency if principal.sees_every_agency else principal.agency
    conditions: list[ColumnElement[bool]] = []
    if own is not None:
        conditions.append(AssistanceRecord.agency_code == own)
    if agency_record_id is not None:
        conditions.append(AssistanceRecord.agency_record_id == agency_record_id)
    if id_number is not None:
        conditions.append(AssistanceRecord.id_number == id_number)
    if not include_revisions:
        conditions.append(AssistanceRecord.is_current.is_(True))
    if after_id is not None:
        conditions.append(AssistanceRecord.id < after_id)
    statement = select(AssistanceRecord.__table__).where(*conditions)
    if principal.region_code is not None:
        statement = statement.join(Household, Household.id == AssistanceRecord.household_id).where(
            *in_region(principal.region_code)
        )
    return statement.order_by(AssistanceRecord.id.desc()).limit(limit)
