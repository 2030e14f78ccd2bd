"""The audit trail's hash chain: sealing, the append-only triggers, and `lig audit verify`.

"Editing any stored event makes `lig audit verify` fail and name it": tampering is simulated as a
database owner would do it, dropping (SQLite) or disabling (PostgreSQL) the triggers first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import strawberry
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from gateway.audit import chain, sealer
from gateway.audit.chain import (
    GENESIS,
    EventContent,
    ProblemKind,
    SealedEvent,
    SealMark,
    check_chain,
    event_hash,
)
from gateway.audit.sealer import seal_pending, verify
from gateway.context import Context
from gateway.database import Database
from gateway.models import AuditEvent, AuditSeal
from gateway.principal import LOCAL_OPERATOR
from gateway.settings import Settings
from resolvers.audit import audit_events
from schema import types as t
from schema.audit import AuditEvent as AuditEventType
from tests.conftest import lig

events = AuditEvent.__table__
seals = AuditSeal.__table__


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(Settings(database_url=database_url))
    yield database
    await database.dispose()


def _event(n: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "at": datetime(2026, 3, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=n, microseconds=n),
        "request_id": f"req-{n}",
        "client_id": "mzj-client",
        "agency": "MZJ",
        "kind": "READ",
        "action": "household",
        "purpose": "低保年审",
        "subjects": {"households": [n], "persons": [100 + n, 200 + n]},
        "fields": ["Household.code", "Person.name"],
        "result_count": 1,
        "outcome": "OK",
    }
    row.update(values)
    return row


async def _add(db: Database, count: int, start: int = 1, **values: Any) -> list[int]:
    async with db.unit_of_work() as session:
        added = [AuditEvent(**_event(n, **values)) for n in range(start, start + count)]
        session.add_all(added)
    return [e.id for e in added]


async def _chain(db: Database) -> list[Any]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(select(events).order_by(events.c.id))).all())


async def _drop_guards(db: Database) -> None:
    """What a database owner can do: take the append-only triggers away."""
    async with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            for name in (
                "audit_events_no_delete",
                "audit_events_no_update",
                "audit_seals_no_change",
                "audit_seals_no_delete",
            ):
                await conn.execute(text(f"DROP TRIGGER {name}"))
        else:
            await conn.execute(
                text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            )
            await conn.execute(
                text("ALTER TABLE audit_seals DISABLE TRIGGER audit_seals_append_only")
            )


async def _tamper(db: Database, event_id: int, **values: Any) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(update(events).where(events.c.id == event_id).values(**values))


def _kinds(report: sealer.VerifyReport) -> list[tuple[ProblemKind, int | None]]:
    return [(p.kind, p.event_id) for p in report.problems]


# --- the canonical form (pure) --------------------------------------------------------------------


def test_the_canonical_bytes_are_fixed_and_documented() -> None:
    content = EventContent(
        id=7,
        at=datetime(2026, 3, 1, 8, 0, 0, 5, tzinfo=UTC),
        request_id="r-1",
        client_id="c",
        agency="MZJ",
        kind="READ",
        action="household",
        purpose="核对",
        subjects={"persons": [2], "households": [1]},
        fields=["Household.code"],
        result_count=1,
        outcome="OK",
    )
    expected = (
        '["lig-audit-event/1",3,7,"2026-03-01T08:00:00.000005+00:00","r-1","c","MZJ","READ",'
        '"household","核对",{"households":[1],"persons":[2]},["Household.code"],1,"OK",'
        f'"{GENESIS}"]'
    ).encode()
    assert chain.canonical_bytes(content, 3, GENESIS) == expected
    assert event_hash(content, 3, GENESIS) == hashlib.sha256(expected).hexdigest()
    # Another zone, the same instant: the same hash.
    moved = dataclasses.replace(content, at=content.at.astimezone(ZoneInfo("Asia/Shanghai")))
    assert event_hash(moved, 3, GENESIS) == event_hash(content, 3, GENESIS)


def test_check_chain_with_only_the_last_seal() -> None:
    contents = [EventContent.of(_Row(id=n, **_event(n))) for n in (1, 2, 3)]
    links, prev = [], GENESIS
    for seq, content in enumerate(contents, start=1):
        digest = event_hash(content, seq, prev)
        links.append(SealedEvent(content, seq, prev, digest))
        prev = digest
    assert check_chain(links, [SealMark(1, 3, prev)]) == []
    assert check_chain(links, []) == []
    # The last event gone: only the seal can tell.
    (problem,) = check_chain(links[:2], [SealMark(1, 3, prev)])
    assert (problem.kind, problem.event_id) == (ProblemKind.TRUNCATED, 2)
    # Everything gone.
    (problem,) = check_chain([], [SealMark(1, 3, prev)])
    assert problem.kind is ProblemKind.TRUNCATED


class _Row:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


# --- sealing --------------------------------------------------------------------------------------


async def test_seal_then_verify_is_intact_and_sealing_is_idempotent(
    db: Database, database_url: str
) -> None:
    first = await _add(db, 5)
    assert (await verify(db)).awaiting_seal == 5
    assert await seal_pending(db, batch_size=2) == 5  # three batches
    before = await _chain(db)
    assert [(r.id, r.seq) for r in before] == [(i, n) for n, i in enumerate(first, start=1)]
    assert before[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(before, before[1:], strict=False))

    assert await seal_pending(db) == 0
    assert await _chain(db) == before

    second = await _add(db, 3, start=6)
    assert await seal_pending(db) == 3
    after = await _chain(db)
    assert after[:5] == before
    assert [r.seq for r in after[5:]] == [6, 7, 8]
    assert after[5].id == second[0]
    assert after[5].prev_hash == before[-1].hash
    async with db.engine.connect() as conn:
        batches = (await conn.execute(select(seals).order_by(seals.c.first_seq))).all()
    assert [(s.first_seq, s.last_seq) for s in batches] == [(1, 2), (3, 4), (5, 5), (6, 8)]
    assert batches[-1].last_hash == after[-1].hash

    report = await verify(db)
    assert report.intact, report.problems
    assert (report.sealed, report.awaiting_seal, report.head_seq) == (8, 0, 8)
    assert report.head_hash == after[-1].hash

    await _add(db, 1, start=9)
    done = lig("audit", "verify", url=database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "audit chain intact: 8 events sealed, 1 awaiting seal"
    done = lig("audit", "seal", url=database_url)
    assert done.returncode == 0, done.stderr
    assert "sealed 1 audit event" in done.stdout
    done = lig("audit", "verify", "--json", url=database_url)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["intact"] is True
    assert (answer["sealed"], answer["awaiting_seal"], answer["problems"]) == (9, 0, [])
    assert answer["head"]["seq"] == 9


async def test_recorded_changes_are_sealed_like_reads(db: Database) -> None:
    from gateway.audit import record_change

    async with db.unit_of_work() as session:
        record_change(
            session,
            LOCAL_OPERATOR,
            action="standards.set",
            subjects={"standard": {"region_code": "320681000000"}, "before": None, "after": "9"},
            request_id="cli-1",
        )
    await _add(db, 1)
    assert await seal_pending(db) == 2
    assert (await verify(db)).intact


async def test_timestamps_read_back_the_same_on_both_engines(db: Database) -> None:
    at = datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    await _add(db, 1, at=at)
    await seal_pending(db)
    (row,) = await _chain(db)
    assert chain.timestamp_text(row.at) == "2026-12-31T23:59:59.999999+00:00"
    content = EventContent.of(_Row(**_event(1, at=at), id=row.id))
    assert row.hash == event_hash(content, 1, GENESIS)


# --- the triggers ---------------------------------------------------------------------------------


async def test_the_triggers_refuse_edits_and_deletes(db: Database) -> None:
    (sealed_id,) = await _add(db, 1)
    await seal_pending(db)
    (unsealed_id,) = await _add(db, 1, start=2)
    attempts = [
        update(events).where(events.c.id == sealed_id).values(outcome="FORBIDDEN"),
        update(events).where(events.c.id == sealed_id).values(hash="0" * 64),
        update(events).where(events.c.id == unsealed_id).values(client_id="someone-else"),
        update(events).where(events.c.id == unsealed_id).values(subjects={"households": [9]}),
        delete(events).where(events.c.id == sealed_id),
        delete(events).where(events.c.id == unsealed_id),
    ]
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(statement)
    # The seals too.
    for statement in (update(seals).values(last_hash="0" * 64), delete(seals)):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(statement)
    async with db.engine.connect() as conn:
        assert (await conn.scalar(select(func.count()).select_from(seals))) == 1
    # The one change allowed: the sealer's fill of an unsealed event.
    assert await seal_pending(db) == 1
    assert (await verify(db)).intact


# --- tampering ------------------------------------------------------------------------------------

_EDITS: dict[str, Any] = {
    "at": lambda row: row.at + timedelta(microseconds=1),
    "request_id": lambda row: "req-forged",
    "client_id": lambda row: "another-client",
    "agency": lambda row: "GAJ",
    "kind": lambda row: "CHANGE",
    "action": lambda row: "households",
    "purpose": lambda row: None,
    "subjects": lambda row: {"households": [3], "persons": [103]},
    "fields": lambda row: ["Household.code"],
    "result_count": lambda row: 0,
    "outcome": lambda row: "FORBIDDEN",
}


@pytest.mark.parametrize("column", sorted(_EDITS))
async def test_editing_any_column_of_a_sealed_event_is_caught_and_named(
    db: Database, database_url: str, column: str
) -> None:
    ids = await _add(db, 5)
    await seal_pending(db, batch_size=2)
    await _drop_guards(db)
    target = next(r for r in await _chain(db) if r.id == ids[2])
    await _tamper(db, target.id, **{column: _EDITS[column](target)})

    done = lig("audit", "verify", url=database_url)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout.strip() == (
        f"event {target.id} (seq 3): content does not match its hash — edited after sealing"
    )
    assert "audit chain broken" in done.stderr


async def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(
    db: Database, database_url: str
) -> None:
    ids = await _add(db, 5)
    await seal_pending(db)
    await _drop_guards(db)
    rows = await _chain(db)
    middle = rows[2]
    forged = EventContent.of(_Row(**{**middle._mapping, "outcome": "FORBIDDEN"}))
    await _tamper(db, middle.id, outcome="FORBIDDEN", hash=event_hash(forged, 3, middle.prev_hash))
    report = await verify(db)
    assert _kinds(report) == [(ProblemKind.BROKEN_LINK, ids[3])]
    assert f"hash of event {ids[2]} (seq 3)" in report.problems[0].message

    done = lig("audit", "verify", url=database_url)
    assert done.returncode == 1
    assert f"event {ids[3]} (seq 4)" in done.stdout
    assert f"event {ids[2]} (seq 3)" in done.stdout

    # The newest event, edited and re-hashed: no next link, but its seal remembers its hash.
    newest = rows[-1]
    forged = EventContent.of(_Row(**{**newest._mapping, "result_count": 0}))
    await _tamper(db, newest.id, result_count=0, hash=event_hash(forged, 5, newest.prev_hash))
    report = await verify(db)
    assert (ProblemKind.SEAL_MISMATCH, ids[4]) in _kinds(report)


async def test_deleting_a_middle_or_the_newest_event_is_caught(
    db: Database, database_url: str
) -> None:
    ids = await _add(db, 6)
    await seal_pending(db, batch_size=4)
    await _drop_guards(db)
    async with db.engine.begin() as conn:
        await conn.execute(delete(events).where(events.c.id == ids[2]))
    report = await verify(db)
    assert _kinds(report) == [(ProblemKind.MISSING, ids[3])]
    assert report.problems[0].message == (
        f"seq 3 missing between event {ids[1]} (seq 2) and event {ids[3]} (seq 4) — "
        "1 event(s) deleted"
    )

    async with db.engine.begin() as conn:
        await conn.execute(delete(events).where(events.c.id == ids[5]))
    done = lig("audit", "verify", url=database_url)
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("seq 3 missing")
    assert lines[1] == (
        f"the chain ends at event {ids[4]} (seq 5) but the seals cover up to seq 6 — the newest "
        "1 event(s) deleted"
    )

    done = lig("audit", "verify", "--json", url=database_url)
    assert done.returncode == 1
    answer = json.loads(done.stdout)
    assert answer["intact"] is False
    assert [(p["kind"], p["event_id"]) for p in answer["problems"]] == [
        ("MISSING", ids[3]),
        ("TRUNCATED", ids[4]),
    ]

    # The first event, too.
    async with db.engine.begin() as conn:
        await conn.execute(delete(events).where(events.c.id == ids[0]))
    assert (ProblemKind.MISSING, ids[1]) in _kinds(await verify(db))


async def test_a_replaced_newest_event_and_a_deleted_tail_with_its_seal(db: Database) -> None:
    ids = await _add(db, 3)
    await seal_pending(db)
    await _drop_guards(db)
    rows = await _chain(db)
    # Replace the newest event by another, correctly chained: only the seal tells.
    async with db.engine.begin() as conn:
        await conn.execute(delete(events).where(events.c.id == ids[2]))
        forged = {**_event(3, outcome="FORBIDDEN"), "id": ids[2]}
        digest = event_hash(EventContent.of(_Row(**forged)), 3, rows[1].hash)
        await conn.execute(
            insert(events).values(**forged, seq=3, prev_hash=rows[1].hash, hash=digest)
        )
    assert _kinds(await verify(db)) == [(ProblemKind.SEAL_MISMATCH, ids[2])]


async def test_an_event_chained_past_the_last_seal_is_caught(db: Database) -> None:
    await _add(db, 2)
    await seal_pending(db)
    (smuggled,) = await _add(db, 1, start=3)
    # Allowed by the triggers (content unchanged, hash NULL), but not done by the sealer.
    await _tamper(db, smuggled, seq=10, prev_hash=GENESIS, hash="ab" * 32)
    report = await verify(db)
    assert _kinds(report) == [(ProblemKind.BEYOND_SEAL, smuggled)]


async def test_verify_reads_in_chunks_across_batches(db: Database) -> None:
    ids = await _add(db, 9)
    await seal_pending(db, batch_size=2)
    report = await verify(db, chunk_size=2)
    assert report.intact
    assert report.sealed == 9
    await _drop_guards(db)
    await _tamper(db, ids[3], purpose="forged")
    async with db.engine.begin() as conn:
        await conn.execute(delete(events).where(events.c.id.in_([ids[6], ids[8]])))
    report = await verify(db, chunk_size=2)
    assert _kinds(report) == [
        (ProblemKind.EDITED, ids[3]),
        (ProblemKind.MISSING, ids[7]),
        (ProblemKind.TRUNCATED, ids[7]),
    ]
    assert report.sealed == 7


# --- concurrency and commit order -----------------------------------------------------------------


async def _assert_one_straight_chain(db: Database, count: int) -> None:
    rows = await _chain(db)
    assert sorted(r.seq for r in rows) == list(range(1, count + 1))
    async with db.engine.connect() as conn:
        batches = (await conn.execute(select(seals).order_by(seals.c.first_seq))).all()
    assert batches[0].first_seq == 1
    assert all(b.first_seq == a.last_seq + 1 for a, b in zip(batches, batches[1:], strict=False))
    assert batches[-1].last_seq == count
    report = await verify(db)
    assert report.intact, report.problems
    assert (report.sealed, report.awaiting_seal) == (count, 0)


async def test_concurrent_sealers_never_fork_the_chain(db: Database, database_url: str) -> None:
    other = Database(Settings(database_url=database_url))
    try:
        total = 0
        for round_ in range(5):
            await _add(db, 7, start=round_ * 7 + 1)
            total += 7
            # Through the public call (PostgreSQL: the advisory lock turns the loser away) …
            sealed = await asyncio.gather(
                seal_pending(db, batch_size=3),
                seal_pending(other, batch_size=3),
                seal_pending(db, batch_size=3),
            )
            assert sum(sealed) == 7
            await _assert_one_straight_chain(db, total)
            # … and without the lock, so that the seal's key must settle the race.
            await _add(db, 5, start=100 + round_ * 5)
            total += 5
            results = await asyncio.gather(
                *(sealer._seal_batch(d, 5, advisory_lock=False) for d in (db, other, db, other))
            )
            assert sum(r or 0 for r in results) == 5
            await _assert_one_straight_chain(db, total)
    finally:
        await other.dispose()


async def test_an_event_committed_late_with_a_smaller_id_is_sealed_later(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(insert(events), [{**_event(n), "id": 100 + n} for n in (1, 2)])
    await seal_pending(db)
    # Committed after 101 and 102 were sealed, with a smaller id (PostgreSQL sequences allow it).
    async with db.engine.begin() as conn:
        await conn.execute(insert(events).values(**_event(3), id=50))
    assert await seal_pending(db) == 1
    rows = {r.id: r for r in await _chain(db)}
    assert (rows[101].seq, rows[102].seq, rows[50].seq) == (1, 2, 3)
    assert rows[50].prev_hash == rows[102].hash
    assert (await verify(db)).intact


# --- the background sealer ------------------------------------------------------------------------


async def test_run_sealer_seals_survives_a_failure_and_stops_when_cancelled(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = sealer.seal_pending
    calls = 0

    async def flaky(database: Database, batch_size: int = 5000) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database restarting")
        return await real(database, batch_size)

    monkeypatch.setattr(sealer, "seal_pending", flaky)
    await _add(db, 3)
    with caplog.at_level(logging.INFO, logger="gateway.audit.sealer"):
        task = asyncio.create_task(sealer.run_sealer(db, 0.01))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if (await verify(db)).sealed == 3:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert (await verify(db)).sealed == 3
    assert "audit sealing failed" in caplog.text
    assert "works again" in caplog.text


# --- auditEvents ----------------------------------------------------------------------------------


@strawberry.type
class _Query:
    audit_events: t.Connection[AuditEventType] = strawberry.field(resolver=audit_events)


_SCHEMA = strawberry.Schema(query=_Query)
_QUERY = """
query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    nodes { id at clientId kind action purpose households persons fields resultCount outcome
            seq hash requestId agency subjects }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def _audit_events(db: Database, **variables: Any) -> Any:
    ctx = Context(db=db, principal=LOCAL_OPERATOR, request_id="test")
    try:
        return await _SCHEMA.execute(_QUERY, variable_values=variables, context_value=ctx)
    finally:
        await ctx.close()


