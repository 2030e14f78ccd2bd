"""The bookkeeping every rule shares: figures on demand, each rule evaluated once, reasons kept.

A rule is a named pure function of an `Evaluation` that answers (passed, detail). Categories
share rules (DIBAO, TEKUN and MARGINAL use the same asset and conduct rules), so a rule is
evaluated at most once per assessment and its reason listed once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gateway.domain.rules.case import HouseholdCase, Standards
from gateway.domain.rules.outcome import Reason, two_places
from gateway.errors import MissingStandard

Check = Callable[["Evaluation"], tuple[bool, str]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # stable and dotted: departments and stored determinations refer to it
    check: Check


def rule(rule_id: str) -> Callable[[Check], Rule]:
    def wrap(check: Check) -> Rule:
        return Rule(rule_id, check)

    return wrap


def yuan(value: Decimal) -> str:
    """A computed amount as reported: two places."""
    return f"{two_places(value):f}"


def figure(value: Decimal) -> str:
    """A figure as set (780, 1.5, 30.5): no trailing zeros, no exponent."""
    text = f"{value.normalize():f}"
    return text


class Evaluation:
    def __init__(self, case: HouseholdCase, standards: Standards) -> None:
        self.case = case
        self.standards = standards
        self.reasons: dict[str, Reason] = {}
        self.used: dict[str, str] = {}
        self._missing: dict[str, MissingStandard] = {}
        n = Decimal(len(case.members))
        self.size = n
        self.per_capita_annual = case.annual_income / n
        self.per_capita_monthly = case.annual_income / 12 / n

    # Figures -----------------------------------------------------------------------------------

    def amount(self, name: str) -> Decimal:
        value = getattr(self.standards, name)
        if value is None:
            raise self._missing_figure(name)
        self._note(name, figure(value))
        return value  # type: ignore[no-any-return]

    def day(self, name: str) -> date:
        value = getattr(self.standards, name)
        if value is None:
            raise self._missing_figure(name)
        self._note(name, value.isoformat())
        return value  # type: ignore[no-any-return]

    def has(self, name: str) -> bool:
        return getattr(self.standards, name) is not None

    @property
    def dibao(self) -> Decimal:
        return self.amount("dibao_monthly")

    def _note(self, name: str, text: str) -> None:
        source = self.standards.provenance.get(name)
        self.used[name] = f"{text} ({source})" if source else text

    def _missing_figure(self, name: str) -> MissingStandard:
        return MissingStandard(
            f"standards.{name}: no figure is set for region {self.case.region_code} on "
            f"{self.case.as_of.isoformat()} and this assessment needs it; give it in the "
            f"request's standards or set it with `lig standards set`",
            field=f"standards.{name}",
        )

    # Rules -------------------------------------------------------------------------------------

    def run(self, r: Rule) -> bool:
        """The rule's outcome, evaluating it on first use; a missing figure raises each time."""
        if r.id in self._missing:
            raise self._missing[r.id]
        if r.id not in self.reasons:
            try:
                passed, detail = r.check(self)
            except MissingStandard as missing:
                self._missing[r.id] = missing
                raise
            self.reasons[r.id] = Reason(r.id, passed, detail)
        return self.reasons[r.id].passed

    def all_pass(self, rules: Sequence[Rule]) -> bool:
        """Whether every rule passes. Every rule is evaluated, so the answer explains them all;
        a rule whose figure is unset only matters (and only raises) if all the others passed,
        because only then can it decide the outcome."""
        missing: MissingStandard | None = None
        passed = True
        for r in rules:
            try:
                passed = self.run(r) and passed
            except MissingStandard as error:
                missing = missing or error
        if passed and missing is not None:
            raise missing
        return passed
