"""`lig pushes match`: link pushed events and records to people who arrived after them."""

from __future__ import annotations

import asyncio
import json

import typer

from gateway.audit import record_change
from gateway.commands.common import database
from gateway.principal import LOCAL_OPERATOR
from gateway.pushes.matching import match_waiting
from gateway.settings import get_settings

pushes_app = typer.Typer(help="Pushed assistance records and events.", no_args_is_help=True)


@pushes_app.command("match")
def match_command() -> None:
    """Link every waiting event and assistance record whose ID number is now in the database
    (the national sync runs this itself); print the counts as JSON."""
    settings = get_settings()

    async def run() -> dict[str, int]:
        async with database(settings) as db, db.unit_of_work() as session:
            counts = await match_waiting(session)
            record_change(
                session,
                LOCAL_OPERATOR,
                action="pushes match",
                subjects=dict(counts),
                request_id="cli",
                result_count=sum(counts.values()),
            )
            return counts

    typer.echo(json.dumps(asyncio.run(run())))
