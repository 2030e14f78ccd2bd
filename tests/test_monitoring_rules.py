"""The comparison rules, one scenario each (issue 7): agencies push what they saw through the
public API, the incremental comparison runs as the serving process runs it, and the warning
that comes out is read back over GraphQL: its kind, its agencies and its due date. The same
events again give no second warning; removing the mismatch clears it.

Households are seeded in the database directly (the console that enters them is issue 8).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from gateway.domain.enums import (
    Category,
    Channel,
    EmploymentStatus,
    HouseholdStatus,
    LaborCapacity,
    Relation,
    SituationSource,
    UrbanRural,
)
from gateway.domain.workdays import WorkCalendar
from gateway.models import (
    EconomicSituation,
    Household,
    Membership,
    Person,
    VerificationAuthorisation,
)
from gateway.monitoring.compare import drain, run_full
from tests.conftest import Api
from tests.support.idnumbers import id_number
from tests.support.sql import sql

TODAY = date.today()
TOWN = "320681100000"
_seq = itertools.count(100)


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


@dataclass
class Seeded:
    household_id: int
    numbers: list[str]
    person_ids: list[int]


async def seed(
    api: Api,
    *,
    category: Category = Category.DIBAO,
    status: HouseholdStatus = HouseholdStatus.ACTIVE,
    ages: tuple[int, ...] = (45, 12),
    former_poor: bool = False,
    authorised: bool = True,
    income: str | None = "6000",
    next_review_on: date | None = None,
    valid_until: date | None = None,
) -> Seeded:
    n = next(_seq)
    async with api.app.state.db.unit_of_work() as session:
        household = Household(
            code=f"T{n:06d}",
            region_code=TOWN,
            address=f"启东市汇龙镇测试路{n}号",
            phone="13800000000",
            urban_rural=UrbanRural.URBAN,
            former_registered_poor=former_poor,
            category=category,
            status=status,
            valid_from=TODAY - timedelta(days=400) if category is not Category.NONE else None,
            valid_until=valid_until,
            next_review_on=next_review_on,
            channel=Channel.APPLICATION,
        )
        session.add(household)
        await session.flush()
        numbers, ids = [], []
        for i, age in enumerate(ages):
            born = TODAY.replace(year=TODAY.year - age) - timedelta(days=40)
            person = Person(
                id_number=id_number(born, n * 3 % 900 + i),
                name=f"测试{n}{i}",
                phone=f"1390000{n:04d}",
                labor_capacity=LaborCapacity.FULL if 16 <= age < 60 else LaborCapacity.NONE,
                employment_status=EmploymentStatus.EMPLOYED,
            )
            session.add(person)
            await session.flush()
            session.add(
                Membership(
                    household_id=household.id,
                    person_id=person.id,
                    relation=Relation.SELF if i == 0 else Relation.CHILD,
                    joined_on=TODAY - timedelta(days=3000),
                )
            )
            numbers.append(person.id_number)
            ids.append(person.id)
        if income is not None:
            session.add(
                EconomicSituation(
                    household_id=household.id,
                    recorded_on=TODAY - timedelta(days=300),
                    source=SituationSource.VERIFICATION,
                    annual_income=Decimal(income),
                    homes=1,
                    floor_area=Decimal(60),
                )
            )
        if authorised:
            session.add(
                VerificationAuthorisation(
                    household_id=household.id,
                    granted=True,
                    signed_on=TODAY - timedelta(days=300),
                    signed_by="测试",
                    document_ref=f"SQ-{n}",
                    valid_until=TODAY + timedelta(days=700),
                    created_by="test",
                )
            )
        household_id = household.id
    return Seeded(household_id, numbers, ids)


async def push(agency: Api, path: str, items: list[dict[str, Any]]) -> None:
    headers = {**agency.headers, "content-type": "application/json"}
    response = await agency.client.post(path, content=orjson.dumps(items), headers=headers)
    assert response.status_code in (200, 201), response.text
    receipt = response.json()
    rejected = [i for i in receipt["items"] if i["outcome"] == "REJECTED"]
    assert not rejected, [i["errors"] for i in rejected[:2]]


def event(eid: str, number: str, kind: str, occurred: str, **details: Any) -> dict[str, Any]:
    return {
        "agency_event_id": eid,
        "kind": kind,
        "id_number": number,
        "occurred_on": occurred,
        "details": details,
    }


def record(rid: str, number: str, kind: str, start: str, **more: Any) -> dict[str, Any]:
    return {
        "agency_record_id": rid,
        "kind": kind,
        "id_number": number,
        "amount": 800,
        "date": start,
        **more,
    }


WARNINGS = """query($h: ID!) {
  warnings(filter: {householdId: $h}, first: 50) {
    nodes { id kind finding status dueOn severity agencies hardshipType
            subjects { idNumber masked } history { fromStatus toStatus by } }
  }
}"""


async def warnings_of(api: Api, household_id: int, *, open_only: bool = True) -> list[Any]:
    data = await api.data(WARNINGS, {"h": str(household_id)})
    found: list[Any] = data["warnings"]["nodes"]
    if open_only:
        found = [w for w in found if w["status"] not in ("RESOLVED", "AUTO_CLEARED")]
    return found


async def compare(api: Api, *, full: bool = False) -> None:
    """What the serving process does every few seconds: compare the queued households; or the
    nightly full comparison."""
    if full:
        await run_full(api.app.state.db, TODAY)
        return
    tally = await drain(api.app.state.db, TODAY)
    assert tally is not None


async def nothing(api: Api, s: Seeded) -> None:
    pass


async def due_in(url: str, working_days: int) -> str:
    rows = await sql(url, "SELECT day, working FROM calendar_days")
    calendar = WorkCalendar({date.fromisoformat(str(r.day)): bool(r.working) for r in rows})
    return calendar.add(TODAY, working_days).isoformat()


async def agency(api: Api, code: str) -> Api:
    return await api.as_client(agency=code, profile=code)


Step = Callable[[Api, Seeded], Awaitable[None]]


@dataclass
class Scenario:
    rule: str
    kind: str
    agencies: list[str]
    due_days: int
    household: dict[str, Any]
    happen: Step
    remove: Step
    hardship: str | None = None
    subjects: list[int] = field(default_factory=list)  # indexes of the members named
    # Found by the nightly full comparison (`lig compare`): nothing is pushed.
    full: bool = False


# ---- Scenarios ----------------------------------------------------------------------------------


def pushing(agency_code: str, path: str, make: Callable[[Seeded], list[dict[str, Any]]]) -> Step:
    async def step(api: Api, s: Seeded) -> None:
        await push(await agency(api, agency_code), path, make(s))

    return step


EVENTS, RECORDS = "/api/v1/events", "/api/v1/assistance-records"


async def reassess(api: Api, s: Seeded) -> None:
    await api.data(
        "mutation($id: ID!) { assessHousehold(householdId: $id) { category } }",
        {"id": str(s.household_id)},
    )


async def verified_since(api: Api, s: Seeded) -> None:
    """Verification (核对) since the event records the household's assets as they now are."""
    await api.data(
        """mutation($id: ID!, $on: Date!) { recordEconomicSituation(householdId: $id,
             input: {recordedOn: $on, source: VERIFICATION, annualIncome: "6000"}) { id } }""",
        {"id": str(s.household_id), "on": TODAY.isoformat()},
    )


