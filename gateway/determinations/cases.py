"""Building the rules' `HouseholdCase` for stored households, many at a time.

Four statements for any number of households: the households, their current members with
the person rows, the latest recorded economic situation of each on or before the day, and their
verification authorisations (a refusal is the conduct exclusion "refused_authorisation").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain.authorisations import AuthorisationFacts, refused
from gateway.domain.enums import RUNNING, Category, Illness, SituationSource
from gateway.domain.rules import (
    Assets,
    Conduct,
    HouseholdCase,
    Member,
    RigidExpenditure,
)
from gateway.models import (
    EconomicSituation,
    Household,
    Membership,
    Person,
    VerificationAuthorisation,
)

# A current MARGINAL or EXPENDITURE household is determined afresh; these are carried forward.
CARRIED = frozenset({Category.DIBAO, Category.TEKUN, Category.LEGACY_LOW_INCOME})


@dataclass(frozen=True, slots=True)
class StoredCase:
    household: Household
    case: HouseholdCase | None  # None when no members or no recorded situation
    situation_id: int | None
    missing: str | None  # why there is no case


# The rules' field names, read once: `fields()` costs more than the rest of a case to build.
_RIGID = tuple(f.name for f in fields(RigidExpenditure))
_CONDUCT = tuple(f.name for f in fields(Conduct))


def member_of(membership: Membership, person: Person) -> Member:
    return Member(
        id_number=person.id_number,
        relation=membership.relation,
        labor_capacity=person.labor_capacity,
        disability_type=person.disability_type,
        disability_grade=person.disability_grade,
        severe_illness=person.illness is Illness.SEVERE,
        single_person_dibao=person.single_person_dibao,
        has_capable_supporter=person.has_capable_supporter,
    )


def situation_case(
    household: Household,
    members: Sequence[Member],
    row: EconomicSituation,
    as_of: date,
    *,
    refused_authorisation: bool = False,
) -> HouseholdCase:
    """The case of a stored household. `refused_authorisation`: the household's latest answer
    on the verification authorisation by `as_of` was a refusal (gateway.domain.authorisations
    `refused`), a conduct exclusion whatever the recorded situation says."""
    # Only running assistance is carried forward; an ended DIBAO household is assessed afresh.
    running = household.status in RUNNING
    carried = household.category if running and household.category in CARRIED else Category.NONE
    return HouseholdCase(
        as_of=as_of,
        region_code=household.region_code,
        members=tuple(members),
        annual_income=row.annual_income,
        current_category=carried,
        legacy_recognised_on=(
            household.valid_from if carried is Category.LEGACY_LOW_INCOME else None
        ),
        channel=household.channel,
        # The situation's columns are named after the rules' fields (rigid ones prefixed).
        rigid_expenditure=RigidExpenditure(
            **{name: getattr(row, f"rigid_{name}") for name in _RIGID}
        ),
        assets=Assets(
            financial=row.financial,
            cars=tuple(Decimal(value) for value in row.car_values),
            homes=row.homes,
            floor_area=row.floor_area,
            homes_from_demolition=row.homes_from_demolition,
            non_residential_acquired=row.non_residential_acquired,
            subscribed_capital=row.subscribed_capital,
        ),
        conduct=replace(
            Conduct(**{name: getattr(row, name) for name in _CONDUCT}),
            refused_authorisation=row.refused_authorisation or refused_authorisation,
        ),
    )


async def stored_cases(
    session: AsyncSession, households: Sequence[Household], as_of: date
) -> list[StoredCase]:
    ids = [h.id for h in households]
    members = {
        household: [member_of(m, p) for m, p in pairs]
        for household, pairs in (await current_members(session, ids, as_of)).items()
    }
    situations = await latest_situations(session, ids, as_of)
    answers = await authorisations_of(session, ids)
    out = []
    for household in households:
        people = members.get(household.id, [])
        situation = situations.get(household.id)
        if not people:
            out.append(StoredCase(household, None, None, "NO_MEMBERS"))
        elif situation is None:
            out.append(StoredCase(household, None, None, "NO_SITUATION"))
        else:
            case = situation_case(
                household,
                people,
                situation,
                as_of,
                refused_authorisation=refused(answers.get(household.id, ()), as_of),
            )
            out.append(StoredCase(household, case, situation.id, None))
    return out


async def latest_situations(
    session: AsyncSession, ids: Sequence[int], as_of: date
) -> dict[int, EconomicSituation]:
    """The latest situation of each household on or before the day; a verification result
    beats a declaration of the same day, a later row of the same day and kind an earlier one."""
    ranked = (
        select(
            EconomicSituation.id,
            func.row_number()
            .over(
                partition_by=EconomicSituation.household_id,
                order_by=(
                    EconomicSituation.recorded_on.desc(),
                    (EconomicSituation.source == SituationSource.VERIFICATION).desc(),
                    EconomicSituation.id.desc(),
                ),
            )
            .label("rank"),
        )
        .where(EconomicSituation.household_id.in_(ids), EconomicSituation.recorded_on <= as_of)
        .subquery()
    )
    rows = await session.scalars(
        select(EconomicSituation).join(
            ranked, and_(ranked.c.id == EconomicSituation.id, ranked.c.rank == 1)
        )
    )
    return {row.household_id: row for row in rows}


async def authorisations_of(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, list[AuthorisationFacts]]:
    """Every verification authorisation (and refusal) of the households, in one statement."""
    answers: dict[int, list[AuthorisationFacts]] = {}
    for a in await session.execute(
        select(
            VerificationAuthorisation.id,
            VerificationAuthorisation.household_id,
            VerificationAuthorisation.granted,
            VerificationAuthorisation.signed_on,
            VerificationAuthorisation.valid_until,
            VerificationAuthorisation.withdrawn_on,
        ).where(VerificationAuthorisation.household_id.in_(ids))
    ):
        answers.setdefault(a.household_id, []).append(
            AuthorisationFacts(a.granted, a.signed_on, a.valid_until, a.withdrawn_on, a.id)
        )
    return answers


async def current_members(
    session: AsyncSession, ids: Sequence[int], as_of: date, *, living_only: bool = True
) -> dict[int, list[tuple[Membership, Person]]]:
    """The members of each household on the day (and their person rows), in one statement;
    with `living_only`, not those who died by then."""
    conditions = [
        Membership.household_id.in_(ids),
        Membership.joined_on <= as_of,
        Membership.left_on.is_(None) | (Membership.left_on > as_of),
    ]
    if living_only:
        conditions.append(Person.deceased_on.is_(None) | (Person.deceased_on > as_of))
    out: dict[int, list[tuple[Membership, Person]]] = {}
    for membership, person in await session.execute(
        select(Membership, Person)
        .join(Person, Person.id == Membership.person_id)
        .where(*conditions)
        .order_by(Membership.household_id, Membership.id)
    ):
        out.setdefault(membership.household_id, []).append((membership, person))
    return out
