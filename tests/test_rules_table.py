"""The category rules, boundary by boundary, written from the documents (not from the engine).

Sources: DOMAIN.md (the four categories, the asset table, the conduct exclusions, DIRECT, the
LEGACY transition, TEKUN in brief), CONTRACT.md ("The assessment request (`lig assess`)" and the
answer), and the decisions taken where they are silent (order, rule ids, missing figures, input
errors). The seeds win over DOMAIN.md: 不高于 is ≤, 低于 is <, 超过 is >, 以上(含) is ≥.

Every table row is one side of one boundary; its id says which. Figures, unless a row says
otherwise: dibao 780/month (so 1.5× = 1170, 2× = 1560, annual 9360, financial cap 3 × 9360 =
28080 per capita, car cap 10 × 9360 = 93600), disposable income 49862, housing standard 30 m²
per capita, LEGACY transition ending 2024-08-31, assessed as of 2023-03-01.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from gateway.assessment import assess_request
from gateway.domain.enums import Category
from gateway.domain.rules import Assessment, Reason, Standards
from gateway.errors import InvalidInput, MissingStandard
from tests.support.idnumbers import check_character
from tests.support.idnumbers import id_number as make_id_number

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

AS_OF = "2023-03-01"
ADULT = date(1980, 1, 1)  # 43 at AS_OF
ELDER = date(1950, 1, 1)  # 73 at AS_OF
CHILD = date(2013, 1, 1)  # 10 at AS_OF
STANDARDS: dict[str, Any] = {
    "dibao_monthly": 780,
    "disposable_income_prev_year": 49862,
    "housing_area_per_capita": 30,
    "legacy_transition_end": "2024-08-31",
}

_sequences = itertools.count(101)


def id_number(born: date, sequence: int | None = None, area: str = "320681") -> str:
    seq = next(_sequences) % 1000 if sequence is None else sequence
    return make_id_number(born, seq, area)


def wrong_check(number: str) -> str:
    """The same number with a check character that is not the right one."""
    right = number[17]
    return number[:17] + ("0" if right != "0" else "1")


def member(born: date = ADULT, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id_number": id_number(born),
        "relation": "SELF",
        "labor_capacity": "FULL",
        "disability_type": None,
        "disability_grade": None,
        "severe_illness": False,
        "single_person_dibao": False,
        "has_capable_supporter": True,
    }
    record.update(fields)
    return record


def adults(n: int, **fields: Any) -> list[dict[str, Any]]:
    people = [member(ADULT, **fields) for _ in range(n)]
    for person in people[1:]:
        person["relation"] = "OTHER"
    return people


_OMIT = object()


def request(
    *,
    members: Sequence[Mapping[str, Any]] | None = None,
    annual_income: Any = 12000,
    standards: Any = None,
    **top: Any,
) -> dict[str, Any]:
    """A CONTRACT.md request: one working-age adult with a supporter, 12000 a year, no assets.

    `standards=None` means all of STANDARDS; `standards=_OMIT` leaves the key out.
    """
    payload: dict[str, Any] = {
        "as_of": AS_OF,
        "region_code": "320681",
        "current_category": "NONE",
        "channel": "APPLICATION",
        "members": [dict(m) for m in members] if members is not None else [member()],
        "annual_income": annual_income,
    }
    for later in payload["members"][1:]:
        if later["relation"] == "SELF":
            later["relation"] = "OTHER"  # one applicant per household
    if standards is None:
        payload["standards"] = dict(STANDARDS)
    elif standards is not _OMIT:
        payload["standards"] = dict(standards)
    payload.update(top)
    return payload


def assess(payload: Mapping[str, Any], stored: Standards | None = None) -> Assessment:
    result: Assessment = assess_request(payload, stored)
    # Invariants every answer keeps, checked on every row of every table.
    rules = [r.rule for r in result.reasons]
    assert len(rules) == len(set(rules)), f"a rule appears twice: {rules}"
    assert result.eligible == (result.category != Category.NONE)
    return result


def reason(result: Assessment, rule: str) -> Reason:
    found = [r for r in result.reasons if r.rule == rule]
    assert found, f"{rule} not evaluated; reasons: {[r.rule for r in result.reasons]}"
    return found[0]


def passed(result: Assessment, rule: str) -> bool:
    return reason(result, rule).passed


def rule_ids(result: Assessment) -> set[str]:
    return {r.rule for r in result.reasons}


MARGINAL_ASSET_RULES = [
    f"assets.{kind}.marginal"
    for kind in ("cars", "housing", "non_residential", "financial", "capital")
]
EXPENDITURE_ASSET_RULES = [r.replace(".marginal", ".expenditure") for r in MARGINAL_ASSET_RULES]
CONDUCT_FLAGS = [
    "refused_investigation",
    "refused_authorisation",
    "deliberate_disposal",
    "high_consumption",
    "refuses_work",
]
CONDUCT_RULES = [f"conduct.{flag}" for flag in CONDUCT_FLAGS]


# Households that land in each category with nothing but the defaults (per person figures).
def tekun_household(n: int = 1, **top: Any) -> dict[str, Any]:
    """Elderly, no supporter, 500 a month each: TEKUN."""
    people = [member(ELDER, has_capable_supporter=False) for _ in range(n)]
    return request(members=people, annual_income=6000 * n, **top)


def dibao_household(n: int = 1, **top: Any) -> dict[str, Any]:
    """Working age, 500 a month each: DIBAO (TEKUN fails on labour capacity)."""
    return request(members=adults(n), annual_income=6000 * n, **top)


def marginal_household(n: int = 1, **top: Any) -> dict[str, Any]:
    """1000 a month each: above dibao, not above 1.5 × dibao: MARGINAL.

    Not EXPENDITURE if MARGINAL fails: 12000 a year each is not below the annual dibao 9360.
    """
    return request(members=adults(n), annual_income=12000 * n, **top)


def expenditure_household(n: int = 1, **top: Any) -> dict[str, Any]:
    """20000 a year each (1666.67 a month, above 1.5 × dibao), 15000 medical each: EXPENDITURE."""
    top.setdefault("rigid_expenditure", {"medical": 15000 * n})
    return request(members=adults(n), annual_income=20000 * n, **top)


def test_id_helper_matches_the_contract_example() -> None:
    assert id_number(date(1980, 1, 1), 123) == "320681198001011230"
    assert id_number(date(1949, 12, 31), 2, area="110105") == "11010519491231002X"


# --------------------------------------------------------------------------------------------
# The contract's own example, and the shape of the answer
# --------------------------------------------------------------------------------------------

CONTRACT_EXAMPLE: dict[str, Any] = {
    "as_of": "2023-03-01",
    "region_code": "320681",
    "standards": {
        "dibao_monthly": 780,
        "disposable_income_prev_year": 49862,
        "housing_area_per_capita": 30,
        "car_value_cap": 93600,
        "legacy_transition_end": "2024-08-31",
    },
    "current_category": "NONE",
    "legacy_recognised_on": None,
    "channel": "APPLICATION",
    "members": [
        {
            "id_number": "320681198001011230",
            "relation": "SELF",
            "labor_capacity": "FULL",
            "disability_type": None,
            "disability_grade": None,
            "severe_illness": False,
            "single_person_dibao": False,
            "has_capable_supporter": True,
        }
    ],
    "annual_income": 12000,
    "rigid_expenditure": {
        "medical": 0,
        "education": 0,
        "disability_rehabilitation": 0,
        "disaster_accident": 0,
        "other": 0,
    },
    "assets": {
        "financial": 0,
        "cars": [],
        "homes": 1,
        "floor_area": 80,
        "homes_from_demolition": False,
        "non_residential_acquired": False,
        "subscribed_capital": 0,
    },
    "conduct": {
        "refused_investigation": False,
        "refused_authorisation": False,
        "deliberate_disposal": False,
        "high_consumption": False,
        "refuses_work": False,
    },
}


def test_contract_example_gives_the_contract_answer() -> None:
    result = assess(copy.deepcopy(CONTRACT_EXAMPLE))
    assert result.category == Category.MARGINAL
    assert result.eligible is True
    assert result.per_capita_monthly_income == Decimal("1000.00")
    income = reason(result, "marginal.income")
    assert income.passed is True
    assert "1000.00" in income.detail
    assert "1170.00" in income.detail

    answer = result.as_json()
    assert set(answer) == {"category", "eligible", "per_capita_monthly_income", "reasons"}
    assert answer["category"] == "MARGINAL"
    assert answer["eligible"] is True
    assert not isinstance(answer["per_capita_monthly_income"], bool)
    assert Decimal(str(answer["per_capita_monthly_income"])) == Decimal("1000.00")
    assert [(r["rule"], r["passed"], r["detail"]) for r in answer["reasons"]] == [
        (r.rule, r.passed, r.detail) for r in result.reasons
    ]
    assert all(set(r) == {"rule", "passed", "detail"} for r in answer["reasons"])


def test_omitted_optional_objects_mean_nothing_of_that_kind() -> None:
    explicit = assess(copy.deepcopy(CONTRACT_EXAMPLE))
    bare = copy.deepcopy(CONTRACT_EXAMPLE)
    for key in ("rigid_expenditure", "assets", "conduct"):
        del bare[key]
    omitted = assess(bare)
    assert omitted.category == explicit.category
    assert omitted.per_capita_monthly_income == explicit.per_capita_monthly_income
    assert {(r.rule, r.passed) for r in omitted.reasons} == {
        (r.rule, r.passed) for r in explicit.reasons
    }


@pytest.mark.parametrize(
    ("n", "annual", "expected"),
    [
        pytest.param(1, 12000, "1000.00", id="whole"),
        pytest.param(3, 10000, "277.78", id="thirds-round-up"),
        pytest.param(3, 9999.96, "277.78", id="rounded-to-cents"),
        pytest.param(2, 18719.99, "780.00", id="779.9996-reported-as-780.00"),
        pytest.param(1, 0, "0.00", id="zero"),
    ],
)
def test_per_capita_monthly_income_is_annual_over_12_over_members(
    n: int, annual: float, expected: str
) -> None:
    result = assess(request(members=adults(n), annual_income=annual))
    assert result.per_capita_monthly_income == Decimal(expected)
    assert result.per_capita_monthly_income.as_tuple().exponent == -2


# --------------------------------------------------------------------------------------------
# Precedence and order
# --------------------------------------------------------------------------------------------

EVERYTHING_WRONG: dict[str, Any] = {
    "annual_income": 1_000_000,
    "assets": {
        "financial": 10_000_000,
        "cars": [{"value": 1_000_000}, {"value": 500_000}],
        "homes": 6,
        "floor_area": 2000,
        "homes_from_demolition": False,
        "non_residential_acquired": True,
        "subscribed_capital": 5_000_000,
    },
    "conduct": dict.fromkeys(CONDUCT_FLAGS, True),
}


@pytest.mark.parametrize("current", ["DIBAO", "TEKUN"])
def test_current_dibao_or_tekun_is_kept_without_redetermination(current: str) -> None:
    """不再重复认定: a DIBAO or TEKUN household is kept, and nothing else is evaluated."""
    result = assess(request(current_category=current, **EVERYTHING_WRONG))
    assert result.category == Category(current)
    assert result.eligible is True
    assert [(r.rule, r.passed) for r in result.reasons] == [("precedence.current_category", True)]


@pytest.mark.parametrize("current", ["DIBAO", "TEKUN"])
def test_kept_category_needs_no_figure(current: str) -> None:
    """No rule is evaluated, so no figure can decide the outcome: no MissingStandard."""
    result = assess(request(current_category=current, standards=_OMIT, **EVERYTHING_WRONG))
    assert result.category == Category(current)


@pytest.mark.parametrize(
    ("payload", "category", "not_tried"),
    [
        pytest.param(tekun_household(), "TEKUN", ["dibao.income", "marginal.income"], id="tekun"),
        pytest.param(
            dibao_household(), "DIBAO", ["marginal.income", "expenditure.income"], id="dibao"
        ),
        pytest.param(
            marginal_household(rigid_expenditure={"medical": 10000}),
            "MARGINAL",
            ["expenditure.income", "expenditure.income_after_rigid"],
            id="marginal-also-meeting-expenditure",
        ),
    ],
)
def test_first_category_that_qualifies_wins(
    payload: dict[str, Any], category: str, not_tried: list[str]
) -> None:
    result = assess(payload)
    assert result.category == Category(category)
    assert not rule_ids(result) & set(not_tried)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(dibao_household(assets={"cars": [{"value": 10000}]}), id="dibao-with-car"),
        pytest.param(tekun_household(assets={"cars": [{"value": 10000}]}), id="tekun-with-car"),
    ],
)
def test_dibao_and_tekun_use_the_marginal_asset_rules(payload: dict[str, Any]) -> None:
    """CONTRACT.md: DIBAO and TEKUN use the MARGINAL asset rules (any car excludes)."""
    result = assess(payload)
    assert passed(result, "assets.cars.marginal") is False
    assert passed(result, "dibao.income") is True
    # 6000 a year each: below disposable income and below the annual dibao; one modest car.
    assert passed(result, "assets.cars.expenditure") is True
    assert result.category == Category.EXPENDITURE


def test_every_rule_of_a_tried_category_is_evaluated() -> None:
    """No short-circuit inside a category: a NONE household shows every rule it was tried on."""
    result = assess(request(annual_income=1_000_000))
    assert result.category == Category.NONE
    expected = {
        "tekun.no_labour_capacity",
        "tekun.no_capable_supporter",
        "tekun.income",
        "dibao.income",
        "marginal.income",
        "expenditure.income",
        "expenditure.income_after_rigid",
        *MARGINAL_ASSET_RULES,
        *EXPENDITURE_ASSET_RULES,
        *CONDUCT_RULES,
    }
    assert expected <= rule_ids(result)
    assert not any(r.startswith(("legacy.", "precedence.")) for r in rule_ids(result))


# --------------------------------------------------------------------------------------------
# TEKUN: no labour capacity, no capable supporter, income below dibao
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "born", "passes"),
    [
        pytest.param("2023-03-01", date(1963, 3, 1), True, id="60-exactly"),
        pytest.param("2023-03-01", date(1963, 3, 2), False, id="59-and-364-days"),
        pytest.param("2023-03-01", date(1930, 6, 1), True, id="92"),
        pytest.param("2023-03-01", date(2007, 3, 2), True, id="15-and-364-days"),
        pytest.param("2023-03-01", date(2007, 3, 1), False, id="16-exactly"),
        pytest.param("2023-03-01", date(2023, 1, 1), True, id="baby"),
        pytest.param("2023-03-01", ADULT, False, id="43"),
        pytest.param("2020-02-29", date(1960, 2, 29), True, id="leap-born-60-on-leap-day"),
        pytest.param("2020-02-28", date(1960, 2, 29), False, id="leap-born-day-before-60"),
        pytest.param("2024-03-01", date(1964, 3, 1), True, id="60-exactly-other-as-of"),
    ],
)
def test_tekun_age_limits(as_of: str, born: date, passes: bool) -> None:
    """Aged 60 or over, or under 16, at as_of (from the ID number's birth date)."""
    result = assess(
        request(
            as_of=as_of,
            members=[member(born, has_capable_supporter=False)],
            annual_income=6000,
        )
    )
    assert passed(result, "tekun.no_labour_capacity") is passes
    assert result.category == (Category.TEKUN if passes else Category.DIBAO)


@pytest.mark.parametrize(
    ("disability_type", "grade", "passes"),
    [
        pytest.param("INTELLECTUAL", 1, True, id="intellectual-1"),
        pytest.param("INTELLECTUAL", 3, True, id="intellectual-3"),
        pytest.param("INTELLECTUAL", 4, False, id="intellectual-4"),
        pytest.param("MENTAL", 1, True, id="mental-1"),
        pytest.param("MENTAL", 2, True, id="mental-2"),
        pytest.param("MENTAL", 3, True, id="mental-3"),
        pytest.param("MENTAL", 4, False, id="mental-4"),
        pytest.param("PHYSICAL", 1, True, id="physical-1"),
        pytest.param("PHYSICAL", 2, True, id="physical-2"),
        pytest.param("PHYSICAL", 3, False, id="physical-3"),
        pytest.param("PHYSICAL", 4, False, id="physical-4"),
        pytest.param("VISUAL", 1, True, id="visual-1"),
        pytest.param("VISUAL", 2, False, id="visual-2"),
        pytest.param("HEARING", 1, False, id="hearing-1-not-listed"),
        pytest.param("SPEECH", 1, False, id="speech-1-not-listed"),
        pytest.param("MULTIPLE", 1, False, id="multiple-1-not-listed"),
        pytest.param(None, None, False, id="no-disability"),
    ],
)
def test_tekun_disability_grades(
    disability_type: str | None, grade: int | None, passes: bool
) -> None:
    """Intellectual or mental grade 1–3, physical 1–2, visual 1 (民发〔2021〕43号)."""
    person = member(
        ADULT, disability_type=disability_type, disability_grade=grade, has_capable_supporter=False
    )
    result = assess(request(members=[person], annual_income=6000))
    assert passed(result, "tekun.no_labour_capacity") is passes
    assert result.category == (Category.TEKUN if passes else Category.DIBAO)


@pytest.mark.parametrize(
    ("people", "passes"),
    [
        pytest.param([member(ELDER), member(CHILD)], True, id="elder-and-child"),
        pytest.param([member(CHILD), member(CHILD)], True, id="two-children"),
        pytest.param([member(ELDER), member(ADULT)], False, id="elder-and-working-age"),
        pytest.param(
            [member(ELDER), member(ADULT, disability_type="INTELLECTUAL", disability_grade=2)],
            True,
            id="elder-and-intellectual-2",
        ),
        pytest.param(
            [member(ADULT, labor_capacity="NONE")], False, id="labor-capacity-field-not-used"
        ),
        pytest.param([member(ELDER, labor_capacity="FULL")], True, id="elder-marked-full"),
    ],
)
def test_tekun_every_member_without_labour_capacity(
    people: list[dict[str, Any]], passes: bool
) -> None:
    for person in people:
        person["has_capable_supporter"] = False
    result = assess(request(members=people, annual_income=6000 * len(people)))
    assert passed(result, "tekun.no_labour_capacity") is passes
    assert result.category == (Category.TEKUN if passes else Category.DIBAO)


@pytest.mark.parametrize(
    ("supporters", "passes"),
    [
        pytest.param([False], True, id="alone-no-supporter"),
        pytest.param([True], False, id="alone-with-supporter"),
        pytest.param([False, False], True, id="two-no-supporter"),
        pytest.param([False, True], False, id="one-of-two-has-supporter"),
    ],
)
def test_tekun_no_capable_supporter(supporters: list[bool], passes: bool) -> None:
    people = [member(ELDER, has_capable_supporter=s) for s in supporters]
    result = assess(request(members=people, annual_income=6000 * len(people)))
    assert passed(result, "tekun.no_capable_supporter") is passes
    assert result.category == (Category.TEKUN if passes else Category.DIBAO)


@pytest.mark.parametrize(
    ("n", "annual", "passes"),
    [
        pytest.param(1, 9359.99, True, id="779.99-below"),
        pytest.param(1, 9360, False, id="780-equal-fails"),
        pytest.param(2, 18719.99, True, id="two-779.9996-below"),
        pytest.param(2, 18720, False, id="two-780-equal-fails"),
        pytest.param(1, 0, True, id="no-income"),
    ],
)
def test_tekun_income_below_dibao(n: int, annual: float, passes: bool) -> None:
    people = [member(ELDER, has_capable_supporter=False) for _ in range(n)]
    result = assess(request(members=people, annual_income=annual))
    assert passed(result, "tekun.income") is passes
    # Not below dibao: DIBAO fails too, and 780 ≤ 1170 makes it MARGINAL.
    assert result.category == (Category.TEKUN if passes else Category.MARGINAL)


# --------------------------------------------------------------------------------------------
# DIBAO: income below the dibao standard
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "annual", "dibao", "passes"),
    [
        pytest.param(1, 9359.99, 780, True, id="779.99-below"),
        pytest.param(1, 9360, 780, False, id="780-equal-fails"),
        pytest.param(2, 18719.99, 780, True, id="two-779.9996-below"),
        pytest.param(2, 18720, 780, False, id="two-780-equal-fails"),
        pytest.param(1, 0, 780, True, id="no-income"),
        pytest.param(1, 8999.99, 750, True, id="standard-750-below"),
        pytest.param(1, 9000, 750, False, id="standard-750-equal-fails"),
    ],
)
def test_dibao_income_below_standard(n: int, annual: float, dibao: int, passes: bool) -> None:
    standards = {**STANDARDS, "dibao_monthly": dibao}
    result = assess(request(members=adults(n), annual_income=annual, standards=standards))
    assert passed(result, "dibao.income") is passes
    assert result.category == (Category.DIBAO if passes else Category.MARGINAL)


