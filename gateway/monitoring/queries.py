"""The statements that read warnings for the API: who sees which, filters, keyset pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, select, tuple_

from gateway.database import AnySelect
from gateway.domain.enums import (
    OPEN_WARNING_STATUSES,
    HardshipType,
    Severity,
    WarningKind,
    WarningStatus,
)
from gateway.households.queries import in_region
from gateway.models import (
    ComparisonRun,
    Household,
    Person,
    WarningAssignment,
    WarningRecord,
    WarningRoute,
    WarningTransition,
)
from gateway.monitoring.access import visible
from gateway.principal import Principal


@dataclass(frozen=True, slots=True)
class WarningFilter:
    kinds: Sequence[WarningKind] = ()
    statuses: Sequence[WarningStatus] = ()
    agency: str | None = None
    region_code: str | None = None
    severities: Sequence[Severity] = ()
    hardship_types: Sequence[HardshipType] = ()
    overdue: bool | None = None
    household_id: int | None = None
    finding: str | None = None


def overdue(today: date) -> ColumnElement[bool]:
    """Still to be worked and past its due day."""
    return and_(WarningRecord.status.in_(OPEN_WARNING_STATUSES), WarningRecord.due_on < today)


def _filtered(
    flt: WarningFilter, today: date, *, with_status: bool = True
) -> list[ColumnElement[bool]]:
    c: list[ColumnElement[bool]] = []
    if flt.kinds:
        c.append(WarningRecord.kind.in_(flt.kinds))
    if flt.statuses and with_status:
        c.append(WarningRecord.status.in_(flt.statuses))
    if flt.severities:
        c.append(WarningRecord.severity.in_(flt.severities))
    if flt.hardship_types:
        c.append(WarningRecord.hardship_type.in_(flt.hardship_types))
    if flt.agency is not None:
        c.append(
            exists().where(
                WarningAssignment.warning_id == WarningRecord.id,
                WarningAssignment.agency_code == flt.agency,
            )
        )
    if flt.region_code is not None:
        c += in_region(flt.region_code)
    if flt.household_id is not None:
        c.append(WarningRecord.household_id == flt.household_id)
    if flt.finding is not None:
        c.append(WarningRecord.finding == flt.finding)
    if flt.overdue is not None:
        late = overdue(today)
        c.append(late if flt.overdue else ~late)
    return c


def select_warnings(
    columns: Sequence[Any], principal: Principal, region_code: str | None = None
) -> AnySelect:
    """`SELECT columns FROM warnings`, joined to households only when a region is asked for
    (the principal's, or `region_code`): on a province's database a join for nothing costs a
    hash of every household. The caller adds `visible(principal)`."""
    statement = select(*columns).select_from(WarningRecord)
    if principal.region_code is not None or region_code is not None:
        statement = statement.join(Household, Household.id == WarningRecord.household_id)
    return statement


def warning_page(
    principal: Principal,
    flt: WarningFilter,
    today: date,
    *,
    after: tuple[date, int] | None,
    limit: int,
) -> AnySelect:
    """Warnings by due date (then id), a keyset page at a time."""
    statement = select_warnings([WarningRecord], principal, flt.region_code).where(
        *visible(principal), *_filtered(flt, today)
    )
    if after is not None:
        due, wid = after
        # As a row comparison, which an index scan on (due_on, id) starts from; the same test
        # spelt with OR would be read from the index's first row on every page.
        statement = statement.where(
            tuple_(WarningRecord.due_on, WarningRecord.id) > tuple_(literal(due), literal(wid))
        )
    return statement.order_by(WarningRecord.due_on, WarningRecord.id).limit(limit)


def warning_by_id(principal: Principal, warning_id: int) -> AnySelect:
    return (
        select(WarningRecord)
        .join(Household, Household.id == WarningRecord.household_id)
        .where(WarningRecord.id == warning_id, *visible(principal))
    )


def counts_by_status(principal: Principal, flt: WarningFilter, today: date) -> AnySelect:
    return (
        select_warnings(
            [WarningRecord.status, func.count().label("count")], principal, flt.region_code
        )
        .where(*visible(principal), *_filtered(flt, today, with_status=False))
        .group_by(WarningRecord.status)
    )


def assignments(warning_ids: Sequence[int]) -> AnySelect:
    return (
        select(WarningAssignment.warning_id, WarningAssignment.agency_code)
        .where(WarningAssignment.warning_id.in_(warning_ids))
        .order_by(WarningAssignment.warning_id, WarningAssignment.agency_code)
    )


def transitions(warning_ids: Sequence[int]) -> AnySelect:
    return (
        select(WarningTransition)
        .where(WarningTransition.warning_id.in_(warning_ids))
        .order_by(WarningTransition.warning_id, WarningTransition.id)
    )


def persons_by_id(person_ids: Sequence[int]) -> AnySelect:
    return select(Person.id, Person.name, Person.id_number, Person.phone).where(
        Person.id.in_(person_ids)
    )


def household_places(household_ids: Sequence[int]) -> AnySelect:
    return select(Household.id, Household.address, Household.region_code).where(
        Household.id.in_(household_ids)
    )


def routes() -> AnySelect:
    return select(WarningRoute).order_by(WarningRoute.kind, WarningRoute.hardship_type)


def runs(limit: int, after_id: int | None) -> AnySelect:
    statement = select(ComparisonRun).order_by(ComparisonRun.id.desc()).limit(limit)
    if after_id is not None:
        statement = statement.where(ComparisonRun.id < after_id)
    return statement
