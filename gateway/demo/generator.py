"""A deterministic synthetic county: households, people, decisions, assistance, events and the
verification authorisations. Its warnings are what the comparison rules find (gateway/monitoring).

The same seed and size always give the same rows. Households are made and written a chunk at a
time, so a province-sized set (`--households 1500000`) never sits in memory. Dates are fixed
relative to DEMO_DATE, not to today, so the data set does not drift.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from gateway.demo.vocabulary import FAMILY_NAMES, GIVEN_CHARS, STREETS, VILLAGE_STEMS
from gateway.domain import idnumber
from gateway.domain.enums import (
    AssistanceKind,
    AssistanceSubject,
    Category,
    Channel,
    DisabilityType,
    EmploymentStatus,
    EventKind,
    HouseholdStatus,
    Illness,
    LaborCapacity,
    RecordSource,
    Relation,
    StudentStage,
    UrbanRural,
)

DEMO_DATE = date(2026, 11, 1)
DEMO_TIME = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
DEMO_USER = "demo"
QIDONG_HOUSEHOLDS = 12_000
DIBAO_MONTHLY = Decimal(780)

# Share of households by category (a county's register also holds surveyed, uncovered ones).
CATEGORY_MIX: tuple[tuple[Category, float], ...] = (
    (Category.DIBAO, 0.52),
    (Category.TEKUN, 0.16),
    (Category.MARGINAL, 0.12),
    (Category.EXPENDITURE, 0.05),
    (Category.LEGACY_LOW_INCOME, 0.01),
    (Category.NONE, 0.14),
)

# Per-capita monthly income (yuan) drawn for each category, against a dibao standard of 780.
MONTHLY_INCOME_BAND: dict[Category, tuple[int, int]] = {
    Category.TEKUN: (150, 700),
    Category.DIBAO: (150, 760),
    Category.MARGINAL: (800, 1160),
    Category.EXPENDITURE: (1200, 3000),
    Category.LEGACY_LOW_INCOME: (1180, 1540),
    Category.NONE: (1300, 4500),
}

AGENCY_FOR_KIND = {
    AssistanceKind.DIBAO_ALLOWANCE: "civil-affairs",
    AssistanceKind.TEKUN_SUPPORT: "civil-affairs",
    AssistanceKind.TEMPORARY: "civil-affairs",
    AssistanceKind.MEDICAL: "medical-security",
    AssistanceKind.EDUCATION: "education",
    AssistanceKind.HOUSING: "housing",
    AssistanceKind.EMPLOYMENT: "hr-social-security",
    AssistanceKind.DISABILITY_SUBSIDY: "disabled-federation",
}


@dataclass(frozen=True)
class Town:
    code: str
    name: str
    weight: float
    urban_share: float


@dataclass
class Chunk:
    """Rows for one batch of households, keyed by table name, in insertion order."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)

    def count(self, table: str) -> int:
        return len(self.tables.get(table, []))


TABLE_ORDER = (
    "households",
    "household_versions",
    "persons",
    "memberships",
    "economic_situations",
    "determinations",
    "assistance_records",
    "monitoring_events",
    "verification_authorisations",
)


