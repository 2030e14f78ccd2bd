"""`lig standards list|set`: the regional figures the rules read, managed by civil affairs."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from gateway.commands.common import database, err, fail_with
from gateway.domain.enums import StandardFigure, StandardStatus
from gateway.domain.rules import FIGURE_NAMES
from gateway.errors import InvalidInput, LigError
from gateway.principal import LOCAL_OPERATOR
from gateway.settings import get_settings
from gateway.standards import (
    StandardRow,
    figure_text,
    list_rows,
    pick_in_force,
    region_code_of,
    set_standard,
)

standards_app = typer.Typer(
    help="Regional standards: effective-dated figures per region.", no_args_is_help=True
)

Region = Annotated[str, typer.Option("--region", help="6- or 12-digit division code.")]


def _row_json(row: StandardRow) -> dict[str, str]:
    return {
        "region_code": row.region_code,
        "figure": row.figure.value,
        "effective_from": row.effective_from.isoformat(),
        "value": figure_text(row.value) or "",
        "status": row.status.value,
        "source": row.source,
        "set_by": row.created_by,
    }


@standards_app.command("list")
def list_command(
    region: Region = "320681",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Also show what is in force on this day.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
) -> None:
    """Every stored figure that applies to a region, and what is in force on a day."""
    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        raise fail_with(InvalidInput("--as-of", "must be a date as YYYY-MM-DD")) from None
    try:
        code = region_code_of(region, "--region")
    except InvalidInput as error:
        raise fail_with(error) from None

    async def run() -> list[StandardRow]:
        async with database(get_settings()) as db, db.unit_of_work() as session:
            return await list_rows(session, code)

    rows = asyncio.run(run())
    standards = pick_in_force(rows, code, day)
    now = {name: figure_text(getattr(standards, name)) for name in FIGURE_NAMES}
    if as_json:
        typer.echo(
            json.dumps(
                {"rows": [_row_json(r) for r in rows], "in_force": {"on": day.isoformat(), **now}},
                ensure_ascii=False,
            )
        )
        return
    table = Table("region", "figure", "from", "value", "status", "source")
    for row in rows:
        data = _row_json(row)
        table.add_row(
            *(data[k] for k in ("region_code", "figure", "effective_from", "value")),
            data["status"],
            data["source"],
        )
    err.print(table)
    err.print(f"in force for {region} on {day.isoformat()}:")
    for name, value in now.items():
        shown = value if value is not None else "[yellow]not set: an operator must set it[/yellow]"
        if name == "car_value_cap" and value is None:
            shown = "not set: 10 × 12 × dibao_monthly applies (CONTRACT.md)"
        err.print(f"  {name}: {shown}")


@standards_app.command("set")
def set_command(
    figure: Annotated[StandardFigure, typer.Option("--figure", case_sensitive=False)],
    effective_from: Annotated[str, typer.Option("--from", help="First day in force (YYYY-MM-DD).")],
    value: Annotated[
        str, typer.Option("--value", help="Yuan, m², or a date for LEGACY_TRANSITION_END.")
    ],
    source: Annotated[str, typer.Option("--source", help="Where the figure comes from.")],
    region: Region = "320681",
    status: Annotated[
        StandardStatus, typer.Option("--status", case_sensitive=False)
    ] = StandardStatus.OPERATOR,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the figure set for the same day.")
    ] = False,
) -> None:
    """Set a figure for a region from a day on (audited). Unpublished figures stay OPERATOR."""
    try:
        since = date.fromisoformat(effective_from)
    except ValueError:
        raise fail_with(InvalidInput("--from", "must be a date as YYYY-MM-DD")) from None

    async def run() -> StandardRow:
        async with database(get_settings()) as db, db.unit_of_work() as session:
            return await set_standard(
                session,
                LOCAL_OPERATOR,
                region_code=region,
                figure=figure,
                effective_from=since,
                value=value,
                source=source,
                status=status,
                replace=replace,
            )

    try:
        row = asyncio.run(run())
    except LigError as error:
        raise fail_with(error) from None
    typer.echo(json.dumps({"set": _row_json(row)}, ensure_ascii=False))