# --------------------------------------------------------------------------------------------
# LEGACY_LOW_INCOME: transition not over, income below 2 × dibao
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "n", "annual", "extra", "category", "transition", "income"),
    [
        pytest.param("2024-08-31", 1, 16848, {}, "LEGACY_LOW_INCOME", True, True, id="end-day"),
        pytest.param("2024-09-01", 1, 16848, {}, "NONE", False, True, id="day-after-end"),
        pytest.param("2021-09-01", 1, 16848, {}, "LEGACY_LOW_INCOME", True, True, id="start"),
        pytest.param("2023-03-01", 1, 18719.99, {}, "LEGACY_LOW_INCOME", True, True, id="1559.99"),
        pytest.param("2023-03-01", 1, 18720, {}, "NONE", True, False, id="2x-exactly-fails"),
        pytest.param(
            "2023-03-01", 2, 37439.99, {}, "LEGACY_LOW_INCOME", True, True, id="two-below"
        ),
        pytest.param("2023-03-01", 2, 37440, {}, "NONE", True, False, id="two-2x-exactly"),
        pytest.param(
            "2023-03-01", 1, 12000, {}, "LEGACY_LOW_INCOME", True, True, id="before-marginal"
        ),
        pytest.param(
            "2024-01-01",
            1,
            16848,
            {"standards": {**STANDARDS, "legacy_transition_end": "2023-12-31"}},
            "NONE",
            False,
            True,
            id="end-overridden-day-after",
        ),
        pytest.param(
            "2023-12-31",
            1,
            16848,
            {"standards": {**STANDARDS, "legacy_transition_end": "2023-12-31"}},
            "LEGACY_LOW_INCOME",
            True,
            True,
            id="end-overridden-end-day",
        ),
        pytest.param(
            "2023-03-01",
            1,
            16848,
            {"assets": EVERYTHING_WRONG["assets"]},
            "LEGACY_LOW_INCOME",
            True,
            True,
            id="no-asset-rules",
        ),
        pytest.param(
            "2023-03-01",
            1,
            16848,
            {"conduct": dict.fromkeys(CONDUCT_FLAGS, True)},
            "LEGACY_LOW_INCOME",
            True,
            True,
            id="no-conduct-rules",
        ),
        pytest.param(
            "2024-09-01",
            1,
            16848,
            {"rigid_expenditure": {"medical": 10000}},
            "EXPENDITURE",
            False,
            True,
            id="after-end-redetermined-expenditure",
        ),
    ],
)
def test_legacy_transition(
    as_of: str,
    n: int,
    annual: float,
    extra: dict[str, Any],
    category: str,
    transition: bool,
    income: bool,
) -> None:
    payload = request(
        as_of=as_of,
        current_category="LEGACY_LOW_INCOME",
        members=adults(n),
        annual_income=annual,
    )
    payload.update(copy.deepcopy(extra))
    result = assess(payload)
    assert passed(result, "legacy.transition") is transition
    assert passed(result, "legacy.income") is income
    assert result.category == Category(category)


