"""Working days (工作日): Monday to Friday, except the days the calendar says otherwise.

The exceptions (public holidays on weekdays, weekend days worked in lieu) are data, kept in the
`calendar_days` table and handed in; these functions are pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    # day → True (a working day although a weekend day) or False (a holiday on a weekday).
    exceptions: Mapping[date, bool] = field(default_factory=dict)

    def is_working(self, day: date) -> bool:
        stated = self.exceptions.get(day)
        return stated if stated is not None else day.weekday() < 5

    def add(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (a limit of N working days from `start`).

        `start` itself does not count: the day an application is accepted is day 0.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working(day):
                counted += 1
        return day

    def first_on_or_after(self, day: date) -> date:
        while not self.is_working(day):
            day += timedelta(days=1)
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end ≤ start)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working(day)
        return count
