"""The `lig` command line. Each command owns its unit of work and commits at its end."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from auth.clients import DemoClient
from gateway.commands.assess import assess
from gateway.commands.audit import audit_app
from gateway.commands.calendar import calendar_app
from gateway.commands.clients import clients_app
from gateway.commands.common import err, fail
from gateway.commands.compare import compare
from gateway.commands.documents import documents_app
from gateway.commands.export import export_app
from gateway.commands.feeds import feeds_app
from gateway.commands.keys import keys_app
from gateway.commands.pushes import pushes_app
from gateway.commands.review import review
from gateway.commands.sample import sample
from gateway.commands.simulate import simulate
from gateway.commands.standards import standards_app
from gateway.commands.sync import sync_app
from gateway.commands.users import users_app
from gateway.commands.webhooks import webhooks_app
from gateway.database import Database
from gateway.errors import LigError
from gateway.jobs import JobsProcess
from gateway.settings import Settings, get_settings

app = typer.Typer(
    help="lig: the low-income population sharing gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
demo_app = typer.Typer(help="The synthetic demo data set.", no_args_is_help=True)
schema_app = typer.Typer(
    help="The exported contracts (schema.graphql, openapi.yaml).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(schema_app, name="schema")
app.add_typer(standards_app, name="standards")
app.add_typer(clients_app, name="clients")
app.add_typer(documents_app, name="documents")
app.add_typer(users_app, name="users")
app.add_typer(calendar_app, name="calendar")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(pushes_app, name="pushes")
app.add_typer(feeds_app, name="feeds")
app.add_typer(sync_app, name="sync")
app.add_typer(export_app, name="export")
app.add_typer(webhooks_app, name="webhooks")
app.command()(assess)
app.command()(review)
app.command()(sample)
app.command()(compare)
app.command()(simulate)


async def _upgrade(settings: Settings) -> None:
    from gateway.migrate import upgrade

    db = Database(settings)
    try:
        await upgrade(db.engine)
    finally:
        await db.dispose()


async def _load_demo(
    settings: Settings, households: int, seed: int, only_if_empty: bool
) -> dict[str, int] | None:
    from sqlalchemy import func, select

    from gateway.demo import loader
    from gateway.models import Household

    db = Database(settings)
    try:
        async with db.engine.begin() as conn:
            if only_if_empty:
                count = (
                    await conn.execute(select(func.count()).select_from(Household))
                ).scalar_one()
                if count:
                    return None
            with Progress(
                TextColumn("loading demo households"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=not err.is_terminal,
            ) as bar:
                task = bar.add_task("load", total=households)
                report = await loader.load(
                    conn, households, seed, progress=lambda n: bar.advance(task, n)
                )
        # The warnings of the demo county are what the comparison rules find in it.
        report.rows["warnings"] = await loader.compare(db)
        return report.rows
    finally:
        await db.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the Alembic migrations on the configured database (LIG_DATABASE_URL)."""
    asyncio.run(_upgrade(get_settings()))
    err.print("database is at the latest revision")


@demo_app.command("load")
def demo_load(
    households: Annotated[
        int, typer.Option(min=1, max=5_000_000, help="How many households (default: Qidong-sized).")
    ] = 12_000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same data.")] = 2021,
) -> None:
    """Load a deterministic synthetic county into an empty database."""
    settings = get_settings()
    asyncio.run(_upgrade(settings))
    try:
        rows = asyncio.run(_load_demo(settings, households, seed, only_if_empty=False))
    except LigError as exc:
        raise fail(exc.message) from None
    typer.echo(json.dumps({"loaded": rows}, ensure_ascii=False))


async def _serve_setup(
    settings: Settings, demo: bool
) -> tuple[str | None, list[DemoClient], list[tuple[str, str, str]]]:
    """Put the signing key in place (saying so when one was generated), the demo clients and
    the demo console accounts."""
    from auth.clients import ensure_demo_clients
    from auth.keys import KeyRing
    from auth.users import ensure_demo_users

    db = Database(settings)
    try:
        message = await KeyRing(db, settings).prepare()
        clients: list[DemoClient] = []
        people: list[tuple[str, str, str]] = []
        if demo:
            async with db.unit_of_work() as session:
                clients = await ensure_demo_clients(session)
                people = await ensure_demo_users(session)
        return message, clients, people
    finally:
        await db.dispose()


