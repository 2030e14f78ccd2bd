"""The procedure of an application for assistance, as pure rules (DOMAIN.md, "TEKUN and DIBAO in
brief"): which step may follow which, and when each is due.

    APPLIED ──accept──▶ ACCEPTED ──review──▶ IN_NOTICE ──decide──▶ DECIDED
       └──────────────────┴───────────────────────┴──withdraw──▶ WITHDRAWN

- 申请 (APPLIED): started by a NOT_COVERED warning, or at the town. No limit is set for
  accepting it, so it has no due date.
- 受理 (ACCEPTED): the town accepted it; its written opinion is due within TOWN_REVIEW working
  days of acceptance (the day of acceptance is day 0).
- 审核 with 公示 (IN_NOTICE): the opinion is written and publicly noticed from the next working
  day for at least PUBLIC_NOTICE working days; `notice_until` is the notice's last working day.
  The county's confirmation is due within COUNTY_CONFIRMATION working days after it, and may not
  come before the day after `notice_until`.
- 确认 (DECIDED): the county decided, by the rules engine (a determination with its reasons).

The figures are the `procedure_limits` rows (data, with their source), the working days those of
the `calendar_days` table; both are handed in, so everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from gateway.domain.enums import ApplicationStatus
from gateway.domain.workdays import WorkCalendar
from gateway.errors import InvalidInput


class Step(StrEnum):
    """The steps with a working-day limit: the keys of the `procedure_limits` table."""

    TOWN_REVIEW = "TOWN_REVIEW"  # at most: the town's written opinion after acceptance
    PUBLIC_NOTICE = "PUBLIC_NOTICE"  # at least: the public notice of the opinion
    COUNTY_CONFIRMATION = "COUNTY_CONFIRMATION"  # at most: the county's decision after the notice


@dataclass(frozen=True, slots=True)
class Limits:
    town_review: int
    public_notice: int
    county_confirmation: int

    @classmethod
    def from_rows(cls, rows: Mapping[str, int]) -> Limits:
        missing = [step.value for step in Step if step.value not in rows]
        if missing:
            # The migration seeds them: their absence is a broken database, not a bad request.
            raise LookupError(f"procedure_limits has no row for {', '.join(missing)}")
        return cls(
            town_review=rows[Step.TOWN_REVIEW],
            public_notice=rows[Step.PUBLIC_NOTICE],
            county_confirmation=rows[Step.COUNTY_CONFIRMATION],
        )


A = ApplicationStatus
UNDER_WAY = frozenset({A.APPLIED, A.ACCEPTED, A.IN_NOTICE})
# action → (from which statuses, to which status)
MOVES: dict[str, tuple[frozenset[ApplicationStatus], ApplicationStatus]] = {
    "accept": (frozenset({A.APPLIED}), A.ACCEPTED),
    "review": (frozenset({A.ACCEPTED}), A.IN_NOTICE),
    "decide": (frozenset({A.IN_NOTICE}), A.DECIDED),
    "withdraw": (UNDER_WAY, A.WITHDRAWN),
}
# What each action needs, beyond seeing the household's region: the town's steps are warning
# handling (towns and civil affairs); the county's decision is civil affairs' alone.
SCOPE_OF: dict[str, str] = {
    "start": "warning:handle",
    "accept": "warning:handle",
    "review": "warning:handle",
    "withdraw": "warning:handle",
    "decide": "warning:manage",
}


def allowed(action: str, status: ApplicationStatus) -> bool:
    sources, _ = MOVES[action]
    return status in sources


def review_due(calendar: WorkCalendar, limits: Limits, accepted_on: date) -> date:
    """The last day for the town's written opinion."""
    return calendar.add(accepted_on, limits.town_review)


@dataclass(frozen=True, slots=True)
class Notice:
    start: date  # the first working day after the opinion was written
    until: date  # the last working day of the minimum notice
    confirmation_due: date  # the last day for the county's decision


def notice(calendar: WorkCalendar, limits: Limits, reviewed_on: date) -> Notice:
    until = calendar.add(reviewed_on, limits.public_notice)
    return Notice(
        start=calendar.add(reviewed_on, 1),
        until=until,
        confirmation_due=calendar.add(until, limits.county_confirmation),
    )


def first_decision_day(notice_until: date) -> date:
    """The notice runs through its last working day; the county decides after it."""
    return notice_until + timedelta(days=1)


def is_overdue(status: ApplicationStatus, due_on: date | None, today: date) -> bool:
    return status in UNDER_WAY and due_on is not None and due_on < today


def check_day(field: str, day: date, *, today: date, after: tuple[str, date] | None) -> date:
    """A step's day: one that has come, and not before the step it follows."""
    if day > today:
        raise InvalidInput(field, "is in the future: record a step on or after the day it happens")
    if after is not None:
        what, earliest = after
        if day < earliest:
            raise InvalidInput(field, f"is before the {what} ({earliest.isoformat()})")
    return day