def test_legacy_household_below_dibao_is_dibao() -> None:
    """DIBAO comes before LEGACY."""
    result = assess(dibao_household(current_category="LEGACY_LOW_INCOME"))
    assert result.category == Category.DIBAO


def test_legacy_rules_only_for_legacy_households() -> None:
    result = assess(request(annual_income=16848))  # 1.8 × dibao, current NONE
    assert result.category == Category.NONE
    assert not any(r.startswith("legacy.") for r in rule_ids(result))


# --------------------------------------------------------------------------------------------
# DIRECT (直接认定): registered severely disabled / ill single-person-dibao, income ≤ 1.5 ×
# --------------------------------------------------------------------------------------------

A_CAR = {"cars": [{"value": 10000}]}  # makes the ordinary MARGINAL path fail


def direct_member(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "single_person_dibao": True,
        "disability_type": "PHYSICAL",
        "disability_grade": 1,
    }
    base.update(fields)
    return member(ADULT, **base)


@pytest.mark.parametrize(
    ("people", "annual", "person_ok", "income_ok"),
    [
        pytest.param([direct_member()], 14040, True, True, id="physical-1-at-1.5x"),
        pytest.param([direct_member(disability_grade=2)], 14040, True, True, id="grade-2"),
        pytest.param(
            [direct_member(disability_type="HEARING", disability_grade=2)],
            14040,
            True,
            True,
            id="hearing-2-any-type",
        ),
        pytest.param([direct_member(disability_grade=3)], 14040, False, True, id="grade-3"),
        pytest.param(
            [direct_member(disability_type=None, disability_grade=None, severe_illness=True)],
            14040,
            True,
            True,
            id="severely-ill",
        ),
        pytest.param(
            [direct_member(disability_grade=3, severe_illness=True)],
            14040,
            True,
            True,
            id="grade-3-but-severely-ill",
        ),
        pytest.param(
            [direct_member(single_person_dibao=False)], 14040, False, True, id="not-single-dibao"
        ),
        pytest.param(
            [direct_member(disability_type=None, disability_grade=None)],
            14040,
            False,
            True,
            id="single-dibao-neither-disabled-nor-ill",
        ),
        pytest.param([direct_member()], 14040.01, True, False, id="1170.0008-above"),
        pytest.param([direct_member()], 14040.12, True, False, id="1170.01-above"),
        pytest.param([direct_member()], 9360, True, True, id="at-dibao"),
        pytest.param(
            [member(ADULT), direct_member(relation="OTHER", disability_grade=2)],
            28080,
            True,
            True,
            id="second-member-two-person-household",
        ),
        pytest.param(
            [member(ADULT), direct_member(relation="OTHER")],
            28080.01,
            True,
            False,
            id="two-person-just-above",
        ),
    ],
)
def test_direct_path(
    people: list[dict[str, Any]], annual: float, person_ok: bool, income_ok: bool
) -> None:
    """The DIRECT path skips the asset rules: a car does not stop it."""
    result = assess(request(members=people, annual_income=annual, assets=A_CAR))
    both = person_ok and income_ok
    # Otherwise: ordinary MARGINAL fails on the car; EXPENDITURE fails after rigid (≥ 9360).
    assert result.category == (Category.MARGINAL if both else Category.NONE)
    assert passed(result, "assets.cars.marginal") is False
    assert passed(result, "direct.single_person_dibao") is person_ok
    assert passed(result, "direct.income") is income_ok


