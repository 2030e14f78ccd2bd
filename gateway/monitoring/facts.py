"""Loading the facts the comparison rules look at, for many households in a few statements.

Six statements per batch whatever its size: households, current members, current events within
the look-back, current assistance records still running within it, the latest recorded
economic situation, and the verification authorisations. Standards are read once per region.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.determinations.cases import (
    authorisations_of,
    current_members,
    latest_situations,
    member_of,
    situation_case,
)
from gateway.determinations.service import StandardsCache
from gateway.domain.authorisations import refused, valid_on
from gateway.domain.enums import AssistanceSubject, EventKind
from gateway.models import (
    AssistanceRecord,
    Household,
    MonitoringEvent,
)
from gateway.monitoring.rules import (
    EventFacts,
    HouseholdFacts,
    MemberFacts,
    Params,
    RecordFacts,
)


async def load_facts(
    session: AsyncSession, ids: Sequence[int], params: Params, standards: StandardsCache
) -> list[HouseholdFacts]:
    as_of, since = params.as_of, params.since
    households = list(
        await session.scalars(select(Household).where(Household.id.in_(ids)).order_by(Household.id))
    )
    # The deceased too: the death rules look at them.
    members = await current_members(session, ids, as_of, living_only=False)
    events: dict[int, list[EventFacts]] = defaultdict(list)
    for e in await session.execute(
        select(
            MonitoringEvent.id,
            MonitoringEvent.household_id,
            MonitoringEvent.kind,
            MonitoringEvent.person_id,
            MonitoringEvent.occurred_on,
            MonitoringEvent.details,
        ).where(
            MonitoringEvent.household_id.in_(ids),
            MonitoringEvent.is_current.is_(True),
            # A death is a fact for good, however long ago it was reported.
            (MonitoringEvent.occurred_on >= since) | (MonitoringEvent.kind == EventKind.DECEASED),
        )
    ):
        events[e.household_id].append(
            EventFacts(e.id, e.kind, e.person_id, e.occurred_on, e.details or {})
        )
    records: dict[int, list[RecordFacts]] = defaultdict(list)
    for r in await session.execute(
        select(
            AssistanceRecord.id,
            AssistanceRecord.household_id,
            AssistanceRecord.kind,
            AssistanceRecord.applies_to,
            AssistanceRecord.person_id,
            AssistanceRecord.period_start,
            AssistanceRecord.period_end,
        ).where(
            AssistanceRecord.household_id.in_(ids),
            AssistanceRecord.is_current.is_(True),
            AssistanceRecord.period_end.is_(None) | (AssistanceRecord.period_end >= since),
        )
    ):
        subject = r.person_id if r.applies_to == AssistanceSubject.PERSON else None
        records[r.household_id].append(
            RecordFacts(r.id, r.kind, subject, r.period_start, r.period_end)
        )
    situations = await latest_situations(session, ids, as_of)
    authorisations = await authorisations_of(session, ids)

    # The figures in force, once per region of the batch (not once per household).
    in_force = {
        region: await standards.in_force(session, region, as_of)
        for region in {h.region_code for h in households}
    }
    out: list[HouseholdFacts] = []
    for h in households:
        people = members.get(h.id, [])
        living = [
            member_of(m, p) for m, p in people if p.deceased_on is None or p.deceased_on > as_of
        ]
        situation = situations.get(h.id)
        answers = authorisations.get(h.id, [])
        case = (
            situation_case(
                h, living, situation, as_of, refused_authorisation=refused(answers, as_of)
            )
            if situation and living
            else None
        )
        out.append(
            HouseholdFacts(
                id=h.id,
                region_code=h.region_code,
                category=h.category,
                status=h.status,
                former_registered_poor=h.former_registered_poor,
                valid_until=h.valid_until,
                next_review_on=h.next_review_on,
                members=tuple(MemberFacts(p.id, p.id_number, p.deceased_on) for _, p in people),
                events=tuple(events.get(h.id, ())),
                records=tuple(records.get(h.id, ())),
                case=case,
                situation_on=situation.recorded_on if situation else None,
                authorised=valid_on(answers, as_of),
                standards=in_force[h.region_code],
            )
        )
    return out
