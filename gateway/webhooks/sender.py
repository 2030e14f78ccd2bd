"""The sender: POSTs due deliveries, records every attempt, schedules the next.

A round:
1. Claim (one short transaction): the due PENDING deliveries, oldest due first, at most a batch
   (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several gateway processes share the queue
   without waiting on each other; SQLite has one writer at a time). Claiming moves each
   delivery's `next_attempt_at` to the end of a lease: if this process dies mid-round, the
   deliveries fall due again when the lease ends, and another process sends them.
2. Send, with no transaction open: each endpoint's deliveries one after another in notice
   order, endpoints side by side (at most LIG_WEBHOOK_CONCURRENCY POSTs in flight), each POST
   signed anew (gateway/webhooks/signing.py) and bounded by LIG_WEBHOOK_TIMEOUT.
3. Record each attempt (its own short transaction): a 2xx marks the delivery DELIVERED;
   anything else (an answer of another status, a timeout, a refused connection) schedules the
   next attempt (gateway/webhooks/schedule.py) or, past the retry window, GAVE_UP. When an
   endpoint fails, the rest of its claimed deliveries are not tried this round: they wait
   until the failed one's next attempt (an endpoint that is down is asked once per step of the
   schedule, not once per delivery), and those past their own retry window are given up.

Delivery is at least once: a POST whose answer is lost, or one sent just before a lease ran
out, is sent again. Receivers dedupe on `X-Lig-Notice`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select, update

from gateway.database import Database
from gateway.domain.enums import DeliveryStatus
from gateway.models import WarningNotice, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gateway.models.base import utcnow
from gateway.settings import Settings
from gateway.webhooks import signing
from gateway.webhooks.endpoints import DEACTIVATED
from gateway.webhooks.payload import NoticeSummary, body, summaries
from gateway.webhooks.schedule import Schedule
from gateway.webhooks.secrets import SecretUnreadable, unseal

log = logging.getLogger("lig.webhooks")

USER_AGENT = "lig-webhooks/1"
MAX_ERROR = 500
# How much of a refusing receiver's answer is kept in the log.
MAX_ANSWER = 200


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    endpoint_id: int
    generation: int
    attempts: int  # before this one
    created_at: datetime
    url: str
    secret: str  # as stored (encrypted)
    active: bool
    notice: NoticeSummary


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    status_code: int | None
    error: str | None
    at: datetime
    duration_ms: int


@dataclass
class RoundReport:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    gave_up: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: RoundReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.failed += other.failed
        self.gave_up += other.gave_up
        self.deferred += other.deferred
        self.errors += other.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "delivered": self.delivered,
            "failed": self.failed,
            "gave_up": self.gave_up,
            "deferred": self.deferred,
        }


def make_client(settings: Settings) -> httpx.AsyncClient:
    """The one pooled client every webhook POST of this process goes through."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.webhook_timeout, connect=settings.webhook_connect_timeout),
        limits=httpx.Limits(
            max_connections=settings.webhook_concurrency,
            max_keepalive_connections=settings.webhook_concurrency,
        ),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


