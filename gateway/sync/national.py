"""`lig sync national`: pull the national change stream from the checkpoint, page by page.

Each page is applied and the checkpoint advanced in one transaction, so after a crash the rerun
starts at the first page not committed: nothing is lost and nothing applied twice (and a page
that is applied twice anyway changes nothing, see apply.py). One run at a time: the run holds
the `national` lease, and each page checks that the checkpoint is where the run left it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from adapters.national.client import NationalClient
from gateway.audit import record_change
from gateway.database import Database
from gateway.errors import Conflict
from gateway.models import SyncCheckpoint
from gateway.models.base import utcnow
from gateway.principal import LOCAL_OPERATOR
from gateway.pushes.matching import match_waiting
from gateway.sync.apply import Counts, apply_page
from gateway.sync.leases import Lease, LeaseHeld

CHECKPOINT = "national"
LEASE_SECONDS = 600.0


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


# Called after each page with the changes in it and the changes still to come (if known).
Progress = Callable[[int, int | None], None]


async def _checkpoint(db: Database) -> tuple[str | None, int]:
    async with db.unit_of_work() as session:
        found = await session.get(SyncCheckpoint, CHECKPOINT)
        if found is None:
            session.add(SyncCheckpoint(name=CHECKPOINT, position=0, totals={}))
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
    max_pages: int | None = None,
) -> SyncReport:
    """Pull and apply every change after the checkpoint; answer what was done."""
    lease = Lease(db.engine, "sync:national", LEASE_SECONDS)
    if not await lease.acquire():
        raise LeaseHeld("another `lig sync national` is running; try again when it ends")
    started = time.monotonic()
    attempts_before = client.upstream.attempts_made
    report = SyncReport()
    try:
        cursor, position = await _checkpoint(db)
        report.position = position
        while max_pages is None or report.pages < max_pages:
            try:
                page = await client.changes(cursor, page_size)
            except Exception as error:
                await _failed(db, str(error))
                raise
            async with db.unit_of_work() as session:
                checkpoint = await session.scalar(
                    select(SyncCheckpoint)
                    .where(SyncCheckpoint.name == CHECKPOINT)
                    .with_for_update()
                )
                if checkpoint is None or checkpoint.position != position:
                    raise Conflict(
                        "the national checkpoint moved under this run (another sync ran); "
                        "nothing of this page was applied — run again"
                    )
                counts, highest = await apply_page(session, page.changes, position, today)
                totals = dict(checkpoint.totals or {})
                for name, value in counts.as_dict().items():
                    totals[name] = totals.get(name, 0) + value
                checkpoint.totals = totals
                checkpoint.cursor = page.next_cursor
                checkpoint.position = highest
                checkpoint.last_success_at = utcnow()
                checkpoint.last_error = None
                checkpoint.updated_at = utcnow()
            report.pages += 1
            report.changes += len(page.changes)
            report.counts.add(counts)
            cursor, position = page.next_cursor, highest
            report.position = position
            if progress is not None:
                progress(len(page.changes), page.remaining)
            await lease.renew()
            if not page.has_more:
                break
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
        report.seconds = time.monotonic() - started
        report.attempts = client.upstream.attempts_made - attempts_before
        await lease.release()
    return report


async def _failed(db: Database, message: str) -> None:
    async with db.unit_of_work() as session:
        checkpoint = await session.get(SyncCheckpoint, CHECKPOINT)
        if checkpoint is not None:
            checkpoint.last_error = message[:1000]
