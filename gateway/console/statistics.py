"""The dashboard's figures: counts of households, people and warnings, three GROUP BYs in all
(the population by category and town in one; open warnings by kind and age; overdue by agency).

Why these statements read the database directly, not through the GraphQL operations the other
console pages use: they return counts only — never a name, an ID number, an address or a
household's row — and each is limited by the same rules the API applies to the principal:
households by `in_region` (a town sees its own region), warnings by `monitoring.access.visible`
(civil affairs sees all, a town its region, any other agency only the warnings assigned to it).
There is no personal datum to mask or to record as a read in the audit trail; the page that
shows them checks the scopes (household:read, warning:read) before asking.

The low-income population is the households whose assistance is running: in a category (not
NONE) with status ACTIVE or SUSPENDED, the population of the monthly export and of sampling
(gateway/fieldwork/population.py). Its people are the current, living members on the day, as
`determinations.cases.current_members` counts them.

Every statement works on SQLite and PostgreSQL alike: no dialect functions, and expressions that
are grouped on take no bound parameters (PostgreSQL compares the GROUP BY expression with the
selected one, and `substr(x, $1, $2)` is not `substr(x, $3, $4)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    distinct,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from gateway.console.i18n import CHINA
from gateway.domain.enums import (
    OPEN_WARNING_STATUSES,
    RUNNING,
    Category,
    WarningKind,
)
from gateway.households.queries import in_region
from gateway.models import (
    Agency,
    Household,
    Membership,
    Person,
    Region,
    WarningAssignment,
    WarningRecord,
)
from gateway.monitoring.access import visible
from gateway.monitoring.queries import overdue, select_warnings
from gateway.principal import Principal

# The categories of the low-income population, in the order the dashboard shows them.
CATEGORIES = (
    Category.DIBAO,
    Category.TEKUN,
    Category.MARGINAL,
    Category.EXPENDITURE,
    Category.LEGACY_LOW_INCOME,
)

# How long a warning has been open (days since it was raised, in China Standard Time): the
# bucket names, and the last day of each but the last.
AGE_BUCKETS = ("0-7", "8-30", "31-90", "91+")
_AGE_LIMITS = (7, 30, 90)

# A town's code is the first nine digits of a region code, padded with zeros to twelve.
_TOWN_DIGITS = 9


@dataclass(frozen=True, slots=True)
class CategoryCount:
    category: Category
    households: int
    people: int


@dataclass(frozen=True, slots=True)
class TownCount:
    code: str  # the town's 12-digit code
    name: str  # from the regions table; the code if the table lacks it
    households: int
    people: int


@dataclass(frozen=True, slots=True)
class Population:
    categories: list[CategoryCount]  # every one of CATEGORIES, in its order
    towns: list[TownCount]  # the towns with any, most people first

    @property
    def households(self) -> int:
        return sum(c.households for c in self.categories)

    @property
    def people(self) -> int:
        return sum(c.people for c in self.categories)


@dataclass(frozen=True, slots=True)
class KindAges:
    kind: WarningKind
    counts: tuple[int, ...]  # open warnings per AGE_BUCKETS

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class AgencyOverdue:
    code: str | None  # None: not assigned to any agency yet
    name_zh: str
    name_en: str
    overdue: int

    def name(self, language: str) -> str:
        return self.name_zh if language == "zh-CN" else self.name_en


def _low_income(principal: Principal) -> list[ColumnElement[bool]]:
    return [
        *in_region(principal.region_code),
        Household.category != Category.NONE,
        Household.status.in_(RUNNING),
    ]


def _with_members(today: date) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The outer-join conditions that pair a household with its current members on the day,
    and a membership with its person if living: `count(Person.id)` then counts people."""
    current = and_(
        Membership.household_id == Household.id,
        Membership.joined_on <= today,
        or_(Membership.left_on.is_(None), Membership.left_on > today),
    )
    living = and_(
        Person.id == Membership.person_id,
        or_(Person.deceased_on.is_(None), Person.deceased_on > today),
    )
    return current, living


