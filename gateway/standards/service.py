"""Reading the figures in force for a region on a date, and setting new ones (audited).

A figure is looked up in the region itself, then in each enclosing region (town → county →
city → province): the most specific region that has it wins, so Qidong's dibao standard beats
any Nantong one, and the province's disposable income serves where the city published none.
Services take a session and never commit; the command or request that calls them does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import validation
from gateway.audit import record_change
from gateway.domain.enums import StandardFigure, StandardStatus
from gateway.domain.regions import LEVEL_DIGITS
from gateway.domain.rules import Standards
from gateway.errors import Conflict, InvalidInput
from gateway.models import Region, RegionalStandard
from gateway.principal import Principal

# The rules' name of each stored figure (TEKUN support amounts are stored but not rule inputs).
FIGURE_OF: dict[StandardFigure, str] = {
    StandardFigure.DIBAO_MONTHLY: "dibao_monthly",
    StandardFigure.DISPOSABLE_INCOME: "disposable_income_prev_year",
    StandardFigure.HOUSING_AREA_PER_CAPITA: "housing_area_per_capita",
    StandardFigure.CAR_VALUE_CAP: "car_value_cap",
    StandardFigure.LEGACY_TRANSITION_END: "legacy_transition_end",
}
DATE_FIGURES = frozenset({StandardFigure.LEGACY_TRANSITION_END})
MAX_FIGURE = Decimal(10**9)
MAX_SOURCE = 300  # regional_standards.source
MAX_VALUE_TEXT = 32  # a figure as text: "1000000000.00", "2024-08-31"
# Division-code levels: province, city, county, town, village (digits that are significant).


def region_code_of(code: str, field: str) -> str:
    """A 6- or 12-digit division code as its 12-digit form, or InvalidInput naming `field`."""
    try:
        return validation.region(code)
    except ValueError:
        raise InvalidInput(field, "must be a 6- or 12-digit division code") from None


def figure_text(value: Decimal | date | None) -> str | None:
    """A figure as shown to people and machines: a decimal, or an ISO date."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def enclosing_regions(region_code: str) -> list[str]:
    """The region and every region that contains it, most specific first."""
    code = region_code.ljust(12, "0")
    chain = []
    for digits in reversed(LEVEL_DIGITS):
        candidate = code[:digits].ljust(12, "0")
        if candidate not in chain:
            chain.append(candidate)
    return chain


@dataclass(frozen=True, slots=True)
class StandardRow:
    region_code: str
    figure: StandardFigure
    effective_from: date
    amount: Decimal | None
    on_date: date | None
    status: StandardStatus
    source: str
    created_by: str

    @classmethod
    def of(cls, row: RegionalStandard) -> StandardRow:
        return cls(
            row.region_code,
            row.figure,
            row.effective_from,
            row.amount,
            row.on_date,
            row.status,
            row.source,
            row.created_by,
        )

    @property
    def value(self) -> Decimal | date:
        return self.on_date if self.amount is None else self.amount  # type: ignore[return-value]

    def provenance(self) -> str:
        return (
            f"{self.status.value} {self.region_code} from {self.effective_from.isoformat()}: "
            f"{self.source}"
        )


async def list_rows(session: AsyncSession, region_code: str) -> list[StandardRow]:
    """Every stored figure that applies to the region (its own and its enclosing regions')."""
    rows = await session.scalars(
        select(RegionalStandard)
        .where(RegionalStandard.region_code.in_(enclosing_regions(region_code)))
        .order_by(
            RegionalStandard.figure, RegionalStandard.region_code, RegionalStandard.effective_from
        )
    )
    return [StandardRow.of(row) for row in rows]


def pick_in_force(rows: list[StandardRow], region_code: str, as_of: date) -> Standards:
    """The figures in force on `as_of` from `rows` (pure, so the batch review can reuse rows).

    The previous year's disposable income is the figure for the calendar year before `as_of`.
    """
    chain = enclosing_regions(region_code)
    values: dict[str, object] = {}
    provenance: dict[str, str] = {}
    for figure, name in FIGURE_OF.items():
        for region in chain:
            if figure is StandardFigure.DISPOSABLE_INCOME:
                fits = [
                    r
                    for r in rows
                    if r.figure is figure
                    and r.region_code == region
                    and r.effective_from.year == as_of.year - 1
                ]
            else:
                fits = [
                    r
                    for r in rows
                    if r.figure is figure and r.region_code == region and r.effective_from <= as_of
                ]
            if fits:
                chosen = max(fits, key=lambda r: r.effective_from)
                values[name] = chosen.value
                provenance[name] = chosen.provenance()
                break
    return Standards(**values, provenance=provenance)  # type: ignore[arg-type]


async def in_force(session: AsyncSession, region_code: str, as_of: date) -> Standards:
    return pick_in_force(await list_rows(session, region_code), region_code, as_of)


async def set_standard(
    session: AsyncSession,
    principal: Principal,
    *,
    region_code: str,
    figure: StandardFigure,
    effective_from: date,
    value: str,
    source: str,
    status: StandardStatus = StandardStatus.OPERATOR,
    replace: bool = False,
    request_id: str = "cli",
) -> StandardRow:
    """Record a figure; an existing one for the same region, figure and date needs `replace`.

    The old and new values go to the audit trail, so a replaced figure is never lost.
    """
    region = region_code_of(region_code, "region_code")
    if await session.get(Region, region) is None:
        raise InvalidInput("region_code", f"{region} is not a known region")
    if not source.strip():
        raise InvalidInput("source", "say where the figure comes from (a document, a decision)")
    source = validation.written("source", source, limit=MAX_SOURCE)
    if len(value) > MAX_VALUE_TEXT:
        raise InvalidInput("value", f"at most {MAX_VALUE_TEXT} characters")
    amount: Decimal | None = None
    on_date: date | None = None
    if figure in DATE_FIGURES:
        try:
            on_date = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput("value", f"{figure.value} is a date (YYYY-MM-DD)") from None
    else:
        try:
            amount = Decimal(value)
        except ArithmeticError:
            raise InvalidInput("value", f"{value!r} is not a number") from None
        if (
            not amount.is_finite()
            or not 0 < amount <= MAX_FIGURE
            or amount != amount.quantize(Decimal("0.01"))
        ):
            raise InvalidInput(
                "value", f"must be a positive amount up to {MAX_FIGURE} with at most two decimals"
            )
    existing = await session.scalar(
        select(RegionalStandard).where(
            RegionalStandard.region_code == region,
            RegionalStandard.figure == figure,
            RegionalStandard.effective_from == effective_from,
        )
    )
    before = StandardRow.of(existing) if existing else None
    if existing is not None and not replace:
        raise Conflict(
            f"{figure.value} for {region} from {effective_from.isoformat()} is already "
            f"{existing.amount if existing.amount is not None else existing.on_date}; "
            "replace it explicitly",
            field="effective_from",
        )
    row = existing or RegionalStandard(
        region_code=region, figure=figure, effective_from=effective_from
    )
    row.amount, row.on_date, row.status = amount, on_date, status
    row.source, row.created_by = source.strip(), principal.client_id
    session.add(row)
    await session.flush()
    record_change(
        session,
        principal,
        action="standards.set",
        request_id=request_id,
        subjects={
            "standard": {"region_code": region, "figure": figure.value},
            "effective_from": effective_from.isoformat(),
            "before": None if before is None else figure_text(before.value),
            "after": value,
            "status": status.value,
            "source": row.source,
        },
    )
    return StandardRow.of(row)
