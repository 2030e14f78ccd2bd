"""The household-property rules (家庭财产), one set for DIBAO/TEKUN/MARGINAL and one for
EXPENDITURE (苏民规〔2021〕1号; Qidong's car cap: 启民发〔2021〕112号).

"exceeds" (超过) is >, "or more" (含) is ≥. The rule ids end in the set's name:
`assets.cars.marginal`, `assets.cars.expenditure`, ….
"""

from __future__ import annotations

from decimal import Decimal

from gateway.domain.rules.evaluation import Evaluation, Rule, figure, yuan

CAPITAL_LIMIT = Decimal(200_000)  # 认缴出资额 20万元(含)以上: provincial, not regional
FINANCIAL_FACTOR = Decimal(3)  # per capita more than 3 × the annual dibao standard
CAR_CAP_DEFAULT_FACTOR = Decimal(10)  # cap defaults to 10 × the annual dibao standard
# (homes that trigger the rule, times the guarantee area per capita that is too much)
HOUSING_ORDINARY = (2, Decimal(2))
HOUSING_DEMOLITION = (3, Decimal(4))


def _cars_marginal(ev: Evaluation) -> tuple[bool, str]:
    count = len(ev.case.assets.cars)
    if count == 0:
        return True, "no car for private use"
    return False, f"{count} car(s) for private use; any car excludes this category"


def _car_cap(ev: Evaluation) -> tuple[Decimal, str]:
    if ev.has("car_value_cap"):
        cap = ev.amount("car_value_cap")
        return cap, f"cap {figure(cap)}"
    dibao = ev.dibao
    cap = CAR_CAP_DEFAULT_FACTOR * 12 * dibao
    return cap, f"cap 10 × 12 × {figure(dibao)} = {yuan(cap)}"


def _cars_expenditure(ev: Evaluation) -> tuple[bool, str]:
    cars = ev.case.assets.cars
    if not cars:
        return True, "no car for private use"
    if len(cars) >= 2:
        return False, f"{len(cars)} cars for private use (2 or more exclude)"
    value = cars[0]
    cap, cap_text = _car_cap(ev)
    passed = value <= cap
    sign = "≤" if passed else ">"
    return passed, f"one car for private use, value {yuan(value)} {sign} {cap_text}"


def _housing(ev: Evaluation) -> tuple[bool, str]:
    assets = ev.case.assets
    threshold, factor = HOUSING_DEMOLITION if assets.homes_from_demolition else HOUSING_ORDINARY
    kind = "from demolition" if assets.homes_from_demolition else "not from demolition"
    if assets.homes < threshold:
        return True, f"{assets.homes} home(s) {kind}, fewer than {threshold}"
    standard = ev.amount("housing_area_per_capita")
    per_capita = assets.floor_area / ev.size
    limit = factor * standard
    passed = per_capita <= limit
    sign = "≤" if passed else ">"
    return passed, (
        f"{assets.homes} homes {kind} and per-capita floor area {yuan(per_capita)} m² {sign} "
        f"{figure(factor)} × {figure(standard)} = {yuan(limit)} m²"
    )


def _non_residential(ev: Evaluation) -> tuple[bool, str]:
    if ev.case.assets.non_residential_acquired:
        return False, "non-residential property built or bought in the year before or while valid"
    return True, "no non-residential property built or bought in the year before or while valid"


def _financial(ev: Evaluation) -> tuple[bool, str]:
    dibao = ev.dibao
    limit = FINANCIAL_FACTOR * 12 * dibao
    per_capita = ev.case.assets.financial / ev.size
    passed = per_capita <= limit
    sign = "≤" if passed else ">"
    return passed, (
        f"per-capita financial assets {yuan(per_capita)} {sign} 3 × 12 × {figure(dibao)} "
        f"= {yuan(limit)}"
    )


def _capital(ev: Evaluation) -> tuple[bool, str]:
    capital = ev.case.assets.subscribed_capital
    passed = capital < CAPITAL_LIMIT
    sign = "<" if passed else "≥"
    return passed, f"subscribed capital {yuan(capital)} {sign} {figure(CAPITAL_LIMIT)}"


def _set(name: str, cars: Rule) -> tuple[Rule, ...]:
    return (
        cars,
        Rule(f"assets.housing.{name}", _housing),
        Rule(f"assets.non_residential.{name}", _non_residential),
        Rule(f"assets.financial.{name}", _financial),
        Rule(f"assets.capital.{name}", _capital),
    )


# DIBAO and TEKUN follow the marginal property rules (the provincial text: the marginal rules
# follow the dibao ones), so one set serves all three.
MARGINAL_ASSETS = _set("marginal", Rule("assets.cars.marginal", _cars_marginal))
EXPENDITURE_ASSETS = _set("expenditure", Rule("assets.cars.expenditure", _cars_expenditure))