async def population(conn: AsyncConnection, principal: Principal, today: date) -> Population:
    """Households and people of the low-income population the principal sees, by category and
    by town: one statement grouped on both, summed here (at most towns × 5 rows)."""
    current, living = _with_members(today)
    # Literal positions, not parameters: the expression is grouped on (see the docstring).
    town = func.substr(
        Household.region_code, literal_column("1"), literal_column(str(_TOWN_DIGITS)), type_=String
    )
    counts = (
        select(
            town.label("town"),
            Household.category,
            func.count(distinct(Household.id)).label("households"),
            func.count(Person.id).label("people"),
        )
        .select_from(Household)
        .outerjoin(Membership, current)
        .outerjoin(Person, living)
        .where(*_low_income(principal))
        .group_by(town, Household.category)
        .subquery()
    )
    rows = await conn.execute(
        select(counts, Region.name).outerjoin(
            Region, Region.code == counts.c.town + "0" * (12 - _TOWN_DIGITS)
        )
    )
    categories: dict[Category, list[int]] = {c: [0, 0] for c in CATEGORIES}
    towns: dict[str, tuple[str, list[int]]] = {}
    for row in rows:
        code = row.town.ljust(12, "0")
        for total in (
            categories.setdefault(Category(row.category), [0, 0]),
            towns.setdefault(code, (row.name or code, [0, 0]))[1],
        ):
            total[0] += row.households
            total[1] += row.people
    return Population(
        categories=[CategoryCount(c, *n) for c, n in categories.items()],
        towns=sorted(
            (TownCount(code, name, *n) for code, (name, n) in towns.items()),
            key=lambda t: (-t.people, t.code),
        ),
    )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=CHINA)


async def warning_ages(conn: AsyncConnection, principal: Principal, today: date) -> list[KindAges]:
    """Open warnings the principal sees, per kind (every kind, in the enum's order) and per
    AGE_BUCKETS: days from the day it was raised to `today`, in China Standard Time."""
    bucket = case(
        *(
            (WarningRecord.created_at >= _start_of(today - timedelta(days=limit)), name)
            for limit, name in zip(_AGE_LIMITS, AGE_BUCKETS, strict=False)
        ),
        else_=AGE_BUCKETS[-1],
    )
    # The bucket's CASE holds parameters (its cut-off times), so it is grouped on in an outer
    # statement, by name.
    ages = (
        select_warnings([WarningRecord.kind.label("kind"), bucket.label("bucket")], principal)
        .where(*visible(principal), WarningRecord.status.in_(OPEN_WARNING_STATUSES))
        .subquery()
    )
    rows = await conn.execute(
        select(ages.c.kind, ages.c.bucket, func.count().label("n")).group_by(
            ages.c.kind, ages.c.bucket
        )
    )
    found = {(WarningKind(row.kind), row.bucket): row.n for row in rows}
    return [
        KindAges(kind, tuple(found.get((kind, name), 0) for name in AGE_BUCKETS))
        for kind in WarningKind
    ]


async def overdue_by_agency(
    conn: AsyncConnection, principal: Principal, today: date
) -> list[AgencyOverdue]:
    """Overdue warnings the principal sees, per agency assigned to them, most first; a warning
    with several agencies counts once for each, one with none under `code` None."""
    # Its own alias: `visible` has an EXISTS over warning_assignments, which must not correlate
    # with the join here.
    assigned = aliased(WarningAssignment)
    columns = [assigned.agency_code, Agency.name_zh, Agency.name_en, func.count().label("n")]
    rows = await conn.execute(
        select_warnings(columns, principal)
        .outerjoin(assigned, assigned.warning_id == WarningRecord.id)
        .outerjoin(Agency, Agency.code == assigned.agency_code)
        .where(*visible(principal), overdue(today))
        .group_by(assigned.agency_code, Agency.name_zh, Agency.name_en)
    )
    out = [
        AgencyOverdue(
            row.agency_code,
            row.name_zh or row.agency_code or "",
            row.name_en or row.agency_code or "",
            row.n,
        )
        for row in rows
    ]
    return sorted(out, key=lambda a: (-a.overdue, a.code is None, a.code or ""))


@dataclass(frozen=True, slots=True)
class Warnings:
    ages: list[KindAges]
    overdue: list[AgencyOverdue]

    @property
    def open(self) -> int:
        return sum(k.total for k in self.ages)


async def warnings(conn: AsyncConnection, principal: Principal, today: date) -> Warnings:
    return Warnings(
        ages=await warning_ages(conn, principal, today),
        overdue=await overdue_by_agency(conn, principal, today),
    )
