"""`lig compare`: the full data comparison (数据比对) over every household, recorded with its
counts; `lig compare --pending` compares only the households queued by new data."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Annotated, Any

import typer

from gateway.commands.common import database, fail_with
from gateway.commands.progress import counting
from gateway.errors import LigError
from gateway.monitoring.compare import Tally, drain, run_full
from gateway.monitoring.lifecycle import escalate_overdue
from gateway.settings import get_settings
from gateway.standards.service import region_code_of


async def _full(as_of: date, region: str | None, json_only: bool) -> dict[str, Any]:
    async with database(get_settings()) as db:
        with counting("comparing", "households", enabled=not json_only) as advance:
            run_id, tally = await run_full(
                db,
                as_of,
                region=region,
                on_batch=lambda n, _tally: advance(n),
            )
        async with db.unit_of_work() as session:
            escalated = await escalate_overdue(session, as_of, limit=10**9)
    return {"run": run_id, **tally.as_json(), "escalated": escalated}


async def _pending(as_of: date) -> dict[str, Any]:
    async with database(get_settings()) as db:
        tally = await drain(db, as_of)
        async with db.unit_of_work() as session:
            escalated = await escalate_overdue(session, as_of, limit=10**9)
    if tally is None:
        return {"busy": "another comparison is running", "escalated": escalated}
    return {**Tally.as_json(tally), "escalated": escalated}


def compare(
    region: Annotated[
        str | None, typer.Option("--region", help="Only households in this region (code).")
    ] = None,
    pending: Annotated[
        bool,
        typer.Option("--pending", help="Only the households queued by new data since."),
    ] = False,
    json_only: Annotated[bool, typer.Option("--json", help="No progress bar.")] = False,
) -> None:
    """Run the comparison rules and reconcile the warnings: open, join, clear; escalate the
    overdue. Prints the counts (households, findings per rule, opened, joined, cleared,
    escalated) as JSON; the run is recorded in `comparison_runs`."""
    # Always today: the comparison opens, clears and escalates live warnings, so a past day
    # would clear what is still true and a future one escalate what is not yet due.
    day = date.today()
    try:
        code = region_code_of(region, "--region") if region else None
        result = asyncio.run(_pending(day) if pending else _full(day, code, json_only))
    except LigError as error:
        raise fail_with(error) from None
    typer.echo(json.dumps(result, ensure_ascii=False))
