"""Statements that read households and what hangs off them. Each returns one SELECT.

Nested lists are fetched for many households at once with a window function, so a page of
households with members and records costs one statement per list, not one per household.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from gateway.database import AnySelect
from gateway.domain.enums import Category, HouseholdStatus
from gateway.domain.regions import significant_prefix
from gateway.errors import InvalidInput
from gateway.models import (
    AssistanceRecord,
    Determination,
    Household,
    HouseholdVersion,
    Membership,
    MonitoringEvent,
    Person,
    Region,
    VerificationAuthorisation,
    Visit,
    WarningAssignment,
    WarningRecord,
)

_REGION_PREFIX = re.compile(r"\d{2,12}", re.ASCII)  # not fullwidth ３ nor Arabic-Indic ٣

households = Household.__table__
persons = Person.__table__
memberships = Membership.__table__


@dataclass(frozen=True, slots=True)
class HouseholdFilter:
    region_prefix: str | None = None
    category: Category | None = None
    status: HouseholdStatus | None = None
    review_due_before: date | None = None
    former_registered_poor: bool | None = None


def region_prefix_condition(prefix: str, field: str = "filter.regionPrefix") -> ColumnElement[bool]:
    if not _REGION_PREFIX.fullmatch(prefix):
        raise InvalidInput(field, "must be 2 to 12 digits of a region code")
    # Trailing zeros pad a code to 12 digits: "320681000000" means all of county 320681.
    significant = significant_prefix(prefix) if len(prefix) == 12 else prefix
    return Household.region_code.startswith(significant, autoescape=True)


def in_region(region_code: str | None) -> list[ColumnElement[bool]]:
    """The condition that keeps a region-bound client to its region (none for the others)."""
    if region_code is None:
        return []
    return [Household.region_code.startswith(significant_prefix(region_code), autoescape=True)]


def household_page(
    flt: HouseholdFilter, *, after_id: int | None, limit: int, region: str | None = None
) -> AnySelect:
    conditions = in_region(region)
    if flt.region_prefix is not None:
        conditions.append(region_prefix_condition(flt.region_prefix))
    if flt.category is not None:
        conditions.append(Household.category == flt.category)
    if flt.status is not None:
        conditions.append(Household.status == flt.status)
    if flt.review_due_before is not None:
        conditions.append(Household.next_review_on < flt.review_due_before)
    if flt.former_registered_poor is not None:
        conditions.append(Household.former_registered_poor == flt.former_registered_poor)
    if after_id is not None:
        conditions.append(Household.id > after_id)
    return select(Household).where(*conditions).order_by(Household.id).limit(limit)


def households_by_id(ids: Sequence[int], region: str | None = None) -> AnySelect:
    return select(Household).where(Household.id.in_(ids), *in_region(region))


def regions_by_code(codes: Sequence[str]) -> AnySelect:
    return select(Region).where(Region.code.in_(codes))


def person_by_id_number(id_number: str, region: str | None = None) -> AnySelect:
    statement = select(Person).where(Person.id_number == id_number)
    if region is not None:
        # A region-bound client sees the people whose current household is in its region.
        statement = statement.where(
            select(Membership.id)
            .join(Household, Household.id == Membership.household_id)
            .where(
                Membership.person_id == Person.id, Membership.left_on.is_(None), *in_region(region)
            )
            .exists()
        )
    return statement


def current_households_of_persons(
    person_ids: Sequence[int], region: str | None = None
) -> AnySelect:
    return (
        select(Membership.person_id, Household)
        .join(Household, Household.id == Membership.household_id)
        .where(
            Membership.person_id.in_(person_ids), Membership.left_on.is_(None), *in_region(region)
        )
    )


def _still_in_region(region: str) -> ColumnElement[bool]:
    """A membership whose person a region-bound client may see: a current one, or a former one
    of someone who lives in no household now or in one inside the region. Someone who moved away
    is another region's to see, whatever household they once belonged to."""
    current = aliased(Membership)
    elsewhere = (
        select(current.id)
        .join(Household, Household.id == current.household_id)
        .where(
            current.person_id == Membership.person_id,
            current.left_on.is_(None),
            ~and_(*in_region(region)),
        )
        .exists()
    )
    return or_(Membership.left_on.is_(None), ~elsewhere)


@dataclass(frozen=True, slots=True)
class ChildList:
    """How to page one kind of list that hangs off a household."""

    entity: type
    ascending: bool

    def statement(
        self,
        household_ids: Sequence[int],
        *,
        after_id: int | None,
        per_parent: int,
        flag: bool,
        agency: str | None = None,
        region: str | None = None,
    ) -> AnySelect:
        """`agency` keeps assistance records to that agency's own (CONTRACT.md), and warnings to
        those assigned to it (None: civil affairs, or a town for warnings); `region` keeps
        the former members a region-bound client sees to people it may see (see below)."""
        entity = self.entity
        id_col = entity.id  # type: ignore[attr-defined]
        parent_col = entity.household_id  # type: ignore[attr-defined]
        conditions: list[ColumnElement[bool]] = [parent_col.in_(household_ids)]
        if after_id is not None:
            conditions.append(id_col > after_id if self.ascending else id_col < after_id)
        conditions.extend(self.extra_conditions(flag))
        if agency is not None and self.entity is AssistanceRecord:
            conditions.append(AssistanceRecord.agency_code == agency)
        if agency is not None and self.entity is WarningRecord:
            # An agency lists only the warnings assigned to it (gateway/monitoring/access.py).
            conditions.append(
                exists().where(
                    WarningAssignment.warning_id == WarningRecord.id,
                    WarningAssignment.agency_code == agency,
                )
            )
        if region is not None and self.entity is Membership and flag:
            conditions.append(_still_in_region(region))
        order = id_col.asc() if self.ascending else id_col.desc()
        rank = func.row_number().over(partition_by=parent_col, order_by=order).label("rank")
        columns = [*entity.__table__.c]  # type: ignore[attr-defined]
        joined = self.joined_columns()
        base = select(*columns, *joined, rank).where(and_(*conditions))
        if entity is Membership:
            base = base.join(Person, Person.id == Membership.person_id)
        ranked = base.subquery()
        return (
            select(ranked)
            .where(ranked.c.rank <= per_parent)
            .order_by(ranked.c.household_id, ranked.c.rank)
        )

    def extra_conditions(self, flag: bool) -> list[ColumnElement[bool]]:
        if self.entity is Membership and not flag:
            return [Membership.left_on.is_(None)]
        if self.entity is AssistanceRecord and not flag:
            return [AssistanceRecord.is_current.is_(True)]
        if self.entity is MonitoringEvent and not flag:
            return [MonitoringEvent.is_current.is_(True)]
        return []

    def joined_columns(self) -> list[ColumnElement[object]]:
        if self.entity is Membership:
            return [c.label(f"person__{c.name}") for c in persons.c]
        return []


CHILD_LISTS: dict[str, ChildList] = {
    "members": ChildList(Membership, ascending=True),
    "determinations": ChildList(Determination, ascending=False),
    "records": ChildList(AssistanceRecord, ascending=False),
    "events": ChildList(MonitoringEvent, ascending=False),
    "warnings": ChildList(WarningRecord, ascending=False),
    "history": ChildList(HouseholdVersion, ascending=False),
    "visits": ChildList(Visit, ascending=False),
    "authorisations": ChildList(VerificationAuthorisation, ascending=False),
}
