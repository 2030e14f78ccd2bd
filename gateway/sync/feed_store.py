"""What every feed pull does with what it read: normalise it, store it through the push service
as the agency's own batch, and move the feed's checkpoint, in the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.convert import Item
from adapters.feeds import FEEDS, FeedDefinition
from gateway.domain.enums import PushKind, PushTransport
from gateway.models import SyncCheckpoint
from gateway.models.base import utcnow
from gateway.principal import Principal
from gateway.pushes.ingest import Batch, Stored, Tally, Unreadable, store_batch
from gateway.settings import Settings
from gateway.sync.leases import LeaseHeld

log = logging.getLogger(__name__)

# Called after each stored page or file with the records in it, and None (a feed does not say
# how many remain): the shape of the national sync's progress, so one progress bar serves both.
Status = Literal["ok", "failed", "skipped"]


@dataclass
class PullReport:
    agency: str
    status: Status = "ok"
    reason: str | None = None  # why it was skipped, or what failed
    pages: int = 0
    files: int = 0  # drop folder: files stored
    files_seen: int = 0  # drop folder: files stored before (same content), only archived
    bad_files: int = 0  # drop folder: files without a usable header
    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    position: int = 0  # records read from the feed since it began (the checkpoint's)
    seconds: float = 0.0

    def add(self, tally: Tally) -> None:
        self.received += tally.received
        self.accepted += tally.accepted
        self.duplicate += tally.duplicate
        self.rejected += tally.rejected

    def as_json(self) -> dict[str, Any]:
        feed = FEEDS.get(self.agency)
        counts: dict[str, Any] = {"agency": self.agency, "status": self.status}
        if self.reason is not None:
            counts["reason"] = self.reason
        if feed is not None and feed.kind == "drop-folder":
            counts |= {"files": self.files, "files_seen": self.files_seen}
            counts["bad_files"] = self.bad_files
        else:
            counts["pages"] = self.pages
        counts |= {
            "received": self.received,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "position": self.position,
            "seconds": round(self.seconds, 3),
        }
        return counts


def checkpoint_name(agency: str) -> str:
    """The feed's checkpoint, and its lease."""
    return f"feed:{agency}"


def principal(agency: str) -> Principal:
    """Who a pulled batch is from: the agency itself, as if it had pushed it."""
    return Principal(client_id=f"feed:{agency}", agency=agency, scopes=frozenset({"feed:push"}))


def normalised(feed: FeedDefinition, record: Any) -> Item:
    """The record's item. A record that trips the normaliser itself is rejected with the reason
    rather than allowed to stop the feed (it would stop it at the same cursor on every run)."""
    try:
        return feed.normalise(record)
    except Exception as error:
        log.exception("the %s normaliser failed on a record", feed.agency)
        return Unreadable(f"could not be read ({type(error).__name__}: {error})")


async def store(
    session: AsyncSession,
    settings: Settings,
    agency: str,
    items: Iterable[Item],
    *,
    request_id: str,
    today: date,
) -> Stored:
    """The items as one FEED batch of the agency's events, in the caller's transaction. No
    idempotency key: the checkpoint, committed with the batch, is what keeps a pull from storing
    a page twice, and the records' own ids and revisions make a page read twice DUPLICATE."""
    return await store_batch(
        session,
        principal(agency),
        Batch(kind=PushKind.EVENTS, transport=PushTransport.FEED),
        items,
        request_id=request_id,
        today=today,
        chunk_size=settings.push_chunk_size,
        turn_wait_seconds=settings.push_turn_wait_seconds,
    )


async def advance(
    session: AsyncSession,
    agency: str,
    *,
    expected_cursor: str | None,
    cursor: str | None,
    records: int,
    tally: Tally,
    **counts: int,
) -> int:
    """Move the checkpoint past what the caller's transaction stores; answer its position.

    Raises LeaseHeld if the checkpoint is not where this pull left it: another host took the
    feed over (our lease lapsed), and this transaction must not commit over its progress."""
    name = checkpoint_name(agency)
    checkpoint = await session.get(SyncCheckpoint, name)
    if checkpoint is None or checkpoint.cursor != expected_cursor:
        raise LeaseHeld(f"{name}: another host moved the checkpoint; this pull stops")
    totals = dict(checkpoint.totals or {})
    added = {
        "received": tally.received,
        "accepted": tally.accepted,
        "duplicate": tally.duplicate,
        "rejected": tally.rejected,
        **counts,
    }
    for key, value in added.items():
        totals[key] = totals.get(key, 0) + value
    checkpoint.totals = totals
    checkpoint.cursor = cursor
    checkpoint.position = (checkpoint.position or 0) + records
    checkpoint.updated_at = utcnow()
    return checkpoint.position
