"""Pulling the agency feeds (issue 6) into monitoring events, through the push service.

A pull of one feed:
1. takes the feed's lease (`feed:<agency>`, leases.py): of several hosts running the schedule,
   one pulls and the others answer "skipped: another host is pulling this feed";
2. notes the run in the feed's checkpoint (`sync_checkpoints`, named like the lease);
3. reads from where the checkpoint stands: a paged feed page after page from its cursor
   (feed_pages.py), the education drop folder file after file (feed_drops.py). Each page or
   file is normalised (adapters/<agency>/feed.py), stored with `store_batch` as a FEED batch of
   the agency's events, and the checkpoint advanced, in ONE transaction: a crash keeps both or
   neither, so the next pull resumes right after the last stored page. A page read twice (an
   upstream that repeats itself) stores nothing twice: its revisions come back DUPLICATE;
4. records the outcome (`last_success_at`, or `last_error`) and one audit record.

`run_due` is the schedule: every configured feed whose interval has passed since its last run,
side by side, each under its lease and checked again once the lease is held, so that hosts
running the schedule together pull each feed once per interval.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.feeds import FEEDS, FeedDefinition
from adapters.http import UpstreamError, Upstreams
from gateway.audit import record_change
from gateway.database import Database, is_busy
from gateway.errors import InvalidInput
from gateway.models import SyncCheckpoint
from gateway.models.base import utcnow
from gateway.settings import Settings
from gateway.sync import Progress
from gateway.sync.feed_drops import pull_drops
from gateway.sync.feed_pages import pull_pages
from gateway.sync.feed_store import PullReport, checkpoint_name, principal
from gateway.sync.leases import Lease, LeaseHeld

log = logging.getLogger(__name__)

__all__ = ["FeedNotConfigured", "PullReport", "UnknownFeed", "pull", "run_due"]


class UnknownFeed(InvalidInput):
    def __init__(self, agency: str) -> None:
        super().__init__(
            "agency", f"no feed is defined for {agency!r}; the feeds are {', '.join(FEEDS)}"
        )


class FeedNotConfigured(InvalidInput):
    """The feed exists but this gateway was not told where: names the setting to set."""


def definition(agency: str) -> FeedDefinition:
    if agency not in FEEDS:
        raise UnknownFeed(agency)
    return FEEDS[agency]


def require_configured(settings: Settings, feed: FeedDefinition) -> None:
    if feed.kind == "drop-folder":
        folder = settings.feed_drop_folder
        if not folder:
            raise FeedNotConfigured(
                "LIG_FEED_DROP_FOLDER",
                f"the {feed.agency} feed reads files from a drop folder; set "
                "LIG_FEED_DROP_FOLDER to the folder the exchange platform writes to",
            )
        if not Path(folder).is_dir():
            raise FeedNotConfigured("LIG_FEED_DROP_FOLDER", f"{folder} is not a folder")
    elif feed.agency not in settings.feed_urls:
        raise FeedNotConfigured(
            "LIG_FEED_URLS",
            f"the {feed.agency} feed has no URL; set LIG_FEED_URLS, e.g. "
            f'\'{{"{feed.agency}": "https://feeds.example.gov.cn/yb"}}\' (and its key in '
            "LIG_FEED_API_KEYS)",
        )


def configured(settings: Settings) -> list[str]:
    """The feeds this gateway pulls: those with a URL, and education with a drop folder."""
    for agency in settings.feed_urls:
        if definition(agency).kind != "paged":
            raise FeedNotConfigured(
                "LIG_FEED_URLS", f"{agency} is not a paged feed (it reads LIG_FEED_DROP_FOLDER)"
            )
    return [
        agency
        for agency, feed in FEEDS.items()
        if (feed.kind == "paged" and agency in settings.feed_urls)
        or (feed.kind == "drop-folder" and settings.feed_drop_folder)
    ]


def interval(settings: Settings, agency: str) -> timedelta:
    """The time between two pulls of the feed."""
    seconds = settings.feed_intervals.get(agency, definition(agency).default_interval)
    return timedelta(seconds=seconds if seconds is not None else settings.feed_default_interval)


def lease_seconds(settings: Settings) -> float:
    """How long a lease lasts unrenewed: longer than the worst page (every attempt timing out,
    every backoff at its longest), so that it never lapses under a live pull; short enough that
    a crashed host's feed is taken up again within minutes."""
    attempt = settings.upstream_connect_timeout + settings.upstream_read_timeout
    worst_page = settings.upstream_attempts * (attempt + settings.upstream_backoff_max_seconds)
    return max(600.0, worst_page + 120.0)


async def pull(
    db: Database,
    settings: Settings,
    agency: str,
    *,
    today: date,
    now: datetime | None = None,
    not_run_since: datetime | None = None,
    progress: Progress | None = None,
    upstreams: Upstreams | None = None,
) -> PullReport:
    """Pull one feed from its checkpoint to its end (see the module's docstring).

    With `not_run_since`, the pull is skipped if the feed ran after that moment (checked under
    the lease: the schedule's guard against a host that pulled it in between). Raises
    UnknownFeed or FeedNotConfigured. An upstream that fails past its retries, a lost lease or
    a busy database make a "failed" report, kept in the checkpoint's `last_error`.
    """
    feed = definition(agency)
    require_configured(settings, feed)
    report = PullReport(agency)
    started = time.monotonic()
    lease = Lease(db.engine, checkpoint_name(agency), lease_seconds(settings))
    if not await lease.acquire():
        report.status, report.reason = "skipped", "another host is pulling this feed"
        return report
    request_id = f"feed-{uuid.uuid4().hex[:16]}"
    try:
        due, cursor = await _begin(db, agency, now or utcnow(), not_run_since, report)
        if not due:
            report.status, report.reason = "skipped", "not due: another host pulled it since"
            return report
        try:
            if feed.kind == "paged":
                await pull_pages(
                    db,
                    settings,
                    feed,
                    cursor,
                    today=today,
                    report=report,
                    lease=lease,
                    request_id=request_id,
                    progress=progress,
                    upstreams=upstreams,
                )
            else:
                await pull_drops(
                    db,
                    settings,
                    feed,
                    today=today,
                    report=report,
                    lease=lease,
                    request_id=request_id,
                    progress=progress,
                )
        except (UpstreamError, LeaseHeld) as error:
            report.status, report.reason = "failed", error.message
        except DBAPIError as error:
            if not is_busy(error):
                await _failed(db, report, request_id, started, error)
                raise
            report.status, report.reason = "failed", "the database is busy; the next run resumes"
        except Exception as error:
            await _failed(db, report, request_id, started, error)
            raise
        await _end(db, report, request_id, started)
        return report
    finally:
        await lease.release()


