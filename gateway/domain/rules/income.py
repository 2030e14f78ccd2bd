"""The income tests of each category (DOMAIN.md; 苏民规〔2021〕1号; 启民发〔2021〕112号).

"below" (低于) is <, "not above" (不高于) is ≤.
"""

from __future__ import annotations

from decimal import Decimal

from gateway.domain.rules.evaluation import Evaluation, figure, rule, yuan

MARGINAL_FACTOR = Decimal("1.5")  # 不高于低保标准1.5倍
LEGACY_FACTOR = Decimal(2)  # 过渡期内家庭人均收入仍低于低保标准2倍


def _monthly(ev: Evaluation) -> str:
    return f"per-capita monthly income {yuan(ev.per_capita_monthly)}"


def _below_dibao(ev: Evaluation, note: str = "") -> tuple[bool, str]:
    dibao = ev.dibao
    passed = ev.per_capita_monthly < dibao
    sign = "<" if passed else "≥"
    return passed, f"{_monthly(ev)} {sign} dibao standard {figure(dibao)}{note}"


@rule("tekun.income")
def tekun_income(ev: Evaluation) -> tuple[bool, str]:
    return _below_dibao(ev, " (no source of living)")


@rule("dibao.income")
def dibao_income(ev: Evaluation) -> tuple[bool, str]:
    return _below_dibao(ev)


def _within_factor(ev: Evaluation, factor: Decimal) -> tuple[bool, str]:
    dibao = ev.dibao
    limit = factor * dibao
    passed = ev.per_capita_monthly <= limit
    sign = "≤" if passed else ">"
    return passed, f"{_monthly(ev)} {sign} {figure(factor)} × {figure(dibao)} = {yuan(limit)}"


@rule("marginal.income")
def marginal_income(ev: Evaluation) -> tuple[bool, str]:
    return _within_factor(ev, MARGINAL_FACTOR)


@rule("direct.income")
def direct_income(ev: Evaluation) -> tuple[bool, str]:
    return _within_factor(ev, MARGINAL_FACTOR)


@rule("legacy.income")
def legacy_income(ev: Evaluation) -> tuple[bool, str]:
    dibao = ev.dibao
    limit = LEGACY_FACTOR * dibao
    passed = ev.per_capita_monthly < limit
    sign = "<" if passed else "≥"
    factor = figure(LEGACY_FACTOR)
    return passed, f"{_monthly(ev)} {sign} {factor} × {figure(dibao)} = {yuan(limit)}"


@rule("expenditure.income")
def expenditure_income(ev: Evaluation) -> tuple[bool, str]:
    disposable = ev.amount("disposable_income_prev_year")
    passed = ev.per_capita_annual < disposable
    sign = "<" if passed else "≥"
    return passed, (
        f"per-capita annual income {yuan(ev.per_capita_annual)} {sign} previous year's per-capita "
        f"disposable income {figure(disposable)}"
    )


@rule("expenditure.income_after_rigid")
def expenditure_after_rigid(ev: Evaluation) -> tuple[bool, str]:
    dibao = ev.dibao
    annual_dibao = 12 * dibao
    rigid = ev.case.rigid_expenditure.total
    after = (ev.case.annual_income - rigid) / ev.size
    passed = after < annual_dibao
    sign = "<" if passed else "≥"
    return passed, (
        f"per-capita annual income after rigid expenditure ({yuan(ev.case.annual_income)} − "
        f"{yuan(rigid)}) / {ev.size} = {yuan(after)} {sign} annual dibao standard 12 × "
        f"{figure(dibao)} = {yuan(annual_dibao)}"
    )
