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
    # Mark the local state as the synced base (a plain UPDATE: not a change of the household,
    # so neither its version nor its history moves).
    if conflict.entity == SyncEntity.PERSON:
        await session.execute(
            update(Person)
            .where(Person.id == conflict.person_id)
            .values(synced_at=Person.updated_at)
        )
    else:
        await session.execute(
            update(Household)
            .where(Household.id == conflict.household_id)
            .values(synced_version=Household.version)
        )
    if keep == "national":
        session.expire_all()  # the rows apply_page loads must show the UPDATE above
        await session.refresh(conflict)
        counts, _ = await apply_page(session, [conflict.national_state], 0, today)
        if counts.applied == 0:
            raise Conflict(
                "the national change could not be applied (a newer national version is "
                "already here, or its household is unknown); keep the local state instead"
            )
        conflict.status = ConflictStatus.TOOK_NATIONAL
    else:
        version_column = {
            SyncEntity.HOUSEHOLD: Household.national_version,
            SyncEntity.CATEGORY: Household.national_category_version,
        }
        if conflict.entity == SyncEntity.PERSON:
            await session.execute(
                update(Person)
                .where(Person.id == conflict.person_id)
                .values(national_version=conflict.national_version)
            )
        else:
            column = version_column[conflict.entity]
            await session.execute(
                update(Household)
                .where(Household.id == conflict.household_id)
                .values({column: conflict.national_version})
            )
        conflict.status = ConflictStatus.KEPT_LOCAL
    conflict.resolved_at = utcnow()
    conflict.resolved_by = resolved_by
    conflict.note = note
    return conflict
