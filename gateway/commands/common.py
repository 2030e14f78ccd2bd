"""What every command shares: the stderr console, failing with an exit code, the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import typer
from rich.console import Console

from gateway.database import Database
from gateway.errors import InvalidInput, LigError
from gateway.settings import Settings

err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code)


def fail_with(error: LigError) -> typer.Exit:
    """Exit 2 for what the caller can fix (bad input, an unset figure, a conflict), else 1."""
    lines = (
        [f"{field}: {reason}" for field, reason in error.problems]
        if isinstance(error, InvalidInput)
        else [error.message]
    )
    for line in lines:
        err.print("[red]error:[/red] ", end="", highlight=False)
        err.out(line, highlight=False)
    return typer.Exit(2 if error.http_status < 500 else 1)


async def migrated(settings: Settings) -> Database:
    from gateway.migrate import upgrade

    db = Database(settings)
    await upgrade(db.engine)
    return db


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = await migrated(settings)
    try:
        yield db
    finally:
        await db.dispose()
