"""`lig export national --month YYYY-MM`: the monthly upload to the national system."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Annotated, Any

import typer

from gateway.commands.common import err, fail_with
from gateway.commands.progress import counting
from gateway.commands.sync import national_system
from gateway.errors import LigError
from gateway.settings import get_settings
from gateway.sync.export import check_month, export_national

export_app = typer.Typer(help="Uploads to the national system.", no_args_is_help=True)


@export_app.command("national")
def national(
    month: Annotated[str, typer.Option(help="The month reported, YYYY-MM.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    wait: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds to wait for the receipt (default: settings)."),
    ] = None,
) -> None:
    """Upload the region's low-income population for MONTH, wait for the national receipt, and
    record and report its rejections. Rerunning continues an interrupted export; the same
    content is never uploaded twice."""
    settings = get_settings()
    today = date.today()

    async def run() -> dict[str, Any]:
        check_month(month, today)
        async with national_system(settings) as (db, client):
            with counting("exporting households", "households", enabled=not as_json) as bar:
                report = await export_national(
                    db,
                    client,
                    month=month,
                    region_code=settings.national_region_code,
                    today=today,
                    wait_seconds=settings.national_receipt_wait_seconds if wait is None else wait,
                    poll_seconds=settings.national_receipt_poll_seconds,
                    progress=bar,
                )
            return report.as_dict()

    try:
        result = asyncio.run(run())
    except LigError as error:
        raise fail_with(error) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        err.print(
            f"{result['month']}: {result['households']:,} households, {result['records']:,} "
            f"people uploaded ({result['status']}); accepted {result['accepted']:,}, "
            f"rejected {result['rejected']:,}",
            highlight=False,
        )
        for code, count in result["rejections_by_code"].items():
            err.print(f"  {code}: {count}", highlight=False)
        for rejection in result["rejections"]:
            err.print(
                f"  line {rejection['line']} {rejection.get('household_code', '')} "
                f"{rejection.get('id_number', '')} {rejection['code']}: {rejection['reason']}",
                highlight=False,
            )
        if result["message"]:
            err.print(result["message"], highlight=False)
    if result["status"] != "DONE":
        raise typer.Exit(3)  # the receipt has not come back yet: run again later
