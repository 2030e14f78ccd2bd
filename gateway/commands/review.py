"""`lig review --due-before DATE`: the yearly review (每年复核) of MARGINAL, EXPENDITURE and
LEGACY_LOW_INCOME households, in batches that each commit."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from gateway.commands.common import database, err, fail_with
from gateway.determinations.service import (
    ReviewReport,
    StandardsCache,
    due_for_review,
    one_year_after,
    review_batch,
)
from gateway.errors import InvalidInput, LigError
from gateway.principal import LOCAL_OPERATOR
from gateway.settings import get_settings

BATCH = 500


async def _review(before: date, as_of: date, progress: Progress) -> ReviewReport:
    report = ReviewReport()
    async with database(get_settings()) as db:
        async with db.unit_of_work() as session:
            total = await session.scalar(
                select(func.count()).select_from(due_for_review(before, limit=10**9).subquery())
            )
        task = progress.add_task("review", total=total or 0)
        after_id: int | None = None
        cache = StandardsCache()
        while True:
            # One transaction per batch: a crash loses only the batch in flight.
            async with db.unit_of_work() as session:
                batch = list(
                    await session.scalars(due_for_review(before, after_id=after_id, limit=BATCH))
                )
                if not batch:
                    break
                await review_batch(session, LOCAL_OPERATOR, batch, as_of, cache, report)
            after_id = batch[-1].id
            progress.advance(task, len(batch))
    return report


def review(
    due_before: Annotated[
        str, typer.Option("--due-before", help="Review households due before this day.")
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Day of the decisions (default: today).")
    ] = None,
) -> None:
    """Re-assess every household due for its yearly review; keep, change or end each.

    Prints counts as JSON; households that cannot be decided stay due and are counted under
    "blocked" with the reason (no recorded situation, or the figure that is not set).
    """
    try:
        before = date.fromisoformat(due_before)
    except ValueError:
        raise fail_with(InvalidInput("--due-before", "must be a date as YYYY-MM-DD")) from None
    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        raise fail_with(InvalidInput("--as-of", "must be a date as YYYY-MM-DD")) from None
    if day > date.today():
        raise fail_with(InvalidInput("--as-of", "is in the future"))
    if before > one_year_after(day):
        # A household decided today is next due a year on: a later cut-off would pick it again.
        raise fail_with(InvalidInput("--due-before", "must be at most one year after --as-of"))
    columns = (
        TextColumn("reviewing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed}/{task.total} households"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        try:
            report = asyncio.run(_review(before, day, bar))
        except LigError as error:
            raise fail_with(error) from None
    typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
