"""The households a random sample is drawn from, and the draw itself, recorded in the audit trail.

The population is the households of the region **whose assistance is running**: in one of the
four categories or the legacy status, with status ACTIVE or SUSPENDED (the households of the
monthly export). Random sampling checks that what is being paid is still right (DOMAIN.md,
"Dynamic monitoring"): an applying household is visited by its procedure anyway, and ended or
uncovered households are the survey list's business, not the sample's.

Memory stays flat whatever the region's size: each stratum is read in keyset pages of ids and
only the drawn households are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import record_change
from gateway.domain.enums import RUNNING, Category, HouseholdStatus
from gateway.domain.regions import significant_prefix
from gateway.errors import InvalidInput
from gateway.fieldwork import sampling
from gateway.models import Household, Region
from gateway.principal import Principal

PAGE = 20_000


@dataclass(frozen=True, slots=True)
class Stratum:
    category: Category
    population: int
    drawn: int


@dataclass(frozen=True, slots=True)
class DrawnHousehold:
    id: int
    code: str
    category: Category
    status: HouseholdStatus
    region_code: str
    address: str


@dataclass(frozen=True, slots=True)
class Sample:
    region_code: str
    region_name: str
    ratio: Decimal
    seed: int
    strata: list[Stratum]
    households: list[DrawnHousehold]

    def as_json(self) -> dict[str, object]:
        return {
            "region": self.region_code,
            "region_name": self.region_name,
            "ratio": str(self.ratio),
            "seed": self.seed,
            "strata": [
                {"category": s.category.value, "population": s.population, "drawn": s.drawn}
                for s in self.strata
            ],
            "households": [
                {
                    "id": h.id,
                    "code": h.code,
                    "category": h.category.value,
                    "status": h.status.value,
                    "region_code": h.region_code,
                    "address": h.address,
                }
                for h in self.households
            ],
        }


def covered(region_code: str) -> list[ColumnElement[bool]]:
    """Households of the region whose assistance is running (the sampling population)."""
    return [
        Household.region_code.startswith(significant_prefix(region_code), autoescape=True),
        Household.category != Category.NONE,
        Household.status.in_(RUNNING),
    ]


async def known_region(session: AsyncSession, code: str, field: str) -> Region:
    """A region of the regions table, given by its 12-digit code or its leading digits."""
    # isascii(): isdigit() also takes "３" and "²".
    if not (code.isascii() and code.isdigit()) or not 2 <= len(code) <= 12:
        raise InvalidInput(field, "must be a region code of 2 to 12 digits")
    region = await session.get(Region, code.ljust(12, "0"))
    if region is None:
        raise InvalidInput(field, f"unknown region {code.ljust(12, '0')}")
    return region


async def draw_sample(
    session: AsyncSession,
    principal: Principal,
    *,
    region_code: str,
    ratio: Decimal,
    seed: int,
    request_id: str = "sample",
    region_field: str = "region",
) -> Sample:
    """Draw the sample and record the draw (seed, ratio, region, households) as a change.

    Call it first in its transaction: on PostgreSQL the transaction is made REPEATABLE READ, so
    the strata are counted and read in one snapshot (SQLite's write transaction is one anyway).
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    region = await known_region(session, region_code, region_field)
    conditions = covered(region.code)
    counts = {
        row.category: row.n
        for row in await session.execute(
            select(Household.category, func.count().label("n"))
            .where(*conditions)
            .group_by(Household.category)
        )
    }
    strata: list[Stratum] = []
    households: list[DrawnHousehold] = []
    for category in Category:  # the enum's order: DIBAO, TEKUN, MARGINAL, …
        population = counts.get(category, 0)
        if not population:
            continue
        wanted = sampling.positions(category.value, population, ratio, seed)
        strata.append(Stratum(category, population, len(wanted)))
        households.extend(await _pick(session, conditions, category, wanted))
    record_change(
        session,
        principal,
        action="households.sample",
        request_id=request_id,
        subjects={
            "households": [h.id for h in households],
            "region": region.code,
            "ratio": str(ratio),
            "seed": seed,
        },
        result_count=len(households),
    )
    return Sample(region.code, region.name, ratio, seed, strata, households)


async def _pick(
    session: AsyncSession,
    conditions: list[ColumnElement[bool]],
    category: Category,
    wanted: list[int],
) -> list[DrawnHousehold]:
    """The households at the `wanted` positions of the stratum (in id order), page by page."""
    picked: list[DrawnHousehold] = []
    targets = iter(wanted)
    target = next(targets, None)
    seen = 0
    after_id = 0
    while target is not None:
        page = (
            await session.execute(
                select(
                    Household.id,
                    Household.code,
                    Household.category,
                    Household.status,
                    Household.region_code,
                    Household.address,
                )
                .where(*conditions, Household.category == category, Household.id > after_id)
                .order_by(Household.id)
                .limit(PAGE)
            )
        ).all()
        if not page:
            break  # cannot happen in one snapshot; kept so a shrunk stratum ends the loop
        while target is not None and target < seen + len(page):
            row = page[target - seen]
            picked.append(DrawnHousehold(*row))
            target = next(targets, None)
        seen += len(page)
        after_id = page[-1].id
    return picked
