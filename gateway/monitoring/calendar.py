"""Reading the working-day calendar kept as data (`calendar_days`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gateway.domain.workdays import WorkCalendar
from gateway.models import CalendarDay


async def load_calendar(db: AsyncSession | AsyncConnection) -> WorkCalendar:
    """The whole calendar: a few hundred rows, read once per run or request."""
    rows = (await db.execute(select(CalendarDay.day, CalendarDay.working))).all()
    return WorkCalendar({row.day: row.working for row in rows})