def _print_demo_users(people: list[tuple[str, str, str]], host: str, port: int) -> None:
    from rich.table import Table

    table = Table("username", "role", "password", title="demo console accounts")
    for username, role, password in people:
        table.add_row(username, role, password)
    err.print(table)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    err.print(f"the console: http://{shown}:{port}/console/", highlight=False)


def _print_demo_clients(clients: list[DemoClient], host: str, port: int) -> None:
    from rich.console import Console
    from rich.table import Column, Table

    table = Table(
        Column("profile", no_wrap=True),
        Column("client_id", no_wrap=True),
        Column("client_secret", no_wrap=True),
        title="demo clients",
    )
    for client in clients:
        table.add_row(client.profile, client.client_id, client.client_secret)
    # Never cut a secret short: print as wide as the table needs (a narrow terminal wraps lines;
    # rich would otherwise truncate to the console's width, 80 when stderr is not a terminal).
    needed = err.measure(table, options=err.options.update_width(1000)).maximum
    Console(stderr=True, width=max(err.width, needed)).print(table)
    # A wildcard bind address is no address to send a request to.
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    err.print("get a token (client credentials):", highlight=False)
    err.out(
        f"  curl -u ID:SECRET -d grant_type=client_credentials http://{shown}:{port}/oauth/token",
        highlight=False,
    )
    err.print("then send it as `Authorization: Bearer <access_token>`", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Load demo data if the database is empty; print demo client secrets."
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes sharing the port (about one per core; they coordinate "
            "through the database, docs/deployment.md).",
        ),
    ] = 1,
) -> None:
    """Serve the gateway (migrating the database first)."""
    import uvicorn

    from auth.keys import KeyFileError
    from gateway.app import create_app

    settings = get_settings()
    asyncio.run(_upgrade(settings))
    if demo:
        rows = asyncio.run(_load_demo(settings, 12_000, 2021, only_if_empty=True))
        if rows is None:
            err.print("demo: the database already holds data; nothing loaded")
        else:
            err.print(
                f"demo: loaded {rows.get('households', 0)} households and "
                f"{rows.get('persons', 0)} people"
            )
    try:
        message, clients, people = asyncio.run(_serve_setup(settings, demo))
        asgi = create_app(settings, serving=True)
    except KeyFileError as error:
        raise fail(str(error)) from None
    if message:
        err.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)
    if clients:
        _print_demo_clients(clients, host, port)
    if people:
        _print_demo_users(people, host, port)
    if workers > 1:
        # Each worker builds its own app (and its pools) from the same settings; uvicorn needs
        # an import string to start them. The app made above only checked that it can be made.
        # The background jobs run in one process beside the workers, not on their event loops.
        del asgi
        # This process only supervises: its own lines (the jobs' process) in uvicorn's style.
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
        background = JobsProcess()
        background.start()
        try:
            uvicorn.run(
                "gateway.app:worker_app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="info",
                proxy_headers=False,
                server_header=False,
            )
        finally:
            background.stop()
        return
    uvicorn.run(
        asgi,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        server_header=False,
    )


@schema_app.command("export")
def schema_export(
    check: Annotated[
        bool, typer.Option("--check", help="Fail if the files differ instead.")
    ] = False,
) -> None:
    """Write schema/schema.graphql, openapi/openapi.yaml and openapi/national-system.yaml
    from the code."""
    from adapters.national.openapi import NATIONAL_OPENAPI_PATH, national_openapi_yaml
    from gateway.app import routes
    from gateway.http.openapi import OPENAPI_PATH, openapi_yaml
    from schema.build import SDL_PATH, sdl

    outputs: list[tuple[Path, str]] = [
        (SDL_PATH, sdl()),
        (OPENAPI_PATH, openapi_yaml(routes())),
        (NATIONAL_OPENAPI_PATH, national_openapi_yaml()),
    ]
    stale = []
    for path, content in outputs:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != content:
            stale.append(str(path))
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
    if check and stale:
        raise fail("out of date (run `lig schema export`): " + ", ".join(stale), code=1)
    err.print("written: " + ", ".join(stale) if stale else "up to date")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
