"""`lig webhooks run|new-key|rekey`: delivering warning notices to the agencies' webhooks."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from sqlalchemy import select

from gateway.commands.common import database, err, fail, stop_on_sigterm
from gateway.models import WebhookEndpoint
from gateway.settings import Settings, get_settings
from gateway.webhooks import secrets
from gateway.webhooks.sender import RoundReport, Sender, run_sender

webhooks_app = typer.Typer(
    help="Webhooks: warning notices POSTed, signed, to the agencies' endpoints.",
    no_args_is_help=True,
)


@webhooks_app.command("run")
def run_command(
    once: Annotated[
        bool,
        typer.Option("--once", help="Send what is due now (until the queue is empty), then exit."),
    ] = False,
) -> None:
    """Send due webhook deliveries, every LIG_WEBHOOK_POLL_SECONDS, until interrupted.

    `lig serve` does this too (unless LIG_WEBHOOK_POLL_SECONDS=0); any number of processes may
    run at once, each claiming its own share of the queue. With --once, prints one JSON object
    of counts and exits 0 (1 if a round failed)."""
    settings = get_settings()
    try:
        secrets.check_key(settings)  # without it no secret can be read, no POST signed
    except secrets.SecretKeyMissing as error:
        raise fail(error.message) from None
    try:
        if once:
            report = asyncio.run(_once(settings))
            typer.echo(json.dumps(report.as_json()))
            if report.errors:
                raise typer.Exit(1)
            return
        asyncio.run(_forever(settings))
    except KeyboardInterrupt:
        err.print("stopped")


async def _once(settings: Settings) -> RoundReport:
    async with database(settings) as db:
        sender = Sender(db, settings)
        try:
            return await sender.drain()
        finally:
            await sender.aclose()


async def _forever(settings: Settings) -> None:
    # SIGTERM: the POSTs under way finish and are recorded, then the sender exits.
    stop = stop_on_sigterm()
    poll = settings.webhook_poll_seconds or 2.0
    async with database(settings) as db:
        await run_sender(db, settings.model_copy(update={"webhook_poll_seconds": poll}), stop)


@webhooks_app.command("new-key")
def new_key_command() -> None:
    """Print a new key for LIG_WEBHOOK_SECRET_KEY (a Fernet key). Keep it out of the database
    and its backups; every gateway process needs the same one."""
    typer.echo(secrets.new_key())
    sys.stdout.flush()


@webhooks_app.command("rekey")
def rekey_command() -> None:
    """Re-encrypt every webhook secret under LIG_WEBHOOK_SECRET_KEY (after moving the old key
    to LIG_WEBHOOK_PREVIOUS_SECRET_KEYS); then the old key can be dropped."""
    settings = get_settings()

    async def run() -> int:
        async with database(settings) as db, db.unit_of_work() as session:
            endpoints = list(await session.scalars(select(WebhookEndpoint).with_for_update()))
            for endpoint in endpoints:
                endpoint.secret = secrets.reseal(settings, endpoint.secret)
            return len(endpoints)

    try:
        secrets.check_key(settings)
        count = asyncio.run(run())
    except secrets.SecretKeyMissing as error:
        raise fail(error.message) from None
    except secrets.SecretUnreadable as error:
        raise fail(f"nothing changed: {error}", code=1) from None
    typer.echo(f"re-encrypted {count} webhook secret(s)")
