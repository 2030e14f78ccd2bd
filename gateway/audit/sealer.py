"""Sealing audit events into the hash chain, and verifying the chain.

Events are stored unsealed (seq, prev_hash and hash NULL) by the request or command that reads or
changes data, in its own transaction, so none can be lost. The sealer then chains them in batches,
as X-Road timestamps its message log in batches: in id order, continuing from the last seal, each
batch in one short transaction that fills seq/prev_hash/hash and inserts one `audit_seals` row.

The sealer runs at the edge (a background task of the app, or `lig audit seal`), so it commits its
own transactions. Several gateway processes may share one PostgreSQL database and race to seal:
a batch's seal row is keyed by its first seq, so of two sealers starting from the same seal only
one commits and the other rolls back; on PostgreSQL an advisory lock also spares the loser the
work. On PostgreSQL ids can commit out of order: an event with a smaller id that commits after a
larger one was sealed is simply sealed in a later batch, at a later seq.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import BigInteger, String, Table, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit.chain import (
    GENESIS,
    ChainChecker,
    EventContent,
    Problem,
    ProblemKind,
    SealedEvent,
    SealMark,
    event_hash,
)
from gateway.database import Database
from gateway.models import AuditEvent, AuditSeal
from gateway.models.base import utcnow

log = logging.getLogger(__name__)

events = cast(Table, AuditEvent.__table__)
seals = cast(Table, AuditSeal.__table__)

# The sealers' pg_try_advisory_xact_lock key: any fixed bigint ("ligaudit" in ASCII).
_ADVISORY_KEY = 0x6C69_6761_7564_6974


async def seal_pending(db: Database, batch_size: int = 1000) -> int:
    """Seal every unsealed event, a batch at a time; the number this call sealed.

    Returns early (quietly) when another sealer holds the chain's head: what it leaves is sealed
    by the next round.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not await _anything_to_seal(db):
        # Most rounds find nothing: answer that from a read, without taking the write lock
        # (on SQLite a write transaction would make every other writer wait).
        return 0
    total = 0
    while True:
        sealed = await _seal_batch(db, batch_size, advisory_lock=True)
        if sealed is None:
            return total
        total += sealed
        if sealed < batch_size:
            return total


async def _anything_to_seal(db: Database) -> bool:
    async with db.reader.connect() as conn:
        found = await conn.scalar(select(events.c.id).where(events.c.seq.is_(None)).limit(1))
    return found is not None


async def _seal_batch(db: Database, batch_size: int, *, advisory_lock: bool) -> int | None:
    """Seal up to batch_size events in one transaction; None when another sealer won."""
    try:
        async with db.engine.begin() as conn:
            if advisory_lock and db.dialect == "postgresql":
                locked = await conn.scalar(select(func.pg_try_advisory_xact_lock(_ADVISORY_KEY)))
                if not locked:
                    return None
            return await _seal_in(conn, batch_size)
    except IntegrityError:
        # Another sealer committed a batch from the same seal first (seal first_seq or event seq
        # taken): this transaction rolled back, nothing was sealed twice.
        log.debug("audit sealing: another sealer won the batch; rolled back")
        return None
    except _LostRace:
        log.debug("audit sealing: events sealed meanwhile by another sealer; rolled back")
        return None


class _LostRace(Exception):
    pass


# Events hashed between two turns of the event loop (about 2 ms of work).
_YIELD_EVERY = 100


_SEAL_ALL = text(
    """UPDATE audit_events AS e SET seq = v.seq, prev_hash = v.prev, hash = v.hash
    FROM unnest(:ids, :seqs, :prevs, :hashes) AS v(id, seq, prev, hash)
    WHERE e.id = v.id AND e.seq IS NULL"""
).bindparams(
    bindparam("ids", type_=ARRAY(BigInteger)),
    bindparam("seqs", type_=ARRAY(BigInteger)),
    bindparam("prevs", type_=ARRAY(String)),
    bindparam("hashes", type_=ARRAY(String)),
)


