"""Linking pushed items to people who arrived in the database after them.

Events and assistance records name their person by ID number and are kept even when nobody in
the database has that number yet (a hospital settlement before the household applied, a death
reported before the national sync). When people arrive (a sync, an application), this links the
waiting items to them and their current household. Set-based: one UPDATE per table.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain.enums import AssistanceSubject
from gateway.models import AssistanceRecord, Membership, MonitoringEvent, Person


async def match_waiting(session: AsyncSession) -> dict[str, int]:
    """Link every waiting event and record whose ID number is now known; answer the counts."""
    person = select(Person.id).where(Person.id_number == MonitoringEvent.id_number)
    household = (
        select(Membership.household_id)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.left_on.is_(None))
    )
    events = await session.execute(
        update(MonitoringEvent)
        .where(MonitoringEvent.person_id.is_(None), person.exists())
        .values(
            person_id=person.scalar_subquery(),
            household_id=household.where(
                Person.id_number == MonitoringEvent.id_number
            ).scalar_subquery(),
        )
        .execution_options(synchronize_session=False)
    )
    record_person = select(Person.id).where(Person.id_number == AssistanceRecord.id_number)
    # A household's record is matched once its person belongs to a household; a person's
    # record as soon as the person is known.
    record_household = household.where(Person.id_number == AssistanceRecord.id_number)
    records = await session.execute(
        update(AssistanceRecord)
        .where(
            and_(AssistanceRecord.person_id.is_(None), AssistanceRecord.household_id.is_(None)),
            or_(
                and_(
                    AssistanceRecord.applies_to == AssistanceSubject.PERSON,
                    record_person.exists(),
                ),
                record_household.exists(),
            ),
        )
        .values(
            person_id=select(Person.id)
            .where(
                Person.id_number == AssistanceRecord.id_number,
                AssistanceRecord.applies_to == AssistanceSubject.PERSON,
            )
            .scalar_subquery(),
            household_id=record_household.scalar_subquery(),
        )
        .execution_options(synchronize_session=False)
    )
    return {
        "events": events.rowcount,  # type: ignore[attr-defined]
        "assistance_records": records.rowcount,  # type: ignore[attr-defined]
    }
