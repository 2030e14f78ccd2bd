"""Which category a household qualifies for, and why: the precedence between the categories.

Order (DOMAIN.md, CONTRACT.md): a current DIBAO or TEKUN household is kept without
re-determination (不再重复认定); otherwise TEKUN, DIBAO, then a LEGACY_LOW_INCOME household's
transition, then MARGINAL (directly for a severely disabled or ill single-person-dibao household,
else by the ordinary tests), then EXPENDITURE; the first that holds is the answer, else NONE.
"""

from __future__ import annotations

from gateway.domain.enums import Category
from gateway.domain.rules import income, tekun
from gateway.domain.rules.assets import EXPENDITURE_ASSETS, MARGINAL_ASSETS
from gateway.domain.rules.case import HouseholdCase, Member, Standards
from gateway.domain.rules.conduct import CONDUCT
from gateway.domain.rules.evaluation import Evaluation, Rule, rule
from gateway.domain.rules.outcome import Assessment, Reason, two_places

KEPT_WITHOUT_REDETERMINATION = frozenset({Category.DIBAO, Category.TEKUN})
SEVERE_DISABILITY_GRADES = frozenset({1, 2})  # 重残: grade 1 or 2

TEKUN_RULES: tuple[Rule, ...] = (
    tekun.no_labour_capacity,
    tekun.no_capable_supporter,
    income.tekun_income,
    *MARGINAL_ASSETS,
    *CONDUCT,
)
DIBAO_RULES: tuple[Rule, ...] = (income.dibao_income, *MARGINAL_ASSETS, *CONDUCT)
MARGINAL_RULES: tuple[Rule, ...] = (income.marginal_income, *MARGINAL_ASSETS, *CONDUCT)
EXPENDITURE_RULES: tuple[Rule, ...] = (
    income.expenditure_income,
    income.expenditure_after_rigid,
    *EXPENDITURE_ASSETS,
    *CONDUCT,
)


def _severely_disabled_or_ill(member: Member) -> bool:
    return member.severe_illness or member.disability_grade in SEVERE_DISABILITY_GRADES


@rule("direct.single_person_dibao")
def _direct_member(ev: Evaluation) -> tuple[bool, str]:
    for index, member in enumerate(ev.case.members):
        if member.single_person_dibao and _severely_disabled_or_ill(member):
            why = (
                "severely ill"
                if member.severe_illness
                else f"disability grade {member.disability_grade}"
            )
            return True, f"member {index + 1} receives single-person dibao and is {why}"
    return False, "no single-person-dibao member is severely disabled (grade 1–2) or ill"


@rule("legacy.transition")
def _legacy_transition(ev: Evaluation) -> tuple[bool, str]:
    end = ev.day("legacy_transition_end")
    since = ev.case.legacy_recognised_on
    recognised = f"recognised {since.isoformat()}, " if since else ""
    if ev.case.as_of <= end:
        return True, f"{recognised}transition lasts until {end.isoformat()}"
    return False, (
        f"{recognised}transition ended {end.isoformat()}: re-determined under the interim measures"
    )


LEGACY_RULES: tuple[Rule, ...] = (_legacy_transition, income.legacy_income)
DIRECT_RULES: tuple[Rule, ...] = (_direct_member, income.direct_income)


def _precedence(case: HouseholdCase) -> Reason:
    return Reason(
        "precedence.current_category",
        True,
        f"current category {case.current_category.value} is kept without re-determination "
        "(不再重复认定)",
    )


def _decide(ev: Evaluation) -> Category:
    case = ev.case
    if ev.all_pass(TEKUN_RULES):
        return Category.TEKUN
    if ev.all_pass(DIBAO_RULES):
        return Category.DIBAO
    if case.current_category is Category.LEGACY_LOW_INCOME and ev.all_pass(LEGACY_RULES):
        return Category.LEGACY_LOW_INCOME
    if ev.all_pass(DIRECT_RULES):
        return Category.MARGINAL
    if ev.all_pass(MARGINAL_RULES):
        return Category.MARGINAL
    if ev.all_pass(EXPENDITURE_RULES):
        return Category.EXPENDITURE
    return Category.NONE


def assess(case: HouseholdCase, standards: Standards) -> Assessment:
    """The category `case` qualifies for under `standards`, with every evaluated rule's reason.

    Raises MissingStandard (naming the figure) when a figure that can decide the outcome is unset.
    """
    ev = Evaluation(case, standards)
    monthly = two_places(ev.per_capita_monthly)
    if case.current_category in KEPT_WITHOUT_REDETERMINATION:
        return Assessment(case.current_category, monthly, (_precedence(case),))
    category = _decide(ev)
    return Assessment(category, monthly, tuple(ev.reasons.values()), dict(ev.used))