@pytest.mark.parametrize("channel", ["APPLICATION", "DIRECT", "MONITORING", "SURVEY"])
def test_direct_path_whatever_the_channel(channel: str) -> None:
    result = assess(
        request(members=[direct_member()], annual_income=14040, assets=A_CAR, channel=channel)
    )
    assert result.category == Category.MARGINAL


def test_direct_path_skips_conduct_rules() -> None:
    result = assess(
        request(
            members=[direct_member()],
            annual_income=14040,
            conduct={"high_consumption": True},
        )
    )
    assert passed(result, "conduct.high_consumption") is False
    assert result.category == Category.MARGINAL


def test_direct_channel_without_a_direct_member_uses_the_ordinary_path() -> None:
    result = assess(marginal_household(channel="DIRECT", assets=A_CAR))
    assert result.category == Category.NONE
    result = assess(marginal_household(channel="DIRECT"))
    assert result.category == Category.MARGINAL


# --------------------------------------------------------------------------------------------
# MARGINAL: income not above 1.5 × dibao
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "annual", "dibao", "passes"),
    [
        pytest.param(1, 14040, 780, True, id="1170-equal-passes"),
        pytest.param(1, 14040.01, 780, False, id="1170.0008-fails-exact-decimal"),
        pytest.param(1, 14040.12, 780, False, id="1170.01-fails"),
        pytest.param(1, 9360, 780, True, id="at-dibao"),
        pytest.param(3, 42120, 780, True, id="three-1170-equal"),
        pytest.param(3, 42120.01, 780, False, id="three-just-above"),
        pytest.param(1, 13500, 750, True, id="standard-750-1125-equal"),
        pytest.param(1, 13500.12, 750, False, id="standard-750-1125.01"),
    ],
)
def test_marginal_income_not_above_one_and_a_half_dibao(
    n: int, annual: float, dibao: int, passes: bool
) -> None:
    standards = {**STANDARDS, "dibao_monthly": dibao}
    result = assess(request(members=adults(n), annual_income=annual, standards=standards))
    assert passed(result, "marginal.income") is passes
    assert result.category == (Category.MARGINAL if passes else Category.NONE)


def test_marginal_household_is_tried_on_the_direct_path_first() -> None:
    """MARGINAL is tried DIRECT path first, whatever the channel and whoever the members; every
    rule of a category that is tried is evaluated, so the DIRECT rules show in the reasons."""
    result = assess(marginal_household())
    assert result.category == Category.MARGINAL
    assert passed(result, "direct.single_person_dibao") is False
    assert passed(result, "direct.income") is True


