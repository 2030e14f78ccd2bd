"""Determinations on stored households, and the yearly review, on the demo county."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import Api, lig
from tests.support.requests import ASSESS, camelize

pytestmark = pytest.mark.usefixtures("engine")

AS_OF = "2026-11-23"
DECIDE = """mutation($id: ID!, $asOf: Date) {
  assessHousehold(householdId: $id, asOf: $asOf) { category decidedOn validUntil reasons standards }
}"""
DUE = """query($before: Date!, $after: String) {
  reviewsDue(before: $before, first: 100, after: $after) {
    edges { node { id category nextReviewOn } } pageInfo { hasNextPage endCursor } }
}"""


def set_operator_figures(url: str) -> None:
    """The figures nobody has published, set as an operator would (marked OPERATOR)."""
    for figure, since, value in (
        ("DISPOSABLE_INCOME", "2025-01-01", "55000"),
        ("HOUSING_AREA_PER_CAPITA", "2020-01-01", "30"),
    ):
        done = lig("standards", "set", "--figure", figure, "--from", since, "--value", value,
                   "--source", "test operator figure", url=url)  # fmt: skip
        assert done.returncode == 0, done.stderr


async def rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).mappings().all())
    finally:
        await engine.dispose()


async def request_for(url: str, household_id: int) -> dict[str, Any]:
    """The assessment request a caseworker would write from what is stored for a household."""
    (household,) = await rows(url, "SELECT * FROM households WHERE id = :id", id=household_id)
    members = await rows(
        url,
        "SELECT p.*, m.relation FROM memberships m JOIN persons p ON p.id = m.person_id "
        "WHERE m.household_id = :id AND m.left_on IS NULL ORDER BY m.id",
        id=household_id,
    )
    (s,) = await rows(
        url,
        "SELECT * FROM economic_situations WHERE household_id = :id AND recorded_on <= :d "
        "ORDER BY recorded_on DESC, source = 'VERIFICATION' DESC, id DESC LIMIT 1",
        id=household_id,
        d=date.fromisoformat(AS_OF),
    )
    cents = lambda v: int(v) / 100  # noqa: E731  (Fixed2 is stored in hundredths)
    carried = household["category"]
    return {
        "as_of": AS_OF,
        "region_code": household["region_code"],
        "current_category": carried
        if carried in ("DIBAO", "TEKUN", "LEGACY_LOW_INCOME")
        else "NONE",
        "legacy_recognised_on": (
            str(household["valid_from"]) if carried == "LEGACY_LOW_INCOME" else None
        ),
        "channel": household["channel"],
        "members": [
            {
                "id_number": m["id_number"],
                "relation": m["relation"],
                "labor_capacity": m["labor_capacity"],
                "disability_type": m["disability_type"],
                "disability_grade": m["disability_grade"],
                "severe_illness": m["illness"] == "SEVERE",
                "single_person_dibao": bool(m["single_person_dibao"]),
                "has_capable_supporter": bool(m["has_capable_supporter"]),
            }
            for m in members
        ],  # fmt: skip
        "annual_income": cents(s["annual_income"]),
        "rigid_expenditure": {
            k: cents(s[f"rigid_{k}"])
            for k in (
                "medical",
                "education",
                "disability_rehabilitation",
                "disaster_accident",
                "other",
            )  # fmt: skip
        },
        "assets": {
            "financial": cents(s["financial"]),
            "cars": [
                {"value": float(v)}
                for v in (
                    s["car_values"]
                    if isinstance(s["car_values"], list)
                    else json.loads(s["car_values"])
                )
            ],  # fmt: skip
            "homes": s["homes"],
            "floor_area": cents(s["floor_area"]),
            "homes_from_demolition": bool(s["homes_from_demolition"]),
            "non_residential_acquired": bool(s["non_residential_acquired"]),
            "subscribed_capital": cents(s["subscribed_capital"]),
        },
    }


async def test_three_paths_give_the_same_category(demo_api: Api, demo_url: str) -> None:
    set_operator_figures(demo_url)
    due = (await demo_api.data(DUE, {"before": "2028-01-01"}))["reviewsDue"]["edges"]
    assert due, "the demo county has households due for review"
    for edge in due[:4]:
        hid = int(edge["node"]["id"])
        request = await request_for(demo_url, hid)
        done = lig("assess", "-", url=demo_url, stdin=json.dumps(request))
        assert done.returncode == 0, done.stderr
        by_cli = json.loads(done.stdout)
        by_graphql = (await demo_api.data(ASSESS, {"input": camelize(request)}))["assess"]
        decided = (await demo_api.data(DECIDE, {"id": str(hid), "asOf": AS_OF}))["assessHousehold"]
        assert by_cli["category"] == by_graphql["category"] == decided["category"]
        assert decided["reasons"] == by_cli["reasons"]
        assert "dibao_monthly" in decided["standards"]
        household = await demo_api.data(
            "query($id: ID!) { household(id: $id) { category determinations(first: 50) "
            "{ edges { node { decidedOn category } } } history(first: 50) { edges { node "
            "{ version } } } } }",
            {"id": str(hid)},
        )
        h = household["household"]
        assert h["category"] == decided["category"]
        decisions = [e["node"] for e in h["determinations"]["edges"]]
        assert {"decidedOn": AS_OF, "category": decided["category"]} in decisions
        assert len(decisions) >= 2  # the earlier determination is kept
        assert len(h["history"]["edges"]) >= 2  # the earlier state is kept


async def test_unknown_household_is_not_found_and_nothing_stored(
    demo_api: Api, demo_url: str
) -> None:
    (before,) = await rows(demo_url, "SELECT count(*) AS n FROM determinations")
    body = await demo_api.graphql(DECIDE, {"id": "99999999", "asOf": AS_OF})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    (after,) = await rows(demo_url, "SELECT count(*) AS n FROM determinations")
    assert after["n"] == before["n"]


async def all_due(api: Api, before: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await api.data(DUE, {"before": before, "after": after}))["reviewsDue"]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def test_review_decides_each_due_household_once(demo_api: Api, demo_url: str) -> None:
    due = await all_due(demo_api, "2027-06-01")
    assert due
    blocked = lig("review", "--due-before", "2027-06-01", "--as-of", AS_OF, url=demo_url)
    assert blocked.returncode == 0, blocked.stderr
    report = json.loads(blocked.stdout)
    # Without the operator figures, households that need them are left due and counted.
    assert any(k.startswith("MISSING_STANDARD:") for k in report["blocked"])

    set_operator_figures(demo_url)
    (before,) = await rows(demo_url, "SELECT count(*) AS n FROM determinations")
    done = lig("review", "--due-before", "2027-06-01", "--as-of", AS_OF, url=demo_url)
    assert done.returncode == 0, done.stderr
    second = json.loads(done.stdout)
    assert report["reviewed"] + second["reviewed"] == len(due)
    assert second["blocked"] == {}
    assert second["kept"] + second["changed"] + second["ended"] == second["reviewed"]
    (after,) = await rows(demo_url, "SELECT count(*) AS n FROM determinations")
    assert after["n"] - before["n"] == second["reviewed"]
    assert await all_due(demo_api, "2027-06-01") == []

    rerun = json.loads(lig("review", "--due-before", "2027-06-01", url=demo_url).stdout)
    assert rerun["reviewed"] == 0
    kept = await rows(
        demo_url,
        "SELECT h.next_review_on FROM households h JOIN determinations d ON d.household_id = h.id "
        "WHERE d.decided_on = :d AND h.category IN ('MARGINAL', 'EXPENDITURE')",
        d=date.fromisoformat(AS_OF),
    )
    assert kept
    assert {str(r["next_review_on"]) for r in kept} == {"2027-11-23"}


RECORD = """mutation($id: ID!, $input: EconomicSituationInput!) {
  recordEconomicSituation(householdId: $id, input: $input) { id recordedOn source annualIncome }
}"""


async def test_a_recorded_verification_decides_the_next_assessment(
    demo_api: Api, demo_url: str
) -> None:
    due = (await demo_api.data(DUE, {"before": "2028-01-01"}))["reviewsDue"]["edges"]
    hid = next(e["node"]["id"] for e in due if e["node"]["category"] == "MARGINAL")
    (counted,) = await rows(demo_url, "SELECT count(*) AS n FROM economic_situations")

    bad = {"recordedOn": "2026-11-20", "source": "VERIFICATION", "annualIncome": "-1",
           "assets": {"homes": -2}}  # fmt: skip
    body = await demo_api.graphql(RECORD, {"id": hid, "input": bad})
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.annualIncome"}
    assert "input.assets.homes" in error["message"]
    (after_bad,) = await rows(demo_url, "SELECT count(*) AS n FROM economic_situations")
    assert after_bad["n"] == counted["n"]

    # Verification found an income far above every threshold and a second car.
    good = {"recordedOn": "2026-11-20", "source": "VERIFICATION", "annualIncome": "400000",
            "assets": {"cars": [{"value": "90000"}, {"value": "30000"}], "homes": 1}}  # fmt: skip
    recorded = (await demo_api.data(RECORD, {"id": hid, "input": good}))["recordEconomicSituation"]
    assert recorded["annualIncome"] == "400000.00"
    decided = (await demo_api.data(DECIDE, {"id": hid, "asOf": AS_OF}))["assessHousehold"]
    assert decided["category"] == "NONE"
    failed = {r["rule"] for r in decided["reasons"] if not r["passed"]}
    assert {"marginal.income", "assets.cars.marginal", "assets.cars.expenditure"} <= failed
    state = await demo_api.data(
        "query($id: ID!) { household(id: $id) { category status } }", {"id": hid}
    )
    assert state["household"] == {"category": "NONE", "status": "ENDED"}


async def test_a_refused_application_leaves_the_household_not_covered(demo_api: Api) -> None:
    found = await demo_api.data(
        "{ households(first: 1, filter: {status: APPLYING}) { nodes { id } } }"
    )
    (applying,) = found["households"]["nodes"]
    rich = {"recordedOn": "2026-11-20", "source": "VERIFICATION", "annualIncome": "900000",
            "assets": {"cars": [{"value": "300000"}, {"value": "200000"}]}}  # fmt: skip
    await demo_api.data(RECORD, {"id": applying["id"], "input": rich})
    decided = (await demo_api.data(DECIDE, {"id": applying["id"], "asOf": AS_OF}))[
        "assessHousehold"
    ]
    assert decided["category"] == "NONE"
    state = await demo_api.data(
        "query($id: ID!) { household(id: $id) { category status validUntil } }",
        {"id": applying["id"]},
    )
    # Refused, not "ended": nothing was ever running, and the application's dates go.
    assert state["household"] == {"category": "NONE", "status": "NOT_COVERED", "validUntil": None}
    assert decided["validUntil"] is None


async def test_decisions_cannot_go_back_or_ahead_in_time(demo_api: Api, demo_url: str) -> None:
    due = (await demo_api.data(DUE, {"before": "2028-01-01"}))["reviewsDue"]["edges"]
    hid = due[0]["node"]["id"]
    (counted,) = await rows(demo_url, "SELECT count(*) AS n FROM determinations")
    ahead = await demo_api.graphql(DECIDE, {"id": hid, "asOf": "2999-01-01"})
    assert ahead["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "asOf"}
    await demo_api.data(DECIDE, {"id": hid, "asOf": AS_OF})
    back = await demo_api.graphql(DECIDE, {"id": hid, "asOf": "2025-01-01"})
    assert back["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "asOf"}
    (after,) = await rows(demo_url, "SELECT count(*) AS n FROM determinations")
    assert after["n"] == counted["n"] + 1

    refused = lig("review", "--due-before", "2028-01-01", "--as-of", AS_OF, url=demo_url)
    assert refused.returncode == 2
    assert "--due-before" in refused.stderr


async def test_a_kept_dibao_household_is_left_as_it_was(demo_api: Api, demo_url: str) -> None:
    found = await demo_api.data(
        "{ households(first: 1, filter: {category: DIBAO, status: ACTIVE}) "
        "{ nodes { id status validFrom validUntil nextReviewOn } } }"
    )
    (before,) = found["households"]["nodes"]
    decided = (await demo_api.data(DECIDE, {"id": before["id"], "asOf": AS_OF}))["assessHousehold"]
    assert decided["category"] == "DIBAO"
    assert [r["rule"] for r in decided["reasons"]] == ["precedence.current_category"]
    after = await demo_api.data(
        "query($id: ID!) { household(id: $id) { id status validFrom validUntil nextReviewOn } }",
        {"id": before["id"]},
    )
    assert after["household"] == before
