"""One poller per process, fanning new warning notices out to this process's subscribers.

Notices are written by whichever process makes the change, so each process reads them back from
`warning_notices` (one query per tick for all its subscribers, every
LIG_SUBSCRIPTION_POLL_SECONDS) rather than passing them in memory.

Ids are handed out when a notice is inserted but become visible when its transaction commits: on
PostgreSQL a notice with a smaller id can appear after a larger one was read. The hub therefore
keeps, besides the highest id it has read, the gaps below it: ids it has not seen yet. Each tick
it looks into the gaps again; a gap still empty after LIG_SUBSCRIPTION_GAP_SECONDS is taken for
a rolled-back transaction and forgotten. The watermark (every id at or below it has been handed
out, or is a forgotten gap) gives each notice its `cursor`: resuming after a cursor misses
nothing (a few notices may come twice; dedupe on the notice id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, or_, select

from gateway.database import Database
from gateway.domain.regions import significant_prefix
from gateway.errors import Busy
from gateway.models import Household, WarningNotice
from gateway.models.base import utcnow
from gateway.monitoring.access import notice_agency
from gateway.principal import Principal
from gateway.settings import Settings
from gateway.webhooks.payload import NoticeSummary, summaries

log = logging.getLogger("lig.subscriptions")

# Notices read per query; and gaps looked into per tick (the lowest ones).
PAGE = 500
GAPS_PER_TICK = 50
PAGES_PER_TICK = 20
# A subscriber this many notices behind is dropped (it resumes from its last cursor).
QUEUE_LIMIT = 10_000


class Lagging(Busy):
    """A subscriber fell too far behind; it should subscribe again after its last cursor."""


@dataclass(eq=False)
class Subscriber:
    agency: str
    region_prefix: str | None
    after: int
    queue: asyncio.Queue[tuple[NoticeSummary, int]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )
    lagging: bool = False

    def wants(self, notice: NoticeSummary) -> bool:
        return (
            notice.agency == self.agency
            and notice.notice_id > self.after
            and (self.region_prefix is None or notice.region_code.startswith(self.region_prefix))
        )


@dataclass
class Gap:
    low: int
    high: int
    since: float  # when the hub first knew the ids were missing (monotonic seconds)


class NoticeHub:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.poll_seconds = settings.subscription_poll_seconds
        self.gap_seconds = settings.subscription_gap_seconds
        self.clock = clock
        self.high = 0  # the highest notice id read
        self.gaps: list[Gap] = []  # ids below `high` not read yet, lowest first
        self.subscribers: set[Subscriber] = set()
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ticking = asyncio.Lock()

    @property
    def watermark(self) -> int:
        return self.gaps[0].low - 1 if self.gaps else self.high

    # The process's poller -------------------------------------------------------------

    def start(self) -> None:
        """Start polling (idempotent); `stream` does, so a process nobody subscribes to never
        polls."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                if not self.ready.is_set():
                    await self.initialise()
                await self.tick()
            except Exception:
                log.exception("reading warning notices failed; trying again")
            await asyncio.sleep(self.poll_seconds)

    async def initialise(self) -> None:
        """Start at the newest notice; the recent ones' holes may be transactions still open."""
        since = utcnow() - timedelta(seconds=self.gap_seconds)
        async with self.db.reader.connect() as conn:
            high = await conn.scalar(select(func.max(WarningNotice.id)))
            recent = list(
                await conn.scalars(
                    select(WarningNotice.id)
                    .where(WarningNotice.at >= since)
                    .order_by(WarningNotice.id)
                )
            )
        self.high = high or 0
        now = self.clock()
        # Holes between the recent ids, and above the last of them (the newest committed one
        # is `high`, so nothing is above it).
        self.gaps = [
            Gap(a + 1, b - 1, now) for a, b in zip(recent, recent[1:], strict=False) if b - a > 1
        ]
        self.ready.set()

    async def tick(self) -> int:
        """Read what is new (and what filled a gap), hand it out; answers how many notices."""
        async with self._ticking:  # one tick at a time (the poller, or a caller's own)
            return await self._tick()

    async def _tick(self) -> int:
        now = self.clock()
        found: list[NoticeSummary] = []
        async with self.db.reader.connect() as conn:
            if self.gaps:
                ranges = [
                    WarningNotice.id.between(g.low, g.high) for g in self.gaps[:GAPS_PER_TICK]
                ]
                rows = await conn.execute(summaries(or_(*ranges)))
                found += [NoticeSummary.of(r) for r in rows]
            for _ in range(PAGES_PER_TICK):
                rows = await conn.execute(summaries(WarningNotice.id > self.high).limit(PAGE))
                page = [NoticeSummary.of(r) for r in rows]
                for notice in page:
                    if notice.notice_id > self.high + 1:
                        self.gaps.append(Gap(self.high + 1, notice.notice_id - 1, now))
                    self.high = notice.notice_id
                found += page
                if len(page) < PAGE:
                    break
        self._fill({n.notice_id for n in found})
        self.gaps = [g for g in self.gaps if now - g.since < self.gap_seconds]
        # Handed out in id order, every notice at or below the new watermark has gone out
        # before the one that names it as its cursor.
        watermark = self.watermark
        found.sort(key=lambda n: n.notice_id)
        for notice in found:
            self._dispatch(notice, min(notice.notice_id, watermark))
        return len(found)

    def _fill(self, ids: set[int]) -> None:
        """Take the ids just read out of the gaps."""
        if not ids or not self.gaps:
            return
        gaps: list[Gap] = []
        for gap in self.gaps:
            inside = sorted(i for i in ids if gap.low <= i <= gap.high)
            low = gap.low
            for i in inside:
                if low <= i - 1:
                    gaps.append(Gap(low, i - 1, gap.since))
                low = i + 1
            if low <= gap.high:
                gaps.append(Gap(low, gap.high, gap.since))
        self.gaps = gaps

    def _dispatch(self, notice: NoticeSummary, cursor: int) -> None:
        for subscriber in list(self.subscribers):
            if not subscriber.wants(notice):
                continue
            try:
                subscriber.queue.put_nowait((notice, cursor))
            except asyncio.QueueFull:
                subscriber.lagging = True
                self.subscribers.discard(subscriber)

    # One subscription ----------------------------------------------------------------

    async def stream(
        self, principal: Principal, after: int | None
    ) -> AsyncGenerator[tuple[NoticeSummary, int], None]:
        """The notices of the principal's agency (and region), with their cursors: those after
        `after` first (read from the database), then each new one as it comes."""
        self.start()  # the process's poller starts with its first subscriber
        await self.ready.wait()
        prefix = (
            significant_prefix(principal.region_code) if principal.region_code is not None else None
        )
        agency = notice_agency(principal)
        subscriber = Subscriber(agency, prefix, after if after is not None else 0)
        # From here on the poller queues every notice it hands out; what it handed out before
        # is read back below, up to `high`. A notice in a gap may be in both: skipped once.
        self.subscribers.add(subscriber)
        watermark, high = self.watermark, self.high
        gaps = [(g.low, g.high) for g in self.gaps]
        try:
            seen: set[int] = set()
            if after is not None:
                async for notice in self._missed(agency, prefix, after, high):
                    if any(low <= notice.notice_id <= top for low, top in gaps):
                        seen.add(notice.notice_id)
                    yield notice, max(after, min(notice.notice_id, watermark))
            while True:
                if subscriber.lagging and subscriber.queue.empty():
                    raise Lagging(
                        "too far behind the notices: subscribe again with afterNoticeId set "
                        "to the last cursor received"
                    )
                notice, cursor = await subscriber.queue.get()
                if notice.notice_id in seen:
                    seen.discard(notice.notice_id)
                    continue
                yield notice, max(subscriber.after, cursor)
        finally:
            self.subscribers.discard(subscriber)

    async def _missed(
        self, agency: str, prefix: str | None, after: int, high: int
    ) -> AsyncIterator[NoticeSummary]:
        last = after
        while True:
            where = [
                WarningNotice.agency_code == agency,
                WarningNotice.id > last,
                WarningNotice.id <= high,
            ]
            if prefix is not None:
                where.append(Household.region_code.startswith(prefix, autoescape=True))
            async with self.db.reader.connect() as conn:
                rows = await conn.execute(summaries(*where).limit(PAGE))
                page = [NoticeSummary.of(r) for r in rows]
            for notice in page:
                yield notice
            if len(page) < PAGE:
                return
            last = page[-1].notice_id