async def death_recorded_and_reassessed(api: Api, s: Seeded) -> None:
    """Civil affairs records the death (the console's act, issue 8) and re-assesses."""
    async with api.app.state.db.unit_of_work() as session:
        person = await session.get(Person, s.person_ids[1])
        assert person is not None
        person.deceased_on = TODAY - timedelta(days=10)
        person.updated_by = "test"
    await reassess(api, s)


async def end_household(api: Api, s: Seeded) -> None:
    """Civil affairs ends the assistance (the console's act, issue 8)."""
    async with api.app.state.db.unit_of_work() as session:
        household = await session.get(Household, s.household_id)
        assert household is not None
        household.status = HouseholdStatus.ENDED
        household.updated_by = "test"
        from gateway.monitoring.queue import enqueue

        await enqueue(session, [household.id])


SCENARIOS = [
    Scenario(
        "policy.medical",
        "POLICY_NOT_DELIVERED",
        ["medical-security"],
        10,
        {},
        pushing(
            "medical-security",
            EVENTS,
            lambda s: [
                event("H1", s.numbers[0], "HOSPITAL_SETTLEMENT", ago(40), out_of_pocket=9000)
            ],
        ),
        pushing(
            "medical-security", RECORDS, lambda s: [record("MA1", s.numbers[0], "MEDICAL", ago(35))]
        ),
        hardship="MEDICAL",
        subjects=[0],
    ),
    Scenario(
        "policy.education",
        "POLICY_NOT_DELIVERED",
        ["education"],
        10,
        {},
        pushing(
            "education",
            EVENTS,
            lambda s: [
                event(
                    "E1",
                    s.numbers[1],
                    "SCHOOL_ENROLMENT",
                    ago(60),
                    stage="JUNIOR_SECONDARY",
                    fees=1200,
                )
            ],
        ),
        pushing(
            "education", RECORDS, lambda s: [record("EA1", s.numbers[1], "EDUCATION", ago(20))]
        ),
        hardship="EDUCATION",
        subjects=[1],
    ),
    Scenario(
        "policy.disability",
        "POLICY_NOT_DELIVERED",
        ["disabled-federation"],
        10,
        {},
        pushing(
            "disabled-federation",
            EVENTS,
            lambda s: [
                event(
                    "D1",
                    s.numbers[0],
                    "DISABILITY_CERTIFIED",
                    ago(45),
                    disability_type="PHYSICAL",
                    disability_grade=2,
                )
            ],
        ),
        pushing(
            "disabled-federation",
            RECORDS,
            lambda s: [record("DS1", s.numbers[0], "DISABILITY_SUBSIDY", ago(10))],
        ),
        hardship="DISABILITY",
        subjects=[0],
    ),
    Scenario(
        "policy.employment",
        "POLICY_NOT_DELIVERED",
        ["hr-social-security"],
        10,
        {},
        pushing(
            "hr-social-security",
            EVENTS,
            lambda s: [event("U1", s.numbers[0], "UNEMPLOYMENT_REGISTERED", ago(50))],
        ),
        pushing(
            "hr-social-security",
            RECORDS,
            lambda s: [record("EM1", s.numbers[0], "EMPLOYMENT", ago(5))],
        ),
        hardship="EMPLOYMENT",
        subjects=[0],
    ),
    Scenario(
        "assets.vehicle",
        "NO_LONGER_ELIGIBLE",
        ["civil-affairs"],
        15,
        {},
        pushing(
            "public-security",
            EVENTS,
            lambda s: [event("V1", s.numbers[0], "VEHICLE_REGISTERED", ago(20), value=120000)],
        ),
        verified_since,
        subjects=[0],
    ),
    Scenario(
        "assets.property",
        "NO_LONGER_ELIGIBLE",
        ["civil-affairs"],
        15,
        {},
        pushing(
            "housing",
            EVENTS,
            lambda s: [
                event(
                    "P1",
                    s.numbers[0],
                    "PROPERTY_REGISTERED",
                    ago(20),
                    property_kind="SHOP",
                    area=40,
                    residential=False,
                )
            ],
        ),
        verified_since,
        subjects=[0],
    ),
    Scenario(
        "assets.capital",
        "NO_LONGER_ELIGIBLE",
        ["civil-affairs"],
        15,
        {},
        pushing(
            "market-regulation",
            EVENTS,
            lambda s: [event("C1", s.numbers[0], "CAPITAL_SUBSCRIBED", ago(20), amount=250000)],
        ),
        verified_since,
        subjects=[0],
    ),
    Scenario(
        "death.reassessment",
        "NO_LONGER_ELIGIBLE",
        ["civil-affairs"],
        15,
        # 24,000 a year for two is 1,000 a month each: MARGINAL (at most 1.5 × 780). For the
        # survivor alone it is 2,000 a month: no category.
        {"income": "24000", "category": Category.MARGINAL, "ages": (45, 40)},
        pushing(
            "public-security", EVENTS, lambda s: [event("X1", s.numbers[1], "DECEASED", ago(10))]
        ),
        death_recorded_and_reassessed,
        subjects=[1],
    ),
    Scenario(
        "death.household_ended",
        "NO_LONGER_ELIGIBLE",
        ["civil-affairs"],
        15,
        {"ages": (82,), "category": Category.TEKUN},
        pushing(
            "public-security", EVENTS, lambda s: [event("X2", s.numbers[0], "DECEASED", ago(3))]
        ),
        end_household,
        subjects=[0],
    ),
    Scenario(
        "not_covered.medical",
        "NOT_COVERED",
        ["civil-affairs", "medical-security"],
        10,
        {"category": Category.NONE, "status": HouseholdStatus.NOT_COVERED},
        pushing(
            "medical-security",
            EVENTS,
            lambda s: [
                event("H2", s.numbers[0], "HOSPITAL_SETTLEMENT", ago(15), out_of_pocket=30000)
            ],
        ),
        # The settlement is corrected: far less was paid out of pocket.
        pushing(
            "medical-security",
            EVENTS,
            lambda s: [
                {
                    **event("H2", s.numbers[0], "HOSPITAL_SETTLEMENT", ago(15), out_of_pocket=900),
                    "revision": 2,
                }
            ],
        ),
        hardship="MEDICAL",
        subjects=[0],
    ),
    Scenario(
        "not_covered.disaster",
        "NOT_COVERED",
        ["civil-affairs", "emergency"],
        5,
        {"category": Category.NONE, "status": HouseholdStatus.NOT_COVERED},
        pushing(
            "emergency",
            EVENTS,
            lambda s: [
                event(
                    "L1",
                    s.numbers[0],
                    "DISASTER_LOSS",
                    ago(8),
                    amount=50000,
                    cause="NATURAL_DISASTER",
                )
            ],
        ),
        pushing(
            "emergency",
            EVENTS,
            lambda s: [
                {
                    **event(
                        "L1",
                        s.numbers[0],
                        "DISASTER_LOSS",
                        ago(8),
                        amount=500,
                        cause="NATURAL_DISASTER",
                    ),
                    "revision": 2,
                }
            ],
        ),
        hardship="DISASTER",
        subjects=[0],
    ),
    Scenario(
        "special.loss_without_policy",
        "SPECIAL_HARDSHIP",
        ["coordination"],
        5,
        {},
        pushing(
            "fire",
            EVENTS,
            lambda s: [event("F1", s.numbers[0], "FIRE_INCIDENT", ago(40), loss=80000)],
        ),
        pushing("emergency", RECORDS, lambda s: [record("TR1", s.numbers[0], "TEMPORARY", ago(5))]),
        hardship="FIRE",
        subjects=[0],
    ),
    Scenario(
        "not_covered.former_poor",
        "NOT_COVERED",
        ["civil-affairs", "disabled-federation"],
        10,
        {"category": Category.NONE, "status": HouseholdStatus.NOT_COVERED, "former_poor": True},
        pushing(
            "disabled-federation",
            EVENTS,
            lambda s: [
                event(
                    "D2",
                    s.numbers[0],
                    "DISABILITY_CERTIFIED",
                    ago(30),
                    disability_type="VISUAL",
                    disability_grade=3,
                )
            ],
        ),
        # The certificate's date is corrected: it was issued long before the look-back.
        pushing(
            "disabled-federation",
            EVENTS,
            lambda s: [
                {
                    **event(
                        "D2",
                        s.numbers[0],
                        "DISABILITY_CERTIFIED",
                        ago(900),
                        disability_type="VISUAL",
                        disability_grade=3,
                    ),
                    "revision": 2,
                }
            ],
        ),
        hardship="DISABILITY",
        subjects=[0],
    ),
]


