"""Comparison passes: the rules on households, reconciled with their open warnings.

For each finding of a household: an open warning for the same finding gains the new evidence
(one open warning per household and finding); else a warning resolved earlier that already
holds all of this evidence keeps it quiet (a caseworker's answer is not undone by the same
facts); else a new warning is opened, routed and dispatched. An open warning whose rule ran
and found nothing is AUTO_CLEARED. A NOT_COVERED warning starts an application.

Two ways in, the same code: `run_full` (`lig compare`) walks every household in keyset pages;
`drain` takes the households queued by pushes, feeds, syncs and visits. Each batch commits on
its own, so a crash loses at most the batch in flight and a rerun redoes it (idempotently). A
lease makes one pass run at a time across every process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from gateway.applications.service import start_applications
from gateway.audit import record_change
from gateway.database import Database
from gateway.determinations.service import StandardsCache
from gateway.domain.enums import (
    OPEN_WARNING_STATUSES,
    ComparisonMode,
    NoticeKind,
    WarningKind,
    WarningStatus,
)
from gateway.domain.workdays import WorkCalendar
from gateway.households.queries import in_region
from gateway.models import ComparisonRun, Household, WarningRecord
from gateway.models.base import utcnow
from gateway.monitoring import queue
from gateway.monitoring.calendar import load_calendar
from gateway.monitoring.facts import load_facts
from gateway.monitoring.lifecycle import (
    SYSTEM,
    SYSTEM_PRINCIPAL,
    Move,
    assign,
    assigned,
    record_moves,
)
from gateway.monitoring.notices import Notice, notify_many
from gateway.monitoring.routing import Routing, load_routing
from gateway.monitoring.rules import Finding, Params, compare
from gateway.settings import Settings
from gateway.sync.leases import Lease, LeaseHeld

LEASE = "compare"


@dataclass
class Tally:
    households: int = 0
    findings: int = 0
    opened: int = 0
    joined: int = 0
    cleared: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.households += other.households
        self.findings += other.findings
        self.opened += other.opened
        self.joined += other.joined
        self.cleared += other.cleared
        self.by_rule.update(other.by_rule)
        self.skipped.update(other.skipped)

    def as_json(self) -> dict[str, Any]:
        return {
            "households": self.households,
            "findings": self.findings,
            "opened": self.opened,
            "joined": self.joined,
            "cleared": self.cleared,
            "by_rule": dict(sorted(self.by_rule.items())),
            "skipped": dict(sorted(self.skipped.items())),
        }


@dataclass(frozen=True, slots=True)
class Setup:
    """What a pass reads once: the parameters, the routing table, the calendar, standards."""

    params: Params
    routing: Routing
    calendar: WorkCalendar
    standards: StandardsCache

    @classmethod
    async def load(cls, session: AsyncSession, settings: Settings, as_of: date) -> Setup:
        return cls(
            params_of(settings, as_of),
            await load_routing(session),
            await load_calendar(session),
            StandardsCache(),
        )


def params_of(settings: Settings, as_of: date) -> Params:
    return Params(
        as_of=as_of,
        grace_days=settings.compare_grace_days,
        lookback_days=settings.compare_lookback_days,
        notice_days=settings.compare_notice_days,
        heavy_cost_factor=settings.compare_heavy_cost_factor,
    )


async def compare_households(
    session: AsyncSession, ids: Sequence[int], setup: Setup, tally: Tally
) -> None:
    """Compare a batch of households and reconcile their warnings (not committed)."""
    as_of = setup.params.as_of
    facts = await load_facts(session, ids, setup.params, setup.standards)
    open_rows = list(
        await session.scalars(
            select(WarningRecord).where(
                WarningRecord.household_id.in_(ids),
                WarningRecord.status.in_(OPEN_WARNING_STATUSES),
            )
        )
    )
    open_by = {(w.household_id, w.finding): w for w in open_rows}
    answered = await _answered_evidence(session, ids)
    agencies = await assigned(session, [w.id for w in open_rows])
    open_of: dict[int, list[WarningRecord]] = {}
    for w in open_rows:
        open_of.setdefault(w.household_id, []).append(w)

    new: list[tuple[WarningRecord, tuple[str, ...]]] = []
    moves: list[Move] = []
    notices: list[Notice] = []
    applications: list[WarningRecord] = []
    seen_ids: list[int] = []
    for household in facts:
        tally.households += 1
        result = compare(household, setup.params)
        tally.skipped.update(result.skipped)
        found = {f.rule: f for f in result.findings}
        for finding in result.findings:
            tally.findings += 1
            tally.by_rule[finding.rule] += 1
            existing = open_by.get((household.id, finding.rule))
            if existing is not None:
                seen_ids.append(existing.id)
                if _join(existing, finding, as_of):
                    tally.joined += 1
                    notices += [
                        Notice(existing.id, a, NoticeKind.EVIDENCE_ADDED, existing.status)
                        for a in agencies[existing.id]
                    ]
                continue
            keys = {e["key"] for e in finding.evidence}
            if keys <= answered.get((household.id, finding.rule), set()):
                continue  # resolved before on this very evidence
            route = setup.routing.route(finding.kind, finding.hardship)
            warning = WarningRecord(
                kind=finding.kind,
                household_id=household.id,
                finding=finding.rule,
                hardship_type=finding.hardship,
                subjects=list(finding.subjects),
                severity=route.severity,
                status=WarningStatus.DISPATCHED if route.agencies else WarningStatus.OPEN,
                due_on=setup.calendar.add(as_of, route.due_working_days),
                evidence=list(finding.evidence),
                last_found_on=as_of,
                created_by=SYSTEM,
                updated_by=SYSTEM,
            )
            session.add(warning)
            new.append((warning, route.agencies))
            if finding.kind is WarningKind.NOT_COVERED:
                applications.append(warning)
        for warning in open_of.get(household.id, ()):
            if (
                warning.finding in result.evaluated
                and warning.finding not in found
                and not _aged(warning, setup.params)
            ):
                before = warning.status
                warning.status = WarningStatus.AUTO_CLEARED
                warning.updated_by = SYSTEM
                tally.cleared += 1
                moves.append(
                    Move(
                        warning.id,
                        before,
                        WarningStatus.AUTO_CLEARED,
                        tuple(agencies[warning.id]),
                        f"the comparison of {as_of.isoformat()} no longer finds it",
                    )
                )
    await session.flush()  # the new warnings get their ids
    if seen_ids:
        await session.execute(
            update(WarningRecord)
            .where(WarningRecord.id.in_(seen_ids), WarningRecord.last_found_on < as_of)
            .values(last_found_on=as_of)
            .execution_options(synchronize_session=False)
        )
    await assign(session, ((w.id, a) for w, route_agencies in new for a in route_agencies))
    for warning, route_agencies in new:
        moves.append(Move(warning.id, None, WarningStatus.OPEN, route_agencies))
        if route_agencies:
            moves.append(
                Move(
                    warning.id,
                    WarningStatus.OPEN,
                    WarningStatus.DISPATCHED,
                    route_agencies,
                    "dispatched by the routing table",
                )
            )
    tally.opened += len(new)
    await record_moves(session, moves, SYSTEM)
    await notify_many(session, notices)
    await start_applications(
        session,
        SYSTEM_PRINCIPAL,
        [(warning.household_id, warning.id) for warning in applications],
        applied_on=as_of,
        request_id="compare",
    )
    if new or moves or notices:
        record_change(
            session,
            SYSTEM_PRINCIPAL,
            action="warnings.compare",
            request_id="compare",
            subjects={
                "households": sorted({w.household_id for w, _ in new}),
                "opened": [w.id for w, _ in new],
                "cleared": [
                    m.warning_id for m in moves if m.to_status is WarningStatus.AUTO_CLEARED
                ],
                "joined": sorted({n.warning_id for n in notices}),
                "as_of": as_of.isoformat(),
            },
            result_count=len(new),
        )


def _aged(warning: WarningRecord, params: Params) -> bool:
    """Evidence that has left the look-back is no longer loaded, so the rule cannot see it: a
    finding it no longer makes is not a mismatch gone. Such a warning waits for a person."""
    since = params.since.isoformat()
    return any(str(e.get("occurred_on", since)) < since for e in warning.evidence)


def _join(warning: WarningRecord, finding: Finding, as_of: date) -> bool:
    """Add the finding's new evidence to its open warning; True if there was any."""
    known = {e.get("key") for e in warning.evidence}
    fresh = [e for e in finding.evidence if e["key"] not in known]
    if not fresh:
        return False
    warning.evidence = [*warning.evidence, *fresh]
    warning.subjects = sorted({*warning.subjects, *finding.subjects})
    warning.last_found_on = as_of
    warning.updated_by = SYSTEM
    return True


