"""Working days (gateway/domain/workdays.py) over the calendar seeded by migration 0007."""

from __future__ import annotations

import json
from datetime import date

import pytest

from gateway.database import Database
from gateway.domain.workdays import WorkCalendar
from gateway.monitoring.calendar import load_calendar
from gateway.settings import Settings
from tests.conftest import lig


@pytest.fixture
async def calendar(database_url: str) -> WorkCalendar:
    db = Database(Settings(database_url=database_url))
    try:
        async with db.unit_of_work() as session:
            return await load_calendar(session)
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        ("2026-11-20", 1, "2026-11-23"),  # Friday + 1 is Monday
        ("2026-11-23", 0, "2026-11-23"),
        # National Day 2026: 1–7 October off; Saturday 10 October worked in lieu.
        ("2026-09-30", 1, "2026-10-08"),
        ("2026-09-30", 3, "2026-10-10"),
        ("2026-09-30", 5, "2026-10-13"),
        # Spring Festival 2026: 15–23 February off; Saturday 14 and 28 February worked.
        ("2026-02-13", 1, "2026-02-14"),
        ("2026-02-14", 1, "2026-02-24"),
        ("2026-02-27", 1, "2026-02-28"),
        # Dragon Boat 2026: Friday 19 June off.
        ("2026-06-18", 1, "2026-06-22"),
    ],
)
async def test_working_days_follow_the_calendar(
    calendar: WorkCalendar, start: str, days: int, due: str
) -> None:
    assert calendar.add(date.fromisoformat(start), days) == date.fromisoformat(due)
    assert calendar.between(date.fromisoformat(start), date.fromisoformat(due)) == days


def test_without_exceptions_a_week_is_five_days() -> None:
    week = WorkCalendar()
    assert week.add(date(2030, 1, 4), 5) == date(2030, 1, 11)  # Friday to Friday
    assert not week.is_working(date(2030, 1, 5))
    assert week.first_on_or_after(date(2030, 1, 5)) == date(2030, 1, 7)
    with pytest.raises(ValueError, match="negative"):
        week.add(date(2030, 1, 4), -1)


def test_civil_affairs_keeps_the_calendar_with_the_cli(database_url: str) -> None:
    # 2027's New Year's Day is a Friday: entered as a holiday, deadlines step over it.
    done = lig("calendar", "set", "2027-01-01", "--holiday", "--note", "元旦", url=database_url)
    assert done.returncode == 0, done.stderr
    listed = lig("calendar", "list", "--year", "2027", "--json", url=database_url)
    assert json.loads(listed.stdout) == [{"day": "2027-01-01", "working": False, "note": "元旦"}]
    # A weekend day is already off; a weekday already works: refused, naming the option.
    bad = lig("calendar", "set", "2027-01-02", "--holiday", "--note", "x", url=database_url)
    assert bad.returncode == 2
    assert "--working/--holiday" in bad.stderr
    undone = lig("calendar", "unset", "2027-01-01", url=database_url)
    assert undone.returncode == 0, undone.stderr
    again = lig("calendar", "list", "--year", "2027", "--json", url=database_url)
    assert json.loads(again.stdout) == []
    missing = lig("calendar", "unset", "2027-01-01", url=database_url)
    assert missing.returncode == 2