# --------------------------------------------------------------------------------------------
# EXPENDITURE: annual income below disposable income; after rigid expenditure below annual dibao
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "annual", "disposable", "passes"),
    [
        pytest.param(1, 49861.99, 49862, True, id="below"),
        pytest.param(1, 49862, 49862, False, id="equal-fails"),
        pytest.param(2, 99723.99, 49862, True, id="two-49861.995-below"),
        pytest.param(2, 99724, 49862, False, id="two-equal-fails"),
        pytest.param(1, 52673.99, 52674, True, id="2023-figure-below"),
        pytest.param(1, 52674, 52674, False, id="2023-figure-equal"),
    ],
)
def test_expenditure_income_below_disposable_income(
    n: int, annual: float, disposable: int, passes: bool
) -> None:
    standards = {**STANDARDS, "disposable_income_prev_year": disposable}
    result = assess(
        request(
            members=adults(n),
            annual_income=annual,
            standards=standards,
            rigid_expenditure={"medical": 45000 * n},
        )
    )
    assert passed(result, "expenditure.income") is passes
    assert passed(result, "expenditure.income_after_rigid") is True
    assert result.category == (Category.EXPENDITURE if passes else Category.NONE)


@pytest.mark.parametrize(
    ("n", "annual", "rigid", "passes"),
    [
        pytest.param(1, 20000, {"medical": 10640}, False, id="equal-9360-fails"),
        pytest.param(1, 20000, {"medical": 10640.01}, True, id="9359.99-below"),
        pytest.param(1, 20000, {"education": 10640.01}, True, id="education"),
        pytest.param(1, 20000, {"disability_rehabilitation": 10640.01}, True, id="rehabilitation"),
        pytest.param(1, 20000, {"disaster_accident": 10640.01}, True, id="disaster-accident"),
        pytest.param(1, 20000, {"other": 10640.01}, True, id="other"),
        pytest.param(1, 20000, {"other": 10640}, False, id="other-equal"),
        pytest.param(1, 20000, {"medical": 5000, "education": 5640}, False, id="sum-equal"),
        pytest.param(1, 20000, {"medical": 5000, "education": 5640.01}, True, id="sum-below"),
        pytest.param(
            1,
            20000,
            {
                "medical": 2128,
                "education": 2128,
                "disability_rehabilitation": 2128,
                "disaster_accident": 2128,
                "other": 2128,
            },
            False,
            id="all-five-sum-equal",
        ),
        pytest.param(1, 20000, {}, False, id="no-rigid"),
        pytest.param(1, 20000, {"medical": 30000}, True, id="rigid-above-income"),
        pytest.param(2, 30000, {"other": 11280}, False, id="two-equal"),
        pytest.param(2, 30000, {"other": 11280.01}, True, id="two-below"),
        pytest.param(1, 20000.1, {"medical": 10640.1}, False, id="exact-decimals-equal"),
        pytest.param(1, 20000.1, {"medical": 10640.11}, True, id="exact-decimals-below"),
    ],
)
def test_expenditure_income_after_rigid_below_annual_dibao(
    n: int, annual: float, rigid: dict[str, float], passes: bool
) -> None:
    result = assess(request(members=adults(n), annual_income=annual, rigid_expenditure=rigid))
    assert passed(result, "marginal.income") is False
    assert passed(result, "expenditure.income") is True
    assert passed(result, "expenditure.income_after_rigid") is passes
    assert result.category == (Category.EXPENDITURE if passes else Category.NONE)


# --------------------------------------------------------------------------------------------
# Assets (家庭财产)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cars", "standards", "marginal_ok", "expenditure_ok"),
    [
        pytest.param([], {}, True, True, id="no-car"),
        pytest.param([{"value": 1}], {}, False, True, id="one-cheap-car"),
        pytest.param([{"value": 93600}], {}, False, True, id="one-at-default-cap"),
        pytest.param([{"value": 93600.01}], {}, False, False, id="one-above-default-cap"),
        pytest.param([{"value": 1}, {"value": 1}], {}, False, False, id="two-cheap-cars"),
        pytest.param([{"value": 1}] * 3, {}, False, False, id="three-cars"),
        pytest.param([{"value": 50000}], {"car_value_cap": 50000}, False, True, id="at-set-cap"),
        pytest.param(
            [{"value": 50000.01}], {"car_value_cap": 50000}, False, False, id="above-set-cap"
        ),
        pytest.param(
            [{"value": 96000}], {"dibao_monthly": 800}, False, True, id="cap-follows-dibao-at"
        ),
        pytest.param(
            [{"value": 96000.01}],
            {"dibao_monthly": 800},
            False,
            False,
            id="cap-follows-dibao-above",
        ),
    ],
)
def test_cars(
    cars: list[dict[str, float]],
    standards: dict[str, Any],
    marginal_ok: bool,
    expenditure_ok: bool,
) -> None:
    """MARGINAL: any car excludes. EXPENDITURE: 2 or more, or one above the cap (default 10 × 12
    × dibao)."""
    figures = {**STANDARDS, **standards}
    as_marginal = assess(marginal_household(assets={"cars": cars}, standards=figures))
    assert passed(as_marginal, "assets.cars.marginal") is marginal_ok
    assert as_marginal.category == (Category.MARGINAL if marginal_ok else Category.NONE)

    as_expenditure = assess(expenditure_household(assets={"cars": cars}, standards=figures))
    assert passed(as_expenditure, "assets.cars.marginal") is marginal_ok
    assert passed(as_expenditure, "assets.cars.expenditure") is expenditure_ok
    assert as_expenditure.category == (Category.EXPENDITURE if expenditure_ok else Category.NONE)


