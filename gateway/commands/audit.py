"""`lig audit seal|verify`: the audit trail's hash chain."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.sealer import VerifyReport, seal_pending, verify
from gateway.commands.common import database, err, fail
from gateway.database import Database
from gateway.settings import get_settings

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)

# An unsealed event older than this suggests that no sealer is running.
_STALE_SECONDS = 60.0


@audit_app.command("seal")
def seal_command() -> None:
    """Hash-chain the events not sealed yet (the gateway also does this every few seconds)."""

    async def run() -> int:
        async with database(get_settings()) as db:
            return await seal_pending(db)

    try:
        sealed = asyncio.run(run())
    except SQLAlchemyError as error:
        raise fail(f"cannot seal the audit trail: {error}", code=1) from None
    typer.echo(f"sealed {sealed} audit event(s)")


@audit_app.command("verify")
def verify_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
) -> None:
    """Check that no audit event was edited or deleted since sealing (reads only).

    Exits 0 when the chain is intact, 1 when a problem is found (one line per problem, naming
    the event), 2 when the database cannot be read.
    """

    async def run() -> VerifyReport:
        # No migration here: verifying must not write to the database it checks.
        db = Database(get_settings())
        try:
            return await verify(db)
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except SQLAlchemyError as error:
        raise fail(f"cannot read the audit trail: {error}", code=2) from None
    if as_json:
        typer.echo(json.dumps(_report_json(report), ensure_ascii=False))
    elif report.intact:
        typer.echo(
            f"audit chain intact: {report.sealed} events sealed, "
            f"{report.awaiting_seal} awaiting seal"
        )
        if report.head_seq is not None:
            # Kept elsewhere, the head also detects a rewrite of the whole tail and its seals.
            err.print(f"chain head: seq {report.head_seq}, hash {report.head_hash}")
    else:
        for problem in report.problems:
            typer.echo(problem.message)
    age = report.oldest_unsealed_age
    if age is not None and age.total_seconds() > _STALE_SECONDS and not as_json:
        err.print(
            f"[yellow]warning:[/yellow] the oldest unsealed event has waited "
            f"{age.total_seconds():.0f} s; is a sealer running? (`lig audit seal`)"
        )
    if not report.intact:
        if not as_json:
            err.print(
                f"[red]audit chain broken:[/red] {len(report.problems)} problem(s) in "
                f"{report.sealed} sealed events"
            )
        raise typer.Exit(1)


def _report_json(report: VerifyReport) -> dict[str, Any]:
    age = report.oldest_unsealed_age
    return {
        "intact": report.intact,
        "sealed": report.sealed,
        "awaiting_seal": report.awaiting_seal,
        "oldest_unsealed_at": (
            report.oldest_unsealed_at.isoformat() if report.oldest_unsealed_at else None
        ),
        "oldest_unsealed_age_seconds": age.total_seconds() if age is not None else None,
        "head": (
            {"seq": report.head_seq, "hash": report.head_hash}
            if report.head_seq is not None
            else None
        ),
        "problems": [
            {
                "kind": p.kind.value,
                "event_id": p.event_id,
                "seq": p.seq,
                "message": p.message,
            }
            for p in report.problems
        ],
    }
