"""The monitoring work of a serving process: compare the queued households and escalate the
overdue warnings, every few seconds.

Several processes may run it: the comparison lease lets one pass run at a time, and escalation
is a conditional update per warning, so nothing is done twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from gateway.database import Database
from gateway.monitoring.compare import drain
from gateway.monitoring.lifecycle import escalate_overdue

log = logging.getLogger(__name__)


async def compare_queued(db: Database, today: date) -> None:
    tally = await drain(db, today, limit=db.settings.compare_batch_size * 20)
    if tally is not None and tally.households:
        log.info("compared %d queued households: %s", tally.households, tally.as_json())


async def escalate(db: Database, today: date) -> None:
    async with db.unit_of_work() as session:
        escalated = await escalate_overdue(session, today)
    if escalated:
        log.info("escalated %d overdue warnings", escalated)


async def run_monitor(db: Database, interval: float) -> None:
    """Until cancelled. Each job's failure is logged and retried at the next round, and does not
    hold up the other: escalation runs even while a queued household cannot be compared."""
    failing: set[str] = set()
    while True:
        await asyncio.sleep(interval)
        for name, job in (("comparison", compare_queued), ("escalation", escalate)):
            try:
                await job(db, date.today())
            except Exception:
                if name not in failing:
                    log.exception("monitoring %s failed; retrying every %s s", name, interval)
                failing.add(name)
            else:
                failing.discard(name)