# Rules that read the same for MARGINAL and EXPENDITURE: (rule, n members, assets, standards, ok)
SHARED_ASSET_ROWS = [
    pytest.param("housing", 1, {"homes": 0, "floor_area": 0}, {}, True, id="housing-none"),
    pytest.param("housing", 1, {"homes": 1, "floor_area": 1000}, {}, True, id="housing-1-big"),
    pytest.param("housing", 1, {"homes": 2, "floor_area": 60}, {}, True, id="housing-2-at-2x"),
    pytest.param(
        "housing", 1, {"homes": 2, "floor_area": 60.01}, {}, False, id="housing-2-above-2x"
    ),
    pytest.param("housing", 1, {"homes": 3, "floor_area": 60}, {}, True, id="housing-3-at-2x"),
    pytest.param("housing", 1, {"homes": 3, "floor_area": 61}, {}, False, id="housing-3-above"),
    pytest.param("housing", 2, {"homes": 2, "floor_area": 120}, {}, True, id="housing-two-at-2x"),
    pytest.param(
        "housing", 2, {"homes": 2, "floor_area": 120.01}, {}, False, id="housing-two-60.005"
    ),
    pytest.param(
        "housing",
        1,
        {"homes": 2, "floor_area": 80},
        {"housing_area_per_capita": 40},
        True,
        id="housing-standard-40-at-2x",
    ),
    pytest.param(
        "housing",
        1,
        {"homes": 2, "floor_area": 80.01},
        {"housing_area_per_capita": 40},
        False,
        id="housing-standard-40-above",
    ),
    pytest.param(
        "housing",
        1,
        {"homes": 2, "floor_area": 1000, "homes_from_demolition": True},
        {},
        True,
        id="demolition-2-homes-any-area",
    ),
    pytest.param(
        "housing",
        1,
        {"homes": 3, "floor_area": 120, "homes_from_demolition": True},
        {},
        True,
        id="demolition-3-at-4x",
    ),
    pytest.param(
        "housing",
        1,
        {"homes": 3, "floor_area": 120.01, "homes_from_demolition": True},
        {},
        False,
        id="demolition-3-above-4x",
    ),
    pytest.param(
        "housing",
        1,
        {"homes": 4, "floor_area": 100, "homes_from_demolition": True},
        {},
        True,
        id="demolition-4-below-4x",
    ),
    pytest.param(
        "housing",
        2,
        {"homes": 3, "floor_area": 240.01, "homes_from_demolition": True},
        {},
        False,
        id="demolition-two-120.005",
    ),
    pytest.param(
        "non_residential", 1, {"non_residential_acquired": False}, {}, True, id="nonres-no"
    ),
    pytest.param("non_residential", 1, {"non_residential_acquired": True}, {}, False, id="nonres"),
    pytest.param("financial", 1, {"financial": 0}, {}, True, id="financial-none"),
    pytest.param("financial", 1, {"financial": 28080}, {}, True, id="financial-at-3x"),
    pytest.param("financial", 1, {"financial": 28080.01}, {}, False, id="financial-above-3x"),
    pytest.param("financial", 2, {"financial": 56160}, {}, True, id="financial-two-at-3x"),
    pytest.param("financial", 2, {"financial": 56160.01}, {}, False, id="financial-two-28080.005"),
    pytest.param(
        "financial",
        1,
        {"financial": 27000},
        {"dibao_monthly": 750},
        True,
        id="financial-standard-750-at",
    ),
    pytest.param(
        "financial",
        1,
        {"financial": 27000.01},
        {"dibao_monthly": 750},
        False,
        id="financial-standard-750-above",
    ),
    pytest.param("capital", 1, {"subscribed_capital": 0}, {}, True, id="capital-none"),
    pytest.param("capital", 1, {"subscribed_capital": 199999.99}, {}, True, id="capital-below"),
    pytest.param("capital", 1, {"subscribed_capital": 200000}, {}, False, id="capital-200000"),
    pytest.param(
        "capital", 2, {"subscribed_capital": 200000}, {}, False, id="capital-total-not-per-capita"
    ),
    pytest.param("capital", 2, {"subscribed_capital": 199999.99}, {}, True, id="capital-two-below"),
]


@pytest.mark.parametrize(("rule", "n", "assets", "standards", "ok"), SHARED_ASSET_ROWS)
def test_assets_for_marginal(
    rule: str, n: int, assets: dict[str, Any], standards: dict[str, Any], ok: bool
) -> None:
    result = assess(marginal_household(n, assets=assets, standards={**STANDARDS, **standards}))
    assert passed(result, f"assets.{rule}.marginal") is ok
    assert result.category == (Category.MARGINAL if ok else Category.NONE)


@pytest.mark.parametrize(("rule", "n", "assets", "standards", "ok"), SHARED_ASSET_ROWS)
def test_assets_for_expenditure(
    rule: str, n: int, assets: dict[str, Any], standards: dict[str, Any], ok: bool
) -> None:
    result = assess(expenditure_household(n, assets=assets, standards={**STANDARDS, **standards}))
    assert passed(result, f"assets.{rule}.expenditure") is ok
    assert result.category == (Category.EXPENDITURE if ok else Category.NONE)


@pytest.mark.parametrize(("rule", "n", "assets", "standards", "ok"), SHARED_ASSET_ROWS)
def test_assets_for_dibao(
    rule: str, n: int, assets: dict[str, Any], standards: dict[str, Any], ok: bool
) -> None:
    """DIBAO uses the MARGINAL asset rules; failing them, it cannot be MARGINAL either, and the
    expenditure rules read the same: 6000 a year each is EXPENDITURE only if they pass."""
    result = assess(dibao_household(n, assets=assets, standards={**STANDARDS, **standards}))
    assert passed(result, f"assets.{rule}.marginal") is ok
    assert result.category == (Category.DIBAO if ok else Category.NONE)


# --------------------------------------------------------------------------------------------
# Conduct exclusions
# --------------------------------------------------------------------------------------------

BASES = {
    "TEKUN": tekun_household,
    "DIBAO": dibao_household,
    "MARGINAL": marginal_household,
    "EXPENDITURE": expenditure_household,
}


@pytest.mark.parametrize("flag", CONDUCT_FLAGS)
@pytest.mark.parametrize("base", list(BASES))
def test_each_conduct_flag_excludes_every_category(base: str, flag: str) -> None:
    result = assess(BASES[base](conduct={flag: True}))
    assert passed(result, f"conduct.{flag}") is False
    for other in CONDUCT_FLAGS:
        if other != flag:
            assert passed(result, f"conduct.{other}") is True
    assert result.category == Category.NONE


@pytest.mark.parametrize("base", list(BASES))
def test_clean_conduct_passes(base: str) -> None:
    result = assess(BASES[base](conduct=dict.fromkeys(CONDUCT_FLAGS, False)))
    assert all(passed(result, rule) for rule in CONDUCT_RULES)
    assert result.category == Category(base)


# --------------------------------------------------------------------------------------------
# Figures: stored, overridden, missing only where they can decide
# --------------------------------------------------------------------------------------------

STORED = Standards(
    dibao_monthly=Decimal("780"),
    disposable_income_prev_year=Decimal("49862"),
    housing_area_per_capita=Decimal("30"),
    car_value_cap=None,
    legacy_transition_end=date(2024, 8, 31),
)


def test_stored_figures_are_used() -> None:
    result = assess(marginal_household(standards=_OMIT), STORED)
    assert result.category == Category.MARGINAL
    result = assess(expenditure_household(standards=_OMIT, assets=A_CAR), STORED)
    assert result.category == Category.EXPENDITURE


def test_payload_figures_override_stored_ones() -> None:
    # 900 a month: MARGINAL at 780, DIBAO at 1000.
    assert assess(request(annual_income=10800, standards=_OMIT), STORED).category == (
        Category.MARGINAL
    )
    result = assess(request(annual_income=10800, standards={"dibao_monthly": 1000}), STORED)
    assert result.category == Category.DIBAO


def test_stored_car_cap_and_its_override() -> None:
    stored = Standards(
        dibao_monthly=Decimal("780"),
        disposable_income_prev_year=Decimal("49862"),
        housing_area_per_capita=Decimal("30"),
        car_value_cap=Decimal("50000"),
        legacy_transition_end=date(2024, 8, 31),
    )
    over = {"cars": [{"value": 50000.01}]}
    assert assess(expenditure_household(standards=_OMIT, assets=over), stored).category == (
        Category.NONE
    )
    result = assess(expenditure_household(standards={"car_value_cap": 60000}, assets=over), stored)
    assert result.category == Category.EXPENDITURE


def _without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in STANDARDS.items() if k not in names}


@pytest.mark.parametrize(
    "standards",
    [
        pytest.param(_OMIT, id="no-standards-object"),
        pytest.param({}, id="empty-standards"),
        pytest.param(_without("dibao_monthly"), id="others-set"),
    ],
)
def test_missing_dibao_standard(standards: Any) -> None:
    with pytest.raises(MissingStandard) as caught:
        assess_request(marginal_household(standards=standards), None)
    assert caught.value.field == "standards.dibao_monthly"


