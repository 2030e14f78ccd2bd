"""Linking pushed items to people (and households) who arrived in the database after them.

Events and assistance records name their person by ID number and are kept even when nobody in
the database has that number yet (a hospital settlement before the household applied, a death
reported before the national sync), or when the person belongs to no household yet. When people
arrive or join a household (a sync, an application), this links the waiting items to them and
to their current household. Set-based: one UPDATE per table; an item is waiting while its
`household_id` is empty.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain.enums import AssistanceSubject
from gateway.models import AssistanceRecord, Membership, MonitoringEvent, Person
from gateway.monitoring import queue as comparison_queue


def _person_of(id_number: Any) -> Any:
    return select(Person.id).where(Person.id_number == id_number)


def _household_of(id_number: Any) -> Any:
    return (
        select(Membership.household_id)
        .join(Person, Person.id == Membership.person_id)
        .where(Person.id_number == id_number, Membership.left_on.is_(None))
    )


def _news(entity: Any, names_person: ColumnElement[bool]) -> ColumnElement[bool]:
    """Waiting rows with something new to link: the person is now known (for rows that name
    one), or now belongs to a household."""
    return and_(
        entity.household_id.is_(None),
        or_(
            and_(names_person, entity.person_id.is_(None), _person_of(entity.id_number).exists()),
            _household_of(entity.id_number).exists(),
        ),
    )


async def match_waiting(session: AsyncSession) -> dict[str, int]:
    """Link every waiting event and record whose person or household is now known; answer how
    many rows were linked."""
    event = MonitoringEvent
    events = await session.execute(
        update(event)
        .where(_news(event, true()))
        .values(
            person_id=_person_of(event.id_number).scalar_subquery(),
            household_id=_household_of(event.id_number).scalar_subquery(),
        )
        .returning(event.household_id)
        .execution_options(synchronize_session=False)
    )
    event_households = list(events.scalars())
    record = AssistanceRecord
    for_person = record.applies_to == AssistanceSubject.PERSON
    records = await session.execute(
        update(record)
        .where(_news(record, for_person))
        .values(
            # A household's record is linked to the household, never to the person it names.
            person_id=select(Person.id)
            .where(Person.id_number == record.id_number, for_person)
            .scalar_subquery(),
            household_id=_household_of(record.id_number).scalar_subquery(),
        )
        .returning(record.household_id)
        .execution_options(synchronize_session=False)
    )
    record_households = list(records.scalars())
    # What now reaches a household is compared against it (gateway/monitoring).
    await comparison_queue.enqueue(session, [*event_households, *record_households])
    return {"events": len(event_households), "assistance_records": len(record_households)}
