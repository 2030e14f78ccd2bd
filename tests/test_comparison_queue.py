"""The comparison queue under concurrent writers (PostgreSQL, where transactions overlap).

At province scale a push queueing its households and the comparison removing the ones it had
compared deadlocked: each held rows of the queue the other waited for. The comparison now skips
the rows a writer holds (that writer is queueing them again), and a push queues its households
once, in ascending order, when its batch is stored.
"""

from __future__ import annotations

import asyncio

import pytest

from gateway.database import Database
from gateway.monitoring import queue
from gateway.settings import Settings
from tests.conftest import Templates
from tests.support.sql import sql


@pytest.fixture
def pg_demo_url(templates: Templates) -> str:
    return templates.fresh("postgresql", demo=True)


async def test_the_comparison_never_waits_for_a_writer_queueing_again(pg_demo_url: str) -> None:
    first, second = (r[0] for r in await sql(pg_demo_url, "SELECT id FROM households LIMIT 2"))
    db = Database(Settings(database_url=pg_demo_url))
    try:
        async with db.unit_of_work() as session:
            await queue.enqueue(session, [first, second])
        async with db.unit_of_work() as session:
            taken = await queue.queued_for(session, [first, second])
        assert set(taken) == {first, second}

        async with db.sessions() as writer:
            # A push's transaction queues `first` again and is still open.
            await queue.enqueue(writer, [first])
            async with db.unit_of_work() as comparison:
                # Before the fix this waited for the writer (and, with the writer waiting in
                # turn, deadlocked); now it removes what it may and moves on.
                await asyncio.wait_for(queue.done(comparison, taken), timeout=10)
            await writer.commit()

        async with db.unit_of_work() as session:
            left = await queue.queued_for(session, [first, second])
        # `first` was queued again while it was compared: it waits for the next pass.
        assert set(left) == {first}
        assert left[first] > taken[first]
    finally:
        await db.dispose()
