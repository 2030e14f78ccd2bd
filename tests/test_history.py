"""Every change to a household keeps its past state; ID numbers are checked on every write."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from gateway.database import Database
from gateway.domain.enums import Category, Channel, HouseholdStatus, UrbanRural
from gateway.domain.idnumber import IdNumberError
from gateway.models import Household, HouseholdVersion, Person
from gateway.settings import Settings
from tests.conftest import Api


async def test_a_change_is_versioned_and_readable(api: Api, database_url: str) -> None:
    db = Database(Settings(database_url=database_url))
    try:
        async with db.unit_of_work() as session:
            household = Household(
                code="320681-T1",
                region_code="320681100000",
                address="汇龙镇人民路1号",
                urban_rural=UrbanRural.URBAN,
                category=Category.NONE,
                status=HouseholdStatus.NOT_COVERED,
                channel=Channel.SURVEY,
                created_by="tester",
                updated_by="tester",
            )
            session.add(household)
        async with db.unit_of_work() as session:
            loaded = await session.get_one(Household, household.id)
            loaded.category = Category.MARGINAL
            loaded.status = HouseholdStatus.ACTIVE
            loaded.valid_from = date(2026, 1, 1)
            loaded.updated_by = "caseworker-7"
        async with db.unit_of_work() as session:
            versions = await session.execute(select(func.count()).select_from(HouseholdVersion))
            assert versions.scalar_one() == 2
    finally:
        await db.dispose()
    data = await api.data(
        "query($id: ID!) { household(id: $id) { version category history "
        "{ nodes { version changedBy state } } } }",
        {"id": str(household.id)},
    )
    h = data["household"]
    assert h["version"] == 2
    assert h["category"] == "MARGINAL"
    newest, oldest = h["history"]["nodes"]
    assert (newest["version"], newest["changedBy"]) == (2, "caseworker-7")
    assert newest["state"]["category"] == "MARGINAL"
    assert newest["state"]["valid_from"] == "2026-01-01"
    assert (oldest["version"], oldest["changedBy"]) == (1, "tester")
    assert oldest["state"]["category"] == "NONE"
    assert oldest["state"]["valid_from"] is None


async def test_a_bad_id_number_is_refused_and_nothing_stored(database_url: str) -> None:
    db = Database(Settings(database_url=database_url))
    try:

        async def write_household_then_bad_person() -> None:
            async with db.unit_of_work() as session:
                session.add(
                    Household(
                        code="320681-T2",
                        region_code="320681100000",
                        address="x",
                        urban_rural=UrbanRural.RURAL,
                        status=HouseholdStatus.NOT_COVERED,
                        channel=Channel.SURVEY,
                    )
                )
                await session.flush()
                session.add(
                    Person(
                        id_number="320681198001011231",
                        name="张三",
                        labor_capacity="FULL",
                        employment_status="FARMING",
                    )
                )

        with pytest.raises(IdNumberError, match="check character"):
            await write_household_then_bad_person()
        async with db.unit_of_work() as session:
            assert (
                await session.execute(select(func.count()).select_from(Household))
            ).scalar_one() == 0
            assert (
                await session.execute(select(func.count()).select_from(Person))
            ).scalar_one() == 0
    finally:
        await db.dispose()