async def test_audit_events_pages_newest_first_and_filters(db: Database) -> None:
    ids = await _add(db, 4)
    ids += await _add(db, 2, start=5, client_id="gaj-client", agency="GAJ", outcome="FORBIDDEN")
    ids += await _add(db, 1, start=7, kind="CHANGE", subjects={"households": [2], "note": "x"})
    await seal_pending(db)

    result = await _audit_events(db, first=3)
    assert result.errors is None, result.errors
    page = result.data["auditEvents"]
    assert [n["id"] for n in page["nodes"]] == [str(i) for i in reversed(ids[-3:])]
    assert page["pageInfo"]["hasNextPage"] is True
    newest = page["nodes"][0]
    assert (newest["kind"], newest["households"], newest["persons"]) == ("CHANGE", ["2"], [])
    assert newest["subjects"] == {"households": [2], "note": "x"}
    assert newest["seq"] == 7
    assert len(newest["hash"]) == 64
    seen = [n["id"] for n in page["nodes"]]
    while page["pageInfo"]["hasNextPage"]:
        result = await _audit_events(db, first=3, after=page["pageInfo"]["endCursor"])
        page = result.data["auditEvents"]
        seen += [n["id"] for n in page["nodes"]]
    assert seen == [str(i) for i in reversed(ids)]

    async def ids_for(flt: dict[str, Any]) -> list[str]:
        result = await _audit_events(db, filter=flt)
        assert result.errors is None, result.errors
        return [n["id"] for n in result.data["auditEvents"]["nodes"]]

    assert await ids_for({"clientId": "gaj-client"}) == [str(ids[5]), str(ids[4])]
    assert await ids_for({"agency": "GAJ", "outcome": "OK"}) == []
    assert await ids_for({"kind": "CHANGE"}) == [str(ids[6])]
    assert await ids_for({"action": "household", "outcome": "FORBIDDEN"}) == [
        str(ids[5]),
        str(ids[4]),
    ]
    # Minutes 2 and 3 after 08:00 UTC, given in Beijing time; `to` is exclusive.
    window = {"from": "2026-03-01T16:02:00+08:00", "to": "2026-03-01T16:03:00.000004+08:00"}
    assert await ids_for(window) == [str(ids[2]), str(ids[1])]
    assert await ids_for({"householdId": "2"}) == [str(ids[6]), str(ids[1])]
    assert await ids_for({"personId": "104"}) == [str(ids[3])]
    assert await ids_for({"personId": "4"}) == []


@pytest.mark.parametrize(
    ("flt", "after", "field"),
    [
        ({"from": "2026-03-01T08:00:00"}, None, "filter.from"),
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, None, "filter.to"),
        ({"householdId": "abc"}, None, "filter.householdId"),
        ({"personId": "0"}, None, "filter.personId"),
        ({"clientId": ""}, None, "filter.clientId"),
        (None, "bm90LWEtY3Vyc29y", "after"),
    ],
)
async def test_audit_events_names_a_bad_argument(
    db: Database, flt: dict[str, Any] | None, after: str | None, field: str
) -> None:
    result = await _audit_events(db, filter=flt, after=after)
    (error,) = result.errors
    assert getattr(error.original_error, "field", None) == field, error


async def test_the_audit_trail_counts(db: Database) -> None:
    await _add(db, 2)
    report = await verify(db)
    assert report.awaiting_seal == 2
    assert report.sealed == 0
    assert report.oldest_unsealed_at == _event(1)["at"]
    assert report.oldest_unsealed_age is not None
    async with db.engine.connect() as conn:
        assert (await conn.scalar(select(func.count()).select_from(seals))) == 0
