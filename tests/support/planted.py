"""Known values planted in every personal and financial field, for the leak tests.

Two households: one in 汇龙镇 (the town a `town` client is bound to) and one in 北新镇, outside
it. Every value is distinctive, so finding it in a response body means it was disclosed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from gateway.domain.enums import (
    AssistanceKind,
    Category,
    Channel,
    EmploymentStatus,
    EventKind,
    HouseholdStatus,
    LaborCapacity,
    RecordSource,
    Relation,
    Severity,
    UrbanRural,
    WarningKind,
    WarningStatus,
)
from gateway.models import (
    AssistanceRecord,
    Determination,
    Household,
    Membership,
    MonitoringEvent,
    Person,
    WarningRecord,
)
from tests.support.idnumbers import id_number

HUILONG = "320681100000"  # 汇龙镇
BEIXIN = "320681101000"  # 北新镇


@dataclass
class PlantedHousehold:
    tag: str
    region: str
    # A check character X, so a caller can send the number with a lower-case x: the answer may
    # echo what was sent, but must never hold the stored form unless the client may see it.
    id_number: str
    name: str
    family_name: str
    household_id: int = 0
    person_id: int = 0
    pii: set[str] = field(default_factory=set)  # needs household:pii
    finance: set[str] = field(default_factory=set)  # needs household:finance
    evidence: set[str] = field(default_factory=set)  # needs household:pii and household:finance
    other_agency: set[str] = field(default_factory=set)  # education's record: not medical's

    @property
    def everything(self) -> set[str]:
        return self.pii | self.finance | self.evidence | self.other_agency | {self.code}

    @property
    def code(self) -> str:
        return f"LEAK-{self.tag}-HH"


def _id_with_x(born: date, area: str = "320681") -> str:
    for sequence in range(1, 1000):
        number = id_number(born, sequence, area)
        if number.endswith("X"):
            return number
    raise AssertionError("no sequence gives check character X")


async def plant(url: str) -> tuple[PlantedHousehold, PlantedHousehold]:
    inside = PlantedHousehold(
        "IN", HUILONG, _id_with_x(date(1937, 7, 7)), "欧阳泄露甲", family_name="欧阳"
    )
    outside = PlantedHousehold(
        "OUT", BEIXIN, _id_with_x(date(1941, 12, 8)), "区外乙", family_name="区"
    )
    engine = create_async_engine(url)
    try:
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session, session.begin():
            for planted in (inside, outside):
                await _plant_one(session, planted)
            # The person outside once lived in the household inside: a town client sees the
            # household's former members, but not someone who now lives in another town.
            session.add(
                Membership(
                    household_id=inside.household_id,
                    person_id=outside.person_id,
                    relation=Relation.OTHER,
                    joined_on=date(2010, 1, 1),
                    left_on=date(2019, 12, 31),
                )
            )
    finally:
        await engine.dispose()
    return inside, outside


async def _plant_one(session: AsyncSession, p: PlantedHousehold) -> None:
    tag = p.tag
    address = f"泄露路{tag}号地址"
    household_phone = "1390000" + ("1111" if tag == "IN" else "2222")
    person_phone = "1370000" + ("3333" if tag == "IN" else "4444")
    national = f"NPID-LEAK-{tag}-0001"
    household = Household(
        code=p.code,
        region_code=p.region,
        address=address,
        phone=household_phone,
        urban_rural=UrbanRural.RURAL,
        category=Category.MARGINAL,
        status=HouseholdStatus.ACTIVE,
        valid_from=date(2025, 1, 1),
        valid_until=date(2026, 12, 31),
        next_review_on=date(2026, 12, 1),
        channel=Channel.APPLICATION,
    )
    person = Person(
        id_number=p.id_number,
        name=p.name,
        phone=person_phone,
        labor_capacity=LaborCapacity.NONE,
        employment_status=EmploymentStatus.RETIRED,
        national_person_id=national,
    )
    session.add_all([household, person])
    await session.flush()
    session.add(
        Membership(
            household_id=household.id,
            person_id=person.id,
            relation=Relation.SELF,
            joined_on=date(2020, 1, 1),
        )
    )
    finance_marker = f"FINANCE-REASON-{tag}-7731"
    session.add(
        Determination(
            household_id=household.id,
            category=Category.MARGINAL,
            channel=Channel.APPLICATION,
            decided_on=date(2025, 1, 1),
            decided_by="planted",
            reasons=[{"rule": "marginal.income", "passed": True, "detail": finance_marker}],
            standards={"dibao_monthly": "780"},
        )
    )
    event_marker = f"EVENT-DETAIL-{tag}-5521"
    session.add(
        MonitoringEvent(
            kind=EventKind.HOSPITAL_SETTLEMENT,
            agency_code="medical-security",
            agency_event_id=f"EV-{tag}",
            id_number=p.id_number,
            person_id=person.id,
            household_id=household.id,
            occurred_on=date(2025, 3, 1),
            details={"note": event_marker},
            source=RecordSource.PUSH,
            received_by="planted",
        )
    )
    other_agency_marker = f"EDUCATION-NOTE-{tag}-3391"
    # One amount per household, so that one household's legitimate record is not taken for a
    # leak of the other's.
    other_agency_amount = "4321.09" if tag == "IN" else "4987.65"
    session.add(
        AssistanceRecord(
            agency_code="education",
            agency_record_id=f"EDU-{tag}",
            kind=AssistanceKind.EDUCATION,
            id_number=p.id_number,
            household_id=household.id,
            person_id=person.id,
            amount=Decimal(other_agency_amount),
            period_start=date(2025, 9, 1),
            notes=other_agency_marker,
            source=RecordSource.PUSH,
            received_by="planted",
        )
    )
    evidence_marker = f"EVIDENCE-{tag}-8842"
    note_marker = f"RESOLUTION-NOTE-{tag}-6613"
    session.add(
        WarningRecord(
            kind=WarningKind.NO_LONGER_ELIGIBLE,
            household_id=household.id,
            finding="CAR_PURCHASE",
            severity=Severity.HIGH,
            status=WarningStatus.OPEN,
            due_on=date(2026, 12, 31),
            evidence=[{"source": "planted", "detail": evidence_marker}],
            resolution_note=note_marker,
        )
    )
    await session.flush()
    p.household_id, p.person_id = household.id, person.id
    p.pii = {
        p.id_number,
        p.name,
        p.name[len(p.family_name) :],  # the given name alone
        address,
        household_phone,
        person_phone,
        national,
        p.id_number[6:10] + "-" + p.id_number[10:12] + "-" + p.id_number[12:14],  # birth date
        event_marker,
        note_marker,
    }
    p.finance = {finance_marker}
    p.evidence = {evidence_marker}
    p.other_agency = {other_agency_marker, other_agency_amount}
