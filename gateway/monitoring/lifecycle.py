"""The life of a warning: which moves exist, who may make them, and making them.

    OPEN ──dispatch──▶ DISPATCHED ──acknowledge──▶ ACKNOWLEDGED ──resolve──▶ RESOLVED
      │                   │  ▲ (re-dispatch)           │
      └──────escalate─────┴──┴─────────────────────────┴──▶ ESCALATED ──resolve──▶ RESOLVED
    any open state ──(a later comparison no longer finds it)──▶ AUTO_CLEARED

A warning is born OPEN and dispatched at once to the agencies its route names (routing.py);
civil affairs dispatches by hand what has no route, and may re-dispatch. Overdue warnings
escalate on their own to the county coordination mechanism. The pure part (`allowed`,
`may_act`) decides; `move` records the transition, the notices and the audit event in the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.scopes import ALL_SCOPES, CIVIL_AFFAIRS
from gateway.audit import record_change
from gateway.database import bulk_insert
from gateway.domain.enums import (
    OPEN_WARNING_STATUSES,
    NoticeKind,
    Resolution,
    WarningStatus,
)
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.models import (
    Household,
    WarningAssignment,
    WarningRecord,
    WarningTransition,
)
from gateway.models.base import table_of, utcnow
from gateway.monitoring.access import may_act, may_read
from gateway.monitoring.calendar import load_calendar
from gateway.monitoring.notices import Notice, notify_many
from gateway.monitoring.routing import check_agencies, load_routing
from gateway.principal import Principal

COORDINATION = "coordination"  # 县级困难群众基本生活保障工作协调机制
SYSTEM = "system"  # who the comparison and the escalation act as
SYSTEM_PRINCIPAL = Principal(client_id=SYSTEM, agency=CIVIL_AFFAIRS, scopes=ALL_SCOPES)

S = WarningStatus
# The moves a person can make: action → (from which states, to which state).
MOVES: dict[str, tuple[frozenset[WarningStatus], WarningStatus]] = {
    "dispatch": (frozenset({S.OPEN, S.DISPATCHED, S.ESCALATED}), S.DISPATCHED),
    "acknowledge": (frozenset({S.DISPATCHED}), S.ACKNOWLEDGED),
    "resolve": (frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.ESCALATED}), S.RESOLVED),
    "escalate": (frozenset({S.OPEN, S.DISPATCHED, S.ACKNOWLEDGED}), S.ESCALATED),
}


def allowed(action: str, status: WarningStatus) -> bool:
    sources, _ = MOVES[action]
    return status in sources


@dataclass(frozen=True, slots=True)
class Move:
    warning_id: int
    from_status: WarningStatus | None
    to_status: WarningStatus
    agencies: tuple[str, ...]  # whom to tell
    note: str | None = None


async def record_moves(session: AsyncSession, moves: Sequence[Move], by: str) -> None:
    """The transitions and the notices of several moves, in a few statements."""
    if not moves:
        return
    now = utcnow()
    await bulk_insert(
        session,
        table_of(WarningTransition),
        [
            {
                "warning_id": m.warning_id,
                "from_status": m.from_status,
                "to_status": m.to_status,
                "at": now,
                "by": by,
                "note": m.note,
            }
            for m in moves
        ],
    )
    await notify_many(
        session,
        [
            Notice(
                m.warning_id,
                agency,
                NoticeKind.ASSIGNED
                if m.to_status is S.DISPATCHED or (m.from_status is None and m.agencies)
                else NoticeKind.STATUS_CHANGED,
                m.to_status,
            )
            for m in moves
            # Opening and dispatching at once is one notice, not two.
            if not (m.from_status is None and m.to_status is S.OPEN and m.agencies)
            for agency in m.agencies
        ],
    )


async def assigned(session: AsyncSession, warning_ids: Sequence[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(WarningAssignment.warning_id, WarningAssignment.agency_code)
        .where(WarningAssignment.warning_id.in_(warning_ids))
        .order_by(WarningAssignment.agency_code)
    )
    out: dict[int, list[str]] = {w: [] for w in warning_ids}
    for row in rows:
        out[row.warning_id].append(row.agency_code)
    return out


async def assign(session: AsyncSession, pairs: Iterable[tuple[int, str]]) -> None:
    rows = [{"warning_id": w, "agency_code": a, "assigned_at": utcnow()} for w, a in pairs]
    if rows:
        await bulk_insert(session, table_of(WarningAssignment), rows)


async def act(
    session: AsyncSession,
    principal: Principal,
    warning_id: int,
    action: str,
    *,
    request_id: str,
    note: str | None = None,
    resolution: Resolution | None = None,
    agencies: Sequence[str] | None = None,
    expected_version: int | None = None,
) -> WarningRecord:
    """One person's move on one warning, checked, recorded and audited (not committed)."""
    warning = await session.get(WarningRecord, warning_id, with_for_update=True)
    if warning is None:
        raise NotFound(f"warning {warning_id} not found", field="id")
    region = await session.scalar(
        select(Household.region_code).where(Household.id == warning.household_id)
    )
    current = (await assigned(session, [warning_id]))[warning_id]
    if not may_read(principal, current, region or ""):
        # The same answer as for a warning that does not exist: ids are not to be probed.
        raise NotFound(f"warning {warning_id} not found", field="id")
    if not may_act(principal, action, current, region or ""):
        raise Forbidden(f"{principal.agency} may not {action} warning {warning_id}")
    if expected_version is not None and expected_version != warning.version:
        raise Conflict(
            f"warning {warning_id} changed since you read it (version {warning.version}, "
            f"you had {expected_version}); reload it and try again",
            field="version",
        )
    if not allowed(action, warning.status):
        raise Conflict(
            f"warning {warning_id} is {warning.status.value}: it cannot be {action}ed from there",
            field="id",
        )
    _, to_status = MOVES[action]
    tell = set(current)
    if action == "resolve":
        if resolution is None:
            raise InvalidInput("resolution", "is required to resolve a warning")
        if not note or not note.strip():
            raise InvalidInput("note", "say what was done (or why nothing was)")
        warning.resolution = resolution.value
        warning.resolution_note = note.strip()
    if action == "dispatch":
        chosen = sorted(set(agencies or current))
        if not chosen:
            raise InvalidInput("agencies", "name at least one agency to dispatch to")
        new = [a for a in chosen if a not in current]
        await check_agencies(session, new, "agencies")
        # The warning is theirs now, and theirs only: whoever it was taken from loses sight of
        # the people it names, and is told.
        dropped = [a for a in current if a not in chosen]
        if dropped:
            await session.execute(
                delete(WarningAssignment).where(
                    WarningAssignment.warning_id == warning_id,
                    WarningAssignment.agency_code.in_(dropped),
                )
            )
        await assign(session, ((warning_id, a) for a in new))
        tell = set(chosen) | set(dropped)
        # A fresh period from today: a re-dispatched overdue warning is not escalated at once.
        route = (await load_routing(session)).route(warning.kind, warning.hardship_type)
        warning.due_on = (await load_calendar(session)).add(date.today(), route.due_working_days)
    if action == "escalate" and COORDINATION not in current:
        await assign(session, [(warning_id, COORDINATION)])
        tell.add(COORDINATION)
    before = warning.status
    warning.status = to_status
    warning.updated_by = principal.client_id
    await session.flush()
    await record_moves(
        session,
        [Move(warning_id, before, to_status, tuple(sorted(tell)), note)],
        principal.client_id,
    )
    record_change(
        session,
        principal,
        action=f"warning.{action}",
        request_id=request_id,
        subjects={
            "warning": warning_id,
            "households": [warning.household_id],
            "from": before.value,
            "to": to_status.value,
            "resolution": warning.resolution,
            "agencies": sorted(tell),
        },
    )
    return warning


