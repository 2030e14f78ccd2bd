"""`lig keys list|rotate`: the keys that sign access tokens.

A running gateway picks up a rotation within a minute (auth/keys.py: RELOAD_SECONDS); tokens
signed by the retired key keep verifying until they expire.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.table import Table

from auth.keys import KeyFileError, KeyStatus, rotate, statuses
from gateway.commands.common import database, err, fail, fail_with
from gateway.errors import LigError
from gateway.settings import get_settings

keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)


@keys_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
) -> None:
    """Every key: its kid, when it was made, and whether it signs, still verifies or expired."""
    settings = get_settings()

    async def run() -> list[KeyStatus]:
        async with database(settings) as db, db.unit_of_work() as session:
            return await statuses(session, settings)

    try:
        rows = asyncio.run(run())
    except KeyFileError as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "kid": r.kid,
                        "created_at": r.created_at.isoformat(timespec="seconds"),
                        "retired_at": r.retired_at.isoformat(timespec="seconds")
                        if r.retired_at
                        else None,
                        "status": r.status,
                    }
                    for r in rows
                ]
            )
        )
        return
    table = Table("kid", "created", "status")
    for r in rows:
        table.add_row(r.kid, r.created_at.isoformat(timespec="seconds"), r.status)
    err.print(table)
    if not rows:
        err.print("no keys yet: the gateway makes one when it first signs a token")


@keys_app.command("rotate")
def rotate_command() -> None:
    """Make a new signing key and retire the others (they verify until their tokens expire)."""
    settings = get_settings()

    async def run() -> tuple[str, list[str]]:
        async with database(settings) as db, db.unit_of_work() as session:
            return await rotate(session, settings)

    try:
        kid, retired = asyncio.run(run())
    except LigError as error:
        raise fail_with(error) from None
    typer.echo(json.dumps({"kid": kid, "retired": retired}))
