"""`lig calendar list|set|unset`: the working-day calendar kept as data (calendar_days).

Deadlines (warnings' due dates, the application procedure's limits) count working days: Monday
to Friday except the days listed here, a public holiday on a weekday or a weekend day worked in
lieu (调休). The State Council publishes next year's days each autumn; civil affairs enters them.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import delete, select

from gateway.audit import record_change
from gateway.commands.common import database, err, fail_with
from gateway.errors import InvalidInput, LigError
from gateway.models import CalendarDay
from gateway.principal import LOCAL_OPERATOR
from gateway.settings import get_settings
from gateway.validation import written

calendar_app = typer.Typer(
    help="The working-day calendar (holidays, make-up days).", no_args_is_help=True
)


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail_with(InvalidInput(field, "must be a date as YYYY-MM-DD")) from None


async def _list(year: int | None) -> list[dict[str, Any]]:
    async with database(get_settings()) as db, db.unit_of_work() as session:
        statement = select(CalendarDay).order_by(CalendarDay.day)
        if year is not None:
            statement = statement.where(
                CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
            )
        return [
            {"day": r.day.isoformat(), "working": r.working, "note": r.note}
            for r in await session.scalars(statement)
        ]


@calendar_app.command("list")
def list_command(
    year: Annotated[int | None, typer.Option(help="Only this year.", min=2000, max=2100)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
) -> None:
    """The days that differ from the Monday–Friday week."""
    rows = asyncio.run(_list(year))
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("day", "weekday", "working", "note")
    for r in rows:
        table.add_row(
            r["day"], date.fromisoformat(r["day"]).strftime("%a"), str(r["working"]), r["note"]
        )
    err.print(table)


async def _set(day: date, working: bool, note: str) -> None:
    async with database(get_settings()) as db, db.unit_of_work() as session:
        row = await session.get(CalendarDay, day)
        before = None if row is None else {"working": row.working, "note": row.note}
        if row is None:
            session.add(CalendarDay(day=day, working=working, note=note))
        else:
            row.working, row.note = working, note
        record_change(
            session,
            LOCAL_OPERATOR,
            action="calendar.set",
            request_id="cli",
            subjects={
                "day": day.isoformat(),
                "before": before,
                "after": {"working": working, "note": note},
            },
        )


@calendar_app.command("set")
def set_command(
    day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD.")],
    working: Annotated[
        bool,
        typer.Option(
            "--working/--holiday",
            help="--working: a weekend day worked in lieu; --holiday: a weekday off.",
        ),
    ],
    note: Annotated[str, typer.Option(help="Why, e.g. the notice that sets it.")],
) -> None:
    """Set a day that differs from the Monday–Friday week (audited)."""
    when = _day(day, "DAY")
    try:
        text = written("--note", note, limit=100)
        if working == (when.weekday() < 5):
            kind = (
                "a weekday is already a working day" if working else "a weekend day is already off"
            )
            raise InvalidInput("--working/--holiday", f"{when.isoformat()} is a {when:%A}: {kind}")
        asyncio.run(_set(when, working, text))
    except LigError as error:
        raise fail_with(error) from None
    err.print(f"{when.isoformat()}: {'working day' if working else 'holiday'} ({text})")


async def _unset(day: date) -> bool:
    async with database(get_settings()) as db, db.unit_of_work() as session:
        gone = await session.execute(
            delete(CalendarDay).where(CalendarDay.day == day).returning(CalendarDay.day)
        )
        if gone.first() is None:
            return False
        record_change(
            session,
            LOCAL_OPERATOR,
            action="calendar.unset",
            request_id="cli",
            subjects={"day": day.isoformat()},
        )
        return True


@calendar_app.command("unset")
def unset_command(day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD.")]) -> None:
    """Remove a day's exception: it follows the Monday–Friday week again (audited)."""
    when = _day(day, "DAY")
    if not asyncio.run(_unset(when)):
        raise fail_with(InvalidInput("DAY", f"{when.isoformat()} is not in the calendar"))
    err.print(f"{when.isoformat()}: back to the ordinary week")
