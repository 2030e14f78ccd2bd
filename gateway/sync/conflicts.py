"""Sync conflicts: listing them, and resolving one by keeping the local state or taking the
national change. Either way nothing is lost: the conflict row keeps both sides, and the
household's history keeps every state it had."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain.enums import ConflictStatus, SyncEntity
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.models import Household, Person, SyncConflict
from gateway.models.base import utcnow
from gateway.sync.apply import apply_page


async def _raise_national_version(session: AsyncSession, conflict: SyncConflict) -> None:
    """Keeping the local state: the national version it answered counts as seen (never moving
    the row's national version backwards), so that older national changes stay stale."""
    version = conflict.national_version
    if conflict.entity == SyncEntity.PERSON:
        column: Any = Person.national_version
        target = update(Person).where(Person.id == conflict.person_id)
    else:
        column = (
            Household.national_version
            if conflict.entity == SyncEntity.HOUSEHOLD
            else Household.national_category_version
        )
        target = update(Household).where(Household.id == conflict.household_id)
    await session.execute(
        target.where((column.is_(None)) | (column < version)).values({column: version})
    )


async def _settle(session: AsyncSession, conflict: SyncConflict) -> None:
    """Mark the row's present state as the synced base (a plain UPDATE: not a change of the
    household, so neither its version nor its history moves)."""
    if conflict.entity == SyncEntity.PERSON:
        await session.execute(
            update(Person)
            .where(Person.id == conflict.person_id)
            .values(synced_version=Person.version)
        )
    else:
        await session.execute(
            update(Household)
            .where(Household.id == conflict.household_id)
            .values(synced_version=Household.version)
        )


def describe(conflict: SyncConflict) -> dict[str, Any]:
    return {
        "id": conflict.id,
        "entity": conflict.entity.value,
        "national_id": conflict.national_id,
        "national_version": conflict.national_version,
        "status": conflict.status.value,
        "household_id": conflict.household_id,
        "person_id": conflict.person_id,
        "local": conflict.local_state,
        "local_changed_at": conflict.local_changed_at.isoformat()
        if conflict.local_changed_at
        else None,
        "local_changed_by": conflict.local_changed_by,
        "national": conflict.national_state.get("data", {}),
        "detected_at": conflict.detected_at.isoformat(),
        "resolved_by": conflict.resolved_by,
        "note": conflict.note,
    }


async def list_conflicts(
    session: AsyncSession, *, include_resolved: bool = False, limit: int = 100
) -> tuple[int, list[SyncConflict]]:
    """How many are open, and the first `limit` (open ones, or all)."""
    open_count = await session.scalar(
        select(func.count())
        .select_from(SyncConflict)
        .where(SyncConflict.status == ConflictStatus.OPEN)
    )
    query = select(SyncConflict).order_by(SyncConflict.id).limit(limit)
    if not include_resolved:
        query = query.where(SyncConflict.status == ConflictStatus.OPEN)
    return int(open_count or 0), list(await session.scalars(query))


async def resolve(
    session: AsyncSession,
    conflict_id: int,
    keep: str,
    *,
    resolved_by: str,
    note: str | None,
    today: date,
) -> SyncConflict:
    """`keep="local"`: the local state stands and becomes the base for later national changes;
    `keep="national"`: the national change is applied now over the local edit."""
    if keep not in ("local", "national"):
        raise InvalidInput("keep", "either local or national")
    conflict = await session.get(SyncConflict, conflict_id, with_for_update=True)
    if conflict is None:
        raise NotFound(f"no sync conflict {conflict_id}")
    if conflict.status != ConflictStatus.OPEN:
        raise Conflict(f"sync conflict {conflict_id} is already {conflict.status.value}")
    conflict.status = (
        ConflictStatus.TOOK_NATIONAL if keep == "national" else ConflictStatus.KEPT_LOCAL
    )
    await session.flush()
    # Until every conflict of the row is resolved, national changes keep waiting as conflicts;
    # after the last one, the state here becomes the base the next changes are compared with.
    others = await session.scalar(
        select(func.count())
        .select_from(SyncConflict)
        .where(
            SyncConflict.status == ConflictStatus.OPEN,
            SyncConflict.person_id == conflict.person_id
            if conflict.entity == SyncEntity.PERSON
            else SyncConflict.household_id == conflict.household_id,
        )
    )
    if keep == "national":
        session.expire_all()  # the rows apply_page loads must be read afresh
        await session.refresh(conflict)
        counts, _ = await apply_page(session, [conflict.national_state], 0, today, force=True)
        if counts.applied == 0:
            raise Conflict(
                "the national change could not be applied (a newer national version is "
                "already here, or its household is unknown); keep the local state instead"
            )
    else:
        await _raise_national_version(session, conflict)
    if not others:
        await _settle(session, conflict)
    conflict.resolved_at = utcnow()
    conflict.resolved_by = resolved_by
    conflict.note = note
    return conflict