async def _seal_in(conn: AsyncConnection, batch_size: int) -> int:
    last = (
        await conn.execute(
            select(seals.c.last_seq, seals.c.last_hash).order_by(seals.c.first_seq.desc()).limit(1)
        )
    ).first()
    first_seq = last.last_seq + 1 if last else 1
    prev_hash: str = last.last_hash if last else GENESIS
    rows = (
        await conn.execute(
            select(events).where(events.c.seq.is_(None)).order_by(events.c.id).limit(batch_size)
        )
    ).all()
    if not rows:
        return 0
    params: list[dict[str, Any]] = []
    for offset, row in enumerate(rows):
        if offset and offset % _YIELD_EVERY == 0:
            # The sealer shares the event loop with the requests of its process: hashing a
            # batch in one go held every request behind it (tens of ms every few seconds,
            # the eligibility benchmark's p99).
            await asyncio.sleep(0)
        seq = first_seq + offset
        digest = event_hash(EventContent.of(row), seq, prev_hash)
        params.append({"b_id": row.id, "b_seq": seq, "b_prev": prev_hash, "b_hash": digest})
        prev_hash = digest
    if conn.dialect.name == "postgresql":
        # One UPDATE for the batch: asyncpg runs an executemany as one statement per row, and
        # every read stores an event, so that was one more statement per request.
        result = await conn.execute(
            _SEAL_ALL,
            {
                "ids": [p["b_id"] for p in params],
                "seqs": [p["b_seq"] for p in params],
                "prevs": [p["b_prev"] for p in params],
                "hashes": [p["b_hash"] for p in params],
            },
        )
    else:
        result = await conn.execute(
            update(events)
            .where(events.c.id == bindparam("b_id"), events.c.seq.is_(None))
            .values(
                seq=bindparam("b_seq"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash")
            ),
            params,
        )
    # Some rows sealed since they were read. (-1: a driver that does not count an executemany;
    # there the seal's key settles the race, as a sealer that started from an older seal collides.)
    if result.rowcount not in (-1, len(params)):
        raise _LostRace
    last_seq = first_seq + len(rows) - 1
    await conn.execute(
        insert(seals).values(
            first_seq=first_seq, last_seq=last_seq, last_hash=prev_hash, sealed_at=utcnow()
        )
    )
    return len(rows)


async def run_sealer(db: Database, interval: float) -> None:
    """Seal pending events every `interval` seconds until cancelled.

    A failed round is logged and retried at the next one; cancelling stops the loop (a batch in
    flight rolls back and is sealed by the next sealer to run).
    """
    failing = False
    while True:
        # Wait first: a process starting up has nothing of its own to seal yet.
        await asyncio.sleep(interval)
        try:
            sealed = await seal_pending(db)
        except Exception as error:
            # The traceback once, then a line per round until it works again.
            if failing:
                log.warning("audit sealing still failing (%s); retrying in %s s", error, interval)
            else:
                log.exception("audit sealing failed; retrying every %s s", interval)
            failing = True
        else:
            if failing:
                log.info("audit sealing works again: %d events sealed", sealed)
            elif sealed:
                log.debug("audit sealing: %d events sealed", sealed)
            failing = False


@dataclass(frozen=True, slots=True)
class VerifyReport:
    sealed: int  # sealed events checked
    awaiting_seal: int
    oldest_unsealed_at: datetime | None
    # The last sealed event checked: record it elsewhere to detect a rewrite of the whole tail.
    head_seq: int | None
    head_hash: str | None
    problems: list[Problem] = field(default_factory=list)
    checked_at: datetime = field(default_factory=utcnow)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def oldest_unsealed_age(self) -> timedelta | None:
        if self.oldest_unsealed_at is None:
            return None
        return self.checked_at - self.oldest_unsealed_at


async def verify(db: Database, chunk_size: int = 10_000) -> VerifyReport:
    """Check the whole chain, reading it `chunk_size` events at a time; writes nothing.

    The walk covers the events up to the last seal found when it starts (a seal commits with its
    events, so all of them are there); events sealed while it runs are left to the next check.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    async with db.reader.connect() as conn:
        last = await _last_seal(conn)
        checker = ChainChecker()
        if last is not None:
            seal_stream = _seals(conn, last.first_seq, chunk_size)
            next_seal = await anext(seal_stream, None)
            async for event in _sealed_events(conn, last.last_seq, chunk_size):
                checker.add_event(event)
                while next_seal is not None and next_seal.first_seq <= event.seq:
                    checker.add_seal(next_seal)
                    next_seal = await anext(seal_stream, None)
            while next_seal is not None:
                checker.add_seal(next_seal)
                next_seal = await anext(seal_stream, None)
        problems = checker.finish()
        problems += await _sealed_beyond_last_seal(conn)
        awaiting, oldest = (
            await conn.execute(
                select(func.count(), func.min(events.c.at)).where(events.c.seq.is_(None))
            )
        ).one()
    head = checker.head
    return VerifyReport(
        sealed=checker.events,
        awaiting_seal=awaiting,
        oldest_unsealed_at=oldest,
        head_seq=head[0] if head else None,
        head_hash=head[1] if head else None,
        problems=problems,
    )


async def _last_seal(conn: AsyncConnection) -> SealMark | None:
    row = (
        await conn.execute(
            select(seals.c.first_seq, seals.c.last_seq, seals.c.last_hash)
            .order_by(seals.c.first_seq.desc())
            .limit(1)
        )
    ).first()
    return SealMark(row.first_seq, row.last_seq, row.last_hash) if row else None


async def _sealed_events(
    conn: AsyncConnection, up_to_seq: int, chunk_size: int
) -> AsyncIterator[SealedEvent]:
    after = 0
    while True:
        rows = (
            await conn.execute(
                select(events)
                .where(events.c.seq > after, events.c.seq <= up_to_seq)
                .order_by(events.c.seq)
                .limit(chunk_size)
            )
        ).all()
        for row in rows:
            yield SealedEvent.of(row)
        if len(rows) < chunk_size:
            return
        after = rows[-1].seq


async def _seals(
    conn: AsyncConnection, up_to_first_seq: int, chunk_size: int
) -> AsyncIterator[SealMark]:
    after = 0
    while True:
        rows = (
            await conn.execute(
                select(seals.c.first_seq, seals.c.last_seq, seals.c.last_hash)
                .where(seals.c.first_seq > after, seals.c.first_seq <= up_to_first_seq)
                .order_by(seals.c.first_seq)
                .limit(chunk_size)
            )
        ).all()
        for row in rows:
            yield SealMark(row.first_seq, row.last_seq, row.last_hash)
        if len(rows) < chunk_size:
            return
        after = rows[-1].first_seq


async def _sealed_beyond_last_seal(conn: AsyncConnection) -> list[Problem]:
    """Events with a seq past the last seal: sealed outside the sealer, or seals deleted."""
    # The newest sealed event first, then the last seal: a sealer commits both at once, so an
    # event read before the seal is always covered by it unless something else wrote it.
    newest = (
        await conn.execute(
            select(events.c.id, events.c.seq)
            .where(events.c.seq.is_not(None))
            .order_by(events.c.seq.desc())
            .limit(1)
        )
    ).first()
    if newest is None:
        return []
    last = await _last_seal(conn)
    sealed_to = last.last_seq if last else 0
    if newest.seq <= sealed_to:
        return []
    count = await conn.scalar(
        select(func.count()).select_from(events).where(events.c.seq > sealed_to)
    )
    others = f" and {count - 1} other event(s)" if count and count > 1 else ""
    return [
        Problem(
            ProblemKind.BEYOND_SEAL,
            f"event {newest.id} (seq {newest.seq}){others} sealed past the last seal (seq "
            f"{sealed_to}) — chained outside the sealer, or seal records deleted",
            newest.id,
            newest.seq,
        )
    ]
