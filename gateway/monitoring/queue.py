"""The households waiting for an incremental comparison.

Whatever changes a household's data (a push, a feed, a sync, a visit) queues it in the same
transaction, so a crash loses nothing; the comparison drains the queue in its own transactions.
A household is queued once however many changes it had.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
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
    statement = insert(ComparisonQueue).values(rows).on_conflict_do_nothing()
    await session.execute(statement)


async def queued(session: AsyncSession, limit: int) -> list[int]:
    """The oldest queued households (up to `limit`)."""
    found = await session.scalars(
        select(ComparisonQueue.household_id)
        .order_by(ComparisonQueue.queued_at, ComparisonQueue.household_id)
        .limit(limit)
    )
    return list(found)