SCENARIOS += [
    Scenario(
        "not_covered.education",
        "NOT_COVERED",
        ["civil-affairs", "education"],
        10,
        {"category": Category.NONE, "status": HouseholdStatus.NOT_COVERED},
        pushing(
            "education",
            EVENTS,
            lambda s: [
                event("E2", s.numbers[1], "SCHOOL_ENROLMENT", ago(20), stage="HIGHER", fees=25000)
            ],
        ),
        pushing(
            "education",
            EVENTS,
            lambda s: [
                {
                    **event(
                        "E2", s.numbers[1], "SCHOOL_ENROLMENT", ago(20), stage="HIGHER", fees=2500
                    ),
                    "revision": 2,
                }
            ],
        ),
        hardship="EDUCATION",
        subjects=[1],
    ),
    Scenario(
        "not_covered.accident",
        "NOT_COVERED",
        ["civil-affairs", "emergency"],
        5,
        {"category": Category.NONE, "status": HouseholdStatus.NOT_COVERED},
        pushing(
            "emergency",
            EVENTS,
            lambda s: [
                event("A1", s.numbers[0], "DISASTER_LOSS", ago(8), amount=40000, cause="ACCIDENT")
            ],
        ),
        pushing(
            "emergency",
            EVENTS,
            lambda s: [
                {
                    **event(
                        "A1", s.numbers[0], "DISASTER_LOSS", ago(8), amount=400, cause="ACCIDENT"
                    ),
                    "revision": 2,
                }
            ],
        ),
        hardship="ACCIDENT",
        subjects=[0],
    ),
    Scenario(
        "review.due",
        "NO_LONGER_ELIGIBLE",
        ["civil-affairs"],
        15,
        {
            "income": "24000",
            "category": Category.MARGINAL,
            "ages": (45, 40),
            "next_review_on": TODAY + timedelta(days=10),
        },
        nothing,
        reassess,  # the review is done: the next one is a year on
        hardship="REVIEW",
        full=True,
    ),
    Scenario(
        "transition.legacy_ending",
        "NO_LONGER_ELIGIBLE",
        ["civil-affairs"],
        15,
        {
            "income": "24000",
            "category": Category.LEGACY_LOW_INCOME,
            "ages": (45, 40),
            "valid_until": TODAY + timedelta(days=20),
        },
        nothing,
        reassess,  # re-determined under the interim measures
        hardship="TRANSITION",
        full=True,
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.rule)
async def test_rule(scenario: Scenario, api: Api, database_url: str) -> None:
    household = await seed(api, **scenario.household)
    await scenario.happen(api, household)
    await compare(api, full=scenario.full)

    (found,) = await warnings_of(api, household.household_id)
    assert found["finding"] == scenario.rule
    assert found["kind"] == scenario.kind
    assert found["agencies"] == sorted(scenario.agencies)
    assert found["hardshipType"] == scenario.hardship
    assert found["status"] == "DISPATCHED"
    assert found["dueOn"] == await due_in(database_url, scenario.due_days)
    assert [s["idNumber"] for s in found["subjects"]] == [
        household.numbers[i] for i in scenario.subjects
    ]
    assert [(h["fromStatus"], h["toStatus"]) for h in found["history"]] == [
        (None, "OPEN"),
        ("OPEN", "DISPATCHED"),
    ]

    if scenario.kind == "NOT_COVERED":  # an application is started (issue 7, point 5)
        started = await sql(
            database_url,
            "SELECT status, warning_id FROM applications WHERE household_id = :h",
            h=household.household_id,
        )
        assert [(r.status, str(r.warning_id)) for r in started] == [("APPLIED", found["id"])]

    # The same events again, and another pass: still one warning.
    await scenario.happen(api, household)
    await compare(api, full=scenario.full)
    again = await warnings_of(api, household.household_id)
    assert [w["id"] for w in again] == [found["id"]]

    # The mismatch removed: the next comparison clears it.
    await scenario.remove(api, household)
    await compare(api, full=scenario.full)
    assert await warnings_of(api, household.household_id) == []
    (cleared,) = await warnings_of(api, household.household_id, open_only=False)
    assert cleared["status"] == "AUTO_CLEARED"
    assert cleared["history"][-1]["by"] == "system"