async def _answered_evidence(
    session: AsyncSession, ids: Sequence[int]
) -> dict[tuple[int, str], set[str]]:
    """The evidence of resolved warnings, per household and finding."""
    rows = await session.execute(
        select(WarningRecord.household_id, WarningRecord.finding, WarningRecord.evidence).where(
            WarningRecord.household_id.in_(ids),
            WarningRecord.status == WarningStatus.RESOLVED,
        )
    )
    out: dict[tuple[int, str], set[str]] = {}
    for row in rows:
        out.setdefault((row.household_id, row.finding), set()).update(
            e.get("key") for e in row.evidence or ()
        )
    return out


# ---- Passes -------------------------------------------------------------------------------------


async def _begin_run(
    db: Database, mode: ComparisonMode, as_of: date, by: str, started_at: datetime | None = None
) -> int:
    async with db.unit_of_work() as session:
        run = ComparisonRun(
            mode=mode,
            as_of=as_of,
            started_at=started_at or utcnow(),
            started_by=by,
            by_rule={},
            skipped={},
        )
        session.add(run)
        await session.flush()
        return run.id


async def _end_run(db: Database, run_id: int, tally: Tally) -> None:
    async with db.unit_of_work() as session:
        await session.execute(
            update(ComparisonRun)
            .where(ComparisonRun.id == run_id)
            .values(
                finished_at=utcnow(),
                households=tally.households,
                findings=tally.findings,
                opened=tally.opened,
                joined=tally.joined,
                cleared=tally.cleared,
                by_rule=dict(tally.by_rule),
                skipped=dict(tally.skipped),
            )
        )