def test_missing_dibao_standard_in_stored_figures() -> None:
    stored = Standards(
        dibao_monthly=None,
        disposable_income_prev_year=Decimal("49862"),
        housing_area_per_capita=Decimal("30"),
        car_value_cap=None,
        legacy_transition_end=date(2024, 8, 31),
    )
    with pytest.raises(MissingStandard) as caught:
        assess_request(marginal_household(standards=_OMIT), stored)
    assert caught.value.field == "standards.dibao_monthly"


NO_HOUSING = _without("housing_area_per_capita")
BIG = {"floor_area": 1000}


@pytest.mark.parametrize(
    ("payload", "category"),
    [
        pytest.param(
            marginal_household(standards=NO_HOUSING, assets={"homes": 1, **BIG}),
            "MARGINAL",
            id="one-home",
        ),
        pytest.param(
            marginal_household(standards=NO_HOUSING, assets={"homes": 0}), "MARGINAL", id="none"
        ),
        pytest.param(
            marginal_household(
                standards=NO_HOUSING,
                assets={"homes": 2, "homes_from_demolition": True, **BIG},
            ),
            "MARGINAL",
            id="two-homes-from-demolition",
        ),
        pytest.param(
            request(annual_income=1_000_000, standards=NO_HOUSING, assets={"homes": 2, **BIG}),
            "NONE",
            id="two-homes-income-fails-everywhere",
        ),
        pytest.param(
            marginal_household(
                standards=NO_HOUSING,
                assets={"homes": 2, **BIG},
                conduct={"refused_investigation": True},
            ),
            "NONE",
            id="two-homes-conduct-fails-everywhere",
        ),
        pytest.param(
            marginal_household(
                standards=NO_HOUSING, assets={"homes": 2, "cars": [{"value": 1}], **BIG}
            ),
            "NONE",
            id="two-homes-car-fails-marginal-income-fails-expenditure",
        ),
    ],
)
def test_housing_area_not_needed_where_it_cannot_decide(
    payload: dict[str, Any], category: str
) -> None:
    assert assess(payload).category == Category(category)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            marginal_household(standards=NO_HOUSING, assets={"homes": 2, **BIG}),
            id="marginal-two-homes",
        ),
        pytest.param(
            marginal_household(
                standards=NO_HOUSING,
                assets={"homes": 3, "homes_from_demolition": True, **BIG},
            ),
            id="marginal-three-homes-from-demolition",
        ),
        pytest.param(
            expenditure_household(standards=NO_HOUSING, assets={"homes": 2, **BIG}),
            id="expenditure-two-homes",
        ),
        pytest.param(
            tekun_household(standards=NO_HOUSING, assets={"homes": 2, **BIG}),
            id="tekun-two-homes",
        ),
        pytest.param(
            dibao_household(standards=NO_HOUSING, assets={"homes": 2, "floor_area": 10}),
            id="dibao-two-homes-small-area",
        ),
    ],
)
def test_housing_area_needed_where_it_decides(payload: dict[str, Any]) -> None:
    with pytest.raises(MissingStandard) as caught:
        assess_request(payload, None)
    assert caught.value.field == "standards.housing_area_per_capita"


NO_DISPOSABLE = _without("disposable_income_prev_year")


@pytest.mark.parametrize(
    ("payload", "category"),
    [
        pytest.param(tekun_household(standards=NO_DISPOSABLE), "TEKUN", id="tekun"),
        pytest.param(dibao_household(standards=NO_DISPOSABLE), "DIBAO", id="dibao"),
        pytest.param(marginal_household(standards=NO_DISPOSABLE), "MARGINAL", id="marginal"),
        pytest.param(
            request(
                members=[direct_member()],
                annual_income=14040,
                assets=A_CAR,
                standards=NO_DISPOSABLE,
            ),
            "MARGINAL",
            id="direct",
        ),
        pytest.param(
            request(
                current_category="LEGACY_LOW_INCOME", annual_income=16848, standards=NO_DISPOSABLE
            ),
            "LEGACY_LOW_INCOME",
            id="legacy",
        ),
    ],
)
def test_disposable_income_not_needed_before_expenditure(
    payload: dict[str, Any], category: str
) -> None:
    assert assess(payload).category == Category(category)


def test_disposable_income_needed_for_expenditure() -> None:
    with pytest.raises(MissingStandard) as caught:
        assess_request(expenditure_household(standards=NO_DISPOSABLE), None)
    assert caught.value.field == "standards.disposable_income_prev_year"


NO_LEGACY_END = _without("legacy_transition_end")


def test_legacy_end_needed_for_a_legacy_household() -> None:
    payload = request(
        current_category="LEGACY_LOW_INCOME", annual_income=16848, standards=NO_LEGACY_END
    )
    with pytest.raises(MissingStandard) as caught:
        assess_request(payload, None)
    assert caught.value.field == "standards.legacy_transition_end"


@pytest.mark.parametrize(
    ("payload", "category"),
    [
        pytest.param(marginal_household(standards=NO_LEGACY_END), "MARGINAL", id="not-legacy"),
        pytest.param(
            request(annual_income=16848, standards=NO_LEGACY_END), "NONE", id="not-legacy-1.8x"
        ),
        pytest.param(
            request(
                current_category="LEGACY_LOW_INCOME", annual_income=18720, standards=NO_LEGACY_END
            ),
            "NONE",
            id="legacy-income-already-fails",
        ),
        pytest.param(
            dibao_household(current_category="LEGACY_LOW_INCOME", standards=NO_LEGACY_END),
            "DIBAO",
            id="legacy-but-dibao-first",
        ),
    ],
)
def test_legacy_end_not_needed_where_it_cannot_decide(
    payload: dict[str, Any], category: str
) -> None:
    assert assess(payload).category == Category(category)


# --------------------------------------------------------------------------------------------
# Details carry the figures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "rule", "figures"),
    [
        pytest.param(marginal_household(), "marginal.income", ["1000.00", "1170"], id="marginal"),
        pytest.param(dibao_household(), "dibao.income", ["500.00", "780"], id="dibao"),
        pytest.param(tekun_household(), "tekun.income", ["500.00", "780"], id="tekun"),
        pytest.param(
            request(current_category="LEGACY_LOW_INCOME", annual_income=16848),
            "legacy.income",
            ["1404.00", "1560"],
            id="legacy-income",
        ),
        pytest.param(
            request(current_category="LEGACY_LOW_INCOME", annual_income=16848),
            "legacy.transition",
            ["2024-08-31"],
            id="legacy-transition",
        ),
        pytest.param(
            request(members=[direct_member()], annual_income=14040),
            "direct.income",
            ["1170"],
            id="direct-income",
        ),
        pytest.param(
            expenditure_household(), "expenditure.income", ["20000", "49862"], id="expenditure"
        ),
        pytest.param(
            expenditure_household(),
            "expenditure.income_after_rigid",
            ["5000", "9360"],
            id="after-rigid",
        ),
        pytest.param(
            expenditure_household(assets={"financial": 28080.01}),
            "assets.financial.expenditure",
            ["28080"],
            id="financial",
        ),
        pytest.param(
            expenditure_household(assets={"cars": [{"value": 93600.01}]}),
            "assets.cars.expenditure",
            ["93600"],
            id="car-cap",
        ),
        pytest.param(
            marginal_household(assets={"subscribed_capital": 200000}),
            "assets.capital.marginal",
            ["200000"],
            id="capital",
        ),
    ],
)
def test_details_carry_the_figures(payload: dict[str, Any], rule: str, figures: list[str]) -> None:
    detail = reason(assess(payload), rule).detail
    for figure in figures:
        assert figure in detail.replace(",", ""), f"{figure!r} not in {detail!r}"


