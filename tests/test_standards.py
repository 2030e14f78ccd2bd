"""Regional standards: set by civil affairs (CLI and GraphQL), refused when malformed, audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.models import AuditEvent, RegionalStandard
from tests.conftest import Api, lig
from tests.support.requests import ASSESS, camelize, example

pytestmark = pytest.mark.usefixtures("engine")


async def count(url: str, model: type[RegionalStandard] | type[AuditEvent]) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())
    finally:
        await engine.dispose()


async def test_set_replace_and_audit_by_cli(database_url: str) -> None:
    args = ("standards", "set", "--figure", "HOUSING_AREA_PER_CAPITA", "--from", "2023-01-01",
            "--source", "Qidong housing bureau decision (test)")  # fmt: skip
    done = lig(*args, "--value", "30", url=database_url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["set"]["status"] == "OPERATOR"

    again = lig(*args, "--value", "32", url=database_url)
    assert again.returncode == 2
    assert "replace" in again.stderr
    replaced = lig(*args, "--value", "32", "--replace", url=database_url)
    assert replaced.returncode == 0, replaced.stderr

    listed = lig("standards", "list", "--as-of", "2023-03-01", "--json", url=database_url)
    in_force = json.loads(listed.stdout)["in_force"]
    assert in_force["housing_area_per_capita"] == "32.00"
    assert in_force["dibao_monthly"] == "780.00"

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            audit = (
                await conn.execute(
                    text(
                        "SELECT subjects FROM audit_events "
                        "WHERE action = 'standards.set' ORDER BY id"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    subjects = [s if isinstance(s, dict) else json.loads(s) for (s,) in audit]
    assert [(s["before"], s["after"]) for s in subjects] == [(None, "30"), ("30.00", "32")]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--figure", "DIBAO_MONTHLY", "--value", "-5"), "value"),
        (("--figure", "DIBAO_MONTHLY", "--value", "abc"), "value"),
        (("--figure", "DIBAO_MONTHLY", "--value", "800.123"), "value"),
        (("--figure", "DIBAO_MONTHLY", "--value", "1e30"), "value"),
        (("--figure", "LEGACY_TRANSITION_END", "--value", "soon"), "value"),
        (("--figure", "DIBAO_MONTHLY", "--value", "800", "--region", "32"), "region_code"),
        (("--figure", "DIBAO_MONTHLY", "--value", "800", "--region", "999999"), "region_code"),
    ],
)
async def test_bad_figures_are_refused_and_nothing_stored(
    database_url: str, args: tuple[str, ...], field: str
) -> None:
    before = (await count(database_url, RegionalStandard), await count(database_url, AuditEvent))
    done = lig("standards", "set", "--from", "2023-07-01", "--source", "test", *args,
               url=database_url)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert field in done.stderr
    after = (await count(database_url, RegionalStandard), await count(database_url, AuditEvent))
    assert after == before


async def test_a_figure_set_over_graphql_is_used_by_assess(api: Api) -> None:
    two_homes = {"homes": 2, "floor_area": 150}
    request = camelize(example(standards=None, assets=two_homes))
    body = await api.graphql(ASSESS, {"input": request})
    assert body["errors"][0]["extensions"]["field"] == "standards.housing_area_per_capita"

    mutation = """mutation($input: SetStandardInput!) {
      setStandard(input: $input) { regionCode figure value status source } }"""
    data = await api.data(mutation, {"input": {
        "regionCode": "320681", "figure": "HOUSING_AREA_PER_CAPITA", "effectiveFrom": "2023-01-01",
        "value": "30", "source": "test decision"}})  # fmt: skip
    assert data["setStandard"]["regionCode"] == "320681000000"
    assert data["setStandard"]["status"] == "OPERATOR"

    answer = (await api.data(ASSESS, {"input": request}))["assess"]
    housing = next(r for r in answer["reasons"] if r["rule"] == "assets.housing.marginal")
    # 75 m² per person > 2 × 30: two homes that large exclude the household.
    assert housing["passed"] is False
    assert "60.00" in housing["detail"]
    assert answer["category"] == "NONE"

    view = await api.data(
        '{ standards(regionCode: "320681", asOf: "2023-03-01") '
        "{ inForce { name value provenance } } }"
    )
    figures = {f["name"]: f for f in view["standards"]["inForce"]}
    assert figures["housing_area_per_capita"]["value"] == "30.00"
    assert figures["housing_area_per_capita"]["provenance"].startswith("OPERATOR")
    assert figures["car_value_cap"]["value"] is None
