"""What the rules answer: a category and, rule by rule, why."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gateway.domain.enums import Category

CENT = Decimal("0.01")


def two_places(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str  # stable dotted id, e.g. "marginal.income"
    passed: bool
    detail: str  # the comparison with the figures used

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Assessment:
    category: Category
    per_capita_monthly_income: Decimal  # rounded to two places
    reasons: tuple[Reason, ...]
    # The figures the evaluated rules used, by name, as text, with where each came from.
    standards_used: dict[str, str] = field(default_factory=dict)

    @property
    def eligible(self) -> bool:
        return self.category is not Category.NONE

    def as_json(self) -> dict[str, Any]:
        """The answer of `lig assess` and GraphQL `assess` (CONTRACT.md)."""
        return {
            "category": self.category.value,
            "eligible": self.eligible,
            "per_capita_monthly_income": self.per_capita_monthly_income,
            "reasons": [reason.as_json() for reason in self.reasons],
        }
