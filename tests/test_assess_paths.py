"""`lig assess` and GraphQL `assess`: the same request gives the same answer by both paths, with
the stored standards filling in what the request leaves out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api, lig
from tests.support.requests import ASSESS, camelize, example

pytestmark = pytest.mark.usefixtures("engine")

HOUSING = {"homes": 2, "floor_area": 200, "homes_from_demolition": False}


def cli_answer(url: str, request: dict[str, Any]) -> dict[str, Any]:
    done = lig("assess", "-", url=url, stdin=json.dumps(request))
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


async def graphql_answer(api: Api, request: dict[str, Any]) -> dict[str, Any]:
    data = await api.data(ASSESS, {"input": camelize(request)})
    answer: dict[str, Any] = data["assess"]
    return answer


def test_the_contract_example_prints_marginal_with_two_place_income(database_url: str) -> None:
    done = lig("assess", "-", url=database_url, stdin=json.dumps(example()))
    assert done.returncode == 0, done.stderr
    assert '"per_capita_monthly_income": 1000.00' in done.stdout
    answer = json.loads(done.stdout)
    assert (answer["category"], answer["eligible"]) == ("MARGINAL", True)
    marginal = next(r for r in answer["reasons"] if r["rule"] == "marginal.income")
    assert marginal["passed"] is True
    assert "1000.00" in marginal["detail"]
    assert "1170.00" in marginal["detail"]


@pytest.mark.parametrize(
    ("request_", "category"),
    [
        (example(), "MARGINAL"),
        (example(annual_income=9000), "DIBAO"),  # 750.00 < 780
        (example(annual_income=9360), "MARGINAL"),  # 780.00 is not below 780
        (example(annual_income=30000, rigid_expenditure={"medical": 25000}), "EXPENDITURE"),
        (example(annual_income=30000), "NONE"),
        (example(current_category="TEKUN", annual_income=10**6), "TEKUN"),
        (example(standards=None, assets=HOUSING), "MARGINAL"),  # 100 m² each ≤ 2 × 120
    ],
    ids=["example", "dibao", "dibao-boundary", "expenditure", "none", "tekun-kept", "housing"],
)
async def test_cli_and_graphql_agree(
    api: Api, database_url: str, request_: dict[str, Any], category: str
) -> None:
    if request_.get("standards") is None:
        # Stored standards fill in; the housing area is an operator figure, so give only it.
        request_ = {**request_, "standards": {"housing_area_per_capita": 120}}
    by_cli = cli_answer(database_url, request_)
    by_graphql = await graphql_answer(api, request_)
    assert by_cli["category"] == by_graphql["category"] == category
    assert by_cli["eligible"] == by_graphql["eligible"] == (category != "NONE")
    assert by_cli["per_capita_monthly_income"] == by_graphql["perCapitaMonthlyIncome"]
    assert by_cli["reasons"] == by_graphql["reasons"]


@pytest.mark.parametrize(
    ("as_of", "dibao", "disposable"),
    [
        ("2020-08-01", "710", None),  # no 2019 disposable income is stored
        ("2021-08-01", "750", "43390"),  # Jiangsu 2020
        ("2023-03-01", "780", "49862"),  # Jiangsu 2022
        ("2024-03-01", "780", "51853"),  # Nantong 2023 beats Jiangsu 2023
    ],
)
async def test_stored_standards_in_force_on_as_of(
    api: Api, as_of: str, dibao: str, disposable: str | None
) -> None:
    # Only the disposable income can decide: the other EXPENDITURE tests pass.
    request = example(as_of=as_of, standards=None, annual_income=30000,
                      rigid_expenditure={"medical": 25000})  # fmt: skip
    body = await api.graphql(ASSESS, {"input": camelize(request)})
    if disposable is None:
        assert body["errors"][0]["extensions"] == {
            "code": "MISSING_STANDARD",
            "field": "standards.disposable_income_prev_year",
        }
        return
    reasons = {r["rule"]: r["detail"] for r in body["data"]["assess"]["reasons"]}
    assert f"dibao standard {dibao}" in reasons["dibao.income"]
    assert f"disposable income {disposable}" in reasons["expenditure.income"]


def test_unreadable_files_exit_2(database_url: str, tmp_path: Path) -> None:
    latin = tmp_path / "request.json"
    latin.write_bytes(b"\xff\xfe{}")
    done = lig("assess", str(latin), url=database_url)
    assert done.returncode == 2
    assert "not UTF-8" in done.stderr
    done = lig("assess", str(tmp_path / "missing.json"), url=database_url)
    assert done.returncode == 2
    huge = tmp_path / "huge.json"
    huge.write_text('{"annual_income": ' + "9" * 5000 + "}")
    done = lig("assess", str(huge), url=database_url)
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr


def test_bad_requests_exit_2_naming_the_field(database_url: str) -> None:
    cases = {
        "members[0].id_number": example(
            members=[{**example()["members"][0], "id_number": "320681198001011231"}]
        ),
        "annual_income": example(annual_income=-1),
        "assets.boats": example(assets={"boats": 1}),
        "as_of": example(as_of="1 March 2023"),
        "members": example(members=[]),
        "standards.housing_area_per_capita": example(standards=None, assets=HOUSING),
    }
    for field, request in cases.items():
        done = lig("assess", "-", url=database_url, stdin=json.dumps(request))
        assert done.returncode == 2, (field, done.stdout)
        assert field in done.stderr, (field, done.stderr)
        assert done.stdout == ""
    # Yuan to the fen: a third decimal could sit within rounding distance of a limit.
    done = lig("assess", "-", url=database_url, stdin=json.dumps(example(annual_income=14040.004)))
    assert done.returncode == 2
    assert "annual_income: at most two decimal places" in done.stderr
    done = lig("assess", "-", url=database_url, stdin="{not json")
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr


async def test_graphql_bad_request_names_the_camel_case_field(api: Api) -> None:
    member = {**example()["members"][0], "id_number": "320681198001011231", "disability_grade": 7}
    body = await api.graphql(ASSESS, {"input": camelize(example(members=[member]))})
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.members[0].idNumber"}
    assert "input.members[0].disabilityGrade" in error["message"]
    assert body["data"] is None
