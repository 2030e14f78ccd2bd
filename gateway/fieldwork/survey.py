"""The survey list (重点摸底排查): per town, the households not yet covered that are in any of the
six priority groups of DOMAIN.md, each with the groups it is in.

"Not covered": category NONE, or assistance not running (status other than ACTIVE/SUSPENDED:
applying, ended, never covered). The groups, each one condition of one statement:

- FORMER_REGISTERED_POOR: a former registered poor household (原建档立卡);
- REFUSED_OR_LEFT_DIBAO: a determination refused it (category NONE with no period of
  assistance, `valid_until` null: the rules' REFUSED outcome, unlike an ENDED one), or it had
  DIBAO (a DIBAO determination, or DIBAO as its category) and, not being covered now, left;
- DISABLED_MEMBER: a living current member has a disability type;
- NO_OR_WEAK_LABOUR: it has living current members and none has full labour capacity;
- SERIOUS_OR_CHRONIC_ILLNESS: a living current member has a serious or chronic illness;
- EMERGENCY: a current DISASTER_LOSS (natural disaster or accident: its `cause`) or
  FIRE_INCIDENT event in the 12 months up to the day (the accidents of the event vocabulary).

A page is one statement: the groups are correlated EXISTS conditions on indexed columns
(memberships by household, events by household and day, determinations by household).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, or_, select

from gateway.database import AnySelect
from gateway.domain.enums import RUNNING, Category, EventKind, Illness, LaborCapacity
from gateway.domain.regions import significant_prefix
from gateway.households.queries import in_region
from gateway.models import Determination, Household, Membership, MonitoringEvent, Person


class SurveyGroup(StrEnum):
    """The priority groups for the survey (重点摸底排查对象)."""

    FORMER_REGISTERED_POOR = "FORMER_REGISTERED_POOR"  # 原建档立卡低收入农户
    REFUSED_OR_LEFT_DIBAO = "REFUSED_OR_LEFT_DIBAO"  # 近年申请低保未获批及退出低保的家庭
    DISABLED_MEMBER = "DISABLED_MEMBER"  # 有残疾人的家庭
    NO_OR_WEAK_LABOUR = "NO_OR_WEAK_LABOUR"  # 无劳动能力或弱劳动能力家庭
    SERIOUS_OR_CHRONIC_ILLNESS = "SERIOUS_OR_CHRONIC_ILLNESS"  # 有重病、慢性病患者的家庭
    EMERGENCY = "EMERGENCY"  # 遭遇突发事件、意外事故的家庭


EMERGENCY_EVENTS = (EventKind.DISASTER_LOSS, EventKind.FIRE_INCIDENT)


def one_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def not_covered() -> ColumnElement[bool]:
    return or_(Household.category == Category.NONE, Household.status.not_in(RUNNING))


def _living_member(on: date, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return (
        select(Membership.id)
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.household_id == Household.id,
            Membership.left_on.is_(None),
            Person.deceased_on.is_(None) | (Person.deceased_on > on),
            *conditions,
        )
        .exists()
    )


def _determination(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return (
        select(Determination.id)
        .where(Determination.household_id == Household.id, *conditions)
        .exists()
    )


def group_conditions(on: date) -> dict[SurveyGroup, ColumnElement[bool]]:
    """Each group as a condition on a household (the table above)."""
    # The 12 months up to and including `on`.
    since = one_year_before(on) + timedelta(days=1)
    return {
        SurveyGroup.FORMER_REGISTERED_POOR: Household.former_registered_poor.is_(True),
        SurveyGroup.REFUSED_OR_LEFT_DIBAO: or_(
            Household.category == Category.DIBAO,
            _determination(Determination.category == Category.DIBAO),
            _determination(
                Determination.category == Category.NONE, Determination.valid_until.is_(None)
            ),
        ),
        SurveyGroup.DISABLED_MEMBER: _living_member(on, Person.disability_type.is_not(None)),
        SurveyGroup.NO_OR_WEAK_LABOUR: and_(
            _living_member(on), ~_living_member(on, Person.labor_capacity == LaborCapacity.FULL)
        ),
        SurveyGroup.SERIOUS_OR_CHRONIC_ILLNESS: _living_member(
            on, Person.illness.in_((Illness.SEVERE, Illness.CHRONIC))
        ),
        SurveyGroup.EMERGENCY: (
            select(MonitoringEvent.id)
            .where(
                MonitoringEvent.household_id == Household.id,
                MonitoringEvent.is_current.is_(True),
                MonitoringEvent.kind.in_(EMERGENCY_EVENTS),
                MonitoringEvent.occurred_on >= since,
                MonitoringEvent.occurred_on <= on,
            )
            .exists()
        ),
    }


def label(group: SurveyGroup) -> str:
    return f"group__{group.value.lower()}"


def survey_page(
    town_code: str,
    on: date,
    *,
    after_id: int | None,
    limit: int,
    region: str | None = None,
) -> AnySelect:
    """One page of the town's survey list, in household id order: the household's columns and
    one boolean column per group (`label(group)`). `region` keeps a region-bound client to its
    own region (a town outside it lists nobody)."""
    groups = group_conditions(on)
    conditions = [
        Household.region_code.startswith(significant_prefix(town_code), autoescape=True),
        *in_region(region),
        not_covered(),
        or_(*groups.values()),
    ]
    if after_id is not None:
        conditions.append(Household.id > after_id)
    return (
        select(Household, *(condition.label(label(g)) for g, condition in groups.items()))
        .where(*conditions)
        .order_by(Household.id)
        .limit(limit)
    )


def groups_of(row: object) -> list[SurveyGroup]:
    """The groups a row of `survey_page` is in, in the order of `SurveyGroup`."""
    mapping = row._mapping  # type: ignore[attr-defined]
    return [g for g in SurveyGroup if mapping[label(g)]]
