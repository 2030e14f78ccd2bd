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


async def monitor_once(db: Database, today: date | None = None) -> None:
    day = today or date.today()
    tally = await drain(db, day)
    if tally is not None and tally.households:
        log.info("compared %d queued households: %s", tally.households, tally.as_json())
    async with db.unit_of_work() as session:
        escalated = await escalate_overdue(session, day)
    if escalated:
        log.info("escalated %d overdue warnings", escalated)


async def run_monitor(db: Database, interval: float) -> None:
    """Until cancelled; a failed round is logged and retried at the next."""
    failing = False
    while True:
        await asyncio.sleep(interval)
        try:
            await monitor_once(db)
        except Exception:
            if not failing:
                log.exception("monitoring round failed; retrying every %s s", interval)
            failing = True
        else:
            failing = False
