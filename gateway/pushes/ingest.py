"""Storing a pushed batch exactly once, in the caller's transaction, chunk by chunk.

The batch is read as a stream of raw items (a list, a spooled NDJSON body, a feed) and handled in
chunks: each chunk is validated, its people are looked up in one statement, its already-stored
revisions in another, and its new rows go in together (COPY on PostgreSQL, executemany on
SQLite). Memory stays bounded by the chunk, whatever the size of the batch; the receipt's
per-item outcomes are the stored rows themselves (accepted) and `push_receipt_items`
(duplicates, rejections).

Exactly once:
- An `Idempotency-Key` names a batch: sent again, the first receipt is returned and nothing is
  stored. The same key with other items is refused (`KeyReused`).
- An item whose agency id and revision are stored already is a DUPLICATE when its content is
  the same, and REJECTED when it is not (a correction needs a higher revision).
- Batches of one agency take turns (an advisory lock on PostgreSQL, the write lock on SQLite),
  so two batches never both accept the same revision, the current revision stays unique, and
  two requests with one key never both store (the second finds the first's receipt).
- Everything is written in the caller's one transaction, which commits at the edge: a crash
  part-way leaves nothing, and the retry with the same key stores everything once.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import record_change
from gateway.database import bulk_insert
from gateway.domain.enums import (
    AssistanceSubject,
    PushKind,
    PushOutcome,
    PushTransport,
    RecordSource,
)
from gateway.errors import InvalidInput, LigError
from gateway.models import (
    Membership,
    Person,
    PushReceipt,
    PushReceiptItem,
)
from gateway.models.base import table_of, utcnow
from gateway.monitoring import queue as comparison_queue
from gateway.principal import Principal
from gateway.pushes.items import (
    AGENCY_ID,
    MAX_REVISION,
    AssistanceRecordIn,
    EventIn,
    RejectedItem,
    ValidItem,
    fingerprint,
    validate,
)
from gateway.pushes.targets import TARGETS, Target

CHUNK = 1000
# What an Idempotency-Key may be: printable ASCII without spaces, as UUIDs and ULIDs are.
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")
KEY_RULE = "1 to 255 printable ASCII characters without spaces (a UUID is a good key)"
# How many rejections an all-or-nothing refusal lists (the count is always complete).
MAX_LISTED_REJECTIONS = 1000
# pg_advisory_xact_lock(class, key): the class keeps these apart from other advisory locks.
_LOCK_CLASS = 0x6C6967  # "lig"


@dataclass(frozen=True, slots=True)
class Batch:
    kind: PushKind
    transport: PushTransport
    idempotency_key: str | None = None
    all_or_nothing: bool = False


@dataclass(slots=True)
class Tally:
    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class Stored:
    receipt_id: str
    replayed: bool  # the batch had been received before under the same key
    tally: Tally


class KeyReused(LigError):
    """The idempotency key names a batch with other items (or of another kind)."""

    code = "IDEMPOTENCY_KEY_REUSED"
    http_status = 422


class BatchRefused(InvalidInput):
    """An all-or-nothing batch with rejected items: nothing was stored."""

    http_status = 422

    def __init__(self, tally: Tally, rejections: list[dict[str, Any]]) -> None:
        super().__init__(
            "items",
            f"{tally.rejected} of {tally.received} items rejected; nothing was stored "
            "(all-or-nothing)",
        )
        self.tally = tally
        self.rejections = rejections

    def extensions(self) -> dict[str, Any]:
        return {
            **super().extensions(),
            "counts": {
                "received": self.tally.received,
                "accepted": 0,
                "duplicate": self.tally.duplicate,
                "rejected": self.tally.rejected,
            },
            "rejections": self.rejections,
        }


@dataclass
class _Known:
    """The stored revisions of the keys a chunk mentions: revision → content hash."""

    revisions: dict[str, dict[int, str | None]] = field(default_factory=dict)

    def latest(self, key: str) -> int:
        return max(self.revisions.get(key, {0: None}))


async def store_batch(
    session: AsyncSession,
    principal: Principal,
    batch: Batch,
    items: Iterable[Any],
    *,
    request_id: str,
    today: date,
    chunk_size: int = CHUNK,
    turn_wait_seconds: int = 30,
) -> Stored:
    """Store a batch of raw items (parsed JSON values, or `Unreadable`) for the principal's
    agency; answer its receipt. Raises BatchRefused or KeyReused, leaving the session to be
    rolled back."""
    target = TARGETS[batch.kind]
    await _take_turn(session, principal.agency, turn_wait_seconds)
    batch_hash = hashlib.sha256(f"{batch.kind}:{batch.all_or_nothing}\n".encode())
    if batch.idempotency_key is not None:
        first = await _receipt_for_key(session, principal.client_id, batch.idempotency_key)
        if first is not None:
            for raw in items:
                batch_hash.update(_fingerprint(raw))
            if first.items_hash != batch_hash.hexdigest():
                raise KeyReused(
                    "this Idempotency-Key was used for a different batch; use a new key for "
                    "new items",
                    field="Idempotency-Key",
                )
            tally = Tally(first.received, first.accepted, first.duplicate, first.rejected)
            return Stored(first.id, replayed=True, tally=tally)

    receipt_id = uuid.uuid4().hex
    received_at = utcnow()
    await session.execute(
        insert(PushReceipt).values(
            id=receipt_id,
            kind=batch.kind,
            agency_code=principal.agency,
            client_id=principal.client_id,
            idempotency_key=batch.idempotency_key,
            transport=batch.transport,
            all_or_nothing=batch.all_or_nothing,
            request_id=request_id,
            received_at=received_at,
        )
    )
    writer = _ChunkWriter(session, principal, batch, target, receipt_id, received_at)
    tally = Tally()
    rejections: list[dict[str, Any]] = []
    for chunk in _chunks(enumerate(items), chunk_size):
        judged: list[tuple[int, ValidItem | RejectedItem]] = []
        for index, raw in chunk:
            if batch.idempotency_key is not None:  # without a key, no retry can be matched
                batch_hash.update(_fingerprint(raw))
            judged.append((index, _judge(batch.kind, raw, today)))
        for index, outcome, item in await writer.write(judged):
            tally.received += 1
            if outcome == PushOutcome.ACCEPTED:
                tally.accepted += 1
            elif outcome == PushOutcome.DUPLICATE:
                tally.duplicate += 1
            else:
                tally.rejected += 1
                if len(rejections) < MAX_LISTED_REJECTIONS:
                    assert isinstance(item, RejectedItem)
                    rejections.append(_rejection(index, target, item))
    if batch.all_or_nothing and tally.rejected:
        raise BatchRefused(tally, rejections)
    # The comparison rules look at these households again (gateway/monitoring): queued once, in
    # one statement at the end, so that the queue's rows are locked in ascending order. Queued
    # chunk by chunk, two agencies' pushes locked them in their own orders and deadlocked
    # (measured at province scale, with the comparison's own deletions).
    await comparison_queue.enqueue(session, writer.households)
    await session.execute(
        update(PushReceipt)
        .where(PushReceipt.id == receipt_id)
        .values(
            items_hash=batch_hash.hexdigest() if batch.idempotency_key is not None else None,
            received=tally.received,
            accepted=tally.accepted,
            duplicate=tally.duplicate,
            rejected=tally.rejected,
        )
    )
    record_change(
        session,
        principal,
        action=target.action,
        subjects={
            "receipt": receipt_id,
            "transport": batch.transport.value,
            "received": tally.received,
            "accepted": tally.accepted,
            "duplicate": tally.duplicate,
            "rejected": tally.rejected,
            "token": principal.token_id,
        },
        request_id=request_id,
        result_count=tally.accepted,
    )
    return Stored(receipt_id, replayed=False, tally=tally)


class Unreadable:
    """An item that could not even be parsed (a bad NDJSON line, an agency record that does not
    map): rejected with its reason, and with the record's id and revision when they are known,
    so that the receipt names the record."""

    __slots__ = ("reason", "raw", "key", "revision")

    def __init__(
        self,
        reason: str,
        raw: bytes = b"",
        *,
        key: str | None = None,
        revision: int | None = None,
    ) -> None:
        self.reason = reason
        self.raw = raw
        self.key = key if key is not None and AGENCY_ID.fullmatch(key) else None
        self.revision = revision if revision is not None and 1 <= revision <= MAX_REVISION else None


def _fingerprint(raw: Any) -> bytes:
    if isinstance(raw, Unreadable):
        return hashlib.sha256(b"unreadable:" + raw.raw).digest()
    return fingerprint(raw)


def _judge(kind: PushKind, raw: Any, today: date) -> ValidItem | RejectedItem:
    if isinstance(raw, Unreadable):
        return RejectedItem(raw.key, raw.revision, [("item", raw.reason)])
    return validate(kind, raw, today)


def _rejection(index: int, target: Target, item: RejectedItem) -> dict[str, Any]:
    return {
        "index": index,
        target.key_field: item.key,
        "revision": item.revision,
        "errors": [{"field": f, "reason": r} for f, r in item.problems],
    }


def _chunks(items: Iterator[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    while chunk := list(islice(items, size)):
        yield chunk


async def _take_turn(session: AsyncSession, agency: str, wait_seconds: int) -> None:
    """Batches of one agency are stored one at a time (see the module docstring). Per agency,
    not per kind: an idempotency key is the client's, whichever kind it was first used for.

    The wait is bounded: a retry piling up behind a long push would otherwise hold one of the
    pool's connections until it ends. Past the wait the statement fails with lock_timeout,
    which the transports answer as Busy (503, Retry-After)."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(agency.encode()) & 0x7FFFFFFF
        await session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_seconds)}s'"))
        await session.execute(select(func.pg_advisory_xact_lock(_LOCK_CLASS, key)))
        await session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
        # The rows a batch has written are not in the planner's statistics until it commits.
        # After five runs PostgreSQL switches a prepared statement to a generic plan, which for
        # "this agency's rows with these ids" scans every row of the agency written so far: a
        # large batch then slows down chunk by chunk (measured: 60,000 items, 86 s instead of
        # about 10). A plan made for each chunk's own ids uses the index per id.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    # SQLite: the unit of work began with BEGIN IMMEDIATE, the database's one write lock.


