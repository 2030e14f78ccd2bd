"""The audit trail's hash chain: what an event's hash covers, and how a stored chain is checked.

Pure functions, no I/O: the sealer (`gateway.audit.sealer`) feeds them rows read back from the
database.

The hash of an event is the SHA-256 (lowercase hex) of its canonical bytes: the UTF-8 encoding of
a JSON array, without whitespace, holding in this order

    0  "lig-audit-event/1"   the format, so that it can change without ambiguity
    1  seq                   the event's position in the chain (1, 2, …)
    2  id
    3  at                    ISO 8601 in UTC with microseconds: "2026-03-01T08:00:00.000001+00:00"
    4  request_id
    5  client_id
    6  agency
    7  kind                  READ or CHANGE
    8  action
    9  purpose               null when none was given
    10 subjects              JSON object
    11 fields                JSON array
    12 result_count
    13 outcome
    14 prev_hash             the hash of the event at seq - 1; GENESIS for seq 1

with object keys sorted and non-ASCII characters kept as they are (`ensure_ascii=False`). JSON
escaping keeps the fields apart, so no two different events share canonical bytes. Timestamps are
taken as the database gives them back (microseconds on SQLite and PostgreSQL alike).

A seal records where a sealing batch ended (its last seq and that event's hash). Checking a chain
walks the sealed events in seq order and finds: an event whose content no longer matches its hash
(edited), a prev_hash that is not the previous event's hash (an event replaced together with its
hash, or a link edited), a gap in seq (events deleted), an event whose hash is not the one its seal
recorded, and a chain that stops before the last seal (the newest events deleted).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

FORMAT = "lig-audit-event/1"
# The prev_hash of the first event.
GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class EventContent:
    """What an event says; its hash covers all of it."""

    id: int
    at: datetime
    request_id: str
    client_id: str
    agency: str
    kind: str
    action: str
    purpose: str | None
    subjects: Any
    fields: Any
    result_count: int
    outcome: str

    @classmethod
    def of(cls, row: Any) -> EventContent:
        """From a row of `audit_events` (a SQLAlchemy Row or an AuditEvent)."""
        return cls(
            id=row.id,
            at=row.at,
            request_id=row.request_id,
            client_id=row.client_id,
            agency=row.agency,
            kind=row.kind,
            action=row.action,
            purpose=row.purpose,
            subjects=row.subjects,
            fields=row.fields,
            result_count=row.result_count,
            outcome=row.outcome,
        )


@dataclass(frozen=True, slots=True)
class SealedEvent:
    """An event as stored in the chain: its content and its chain columns, as found."""

    content: EventContent
    seq: int
    prev_hash: str | None
    hash: str | None

    @classmethod
    def of(cls, row: Any) -> SealedEvent:
        return cls(EventContent.of(row), row.seq, row.prev_hash, row.hash)


@dataclass(frozen=True, slots=True)
class SealMark:
    """One sealing batch: positions first_seq..last_seq, the chain ending on last_hash."""

    first_seq: int
    last_seq: int
    last_hash: str


def timestamp_text(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime in an audit event; the database gives back UTC")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_bytes(event: EventContent, seq: int, prev_hash: str | None) -> bytes:
    values = [
        FORMAT,
        seq,
        event.id,
        timestamp_text(event.at),
        event.request_id,
        event.client_id,
        event.agency,
        event.kind,
        event.action,
        event.purpose,
        event.subjects,
        event.fields,
        event.result_count,
        event.outcome,
        prev_hash,
    ]
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def event_hash(event: EventContent, seq: int, prev_hash: str | None) -> str:
    """The hash an event has at position `seq` after the event whose hash is `prev_hash`."""
    return hashlib.sha256(canonical_bytes(event, seq, prev_hash)).hexdigest()


class ProblemKind(StrEnum):
    EDITED = "EDITED"  # content or chain columns changed since sealing
    BROKEN_LINK = "BROKEN_LINK"  # prev_hash is not the previous event's hash
    MISSING = "MISSING"  # a gap in seq: events deleted
    SEAL_MISMATCH = "SEAL_MISMATCH"  # the hash differs from the one its seal recorded
    TRUNCATED = "TRUNCATED"  # the chain stops before the last seal: newest events deleted
    BEYOND_SEAL = "BEYOND_SEAL"  # an event sealed past the last seal


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    message: str
    # The event the problem is found at (for a gap: the first event after it), when there is one.
    event_id: int | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class _Seen:
    id: int
    seq: int
    hash: str | None


class ChainChecker:
    """Checks a chain fed one event at a time, in seq order, so it never holds the whole chain.

    Feed the seals too (in first_seq order): after each event, the seals whose first_seq is at
    most that event's seq. `finish` gives every problem found.
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.events = 0
        self._last: _Seen | None = None
        # Seals whose last event is still ahead (one, unless the seals overlap).
        self._pending: deque[SealMark] = deque()
        self._sealed_to = 0

    @property
    def head(self) -> tuple[int, str | None] | None:
        """The last event's seq and hash."""
        return (self._last.seq, self._last.hash) if self._last else None

    def add_event(self, event: SealedEvent) -> None:
        content, seq, last = event.content, event.seq, self._last
        expected_seq = last.seq + 1 if last else 1
        if seq < expected_seq:
            raise ValueError(f"events must come in increasing seq order: {seq} after {last}")
        self.events += 1
        named = f"event {content.id} (seq {seq})"
        if seq > expected_seq:
            gone = seq - expected_seq
            span = f"seq {expected_seq}" if gone == 1 else f"seq {expected_seq}–{seq - 1}"
            where = (
                f"between event {last.id} (seq {last.seq}) and {named}"
                if last
                else f"before {named}, the first event left"
            )
            self._problem(
                ProblemKind.MISSING,
                f"{span} missing {where} — {gone} event(s) deleted",
                content.id,
                seq,
            )
        else:
            expected_prev = last.hash if last else GENESIS
            if event.prev_hash != expected_prev:
                before = f"event {last.id} (seq {last.seq})" if last else "the genesis value"
                self._problem(
                    ProblemKind.BROKEN_LINK,
                    f"{named}: its prev_hash is not the hash of {before} — that event was "
                    "replaced or its hash rewritten, or this link was edited",
                    content.id,
                    seq,
                )
        if event.hash != event_hash(content, seq, event.prev_hash):
            self._problem(
                ProblemKind.EDITED,
                f"{named}: content does not match its hash — edited after sealing",
                content.id,
                seq,
            )
        # Seals that ended in a gap were reported with it; the one ending here is compared.
        while self._pending and self._pending[0].last_seq <= seq:
            seal = self._pending.popleft()
            if seal.last_seq == seq:
                self._compare(seal, content.id, seq, event.hash)
        self._last = _Seen(content.id, seq, event.hash)

    def add_seal(self, seal: SealMark) -> None:
        self._sealed_to = max(self._sealed_to, seal.last_seq)
        last = self._last
        if last is not None and seal.last_seq <= last.seq:
            if seal.last_seq == last.seq:
                self._compare(seal, last.id, last.seq, last.hash)
            return  # otherwise it ended in a gap, reported with the gap
        self._pending.append(seal)

    def finish(self) -> list[Problem]:
        last = self._last
        end = last.seq if last else 0
        if self._sealed_to > end:
            where = f"ends at event {last.id} (seq {last.seq})" if last else "holds no events"
            self._problem(
                ProblemKind.TRUNCATED,
                f"the chain {where} but the seals cover up to seq {self._sealed_to} — the newest "
                f"{self._sealed_to - end} event(s) deleted",
                last.id if last else None,
                last.seq if last else None,
            )
        self._pending.clear()
        return self.problems

    def _compare(self, seal: SealMark, event_id: int, seq: int, found: str | None) -> None:
        if found != seal.last_hash:
            self._problem(
                ProblemKind.SEAL_MISMATCH,
                f"event {event_id} (seq {seq}): its hash is not the one sealed in the batch "
                f"from seq {seal.first_seq} — replaced after sealing",
                event_id,
                seq,
            )

    def _problem(
        self, kind: ProblemKind, message: str, event_id: int | None, seq: int | None
    ) -> None:
        self.problems.append(Problem(kind, message, event_id, seq))


def check_chain(events: Iterable[SealedEvent], seals: Iterable[SealMark]) -> list[Problem]:
    """Every problem of a chain given whole: events in seq order, seals in first_seq order.

    `seals` may be all the seals or only the last one; each adds a check of the event its batch
    ended on, and the last says where the chain must end.
    """
    checker = ChainChecker()
    pending = deque(seals)
    for event in events:
        checker.add_event(event)
        while pending and pending[0].first_seq <= event.seq:
            checker.add_seal(pending.popleft())
    for seal in pending:
        checker.add_seal(seal)
    return checker.finish()
