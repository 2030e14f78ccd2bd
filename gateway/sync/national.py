"""`lig sync national`: pull the national change stream from the checkpoint, page by page.

Each page is applied and the checkpoint advanced in one transaction, so after a crash the rerun
starts at the first page not committed: nothing is lost and nothing applied twice (and a page
that is applied twice anyway changes nothing, see apply.py). One run at a time: the run holds
the `sync:national` lease, and each page checks that the checkpoint is where the run left it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from adapters.http import UpstreamError
from adapters.national.client import NationalClient
from adapters.national.wire import ChangesPage
from gateway.audit import record_change
from gateway.database import Database
from gateway.errors import Conflict, LigError
from gateway.models import SyncCheckpoint
from gateway.models.base import utcnow
from gateway.principal import LOCAL_OPERATOR
from gateway.pushes.matching import match_waiting
from gateway.sync import Progress
from gateway.sync.apply import Counts, PageRefused, apply_page
from gateway.sync.leases import Lease, LeaseHeld

CHECKPOINT = "national"
LEASE_SECONDS = 600.0
# A page may legitimately come again once (a repeated answer); this many in a row is a loop.
MAX_PAGES_WITHOUT_PROGRESS = 5


@dataclass
class SyncReport:
    counts: Counts = field(default_factory=Counts)
    pages: int = 0
    changes: int = 0
    position: int = 0
    matched: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "changes": self.changes,
            **self.counts.as_dict(),
            "position": self.position,
            "matched": self.matched,
            "seconds": round(self.seconds, 3),
            "changes_per_second": round(self.changes / self.seconds, 1) if self.seconds else 0.0,
            "requests": self.attempts,
        }


async def _checkpoint(db: Database) -> tuple[str | None, int]:
    async with db.unit_of_work() as session:
        found = await session.get(SyncCheckpoint, CHECKPOINT)
        if found is None:
            session.add(
                SyncCheckpoint(name=CHECKPOINT, position=0, totals={}, last_run_at=utcnow())
            )
            return None, 0
        found.last_run_at = utcnow()
        return found.cursor, found.position


async def sync_national(
    db: Database,
    client: NationalClient,
    *,
    page_size: int,
    today: date,
    progress: Progress | None = None,
) -> SyncReport:
    """Pull and apply every change after the checkpoint; answer what was done."""
    lease = Lease(db.engine, "sync:national", LEASE_SECONDS)
    if not await lease.acquire():
        raise LeaseHeld("another `lig sync national` is running; try again when it ends")
    started = time.monotonic()
    attempts_before = client.upstream.attempts_made
    report = SyncReport()
    fetching: asyncio.Task[ChangesPage] | None = None
    try:
        cursor, position = await _checkpoint(db)
        report.position = position
        stuck = 0
        fetching = asyncio.ensure_future(client.changes(cursor, page_size))
        while fetching is not None:
            try:
                page = await fetching
            except (LigError, ValidationError) as error:
                await _failed(db, str(error))
                raise
            # The next page is on its way while this one is applied: the upstream's time and
            # ours overlap (the page is not applied before this one has committed).
            fetching = (
                asyncio.ensure_future(client.changes(page.next_cursor, page_size))
                if page.has_more
                else None
            )
            try:
                counts, highest = await _apply(db, page.changes, page.next_cursor, position, today)
            except PageRefused as error:
                await _failed(db, error.message)
                raise
            except Exception as error:
                await _failed(db, f"{type(error).__name__} while applying a page")
                raise
            stuck = stuck + 1 if (page.next_cursor == cursor and highest == position) else 0
            if stuck >= MAX_PAGES_WITHOUT_PROGRESS and page.has_more:
                message = (
                    f"the national system served {stuck} pages in a row without moving on "
                    f"(cursor {cursor!r}); stopped, nothing is lost — run again later"
                )
                await _failed(db, message)
                raise UpstreamError("national system", message)
            report.pages += 1
            report.changes += len(page.changes)
            report.counts.add(counts)
            cursor, position = page.next_cursor, highest
            report.position = position
            if progress is not None:
                progress(len(page.changes), page.remaining)
            await lease.renew()
        async with db.unit_of_work() as session:
            # People who arrived may be the ones earlier pushes and feeds were waiting for.
            report.matched = await match_waiting(session)
            record_change(
                session,
                LOCAL_OPERATOR,
                action="sync national",
                subjects={"position": report.position, **report.counts.as_dict()},
                request_id="cli",
                result_count=report.counts.applied,
            )
    finally:
        if fetching is not None and not fetching.done():
            fetching.cancel()
            with contextlib.suppress(BaseException):
                await fetching
        report.seconds = time.monotonic() - started
        report.attempts = client.upstream.attempts_made - attempts_before
        await lease.release()
    return report


async def _apply(
    db: Database, changes: list[dict[str, Any]], next_cursor: str, position: int, today: date
) -> tuple[Counts, int]:
    """One page and the checkpoint after it, in one transaction."""
    async with db.unit_of_work() as session:
        checkpoint = await session.scalar(
            select(SyncCheckpoint).where(SyncCheckpoint.name == CHECKPOINT).with_for_update()
        )
        if checkpoint is None or checkpoint.position != position:
            raise Conflict(
                "the national checkpoint moved under this run (another sync ran); "
                "nothing of this page was applied — run again"
            )
        counts, highest = await apply_page(session, changes, position, today)
        totals = dict(checkpoint.totals or {})
        for name, value in counts.as_dict().items():
            totals[name] = totals.get(name, 0) + value
        checkpoint.totals = totals
        checkpoint.cursor = next_cursor
        checkpoint.position = highest
        checkpoint.last_success_at = checkpoint.updated_at = utcnow()
        checkpoint.last_error = None
    return counts, highest


async def _failed(db: Database, message: str) -> None:
    async with db.unit_of_work() as session:
        checkpoint = await session.get(SyncCheckpoint, CHECKPOINT)
        if checkpoint is not None:
            checkpoint.last_error = message[:1000]