async def _receipt_for_key(session: AsyncSession, client_id: str, key: str) -> PushReceipt | None:
    found = await session.execute(
        select(PushReceipt).where(
            PushReceipt.client_id == client_id, PushReceipt.idempotency_key == key
        )
    )
    return found.scalar_one_or_none()


class _ChunkWriter:
    """Decides each item's outcome and writes one chunk with a few statements."""

    def __init__(
        self,
        session: AsyncSession,
        principal: Principal,
        batch: Batch,
        target: Target,
        receipt_id: str,
        received_at: Any,
    ) -> None:
        self.session = session
        self.principal = principal
        self.target = target
        self.receipt_id = receipt_id
        self.received_at = received_at
        feed = batch.transport == PushTransport.FEED
        self.source = RecordSource.FEED if feed else RecordSource.PUSH
        # The households of the accepted rows (ids only: bounded by the batch, a few MiB for
        # 100,000 records), queued for comparison when the batch is stored.
        self.households: set[int] = set()

    async def write(
        self, judged: list[tuple[int, ValidItem | RejectedItem]]
    ) -> list[tuple[int, PushOutcome, ValidItem | RejectedItem]]:
        valid = [item for _, item in judged if isinstance(item, ValidItem)]
        people = await self._people({item.id_number for item in valid})
        known = await self._known({item.key for item in valid})
        outcomes: list[tuple[int, PushOutcome, ValidItem | RejectedItem]] = []
        rows: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        newest: dict[str, dict[str, Any]] = {}  # key → the row that becomes its current one
        before = {key: known.latest(key) for key in known.revisions}
        for index, item in judged:
            if isinstance(item, RejectedItem):
                outcomes.append((index, PushOutcome.REJECTED, item))
                others.append(self._other(index, PushOutcome.REJECTED, item))
                continue
            stored = known.revisions.get(item.key, {})
            if item.revision in stored:
                if stored[item.revision] == item.content_hash:
                    outcomes.append((index, PushOutcome.DUPLICATE, item))
                    others.append(self._other(index, PushOutcome.DUPLICATE, item))
                    continue
                # Other content, or a row stored before content hashes were kept (unknown).
                conflict = RejectedItem(
                    item.key,
                    item.revision,
                    [
                        (
                            "revision",
                            f"revision {item.revision} of {item.key} was received before with "
                            "other content; send the correction as a higher revision",
                        )
                    ],
                )
                outcomes.append((index, PushOutcome.REJECTED, conflict))
                others.append(self._other(index, PushOutcome.REJECTED, conflict))
                continue
            person = people.get(item.id_number)
            row = self._row(index, item, person)
            if item.revision > known.latest(item.key):
                newest[item.key] = row
            known.revisions.setdefault(item.key, {})[item.revision] = item.content_hash
            rows.append(row)
            outcomes.append((index, PushOutcome.ACCEPTED, item))
        for row in rows:
            row["is_current"] = newest.get(row[self.target.key_field]) is row
        superseded = [key for key in newest if before.get(key, 0) > 0]
        table = self.target.table
        if superseded:
            await self.session.execute(
                update(table)
                .where(
                    table.c.agency_code == self.principal.agency,
                    self.target.key_column.in_(superseded),
                    table.c.is_current.is_(True),
                )
                .values(is_current=False)
            )
        await bulk_insert(self.session, table, rows)
        await bulk_insert(self.session, table_of(PushReceiptItem), others)
        self.households.update(row["household_id"] for row in rows if row["household_id"])
        return outcomes

    def _other(
        self, index: int, outcome: PushOutcome, item: ValidItem | RejectedItem
    ) -> dict[str, Any]:
        """The receipt row of a duplicate or rejected item."""
        problems = item.problems if isinstance(item, RejectedItem) else ()
        return {
            "receipt_id": self.receipt_id,
            "item_index": index,
            "outcome": outcome,
            "item_key": item.key,
            "revision": item.revision,
            "errors": [{"field": f, "reason": r} for f, r in problems] or None,
        }

    async def _people(self, id_numbers: set[str]) -> dict[str, tuple[int, int | None]]:
        """ID number → (person id, current household id) for the people the database knows."""
        if not id_numbers:
            return {}
        found = await self.session.execute(
            select(Person.id_number, Person.id, Membership.household_id)
            .outerjoin(
                Membership, (Membership.person_id == Person.id) & Membership.left_on.is_(None)
            )
            .where(Person.id_number.in_(id_numbers))
        )
        return {number: (pid, hid) for number, pid, hid in found}

    async def _known(self, keys: set[str]) -> _Known:
        known = _Known()
        if not keys:
            return known
        table = self.target.table
        found = await self.session.execute(
            select(self.target.key_column, table.c.revision, table.c.content_hash).where(
                table.c.agency_code == self.principal.agency, self.target.key_column.in_(keys)
            )
        )
        for key, revision, digest in found:
            known.revisions.setdefault(key, {})[revision] = digest
        return known

    def _row(
        self, index: int, item: ValidItem, person: tuple[int, int | None] | None
    ) -> dict[str, Any]:
        person_id, household_id = person if person else (None, None)
        common = {
            "agency_code": self.principal.agency,
            self.target.key_field: item.key,
            "revision": item.revision,
            "is_current": True,
            "id_number": item.id_number,
            "household_id": household_id,
            "source": self.source,
            "received_at": self.received_at,
            "received_by": self.principal.client_id,
            "content_hash": item.content_hash,
            "receipt_id": self.receipt_id,
            "receipt_index": index,
        }
        model = item.model
        if isinstance(model, AssistanceRecordIn):
            for_person = model.applies_to == AssistanceSubject.PERSON
            return {
                **common,
                "kind": model.kind,
                "applies_to": model.applies_to,
                "person_id": person_id if for_person else None,
                "amount": model.amount,
                "period_start": model.starts,
                "period_end": model.ends,
                "notes": model.notes,
            }
        assert isinstance(model, EventIn)
        return {
            **common,
            "kind": model.kind,
            "person_id": person_id,
            "occurred_on": model.occurred_on,
            "details": item.details,
        }
