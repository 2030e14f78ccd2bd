"""`lig sync …`: the national change stream, its checkpoint, and the conflicts it found."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from adapters.national.client import NationalClient
from gateway.commands.common import database, err, fail_with
from gateway.commands.progress import counting
from gateway.database import Database
from gateway.errors import LigError
from gateway.models import SyncCheckpoint
from gateway.settings import Settings, get_settings
from gateway.sync import conflicts
from gateway.sync.national import CHECKPOINT, sync_national

sync_app = typer.Typer(help="Synchronisation with the national system.", no_args_is_help=True)


@asynccontextmanager
async def national_system(settings: Settings) -> AsyncIterator[tuple[Database, NationalClient]]:
    """The migrated database and the national system's client, both closed at the end."""
    client = NationalClient(settings)
    try:
        async with database(settings) as db:
            yield db, client
    finally:
        await client.aclose()


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object (for machines).")]


@sync_app.command("national")
def national(
    as_json: JsonOption = False,
    page_size: Annotated[
        int | None, typer.Option(min=1, max=5000, help="Changes per page (default: settings).")
    ] = None,
) -> None:
    """Pull every national change since the last sync and apply it exactly once (resuming from
    the checkpoint after a crash); local edits made since the last sync are never overwritten:
    such a change is recorded as a conflict (`lig sync conflicts`)."""
    settings = get_settings()

    async def run() -> dict[str, Any]:
        async with national_system(settings) as (db, client):
            with counting("syncing national changes", "changes", enabled=not as_json) as bar:
                report = await sync_national(
                    db,
                    client,
                    page_size=page_size or settings.national_page_size,
                    today=date.today(),
                    progress=bar,
                )
            return report.as_dict()

    try:
        result = asyncio.run(run())
    except LigError as error:
        raise fail_with(error) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    err.print(
        f"synced {result['changes']:,} changes in {result['pages']} pages "
        f"({result['changes_per_second']:,.0f}/s): "
        f"{result['households_created']:,} households and {result['persons_created']:,} people "
        f"new, {result['households_updated'] + result['persons_updated']:,} updated, "
        f"{result['categories_applied']:,} categories, {result['moves']:,} moves, "
        f"{result['stale']:,} already applied",
        highlight=False,
    )
    if result["conflicts"] or result["rejected"]:
        err.print(
            f"[yellow]{result['conflicts']} conflicts with local edits[/yellow] (see `lig sync "
            f"conflicts`), [yellow]{result['rejected']} changes rejected[/yellow] (malformed; "
            "see `lig sync status`)",
            highlight=False,
        )


@sync_app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Where the national sync stands: position, last run, last success, last error, totals."""
    settings = get_settings()

    async def run() -> dict[str, Any]:
        async with database(settings) as db, db.unit_of_work() as session:
            found = await session.get(SyncCheckpoint, CHECKPOINT)
            open_count, _ = await conflicts.list_conflicts(session, limit=0)
            if found is None:
                return {"synced": False, "open_conflicts": open_count}
            return {
                "synced": True,
                "position": found.position,
                "last_run_at": found.last_run_at.isoformat() if found.last_run_at else None,
                "last_success_at": found.last_success_at.isoformat()
                if found.last_success_at
                else None,
                "last_error": found.last_error,
                "totals": found.totals,
                "open_conflicts": open_count,
            }

    typer.echo(json.dumps(asyncio.run(run()), ensure_ascii=False, indent=None if as_json else 2))


@sync_app.command("conflicts")
def list_conflicts(
    as_json: JsonOption = False,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Resolved conflicts too.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """National changes that met a local edit: both sides, side by side."""
    settings = get_settings()

    async def run() -> tuple[int, list[dict[str, Any]]]:
        async with database(settings) as db, db.unit_of_work() as session:
            count, found = await conflicts.list_conflicts(
                session, include_resolved=include_resolved, limit=limit
            )
            return count, [conflicts.describe(c) for c in found]

    count, found = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps({"open": count, "conflicts": found}, ensure_ascii=False))
        return
    table = Table("id", "entity", "national id", "status", "field", "local", "national")
    for conflict in found:
        national = conflict["national"]
        changed = [
            k for k, v in conflict["local"].items() if k in national and national[k] != v
        ] or ["—"]
        for i, name in enumerate(changed):
            head = (
                [
                    str(conflict["id"]),
                    conflict["entity"],
                    conflict["national_id"],
                    conflict["status"],
                ]
                if i == 0
                else ["", "", "", ""]
            )
            table.add_row(
                *head,
                name,
                str(conflict["local"].get(name, "")),
                str(national.get(name, "")),
            )
    err.print(table)
    err.print(f"{count} open", highlight=False)


@sync_app.command("resolve")
def resolve_conflict(
    conflict_id: Annotated[int, typer.Argument(help="The conflict's id (`lig sync conflicts`).")],
    keep: Annotated[
        str, typer.Option("--keep", help="local: the local state stands; national: apply it.")
    ],
    note: Annotated[str | None, typer.Option(help="Why (kept with the conflict).")] = None,
) -> None:
    """Resolve one conflict; prints it as JSON."""
    settings = get_settings()

    async def run() -> dict[str, Any]:
        async with database(settings) as db, db.unit_of_work() as session:
            from gateway.audit import record_change
            from gateway.principal import LOCAL_OPERATOR

            resolved = await conflicts.resolve(
                session, conflict_id, keep, resolved_by="local", note=note, today=date.today()
            )
            record_change(
                session,
                LOCAL_OPERATOR,
                action="sync resolve",
                subjects={"conflict": conflict_id, "keep": keep},
                request_id="cli",
            )
            return conflicts.describe(resolved)

    try:
        typer.echo(json.dumps(asyncio.run(run()), ensure_ascii=False))
    except LigError as error:
        raise fail_with(error) from None