async def _leased(db: Database, seconds: float) -> Lease | None:
    lease = Lease(db.engine, LEASE, seconds)
    return lease if await lease.acquire() else None


RETRIES = 3


async def _batch(
    db: Database,
    setup: Setup,
    tally: Tally,
    *,
    after: int | None = None,
    region: str | None = None,
) -> list[int]:
    """One batch in one transaction: the next households after `after` (a full pass) or the
    oldest queued ones (`after` None). Answers the ids compared (none: nothing left).

    A caseworker acting on one of the batch's warnings meanwhile makes the flush fail on the
    warning's version: the batch is then redone from fresh reads.
    """
    for attempt in range(RETRIES):
        batch = Tally()
        try:
            async with db.unit_of_work() as session:
                if after is None:
                    taken = await queue.queued(session, db.settings.compare_batch_size)
                    ids = sorted(taken)
                else:
                    ids = list(
                        await session.scalars(
                            select(Household.id)
                            .where(Household.id > after, *in_region(region))
                            .order_by(Household.id)
                            .limit(db.settings.compare_batch_size)
                        )
                    )
                    # What was queued for these households before they are read is done by
                    # this pass; what is queued while it runs waits for the next.
                    taken = await queue.queued_for(session, ids)
                if not ids:
                    return []
                await compare_households(session, ids, setup, batch)
                await queue.done(session, taken)
        except StaleDataError:
            if attempt == RETRIES - 1:
                raise
            continue
        tally.add(batch)
        return ids
    raise AssertionError("unreachable")


async def run_full(
    db: Database,
    as_of: date,
    *,
    by: str = "cli",
    region: str | None = None,
    on_batch: Any = None,
) -> tuple[int, Tally]:
    """Compare every household (in a region); answer the run's id and its counts."""
    settings = db.settings
    lease = await _leased(db, settings.compare_lease_seconds)
    if lease is None:
        raise LeaseHeld("another comparison is running; try again when it has finished")
    try:
        run_id = await _begin_run(db, ComparisonMode.FULL, as_of, by)
        tally = Tally()
        after = 0
        setup: Setup | None = None
        while True:
            if setup is None:
                async with db.unit_of_work() as session:
                    setup = await Setup.load(session, settings, as_of)
            ids = await _batch(db, setup, tally, after=after, region=region)
            if not ids:
                break
            after = ids[-1]
            await lease.renew()
            if on_batch is not None:
                on_batch(len(ids), tally)
        await _end_run(db, run_id, tally)
        return run_id, tally
    finally:
        await lease.release()


async def drain(db: Database, as_of: date, *, limit: int | None = None) -> Tally | None:
    """Compare the queued households (up to `limit`); None if another pass holds the lease."""
    settings = db.settings
    lease = await _leased(db, settings.compare_lease_seconds)
    if lease is None:
        return None
    tally = Tally()
    started = utcnow()
    try:
        setup: Setup | None = None
        while limit is None or tally.households < limit:
            if setup is None:
                async with db.unit_of_work() as session:
                    setup = await Setup.load(session, settings, as_of)
            if not await _batch(db, setup, tally):
                break
            await lease.renew()
        if tally.households:
            # Recorded only when there was work: an idle tick every few seconds is not a run.
            run_id = await _begin_run(db, ComparisonMode.INCREMENTAL, as_of, SYSTEM, started)
            await _end_run(db, run_id, tally)
        return tally
    finally:
        await lease.release()