class DemoCounty:
    """Makes the rows. Pure: no I/O; the loader writes what it yields."""

    def __init__(self, towns: list[Town], households: int, seed: int = 2021) -> None:
        if households < 1:
            raise ValueError("households must be at least 1")
        if not towns:
            raise ValueError("no towns to place households in")
        self.towns = towns
        self.households = households
        self.rng = random.Random(seed)
        # A stream of its own, so that adding economic detail leaves the other data unchanged.
        self.economy_rng = random.Random(seed + 1)
        self.town_weights = [t.weight for t in towns]
        self._used_birth: dict[date, int] = {}
        self.next_ids = dict.fromkeys(TABLE_ORDER, 1)

    def _id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    # --- people -----------------------------------------------------------------------------

    def _id_number(self, born: date, male: bool) -> str:
        """A valid, unique ID number: sequence numbers are handed out per birth date."""
        while True:
            used = self._used_birth.get(born, 0)
            # Sequences 001-999; odd for men, even for women: 499 of each per date.
            if used < 499:
                self._used_birth[born] = used + 1
                sequence = used * 2 + (1 if male else 2)
                return idnumber.compose("320681", born, sequence)
            born += timedelta(days=1)

    def _birth(self, age_low: int, age_high: int) -> date:
        age_days = self.rng.randint(age_low * 365, age_high * 365 + 364)
        return DEMO_DATE - timedelta(days=age_days)

    def _name(self, family: str) -> str:
        given = self.rng.choice(GIVEN_CHARS)
        if self.rng.random() < 0.7:
            given += self.rng.choice(GIVEN_CHARS)
        return family + given

    def _phone(self) -> str:
        return "1" + self.rng.choice("3579") + "".join(self.rng.choices("0123456789", k=9))

    def _person(
        self, family: str, age_low: int, age_high: int, male: bool, category: Category
    ) -> dict[str, Any]:
        born = self._birth(age_low, age_high)
        age = DEMO_DATE.year - born.year
        disability_type = None
        disability_grade = None
        disabled_chance = 0.35 if category == Category.TEKUN else 0.12
        if self.rng.random() < disabled_chance:
            disability_type = self.rng.choice(list(DisabilityType))
            disability_grade = self.rng.choice((1, 1, 2, 2, 3, 4))
        illness = Illness.NONE
        roll = self.rng.random()
        if roll < (0.25 if age >= 60 else 0.08):
            illness = Illness.CHRONIC
        elif roll < (0.33 if age >= 60 else 0.11):
            illness = Illness.SEVERE
        if age < 16 or age >= 60 or (disability_grade is not None and disability_grade <= 2):
            labor = LaborCapacity.NONE
        elif illness == Illness.SEVERE or disability_type is not None:
            labor = LaborCapacity.WEAK
        else:
            labor = self.rng.choice((LaborCapacity.FULL, LaborCapacity.FULL, LaborCapacity.WEAK))
        stage = StudentStage.NONE
        if 3 <= age <= 5:
            stage = StudentStage.PRESCHOOL
        elif 6 <= age <= 11:
            stage = StudentStage.PRIMARY
        elif 12 <= age <= 14:
            stage = StudentStage.JUNIOR_SECONDARY
        elif 15 <= age <= 17:
            stage = self.rng.choice((StudentStage.SENIOR_SECONDARY, StudentStage.VOCATIONAL))
        elif 18 <= age <= 21 and self.rng.random() < 0.4:
            stage = StudentStage.HIGHER
        if stage != StudentStage.NONE:
            employment = EmploymentStatus.STUDENT
        elif age >= 60:
            employment = self.rng.choice((EmploymentStatus.RETIRED, EmploymentStatus.FARMING))
        elif age < 16 or labor == LaborCapacity.NONE:
            employment = EmploymentStatus.NOT_IN_LABOUR_FORCE
        else:
            employment = self.rng.choice(
                (
                    EmploymentStatus.EMPLOYED,
                    EmploymentStatus.FARMING,
                    EmploymentStatus.SELF_EMPLOYED,
                    EmploymentStatus.UNEMPLOYED,
                )
            )
        return {
            "id": self._id("persons"),
            "id_number": self._id_number(born, male),
            "name": self._name(family),
            "phone": self._phone() if age >= 18 else None,
            "labor_capacity": labor,
            "disability_type": disability_type,
            "disability_grade": disability_grade,
            "illness": illness,
            "student_stage": stage,
            "employment_status": employment,
            "deceased_on": None,
            "national_person_id": None,
            "version": 1,
            "single_person_dibao": False,
            "has_capable_supporter": category is not Category.TEKUN,
            "created_at": DEMO_TIME,
            "created_by": DEMO_USER,
            "updated_at": DEMO_TIME,
            "updated_by": DEMO_USER,
        }

    def _members(self, category: Category) -> list[tuple[Relation, dict[str, Any]]]:
        family = self.rng.choice(FAMILY_NAMES)
        rng = self.rng
        if category == Category.TEKUN:
            # Destitute persons: mostly elderly people living alone, some disabled adults/orphans.
            roll = rng.random()
            if roll < 0.8:
                return [(Relation.SELF, self._person(family, 60, 95, rng.random() < 0.5, category))]
            if roll < 0.95:
                return [(Relation.SELF, self._person(family, 18, 59, rng.random() < 0.5, category))]
            return [(Relation.SELF, self._person(family, 3, 15, rng.random() < 0.5, category))]
        size = rng.choices((1, 2, 3, 4, 5), weights=(30, 25, 22, 16, 7))[0]
        head_male = rng.random() < 0.6
        head_old = rng.random() < 0.35
        head = self._person(
            family, 60 if head_old else 25, 88 if head_old else 59, head_male, category
        )
        members = [(Relation.SELF, head)]
        if size >= 2:
            spouse_family = rng.choice(FAMILY_NAMES)
            low, high = (58, 88) if head_old else (23, 59)
            members.append(
                (Relation.SPOUSE, self._person(spouse_family, low, high, not head_male, category))
            )
        for _ in range(size - len(members)):
            if head_old:
                members.append(
                    (Relation.GRANDCHILD, self._person(family, 1, 17, rng.random() < 0.5, category))
                )
            else:
                members.append(
                    (Relation.CHILD, self._person(family, 0, 22, rng.random() < 0.5, category))
                )
        return members

    # --- households -------------------------------------------------------------------------

    def chunks(self, size: int = 2000) -> Iterator[Chunk]:
        made = 0
        while made < self.households:
            chunk = Chunk()
            for _ in range(min(size, self.households - made)):
                self._household(chunk)
            made += min(size, self.households - made)
            yield chunk

    def _household(self, chunk: Chunk) -> None:
        rng = self.rng
        town = rng.choices(self.towns, weights=self.town_weights)[0]
        category = rng.choices([c for c, _ in CATEGORY_MIX], weights=[w for _, w in CATEGORY_MIX])[
            0
        ]
        hid = self._id("households")
        urban = rng.random() < town.urban_share
        if urban:
            address = (
                f"江苏省启东市{town.name}{rng.choice(STREETS)}{rng.randint(1, 399)}号"
                f"{rng.randint(1, 30)}幢{rng.randint(101, 1802)}室"
            )
        else:
            address = (
                f"江苏省启东市{town.name}{rng.choice(VILLAGE_STEMS)}村"
                f"{rng.randint(1, 28)}组{rng.randint(1, 80)}号"
            )
        members = self._members(category)
        status, valid_from, valid_until, next_review, channel = self._standing(category)
        household = {
            "id": hid,
            "code": f"320681-{hid:07d}",
            "region_code": town.code,
            "address": address,
            "phone": self._phone(),
            "urban_rural": UrbanRural.URBAN if urban else UrbanRural.RURAL,
            "former_registered_poor": (not urban) and rng.random() < 0.18,
            "category": category,
            "status": status,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "next_review_on": next_review,
            "channel": channel,
            "version": 1,
            "created_at": DEMO_TIME,
            "created_by": DEMO_USER,
            "updated_at": DEMO_TIME,
            "updated_by": DEMO_USER,
        }
        chunk.add("households", household)
        chunk.add(
            "household_versions",
            {
                "id": self._id("household_versions"),
                "household_id": hid,
                "version": 1,
                "state": {
                    k: (
                        v.isoformat()
                        if isinstance(v, date)
                        else (v.value if hasattr(v, "value") else v)
                    )
                    for k, v in household.items()
                    if k
                    not in ("id", "version", "created_at", "created_by", "updated_at", "updated_by")
                },
                "changed_at": DEMO_TIME,
                "changed_by": DEMO_USER,
            },
        )
        joined = valid_from or (DEMO_DATE - timedelta(days=rng.randint(30, 1500)))
        if channel is Channel.DIRECT:
            # Came in directly: a severely ill or disabled member on single-person dibao.
            head = members[0][1]
            head["single_person_dibao"] = True
            if head["disability_grade"] not in (1, 2):
                head["illness"] = Illness.SEVERE
        situation_id = self._situations(chunk, hid, category, len(members), valid_from or joined)
        for relation, person in members:
            chunk.add("persons", person)
            chunk.add(
                "memberships",
                {
                    "id": self._id("memberships"),
                    "household_id": hid,
                    "person_id": person["id"],
                    "relation": relation,
                    "joined_on": joined,
                    "left_on": None,
                    "created_at": DEMO_TIME,
                    "created_by": DEMO_USER,
                    "updated_at": DEMO_TIME,
                    "updated_by": DEMO_USER,
                },
            )
        if category != Category.NONE and valid_from is not None:
            chunk.add(
                "determinations",
                {
                    "id": self._id("determinations"),
                    "household_id": hid,
                    "category": category,
                    "channel": channel,
                    "decided_on": valid_from,
                    "decided_by": DEMO_USER,
                    "valid_from": valid_from,
                    "valid_until": valid_until,
                    "reasons": [
                        {
                            "rule": "demo.synthetic",
                            "passed": True,
                            "detail": "synthetic demo determination, not from the rules",
                        }
                    ],
                    "standards": {"dibao_monthly": "780.00"},
                    "situation_id": situation_id,
                    "created_at": DEMO_TIME,
                },
            )
        self._assistance(chunk, hid, category, status, members, valid_from)
        self._events(chunk, hid, members)
        self._authorisation(chunk, hid, members)

    def _situations(
        self, chunk: Chunk, hid: int, category: Category, size: int, recorded_on: date
    ) -> int:
        """The declared economic situation behind the household's category (at a dibao
        standard of 780), and for some yearly-reviewed households a later verification that
        changed it, so that a review keeps most, changes some and ends some."""
        rng = self.economy_rng
        first = self._situation(chunk, hid, category, size, recorded_on, "DECLARATION")
        if category in (Category.MARGINAL, Category.EXPENDITURE) and rng.random() < 0.12:
            later = DEMO_DATE - timedelta(days=rng.randint(5, 60))
            changed = rng.choice((Category.EXPENDITURE, Category.NONE, Category.DIBAO))
            self._situation(chunk, hid, changed, size, later, "VERIFICATION")
        return first

    def _situation(
        self,
        chunk: Chunk,
        hid: int,
        category: Category,
        size: int,
        recorded_on: date,
        source: str,
    ) -> int:
        rng = self.economy_rng
        low, high = MONTHLY_INCOME_BAND[category]
        annual = Decimal(round(rng.uniform(low, high) * 12 * size, 2)).quantize(Decimal("0.01"))
        medical = Decimal(0)
        if category is Category.EXPENDITURE:
            # Enough rigid expenditure to bring the rest below the annual dibao standard.
            medical = max(Decimal(0), annual - 9000 * size) + rng.randint(0, 5000)
        elif rng.random() < 0.2:
            medical = Decimal(rng.randint(200, 8000))
        cars: list[str] = []
        if category in (Category.EXPENDITURE, Category.NONE) and rng.random() < 0.25:
            cars = [str(rng.randint(15, 80) * 1000)]
        homes = rng.choices((0, 1, 2), weights=(8, 90, 2))[0]
        row_id = self._id("economic_situations")
        chunk.add(
            "economic_situations",
            {
                "id": row_id,
                "household_id": hid,
                "recorded_on": recorded_on,
                "source": source,
                "annual_income": annual,
                "rigid_medical": medical,
                "rigid_education": Decimal(0),
                "rigid_disability_rehabilitation": Decimal(0),
                "rigid_disaster_accident": Decimal(0),
                "rigid_other": Decimal(0),
                "financial": Decimal(rng.randint(0, 4000) * size),
                "car_values": cars,
                "homes": homes,
                "floor_area": Decimal(rng.randint(30, 110) * max(homes, 1)),
                "homes_from_demolition": False,
                "non_residential_acquired": False,
                "subscribed_capital": Decimal(0),
                "refused_investigation": False,
                "refused_authorisation": False,
                "deliberate_disposal": False,
                "high_consumption": False,
                "refuses_work": False,
                "created_at": DEMO_TIME,
                "created_by": DEMO_USER,
            },
        )
        return row_id

    def _standing(
        self, category: Category
    ) -> tuple[HouseholdStatus, date | None, date | None, date | None, Channel]:
        rng = self.rng
        if category == Category.NONE:
            channel = rng.choice((Channel.SURVEY, Channel.MONITORING))
            return HouseholdStatus.NOT_COVERED, None, None, None, channel
        if category == Category.LEGACY_LOW_INCOME:
            # Recognised under the old rules; Qidong's transition ended 2024-08-31, so these
            # households are overdue for re-determination.
            start = date(2021, 9, 1)
            return (
                HouseholdStatus.ACTIVE,
                start,
                date(2024, 8, 31),
                date(2024, 9, 1),  # re-determined the day after the transition ends
                Channel.APPLICATION,
            )
        valid_from = DEMO_DATE - timedelta(days=rng.randint(10, 360))
        channel = rng.choices(
            (Channel.APPLICATION, Channel.DIRECT, Channel.MONITORING, Channel.SURVEY),
            weights=(70, 8 if category == Category.MARGINAL else 0, 12, 10),
        )[0]
        status = HouseholdStatus.ACTIVE
        roll = rng.random()
        if roll < 0.03:
            status = HouseholdStatus.APPLYING
        elif roll < 0.05:
            status = HouseholdStatus.SUSPENDED
        elif roll < 0.08:
            status = HouseholdStatus.ENDED
        review = valid_from + timedelta(days=365)
        valid_until = review if category in (Category.MARGINAL, Category.EXPENDITURE) else None
        return status, valid_from, valid_until, review, channel

    def _assistance(
        self,
        chunk: Chunk,
        hid: int,
        category: Category,
        status: HouseholdStatus,
        members: list[tuple[Relation, dict[str, Any]]],
        valid_from: date | None,
    ) -> None:
        if status not in (HouseholdStatus.ACTIVE, HouseholdStatus.SUSPENDED) or valid_from is None:
            return
        rng = self.rng
        records: list[tuple[AssistanceKind, Decimal, dict[str, Any] | None]] = []
        if category == Category.DIBAO:
            gap = DIBAO_MONTHLY * len(members) * Decimal(rng.randint(20, 90)) / 100
            records.append((AssistanceKind.DIBAO_ALLOWANCE, gap.quantize(Decimal("1")), None))
        elif category == Category.TEKUN:
            records.append((AssistanceKind.TEKUN_SUPPORT, Decimal(1040), None))
        for _, person in members:
            if person["illness"] != Illness.NONE and rng.random() < 0.6:
                records.append((AssistanceKind.MEDICAL, Decimal(rng.randint(300, 20000)), person))
            if person["student_stage"] not in (StudentStage.NONE,) and rng.random() < 0.7:
                records.append(
                    (AssistanceKind.EDUCATION, Decimal(rng.choice((500, 1000, 2000))), person)
                )
            if person["disability_grade"] is not None and rng.random() < 0.7:
                records.append(
                    (AssistanceKind.DISABILITY_SUBSIDY, Decimal(rng.choice((90, 180))), person)
                )
        if rng.random() < 0.05:
            records.append((AssistanceKind.TEMPORARY, Decimal(rng.randint(500, 5000)), None))
        head = next((p for r, p in members if r == Relation.SELF), members[0][1])
        for kind, amount, subject in records:
            agency = AGENCY_FOR_KIND[kind]
            rid = self._id("assistance_records")
            start = max(valid_from, DEMO_DATE - timedelta(days=rng.randint(0, 300)))
            chunk.add(
                "assistance_records",
                {
                    "id": rid,
                    "agency_code": agency,
                    "agency_record_id": f"{agency[:3].upper()}-{rid:09d}",
                    "revision": 1,
                    "is_current": True,
                    "kind": kind,
                    "id_number": (subject or head)["id_number"],
                    "applies_to": AssistanceSubject.PERSON
                    if subject
                    else AssistanceSubject.HOUSEHOLD,
                    "household_id": hid,
                    "person_id": subject["id"] if subject else None,
                    "amount": amount,
                    "period_start": start,
                    "period_end": start + timedelta(days=rng.choice((30, 90, 365))),
                    "notes": None,
                    "source": RecordSource.DEMO,
                    "received_at": DEMO_TIME,
                    "received_by": DEMO_USER,
                },
            )

    def _events(
        self, chunk: Chunk, hid: int, members: list[tuple[Relation, dict[str, Any]]]
    ) -> None:
        rng = self.rng
        for _, person in members:
            if rng.random() > 0.22:
                continue
            kind, agency, details = self._event_facts(person)
            occurred = DEMO_DATE - timedelta(days=rng.randint(1, 200))
            eid = self._id("monitoring_events")
            chunk.add(
                "monitoring_events",
                {
                    "id": eid,
                    "kind": kind,
                    "agency_code": agency,
                    "agency_event_id": f"EV-{agency[:3].upper()}-{eid:09d}",
                    "revision": 1,
                    "is_current": True,
                    "id_number": person["id_number"],
                    "person_id": person["id"],
                    "household_id": hid,
                    "occurred_on": occurred,
                    "details": details,
                    "source": RecordSource.DEMO,
                    "received_at": DEMO_TIME,
                    "received_by": DEMO_USER,
                },
            )
        # Events about people the database does not know yet wait there for matching.
        if rng.random() < 0.01:
            eid = self._id("monitoring_events")
            born = self._birth(20, 70)
            chunk.add(
                "monitoring_events",
                {
                    "id": eid,
                    "kind": EventKind.HOSPITAL_SETTLEMENT,
                    "agency_code": "medical-security",
                    "agency_event_id": f"EV-MED-U{eid:09d}",
                    "revision": 1,
                    "is_current": True,
                    "id_number": self._id_number(born, rng.random() < 0.5),
                    "person_id": None,
                    "household_id": None,
                    "occurred_on": DEMO_DATE - timedelta(days=rng.randint(1, 60)),
                    "details": {"out_of_pocket": f"{rng.randint(2000, 60000)}.00"},
                    "source": RecordSource.DEMO,
                    "received_at": DEMO_TIME,
                    "received_by": DEMO_USER,
                },
            )

    def _event_facts(self, person: dict[str, Any]) -> tuple[EventKind, str, dict[str, Any]]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return (
                EventKind.HOSPITAL_SETTLEMENT,
                "medical-security",
                {"out_of_pocket": f"{rng.randint(800, 80000)}.00", "days": rng.randint(2, 40)},
            )
        if roll < 0.6 and person["student_stage"] != StudentStage.NONE:
            return (
                EventKind.SCHOOL_ENROLMENT,
                "education",
                {"stage": person["student_stage"].value, "fees": f"{rng.randint(0, 9000)}.00"},
            )
        if roll < 0.7:
            return (
                EventKind.VEHICLE_REGISTERED,
                "public-security",
                {"value": f"{rng.randint(20000, 180000)}.00"},
            )
        if roll < 0.8:
            return (
                EventKind.DISABILITY_CERTIFIED,
                "disabled-federation",
                {
                    "disability_type": rng.choice(list(DisabilityType)).value,
                    "disability_grade": rng.randint(1, 4),
                },
            )
        if roll < 0.9:
            return (EventKind.UNEMPLOYMENT_REGISTERED, "hr-social-security", {})
        return (
            EventKind.DISASTER_LOSS,
            "emergency",
            {"amount": f"{rng.randint(1000, 50000)}.00", "cause": "NATURAL_DISASTER"},
        )

    def _authorisation(
        self, chunk: Chunk, hid: int, members: list[tuple[Relation, dict[str, Any]]]
    ) -> None:
        """Most households signed the verification authorisation (核对授权书); a few never did,
        and a very few refused."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.05 or not members:
            return
        signed = DEMO_DATE - timedelta(days=rng.randint(30, 900))
        chunk.add(
            "verification_authorisations",
            {
                "id": self._id("verification_authorisations"),
                "household_id": hid,
                "granted": roll >= 0.06,
                "signed_on": signed,
                "signed_by": members[0][1]["name"],
                "document_ref": f"SQ-{hid:08d}",
                "valid_until": signed + timedelta(days=3 * 365),
                "withdrawn_on": None,
                "created_at": DEMO_TIME,
                "created_by": DEMO_USER,
            },
        )
