"""`lig feeds pull|run|status`: the agency feeds the gateway pulls (gateway/sync/feeds.py)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from adapters.feeds import FEEDS
from adapters.http import Upstreams
from gateway.commands.common import database, err, fail, fail_with, stop_on_sigterm
from gateway.commands.progress import counting
from gateway.database import Database
from gateway.errors import LigError
from gateway.models.base import utcnow
from gateway.settings import Settings, get_settings
from gateway.sync.feeds import (
    PullReport,
    checkpoints,
    configured,
    definition,
    interval,
    pull,
    require_configured,
    run_due,
    seconds_until_due,
)

feeds_app = typer.Typer(
    help="Agency feeds the gateway pulls: medical security, public security, the disabled "
    "persons' federation, human resources (paged JSON) and education (CSV drop folder).",
    no_args_is_help=True,
)

# The schedule looks at the checkpoints at least this often, so that a changed interval or a
# feed pulled by hand is noticed without a restart.
MAX_SLEEP = 60.0


def _line(report: PullReport) -> None:
    typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
    sys.stdout.flush()  # one line per pull, as it happens, also into a pipe or a log


def _summary(report: PullReport) -> str:
    unit = "files" if FEEDS[report.agency].kind == "drop-folder" else "pages"
    count = report.files if unit == "files" else report.pages
    return (
        f"{report.agency}: {report.received} records from {count} {unit}: "
        f"{report.accepted} accepted, {report.duplicate} duplicate, {report.rejected} rejected "
        f"({report.seconds:.1f} s)"
    )


@feeds_app.command("pull")
def pull_command(
    agency: Annotated[str, typer.Argument(help="The feed: " + ", ".join(FEEDS) + ".")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of counts.")] = False,
) -> None:
    """Pull one feed now, from where its last pull ended.

    Exits 0 when done (or skipped because another host is pulling it), 1 when the upstream
    failed past its retries (what was stored stays stored; the next pull resumes), 2 for an
    unknown or unconfigured feed."""
    settings = get_settings()
    try:
        require_configured(settings, definition(agency))
    except LigError as error:
        raise fail_with(error) from None

    async def run() -> PullReport:
        async with database(settings) as db:
            with counting(f"pulling {agency}", enabled=not as_json) as counter:
                return await pull(db, settings, agency, today=date.today(), progress=counter)

    try:
        report = asyncio.run(run())
    except LigError as error:
        raise fail_with(error) from None
    if as_json:
        _line(report)
    elif report.status == "ok":
        typer.echo(_summary(report))
    if report.status == "skipped":
        err.print(f"{agency}: skipped ({report.reason})", highlight=False)
    elif report.status == "failed":
        stored = f" (stored before the failure: {_summary(report)})" if report.received else ""
        raise fail(f"{report.reason}{stored}", code=1)  # the reason names the feed


@feeds_app.command("run")
def run_command(
    once: Annotated[
        bool, typer.Option("--once", help="Pull what is due now, then exit (for cron).")
    ] = False,
) -> None:
    """Pull every configured feed at its interval, printing one JSON line per pull.

    Runs until interrupted (Ctrl-C, or SIGTERM, which lets the pulls under way finish). Safe on
    several hosts at once: each pull takes the feed's lease in the database, so each feed is
    pulled once per interval, by whichever host gets there first. With --once, pulls what is
    due and exits, 1 if a pull failed."""
    settings = get_settings()
    try:
        if not configured(settings):
            raise fail(
                "no feed is configured: set LIG_FEED_URLS (paged feeds) or "
                "LIG_FEED_DROP_FOLDER (education)"
            )
    except LigError as error:
        raise fail_with(error) from None
    try:
        failed = asyncio.run(_schedule(settings, once))
    except KeyboardInterrupt:
        err.print("stopped")
        return
    except LigError as error:
        raise fail_with(error) from None
    if once and failed:
        raise typer.Exit(1)


async def _schedule(settings: Settings, once: bool) -> bool:
    """Run the schedule; answer whether any pull failed."""
    # SIGTERM: finish the pulls under way (each page is its own transaction, and the leases
    # are released), then exit.
    stop = stop_on_sigterm()
    failed = False
    upstreams = Upstreams()  # one client per feed for the life of the schedule
    async with database(settings) as db:
        try:
            failed = await _rounds(db, settings, once, stop, upstreams)
        finally:
            await upstreams.aclose()
    return failed


async def _rounds(
    db: Database, settings: Settings, once: bool, stop: asyncio.Event, upstreams: Upstreams
) -> bool:
    """Pull what is due, sleep until the next feed is, and again, until stopped."""
    failed = False
    while not stop.is_set():
        for report in await run_due(db, settings, upstreams=upstreams):
            failed = failed or report.status == "failed"
            _line(report)
        if once:
            break
        wait = min(MAX_SLEEP, await seconds_until_due(db, settings, utcnow()))
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(1.0, wait))
        except TimeoutError:
            pass
    return failed


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


@feeds_app.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
) -> None:
    """Every feed's checkpoint: last run, last success, last error, totals.

    Also whether the feed is configured here and its interval."""
    settings = get_settings()

    async def run() -> list[dict[str, Any]]:
        async with database(settings) as db:
            found = await checkpoints(db)
        try:
            active = set(configured(settings))
        except LigError:
            active = set()
        rows = []
        for agency, feed in FEEDS.items():
            checkpoint = found.get(agency)
            rows.append(
                {
                    "agency": agency,
                    "kind": feed.kind,
                    "configured": agency in active,
                    "interval_seconds": int(interval(settings, agency).total_seconds()),
                    "last_run_at": _when(checkpoint.last_run_at if checkpoint else None),
                    "last_success_at": _when(checkpoint.last_success_at if checkpoint else None),
                    "last_error": checkpoint.last_error if checkpoint else None,
                    "position": checkpoint.position if checkpoint else 0,
                    "totals": dict(checkpoint.totals or {}) if checkpoint else {},
                }
            )
        return rows

    rows = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(
        Column("feed", no_wrap=True), "on", "every", "last run", "last success", "last error",
        Column("accepted / dup. / rej.", justify="right"),
    )  # fmt: skip
    for row in rows:
        totals = row["totals"]
        table.add_row(
            row["agency"],
            "yes" if row["configured"] else "no",
            f"{row['interval_seconds']} s",
            _short(row["last_run_at"]),
            _short(row["last_success_at"]),
            row["last_error"] or "",
            " / ".join(str(totals.get(k, 0)) for k in ("accepted", "duplicate", "rejected")),
        )
    err.print(table)


def _short(moment: str | None) -> str:
    """'2026-11-23T08:05:31+00:00' → '2026-11-23 08:05' (UTC), for the table."""
    return moment[:16].replace("T", " ") if moment else ""