class Sender:
    """Works the delivery queue of one process. `clock` and `rand` drive the schedule (tests
    move the clock on instead of waiting hours); the signature's timestamp is always real."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.db = db
        self.settings = settings
        self.schedule = Schedule.from_settings(settings)
        self.client = client or make_client(settings)
        self._own_client = client is None
        self.clock = clock
        self.rand = rand
        self.slots = asyncio.Semaphore(settings.webhook_concurrency)
        # A POST takes at most `budget` seconds (connect, write, read and the wall clock
        # around them); a round starts no POST later than `lease - budget`, so that every
        # claimed delivery is recorded before its lease ends.
        self.budget = settings.webhook_connect_timeout + settings.webhook_timeout
        self.lease = timedelta(seconds=max(60.0, 4 * self.budget))

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()

    async def drain(self, max_rounds: int = 1000) -> RoundReport:
        """Rounds until a round claims less than a full batch (or `max_rounds`)."""
        total = RoundReport()
        for _ in range(max_rounds):
            report = await self.round()
            total.add(report)
            if report.claimed < self.settings.webhook_batch_size:
                break
        return total

    async def round(self) -> RoundReport:
        now = self.clock()
        if not await self._anything_due(now):
            return RoundReport()
        lease_until = now + self.lease
        claimed = await self._claim(now, lease_until)
        report = RoundReport(claimed=len(claimed))
        groups: dict[int, list[Claimed]] = defaultdict(list)
        for c in claimed:
            groups[c.endpoint_id].append(c)
        deadline = time.monotonic() + self.lease.total_seconds() - self.budget - 5
        results = await asyncio.gather(
            *(self._endpoint(group, lease_until, deadline) for group in groups.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                # Its deliveries stay claimed until the lease ends, then are tried again.
                log.error("webhook round: an endpoint's sends failed", exc_info=result)
                report.errors.append(f"{type(result).__name__}: {result}")
            else:
                report.add(result)
        return report

    async def _anything_due(self, now: datetime) -> bool:
        # Most rounds find nothing: answered by a read, without a write transaction (which on
        # SQLite would take the one write lock).
        async with self.db.reader.connect() as conn:
            found = await conn.scalar(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .limit(1)
            )
        return found is not None

    async def _claim(self, now: datetime, lease_until: datetime) -> list[Claimed]:
        async with self.db.unit_of_work() as session:
            ids = list(
                await session.scalars(
                    select(WebhookDelivery.id)
                    .where(
                        WebhookDelivery.status == DeliveryStatus.PENDING,
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                    .limit(self.settings.webhook_batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .values(next_attempt_at=lease_until)
            )
            rows = await session.execute(
                summaries(WebhookDelivery.id.in_(ids))
                .add_columns(
                    WebhookDelivery.id.label("delivery_id"),
                    WebhookDelivery.endpoint_id,
                    WebhookDelivery.generation,
                    WebhookDelivery.attempts,
                    WebhookDelivery.created_at.label("delivery_created_at"),
                    WebhookEndpoint.url,
                    WebhookEndpoint.secret,
                    WebhookEndpoint.active,
                )
                .join(WebhookDelivery, WebhookDelivery.notice_id == WarningNotice.id)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            )
            return [
                Claimed(
                    delivery_id=row.delivery_id,
                    endpoint_id=row.endpoint_id,
                    generation=row.generation,
                    attempts=row.attempts,
                    created_at=row.delivery_created_at,
                    url=row.url,
                    secret=row.secret,
                    active=row.active,
                    notice=NoticeSummary.of(row),
                )
                for row in rows
            ]

    async def _endpoint(
        self, group: list[Claimed], lease_until: datetime, deadline: float
    ) -> RoundReport:
        report = RoundReport()
        if not group[0].active:
            # Deactivated since the deliveries were made (deactivating gives its pending
            # deliveries up; this catches one made by a notice committed at the same time).
            await self._give_up(group, lease_until, DEACTIVATED)
            report.gave_up += len(group)
            return report
        for i, claimed in enumerate(group):
            if time.monotonic() > deadline:
                # Out of lease for this round: due again at once, for the next round.
                report.deferred += await self._defer(group[i:], lease_until, self.clock())
                return report
            outcome = await self._send(claimed)
            gave_up, next_at = await self._record(claimed, outcome, lease_until)
            if outcome.delivered:
                report.delivered += 1
                continue
            report.failed += 1
            report.gave_up += gave_up
            rest = group[i + 1 :]
            if rest:
                moved, dropped = await self._after_failure(
                    rest, lease_until, claimed, outcome, next_at
                )
                report.deferred += moved
                report.gave_up += dropped
            return report
        return report

    async def _send(self, claimed: Claimed) -> Outcome:
        async with self.slots:
            at = self.clock()
            started = time.monotonic()
            try:
                secret = unseal(self.settings, claimed.secret)
            except SecretUnreadable as error:
                return Outcome(False, None, f"not sent: {error}"[:MAX_ERROR], at, 0)
            payload = body(
                claimed.notice, delivery_id=claimed.delivery_id, generation=claimed.generation
            )
            headers = signing.headers(
                secret,
                payload,
                delivery_id=claimed.delivery_id,
                notice_id=claimed.notice.notice_id,
                attempt=claimed.attempts + 1,
                timestamp=int(time.time()),
            )
            try:
                async with asyncio.timeout(self.budget):
                    async with self.client.stream(
                        "POST", claimed.url, content=payload, headers=headers
                    ) as response:
                        code = response.status_code
                        if 200 <= code < 300:
                            return Outcome(True, code, None, at, _ms(started))
                        answer = await _start_of(response)
                        return Outcome(False, code, _answered(code, answer), at, _ms(started))
            except (TimeoutError, httpx.TimeoutException):
                reason = f"timed out after {time.monotonic() - started:.1f} s"
            except httpx.RequestError as failure:
                reason = f"connection failed: {type(failure).__name__}: {failure}"
            return Outcome(False, None, reason[:MAX_ERROR], at, _ms(started))

    async def _record(
        self, claimed: Claimed, outcome: Outcome, lease_until: datetime
    ) -> tuple[int, datetime | None]:
        """Store the attempt and the delivery's new state; answer (gave up?, next attempt)."""
        mine = (
            WebhookDelivery.id == claimed.delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        async with self.db.unit_of_work() as session:
            await session.execute(
                insert(WebhookAttempt).values(
                    delivery_id=claimed.delivery_id,
                    at=outcome.at,
                    duration_ms=outcome.duration_ms,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    delivered=outcome.delivered,
                )
            )
            last = {
                "attempts": WebhookDelivery.attempts + 1,
                "last_attempt_at": outcome.at,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
            }
            if outcome.delivered:
                # Delivered is delivered, even if the lease ran out and another process is
                # sending it again meanwhile.
                await session.execute(
                    update(WebhookDelivery)
                    .where(*mine)
                    .values(
                        **last,
                        status=DeliveryStatus.DELIVERED,
                        delivered_at=outcome.at,
                        next_attempt_at=None,
                    )
                )
                return 0, None
            next_at = self.schedule.next_attempt(
                claimed.created_at, outcome.at, claimed.attempts + 1, self.rand
            )
            status = DeliveryStatus.PENDING if next_at is not None else DeliveryStatus.GAVE_UP
            await session.execute(
                update(WebhookDelivery)
                # Only while the lease is still this round's: a later claimer owns it now.
                .where(*mine, WebhookDelivery.next_attempt_at == lease_until)
                .values(**last, status=status, next_attempt_at=next_at)
            )
        if next_at is None:
            log.warning(
                "webhook delivery %s to endpoint %s given up after %s attempts: %s",
                claimed.delivery_id,
                claimed.endpoint_id,
                claimed.attempts + 1,
                outcome.error or outcome.status_code,
            )
        return (1 if next_at is None else 0), next_at

    async def _after_failure(
        self,
        rest: list[Claimed],
        lease_until: datetime,
        failed: Claimed,
        outcome: Outcome,
        next_at: datetime | None,
    ) -> tuple[int, int]:
        """The endpoint failed: its other claimed deliveries wait for its next attempt, or
        are given up if they are past their own retry window. Answers (moved, given up)."""
        now = outcome.at
        expired = [c for c in rest if now - c.created_at >= self.schedule.window]
        waiting = [c for c in rest if c not in expired]
        if expired:
            reason = (
                f"not attempted: the endpoint failed delivery {failed.delivery_id} "
                f"({outcome.error or outcome.status_code}) past this delivery's retry window"
            )
            await self._give_up(expired, lease_until, reason[:MAX_ERROR])
        when = next_at or now + timedelta(seconds=self.schedule.wait(1, self.rand))
        moved = await self._defer(waiting, lease_until, when) if waiting else 0
        return moved, len(expired)

    async def _defer(self, claimed: list[Claimed], lease_until: datetime, when: datetime) -> int:
        async with self.db.unit_of_work() as session:
            result = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id.in_([c.delivery_id for c in claimed]),
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at == lease_until,
                )
                .values(next_attempt_at=when)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _give_up(self, claimed: list[Claimed], lease_until: datetime, reason: str) -> None:
        async with self.db.unit_of_work() as session:
            await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id.in_([c.delivery_id for c in claimed]),
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at == lease_until,
                )
                .values(status=DeliveryStatus.GAVE_UP, next_attempt_at=None, last_error=reason)
            )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


async def _start_of(response: httpx.Response) -> str:
    """The first bytes of a refusing receiver's answer, as text (never the whole body)."""
    chunk = b""
    with contextlib.suppress(httpx.HTTPError):
        async for part in response.aiter_raw():
            chunk += part
            if len(chunk) >= MAX_ANSWER:
                break
    return chunk[:MAX_ANSWER].decode("utf-8", "replace")


def _answered(code: int, answer: str) -> str:
    text = " ".join(answer.split())
    return (f"answered {code}: {text}" if text else f"answered {code}")[:MAX_ERROR]


async def run_sender(db: Database, settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The background sender of `lig serve` and `lig webhooks run`: a round (and more while
    batches come full) every LIG_WEBHOOK_POLL_SECONDS, until cancelled or `stop` is set."""
    sender = Sender(db, settings)
    stop = stop or asyncio.Event()
    try:
        while not stop.is_set():
            try:
                report = await sender.drain()
                if report.claimed:
                    log.info("webhooks: %s", report.as_json())
            except Exception:
                # The database away for a moment: try again next round.
                log.exception("webhook round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.webhook_poll_seconds)
    finally:
        await sender.aclose()
