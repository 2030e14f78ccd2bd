"""Statements that read applications. Each returns one SELECT."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select

from gateway.applications.procedure import UNDER_WAY
from gateway.database import AnySelect
from gateway.domain.enums import ApplicationStatus
from gateway.households.queries import in_region
from gateway.models import Application, Household


def overdue(today: date) -> ColumnElement[bool]:
    """Under way past the deadline of the step under way."""
    return and_(Application.status.in_(UNDER_WAY), Application.due_on < today)


def not_overdue(today: date) -> ColumnElement[bool]:
    # Spelt out: NOT over a NULL due date would be NULL, and drop the row.
    return or_(
        Application.status.not_in(UNDER_WAY),
        Application.due_on.is_(None),
        Application.due_on >= today,
    )


def _visible(statement: AnySelect, region: str | None) -> AnySelect:
    if region is None:
        return statement
    return statement.join(Household, Household.id == Application.household_id).where(
        *in_region(region)
    )


def applications_page(
    *,
    today: date,
    status: ApplicationStatus | None = None,
    is_overdue: bool | None = None,
    household_id: int | None = None,
    after_id: int | None = None,
    limit: int,
    region: str | None = None,
) -> AnySelect:
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(Application.status == status)
    if is_overdue is not None:
        conditions.append(overdue(today) if is_overdue else not_overdue(today))
    if household_id is not None:
        conditions.append(Application.household_id == household_id)
    if after_id is not None:
        conditions.append(Application.id > after_id)
    statement = select(Application).where(*conditions)
    return _visible(statement, region).order_by(Application.id).limit(limit)


def applications_by_id(ids: Sequence[int], region: str | None = None) -> AnySelect:
    return _visible(select(Application).where(Application.id.in_(ids)), region)
