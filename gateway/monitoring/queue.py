"""The households waiting for an incremental comparison.

Whatever changes a household's data (a push, a feed, a sync, a visit) queues it in the same
transaction, so a crash loses nothing; the comparison drains the queue in its own transactions.
A household is queued once however many changes it had.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ComparisonQueue
from gateway.models.base import utcnow


async def enqueue(session: AsyncSession, household_ids: Iterable[int | None]) -> None:
    ids = sorted({h for h in household_ids if h is not None})
    if not ids:
        return
    rows = [{"household_id": h, "queued_at": utcnow()} for h in ids]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(ComparisonQueue).values(rows)
    # Queued again while a comparison is reading it: the later time keeps it queued (drain()
    # deletes only what it read).
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["household_id"], set_={"queued_at": statement.excluded.queued_at}
        )
    )


async def queued(session: AsyncSession, limit: int) -> dict[int, datetime]:
    """The oldest queued households (up to `limit`), with the time each was queued."""
    found = await session.execute(
        select(ComparisonQueue.household_id, ComparisonQueue.queued_at)
        .order_by(ComparisonQueue.queued_at, ComparisonQueue.household_id)
        .limit(limit)
    )
    return {row.household_id: row.queued_at for row in found}


async def queued_for(session: AsyncSession, ids: Iterable[int]) -> dict[int, datetime]:
    """Which of these households are queued, and since when (read before comparing them)."""
    found = await session.execute(
        select(ComparisonQueue.household_id, ComparisonQueue.queued_at).where(
            ComparisonQueue.household_id.in_(list(ids))
        )
    )
    return {row.household_id: row.queued_at for row in found}


async def done(session: AsyncSession, taken: dict[int, datetime]) -> None:
    """Remove the households compared, unless queued again since they were read (a later
    `queued_at`): that change was not seen, and waits for the next pass.

    On PostgreSQL a row another transaction holds is skipped, not waited for: whoever holds it is
    queueing the household again (a push, a sync), so it stays queued either way; waiting for
    that transaction deadlocked with pushes (measured at province scale)."""
    if not taken:
        return
    read = tuple_(ComparisonQueue.household_id, ComparisonQueue.queued_at).in_(list(taken.items()))
    if session.get_bind().dialect.name == "postgresql":
        free = select(ComparisonQueue.household_id).where(read).with_for_update(skip_locked=True)
        await session.execute(
            delete(ComparisonQueue).where(ComparisonQueue.household_id.in_(free.scalar_subquery()))
        )
        return
    await session.execute(delete(ComparisonQueue).where(read))