# --------------------------------------------------------------------------------------------
# Input errors: the field is named, with list indexes
# --------------------------------------------------------------------------------------------

_DELETE = object()


def _full_request() -> dict[str, Any]:
    payload = copy.deepcopy(CONTRACT_EXAMPLE)
    payload["members"].append(
        member(CHILD, relation="CHILD", disability_type="PHYSICAL", disability_grade=2)
    )
    payload["annual_income"] = 24000
    return payload


def _set(payload: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = payload
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value


GOOD_ID = "320681198001011230"
INVALID_DATE_ID = "320681198002301236"[:17] + check_character("32068119800230123")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        pytest.param(
            ("members", 0, "id_number"),
            wrong_check(GOOD_ID),
            "members[0].id_number",
            id="id-check-character",
        ),
        pytest.param(("members", 0, "id_number"), GOOD_ID[:17], "members[0].id_number", id="id-17"),
        pytest.param(
            ("members", 1, "id_number"), GOOD_ID + "0", "members[1].id_number", id="id-19-second"
        ),
        pytest.param(
            ("members", 1, "id_number"),
            INVALID_DATE_ID,
            "members[1].id_number",
            id="id-birth-date-invalid",
        ),
        pytest.param(("members", 0, "id_number"), 320681, "members[0].id_number", id="id-number"),
        pytest.param(("as_of",), "2023-02-30", "as_of", id="as-of-not-a-date"),
        pytest.param(("as_of",), "soon", "as_of", id="as-of-text"),
        pytest.param(("as_of",), _DELETE, "as_of", id="as-of-missing"),
        pytest.param(("annual_income",), -1, "annual_income", id="income-negative"),
        pytest.param(("annual_income",), -0.01, "annual_income", id="income-negative-cent"),
        pytest.param(("annual_income",), "abc", "annual_income", id="income-text"),
        pytest.param(("annual_income",), True, "annual_income", id="income-boolean"),
        pytest.param(("annual_income",), float("nan"), "annual_income", id="income-nan"),
        pytest.param(("annual_income",), float("inf"), "annual_income", id="income-infinite"),
        pytest.param(("annual_income",), _DELETE, "annual_income", id="income-missing"),
        pytest.param(("members",), [], "members", id="members-empty"),
        pytest.param(("members",), _DELETE, "members", id="members-missing"),
        pytest.param(
            ("members", 1, "disability_grade"), 5, "members[1].disability_grade", id="grade-5"
        ),
        pytest.param(
            ("members", 1, "disability_grade"), 0, "members[1].disability_grade", id="grade-0"
        ),
        pytest.param(
            ("members", 1, "disability_grade"),
            True,
            "members[1].disability_grade",
            id="grade-boolean",
        ),
        pytest.param(
            ("members", 0, "disability_type"), "DEAF", "members[0].disability_type", id="type"
        ),
        pytest.param(("members", 0, "relation"), "COUSIN", "members[0].relation", id="relation"),
        pytest.param(
            ("members", 0, "labor_capacity"), "SOME", "members[0].labor_capacity", id="labour"
        ),
        pytest.param(
            ("members", 1, "has_capable_supporter"),
            "yes",
            "members[1].has_capable_supporter",
            id="supporter-not-boolean",
        ),
        pytest.param(("members", 0, "nickname"), "x", "members[0].nickname", id="member-unknown"),
        pytest.param(("assets", "homes"), -1, "assets.homes", id="homes-negative"),
        pytest.param(("assets", "homes"), "two", "assets.homes", id="homes-text"),
        pytest.param(("assets", "homes"), 2.5, "assets.homes", id="homes-fraction"),
        pytest.param(("assets", "homes"), True, "assets.homes", id="homes-boolean"),
        pytest.param(("assets", "floor_area"), -1, "assets.floor_area", id="area-negative"),
        pytest.param(("assets", "financial"), -1, "assets.financial", id="financial-negative"),
        pytest.param(
            ("assets", "subscribed_capital"), -1, "assets.subscribed_capital", id="capital-negative"
        ),
        pytest.param(
            ("assets", "cars"),
            [{"value": 1000}, {"value": -1}],
            "assets.cars[1].value",
            id="car-value-negative",
        ),
        pytest.param(("assets", "boats"), [], "assets.boats", id="assets-unknown"),
        pytest.param(("boats",), 1, "boats", id="top-unknown"),
        pytest.param(("conduct", "gambling"), True, "conduct.gambling", id="conduct-unknown"),
        pytest.param(
            ("conduct", "high_consumption"),
            "yes",
            "conduct.high_consumption",
            id="conduct-not-boolean",
        ),
        pytest.param(
            ("rigid_expenditure", "medical"), -1, "rigid_expenditure.medical", id="rigid-negative"
        ),
        pytest.param(
            ("rigid_expenditure", "tips"), 1, "rigid_expenditure.tips", id="rigid-unknown"
        ),
        pytest.param(
            ("standards", "dibao_monthly"), -1, "standards.dibao_monthly", id="dibao-negative"
        ),
        pytest.param(
            ("standards", "legacy_transition_end"),
            "soon",
            "standards.legacy_transition_end",
            id="legacy-end-not-a-date",
        ),
        pytest.param(("standards", "horses"), 1, "standards.horses", id="standards-unknown"),
        pytest.param(("channel",), "WALK_IN", "channel", id="channel"),
        pytest.param(("current_category",), "MARGINAL", "current_category", id="current-marginal"),
        pytest.param(
            ("current_category",), "EXPENDITURE", "current_category", id="current-expenditure"
        ),
        pytest.param(("current_category",), "RICH", "current_category", id="current-unknown"),
        pytest.param(("region_code",), "32068", "region_code", id="region-5"),
        pytest.param(("region_code",), "3206810", "region_code", id="region-7"),
        pytest.param(("region_code",), "3206810000001", "region_code", id="region-13"),
        pytest.param(("region_code",), "32068A", "region_code", id="region-letter"),
    ],
)
def test_invalid_input_names_the_field(path: tuple[str | int, ...], value: Any, field: str) -> None:
    payload = _full_request()
    _set(payload, path, value)
    with pytest.raises(InvalidInput) as caught:
        assess_request(payload, None)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("region_code",), "320681000000", id="region-12-digits"),
        pytest.param(("members", 0, "id_number"), id_number(date(1975, 5, 5), 7), id="valid-id"),
        pytest.param(("members", 1, "disability_grade"), 4, id="grade-4"),
        pytest.param(("members", 1, "disability_grade"), 1, id="grade-1"),
        pytest.param(
            ("members", 1, "id_number"), id_number(date(2023, 3, 1)), id="born-on-as-of-day"
        ),
        pytest.param(("channel",), "SURVEY", id="channel-survey"),
        pytest.param(("current_category",), "LEGACY_LOW_INCOME", id="current-legacy"),
        pytest.param(("annual_income",), 12000.5, id="income-decimal"),
        pytest.param(("standards",), _DELETE, id="no-standards-with-stored"),
    ],
)
def test_valid_variants_are_accepted(path: tuple[str | int, ...], value: Any) -> None:
    payload = _full_request()
    _set(payload, path, value)
    result = assess(payload, STORED)
    assert isinstance(result.category, Category)


def test_a_second_member_with_a_valid_x_check_character() -> None:
    number = id_number(date(1949, 12, 31), 2, area="110105")
    assert number.endswith("X")
    parent = {**member(ELDER, relation="PARENT"), "id_number": number}
    result = assess(request(members=[member(), parent]))
    assert isinstance(result.category, Category)