async def escalate_overdue(session: AsyncSession, today: date, *, limit: int = 1000) -> int:
    """Escalate open warnings past their due date to the coordination mechanism; answer how
    many."""
    due = (
        await session.execute(
            select(
                WarningRecord.id,
                WarningRecord.status,
                WarningRecord.due_on,
                WarningRecord.household_id,
            )
            .where(
                WarningRecord.status.in_([S.OPEN, S.DISPATCHED, S.ACKNOWLEDGED]),
                WarningRecord.due_on < today,
            )
            .order_by(WarningRecord.due_on, WarningRecord.id)
            .limit(limit)
        )
    ).all()
    if not due:
        return 0
    # One conditional UPDATE: only the warnings still in the state read are escalated, so two
    # processes escalating at once never escalate one twice.
    read = [(r.id, r.status) for r in due]
    escalated = set(
        await session.scalars(
            update(WarningRecord)
            .where(tuple_(WarningRecord.id, WarningRecord.status).in_(read))
            .values(
                status=S.ESCALATED,
                version=WarningRecord.version + 1,
                updated_at=utcnow(),
                updated_by=SYSTEM,
            )
            .returning(WarningRecord.id)
            .execution_options(synchronize_session=False)
        )
    )
    rows = [r for r in due if r.id in escalated]
    current = await assigned(session, [r.id for r in rows])
    await assign(session, ((r.id, COORDINATION) for r in rows if COORDINATION not in current[r.id]))
    households = [r.household_id for r in rows]
    moves = [
        Move(
            r.id,
            r.status,
            S.ESCALATED,
            tuple(sorted({*current[r.id], COORDINATION})),
            f"overdue: was due {r.due_on.isoformat()}",
        )
        for r in rows
    ]
    await record_moves(session, moves, SYSTEM)
    if moves:
        record_change(
            session,
            SYSTEM_PRINCIPAL,
            action="warnings.escalate_overdue",
            request_id="escalation",
            subjects={"warnings": [m.warning_id for m in moves], "households": households},
            result_count=len(moves),
        )
    return len(moves)


__all__ = [
    "COORDINATION",
    "MOVES",
    "OPEN_WARNING_STATUSES",
    "SYSTEM",
    "SYSTEM_PRINCIPAL",
    "Move",
    "act",
    "allowed",
    "assign",
    "assigned",
    "escalate_overdue",
    "record_moves",
]
