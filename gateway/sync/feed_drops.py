"""A drop-folder feed's pull (education): each complete file, oldest first, stored once.

For each `*.csv` in the folder (adapters/education/feed.py reads it):
- its SHA-256 names it. A file whose content is in `feed_files` already was stored before
  (perhaps under another name, or the host crashed between the commit and the move): it is only
  archived;
- otherwise its rows are streamed through `store_batch` (one FEED batch, memory bounded by a
  chunk), and its `feed_files` row (counts, the first problems with their line numbers, the
  receipt) and the checkpoint are written, all in ONE transaction;
- after the commit, the file moves to `<folder>/archive/<YYYY-MM-DD>/`. A crash before the move
  leaves a file whose hash is known: the next pull archives it and stores nothing.
A file without a usable header is recorded as bad (with the reason) and archived; its rows are
not guessed at.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.education.feed import COLUMN_OF, BadFile, EnrolmentFile, archive, pending, sha256
from adapters.feeds import FeedDefinition
from gateway.database import Database
from gateway.domain.enums import PushOutcome
from gateway.models import FeedFile, PushReceiptItem
from gateway.models.base import utcnow
from gateway.pushes.ingest import Tally
from gateway.settings import Settings
from gateway.sync import Progress
from gateway.sync.feed_store import PullReport, advance, store
from gateway.sync.leases import Lease

# How many problems a file's record lists (its `rejected` count is always complete).
MAX_PROBLEMS = 100


async def pull_drops(
    db: Database,
    settings: Settings,
    feed: FeedDefinition,
    *,
    today: date,
    report: PullReport,
    lease: Lease,
    request_id: str,
    progress: Progress | None,
) -> None:
    assert settings.feed_drop_folder is not None  # checked before the pull (feeds.py)
    folder = Path(settings.feed_drop_folder)
    for path in pending(folder):
        try:
            digest = sha256(path)
        except FileNotFoundError:
            continue  # taken away since the listing
        if await _seen(db, feed.agency, digest):
            archive(folder, path, today)
            report.files_seen += 1
            continue
        try:
            rows = await _store_file(db, settings, feed, path, digest, today, report, request_id)
        except _Replaced:
            continue  # another file took this name since it was hashed: the next pull reads it
        archive(folder, path, today)  # after the commit: see the module's docstring
        await lease.renew()
        if progress is not None:
            progress(rows, None)


class _Replaced(Exception):
    """The file under this name is not the one hashed a moment ago."""


async def _seen(db: Database, agency: str, digest: str) -> bool:
    async with db.reader.connect() as conn:
        found = await conn.scalar(
            select(FeedFile.sha256).where(FeedFile.feed == agency, FeedFile.sha256 == digest)
        )
    return found is not None


async def _store_file(
    db: Database,
    settings: Settings,
    feed: FeedDefinition,
    path: Path,
    digest: str,
    today: date,
    report: PullReport,
    request_id: str,
) -> int:
    """Store one file's rows with its record; answer how many rows it had."""
    record = FeedFile(feed=feed.agency, sha256=digest, name=path.name[:255], processed_at=utcnow())
    tally = Tally()
    try:
        with EnrolmentFile(path) as rows:
            if rows.digest != digest:
                raise _Replaced(path.name)
            async with db.unit_of_work() as session:
                stored = await store(
                    session, settings, feed.agency, rows.items(), request_id=request_id, today=today
                )
                tally = stored.tally
                record.receipt_id = stored.receipt_id
                record.problems = await _problems(session, stored.receipt_id, rows.lines)
                _count(record, tally)
                session.add(record)
                report.position = await advance(
                    session,
                    feed.agency,
                    expected_cursor=None,
                    cursor=None,
                    records=tally.received,
                    tally=tally,
                    files=1,
                )
    except BadFile as error:
        async with db.unit_of_work() as session:
            record.problems = [{"line": 1, "reason": str(error)}]
            _count(record, tally)
            session.add(record)
            await advance(
                session,
                feed.agency,
                expected_cursor=None,
                cursor=None,
                records=0,
                tally=tally,
                bad_files=1,
            )
        report.bad_files += 1
        return 0
    report.add(tally)
    report.files += 1
    return tally.received


def _count(record: FeedFile, tally: Tally) -> None:
    record.rows = tally.received
    record.accepted = tally.accepted
    record.duplicate = tally.duplicate
    record.rejected = tally.rejected
    if record.problems is None:
        record.problems = []


async def _problems(
    session: AsyncSession, receipt_id: str, lines: Sequence[int]
) -> list[dict[str, Any]]:
    """The first rejected rows' problems, each with the line its row began on and, where it
    names one, the bureau's column."""
    found = await session.execute(
        select(PushReceiptItem.item_index, PushReceiptItem.item_key, PushReceiptItem.errors)
        .where(
            PushReceiptItem.receipt_id == receipt_id,
            PushReceiptItem.outcome == PushOutcome.REJECTED,
        )
        .order_by(PushReceiptItem.item_index)
        .limit(MAX_PROBLEMS)
    )
    problems: list[dict[str, Any]] = []
    for index, key, errors in found:
        for error in errors or [{"field": "item", "reason": "rejected"}]:
            problem: dict[str, Any] = {"line": lines[index]}
            if key is not None:
                problem["record"] = key
            if error["field"] in COLUMN_OF:
                problem["column"] = COLUMN_OF[error["field"]]
            problem["reason"] = error["reason"]
            problems.append(problem)
    return problems[:MAX_PROBLEMS]
