"""The dashboard's counts (gateway/console/statistics.py) against a plain count of the rows.

Each test runs on SQLite and PostgreSQL over the demo county, a few rows changed first so that
every rule shows: a member who left, one who died, one not yet joined; warnings raised on each
side of each age boundary; overdue warnings, one with no agency. The expected figures are
counted here in Python from the raw rows, by the rules written out again (not by the module's
own conditions), for civil affairs, a town, and an agency that sees only its assignments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from auth.scopes import ALL_SCOPES
from gateway.console import statistics
from gateway.console.i18n import CHINA
from gateway.database import Database
from gateway.domain.enums import Category, HouseholdStatus, WarningKind, WarningStatus
from gateway.models import Household, Membership, Person, WarningAssignment, WarningRecord
from gateway.monitoring.access import may_read
from gateway.principal import Principal
from gateway.settings import Settings
from tests.support.planted import BEIXIN, HUILONG
from tests.support.sql import sql

TODAY = date.today()
LOW_INCOME = {"DIBAO", "TEKUN", "MARGINAL", "EXPENDITURE", "LEGACY_LOW_INCOME"}
RUNNING = {"ACTIVE", "SUSPENDED"}
OPEN = {"OPEN", "DISPATCHED", "ACKNOWLEDGED", "ESCALATED"}

CIVIL = Principal("t-civil", "civil-affairs", ALL_SCOPES)
TOWN = Principal("t-town", "town", ALL_SCOPES, region_code=HUILONG)
MEDICAL = Principal("t-medical", "medical-security", ALL_SCOPES)
MEDICAL_IN_BEIXIN = Principal("t-medical-bx", "medical-security", ALL_SCOPES, region_code=BEIXIN)
PRINCIPALS = [CIVIL, TOWN, MEDICAL, MEDICAL_IN_BEIXIN]


def _midnight(days_ago: int) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(), tzinfo=CHINA)


# Raised just inside and just outside each age boundary, and long ago.
RAISED = [
    _midnight(7),
    _midnight(7) - timedelta(microseconds=1),
    _midnight(30),
    _midnight(30) - timedelta(seconds=1),
    _midnight(90),
    _midnight(90) - timedelta(seconds=1),
    _midnight(400),
]


@pytest.fixture
async def db(demo_url: str) -> AsyncIterator[Database]:
    database = Database(Settings(database_url=demo_url))
    try:
        await _shape(database)
        yield database
    finally:
        await database.dispose()


async def _shape(db: Database) -> None:
    """Change the demo so that each rule has rows on both of its sides."""
    async with db.unit_of_work() as session:
        memberships = (
            await session.execute(
                select(Membership.id, Membership.person_id)
                .join(Household, Household.id == Membership.household_id)
                .where(
                    Membership.left_on.is_(None),
                    Household.region_code == HUILONG,  # in the town, so every principal's
                    Household.category == Category.DIBAO,  # counts would show a slip
                    Household.status == HouseholdStatus.ACTIVE,
                )
                .order_by(Membership.id)
                .limit(3)
            )
        ).all()
        (left, _), (_, died), (future, _) = memberships
        yesterday, tomorrow = TODAY - timedelta(days=1), TODAY + timedelta(days=1)
        await session.execute(
            update(Membership).where(Membership.id == left).values(left_on=yesterday)
        )
        await session.execute(update(Person).where(Person.id == died).values(deceased_on=yesterday))
        await session.execute(
            update(Membership).where(Membership.id == future).values(joined_on=tomorrow)
        )
        warnings = (
            await session.execute(select(WarningRecord.id).order_by(WarningRecord.id).limit(40))
        ).scalars()
        for i, wid in enumerate(warnings):
            values: dict[str, Any] = {"created_at": RAISED[i % len(RAISED)]}
            if i % 3 == 0:
                values["due_on"] = TODAY - timedelta(days=1 + i)  # overdue, if still open
            elif i % 3 == 1:
                values["due_on"] = TODAY  # due today: not overdue
            if i in (6, 9):  # closed: neither open nor overdue, however old or late
                values["status"] = WarningStatus.RESOLVED if i == 6 else WarningStatus.AUTO_CLEARED
            await session.execute(
                update(WarningRecord).where(WarningRecord.id == wid).values(**values)
            )
            if i == 3:  # overdue, and not assigned to anyone
                await session.execute(
                    delete(WarningAssignment).where(WarningAssignment.warning_id == wid)
                )


# --- the plain count -------------------------------------------------------------------------


def _day(value: Any) -> date:
    """A date as either engine answers it (SQLite: text)."""
    return date.fromisoformat(str(value)[:10])


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def _population(url: str, principal: Principal) -> dict[tuple[str, str], list[int]]:
    """(category, town code) → [households, people] of the low-income population."""
    households = {
        hid: (category, region)
        for hid, category, status, region in await sql(
            url, "SELECT id, category, status, region_code FROM households"
        )
        if category in LOW_INCOME and status in RUNNING and principal.covers_region(region)
    }
    out: dict[tuple[str, str], list[int]] = {}
    for category, region in households.values():
        out.setdefault((category, region[:9].ljust(12, "0")), [0, 0])[0] += 1
    for hid, joined, left, deceased in await sql(
        url,
        "SELECT m.household_id, m.joined_on, m.left_on, p.deceased_on "
        "FROM memberships m JOIN persons p ON p.id = m.person_id",
    ):
        if hid not in households:
            continue
        current = _day(joined) <= TODAY and (left is None or _day(left) > TODAY)
        living = deceased is None or _day(deceased) > TODAY
        if current and living:
            category, region = households[hid]
            out[(category, region[:9].ljust(12, "0"))][1] += 1
    return out


Seen = tuple[str, str, datetime, date, set[str]]


async def _warnings(url: str, principal: Principal) -> list[Seen]:
    """(kind, status, raised, due, agencies) of every warning the principal may see."""
    agencies: dict[int, set[str]] = {}
    for wid, agency in await sql(url, "SELECT warning_id, agency_code FROM warning_assignments"):
        agencies.setdefault(wid, set()).add(agency)
    out: list[Seen] = []
    for wid, kind, status, created, due, region in await sql(
        url,
        "SELECT w.id, w.kind, w.status, w.created_at, w.due_on, h.region_code "
        "FROM warnings w JOIN households h ON h.id = w.household_id",
    ):
        assigned = agencies.get(wid, set())
        # The Python twin of the SQL rule (gateway/monitoring/access.py).
        if not may_read(principal, assigned, region):
            continue
        out.append((kind, status, _moment(created), _day(due), assigned))
    return out


def _bucket(raised: datetime) -> str:
    age = (TODAY - raised.astimezone(CHINA).date()).days
    return "0-7" if age <= 7 else "8-30" if age <= 30 else "31-90" if age <= 90 else "91+"


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.client_id)
async def test_people_and_households_by_category_and_town_match_a_plain_count(
    db: Database, demo_url: str, principal: Principal
) -> None:
    expected = await _population(demo_url, principal)
    async with db.reader.connect() as conn:
        found = await statistics.population(conn, principal, TODAY)
    categories, towns = found.categories, found.towns
    assert [c.category.value for c in categories] == [
        "DIBAO", "TEKUN", "MARGINAL", "EXPENDITURE", "LEGACY_LOW_INCOME"
    ]  # fmt: skip
    for c in categories:
        counts = [v for (cat, _), v in expected.items() if cat == c.category.value]
        assert (c.households, c.people) == (sum(v[0] for v in counts), sum(v[1] for v in counts))
    by_town: dict[str, list[int]] = {}
    for (_, town), (households, people) in expected.items():
        total = by_town.setdefault(town, [0, 0])
        total[0] += households
        total[1] += people
    assert {t.code: [t.households, t.people] for t in towns} == by_town
    assert [t.people for t in towns] == sorted((t.people for t in towns), reverse=True)
    assert all(t.name and t.name != t.code for t in towns)  # named from the regions table
    assert sum(c.people for c in categories) == sum(t.people for t in towns) > 0


async def test_a_town_sees_only_its_own_town(db: Database) -> None:
    async with db.reader.connect() as conn:
        towns = (await statistics.population(conn, TOWN, TODAY)).towns
        everywhere = (await statistics.population(conn, CIVIL, TODAY)).towns
    assert [(t.code, t.name) for t in towns] == [(HUILONG, "汇龙镇")]
    assert towns[0] in everywhere
    assert len(everywhere) > 1


async def test_the_changed_members_are_counted_by_the_day(db: Database, demo_url: str) -> None:
    # The member who left yesterday, the one who died yesterday and the one joining tomorrow
    # are not counted; were the rules ignored, the counts would be three higher at most.
    (everyone,) = await sql(
        demo_url,
        "SELECT count(*) FROM memberships m JOIN households h ON h.id = m.household_id "
        "WHERE m.left_on IS NULL AND h.category <> 'NONE' "
        "AND h.status IN ('ACTIVE', 'SUSPENDED')",
    )
    async with db.reader.connect() as conn:
        people = (await statistics.population(conn, CIVIL, TODAY)).people
    assert people < everyone[0]


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.client_id)
async def test_open_warnings_by_kind_and_age_match_a_plain_count(
    db: Database, demo_url: str, principal: Principal
) -> None:
    expected = Counter(
        (kind, _bucket(raised))
        for kind, status, raised, _, _ in await _warnings(demo_url, principal)
        if status in OPEN
    )
    async with db.reader.connect() as conn:
        ages = await statistics.warning_ages(conn, principal, TODAY)
    assert [k.kind for k in ages] == list(WarningKind)
    found = Counter(
        {
            (k.kind.value, bucket): n
            for k in ages
            for bucket, n in zip(statistics.AGE_BUCKETS, k.counts, strict=True)
            if n
        }
    )
    assert found == expected
    if principal is CIVIL:
        assert {bucket for _, bucket in expected} == set(statistics.AGE_BUCKETS)


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.client_id)
async def test_overdue_warnings_by_agency_match_a_plain_count(
    db: Database, demo_url: str, principal: Principal
) -> None:
    expected: Counter[str | None] = Counter()
    for _, status, _, due, agencies in await _warnings(demo_url, principal):
        if status in OPEN and due < TODAY:
            keys: list[str | None] = [*agencies] if agencies else [None]
            expected.update(keys)
    async with db.reader.connect() as conn:
        overdue = await statistics.overdue_by_agency(conn, principal, TODAY)
    assert {a.code: a.overdue for a in overdue} == dict(expected)
    assert [a.overdue for a in overdue] == sorted((a.overdue for a in overdue), reverse=True)
    if principal is CIVIL:
        assert None in expected
        assert len(expected) > 2
        names = {a.code: (a.name_zh, a.name_en) for a in overdue}
        assert names["medical-security"] == ("医保", "medical security")


async def test_an_agency_sees_only_the_warnings_assigned_to_it(db: Database) -> None:
    async with db.reader.connect() as conn:
        everyone = await statistics.warning_ages(conn, CIVIL, TODAY)
        medical = await statistics.warning_ages(conn, MEDICAL, TODAY)
        overdue = await statistics.overdue_by_agency(conn, MEDICAL, TODAY)
    assert 0 < sum(k.total for k in medical) < sum(k.total for k in everyone)
    assert None not in {a.code for a in overdue}  # unassigned warnings are not its to see
