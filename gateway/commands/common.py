"""What every command shares: the stderr console, failing with an exit code, the database, and
stopping a long-running command cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.database import Database
from gateway.errors import InvalidInput, LigError
from gateway.settings import Settings, get_settings

err = Console(stderr=True)
log = logging.getLogger("lig.commands")


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


T = TypeVar("T")


def in_unit_of_work(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one unit of work on the configured database; a LigError exits 2 (nothing
    is stored) with its message."""

    async def run() -> T:
        async with database(get_settings()) as db, db.unit_of_work() as session:
            return await work(session)

    try:
        return asyncio.run(run())
    except LigError as error:
        raise fail_with(error) from None


def stop_on_sigterm() -> asyncio.Event:
    """An event set when the process gets SIGTERM (a service manager stopping it), so a
    long-running command can finish the work under way and exit cleanly.

    Call it from the running event loop. Where the loop cannot handle signals (a platform
    without them, a thread other than the main one), SIGTERM keeps its default: the process
    ends at once, which loses nothing either, since every page and attempt commits on its own.
    """
    stop = asyncio.Event()
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    except (NotImplementedError, RuntimeError) as error:
        log.info("SIGTERM will end the process at once (%s)", error or type(error).__name__)
    return stop