async def _begin(
    db: Database, agency: str, now: datetime, not_run_since: datetime | None, report: PullReport
) -> tuple[bool, str | None]:
    """Note the run in the checkpoint (made on the first run); answer whether the feed is
    still due, and its cursor."""
    async with db.unit_of_work() as session:
        checkpoint = await session.get(SyncCheckpoint, checkpoint_name(agency))
        if checkpoint is None:
            checkpoint = SyncCheckpoint(
                name=checkpoint_name(agency), cursor=None, position=0, totals={}
            )
            session.add(checkpoint)
        elif (
            not_run_since is not None
            and checkpoint.last_run_at is not None
            and checkpoint.last_run_at > not_run_since
        ):
            return False, None
        checkpoint.last_run_at = now
        checkpoint.updated_at = utcnow()
        report.position = checkpoint.position or 0
        return True, checkpoint.cursor


async def _failed(
    db: Database, report: PullReport, request_id: str, started: float, error: BaseException
) -> None:
    """A fault of ours or of the database: kept for `lig feeds status`, then raised."""
    report.status, report.reason = "failed", f"{type(error).__name__}: {error}"[:1000]
    try:
        await _end(db, report, request_id, started)
    except Exception:
        log.exception("could not record the failure of the %s pull", report.agency)


async def _end(db: Database, report: PullReport, request_id: str, started: float) -> None:
    """The pull's outcome in its checkpoint, and its audit record."""
    report.seconds = time.monotonic() - started
    async with db.unit_of_work() as session:
        await _outcome(session, report)
        record_change(
            session,
            principal(report.agency),
            action="feeds pull",
            subjects=report.as_json(),
            request_id=request_id,
            result_count=report.accepted,
        )


async def _outcome(session: AsyncSession, report: PullReport) -> None:
    checkpoint = await session.get(SyncCheckpoint, checkpoint_name(report.agency))
    if checkpoint is None:
        return
    if report.status == "ok":
        checkpoint.last_success_at = utcnow()
        checkpoint.last_error = None
    else:
        checkpoint.last_error = (report.reason or "failed")[:1000]
    checkpoint.updated_at = utcnow()


async def run_due(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    upstreams: Upstreams | None = None,
) -> list[PullReport]:
    """Pull, side by side, every configured feed whose interval has passed since its last run.
    A feed that fails does not stop the others: its report says why."""
    now = now or utcnow()
    agencies = configured(settings)
    last = await last_runs(db, agencies)
    due = [a for a in agencies if _due_in(last.get(a), interval(settings, a), now) <= 0]
    today = now.astimezone().date()  # the day where the gateway runs, as a push's today

    async def one(agency: str) -> PullReport:
        try:
            return await pull(
                db,
                settings,
                agency,
                today=today,
                now=now,
                not_run_since=now - interval(settings, agency),
                upstreams=upstreams,
            )
        except InvalidInput as error:
            return PullReport(agency, "failed", error.message)
        except Exception as error:
            log.exception("the %s pull failed", agency)
            return PullReport(agency, "failed", f"{type(error).__name__}: {error}")

    return list(await asyncio.gather(*(one(agency) for agency in due)))


def _due_in(last_run: datetime | None, every: timedelta, now: datetime) -> float:
    """Seconds until the feed is due (≤ 0: due now)."""
    return 0.0 if last_run is None else (last_run + every - now).total_seconds()


async def seconds_until_due(db: Database, settings: Settings, now: datetime) -> float:
    """How long the schedule may sleep before a feed is due (0 if one is already)."""
    agencies = configured(settings)
    if not agencies:
        return float(settings.feed_default_interval)
    last = await last_runs(db, agencies)
    return max(0.0, min(_due_in(last.get(a), interval(settings, a), now) for a in agencies))


async def last_runs(db: Database, agencies: Sequence[str]) -> dict[str, datetime | None]:
    names = {checkpoint_name(agency): agency for agency in agencies}
    async with db.reader.connect() as conn:
        found = await conn.execute(
            select(SyncCheckpoint.name, SyncCheckpoint.last_run_at).where(
                SyncCheckpoint.name.in_(names)
            )
        )
        rows = found.all()
    # The column's type makes the times timezone-aware on both engines.
    return {names[name]: last for name, last in rows}


async def checkpoints(db: Database) -> dict[str, SyncCheckpoint]:
    """The feeds' checkpoints by agency (those that have run at least once)."""
    async with AsyncSession(db.reader, expire_on_commit=False) as session:
        found = await session.scalars(
            select(SyncCheckpoint).where(SyncCheckpoint.name.in_(map(checkpoint_name, FEEDS)))
        )
        return {checkpoint.name.removeprefix("feed:"): checkpoint for checkpoint in found}
