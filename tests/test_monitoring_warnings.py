"""Warnings beyond single rules (issue 7): the full comparison reproduces the incremental one on
the demo county; the life of a warning over GraphQL (who may act, every step audited, a
resolved finding stays quiet, overdue warnings escalate); routing as data; the authorisation
that economic comparisons need; `lig compare` recorded with its counts."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from typing import Any

import orjson

from gateway.monitoring.compare import drain, run_full
from tests.conftest import Api, lig
from tests.support.sql import sql
from tests.test_monitoring_rules import (
    EVENTS,
    TODAY,
    agency,
    ago,
    compare,
    event,
    push,
    seed,
    warnings_of,
)


async def snapshot(url: str) -> dict[tuple[int, str], tuple[Any, ...]]:
    """The open warnings: (household, finding) → (kind, severity, due, agencies, subjects)."""
    rows = await sql(
        url,
        "SELECT id, household_id, finding, kind, severity, due_on, subjects FROM warnings "
        "WHERE status IN ('OPEN', 'DISPATCHED', 'ACKNOWLEDGED', 'ESCALATED')",
    )
    assigned = defaultdict(list)
    for a in await sql(url, "SELECT warning_id, agency_code FROM warning_assignments"):
        assigned[a.warning_id].append(a.agency_code)
    subjects = [
        r.subjects if isinstance(r.subjects, list) else orjson.loads(r.subjects) for r in rows
    ]
    return {
        (r.household_id, r.finding): (
            r.kind,
            r.severity,
            str(r.due_on),
            tuple(sorted(assigned[r.id])),
            tuple(s),
        )
        for r, s in zip(rows, subjects, strict=True)
    }


def _number(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d+\.\d{2}", value):
        return float(value)
    return value


async def test_the_full_comparison_reproduces_the_incremental_one(
    demo_api: Api, demo_url: str
) -> None:
    # The demo county's events, as its agencies observed them.
    events = await sql(
        demo_url,
        "SELECT agency_code, agency_event_id, kind, id_number, occurred_on, details "
        "FROM monitoring_events WHERE is_current ORDER BY id",
    )
    for table in (
        "applications",
        "webhook_deliveries",
        "warning_notices",
        "warning_transitions",
        "warning_assignments",
        "warnings",
        "comparison_queue",
        "monitoring_events",
    ):
        await sql(demo_url, f"DELETE FROM {table}")
    # Now they push them, agency by agency, and the serving process compares as they arrive.
    by_agency: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        stored = e.details if isinstance(e.details, dict) else orjson.loads(e.details)
        # Amounts are stored as exact decimal strings; agencies send JSON numbers.
        details = {k: _number(v) for k, v in stored.items()}
        by_agency[e.agency_code].append(
            {
                "agency_event_id": e.agency_event_id,
                "kind": e.kind,
                "id_number": e.id_number,
                "occurred_on": str(e.occurred_on),
                "details": details,
            }
        )
    for code, items in by_agency.items():
        await push(await agency(demo_api, code), EVENTS, items)
    tally = await drain(demo_api.app.state.db, TODAY)
    assert tally is not None
    assert tally.opened > 20
    incremental = await snapshot(demo_url)

    _, full = await run_full(demo_api.app.state.db, TODAY)
    assert (full.joined, full.cleared) == (0, 0)
    after = await snapshot(demo_url)
    # Every warning of the incremental path is there, unchanged; the full pass adds only what
    # no event announces: reviews falling due, transitions ending, recorded situations that
    # already break the asset rules of a household no event touched.
    assert {k: after[k] for k in incremental} == incremental
    added = set(after) - set(incremental)
    assert full.opened == len(added)
    evidence = await sql(
        demo_url,
        "SELECT household_id, finding, evidence FROM warnings WHERE status = 'DISPATCHED'",
    )
    for row in evidence:
        if (row.household_id, row.finding) in added:
            items = row.evidence if isinstance(row.evidence, list) else orjson.loads(row.evidence)
            assert not [e for e in items if e["key"].startswith("event:")], row
    # A second full pass changes nothing.
    _, again = await run_full(demo_api.app.state.db, TODAY)
    assert (again.opened, again.joined, again.cleared) == (0, 0, 0)
    assert await snapshot(demo_url) == after


ACT = {
    "acknowledge": "mutation($id: ID!) { acknowledgeWarning(id: $id) { status version } }",
    "resolve": """mutation($id: ID!, $r: Resolution!, $n: String!) {
        resolveWarning(id: $id, resolution: $r, note: $n) { status resolution version } }""",
    "escalate": "mutation($id: ID!) { escalateWarning(id: $id) { status agencies } }",
    "dispatch": """mutation($id: ID!, $a: [String!]!) {
        dispatchWarning(id: $id, agencies: $a) { status agencies } }""",
}


async def test_a_warning_lives_acted_on_by_its_agency_only(api: Api, database_url: str) -> None:
    household = await seed(api)
    medical = await agency(api, "medical-security")
    education = await agency(api, "education")
    await push(medical, EVENTS, [
        event("H1", household.numbers[0], "HOSPITAL_SETTLEMENT", ago(40), out_of_pocket=5000)
    ])  # fmt: skip
    await compare(api)
    (warning,) = await warnings_of(api, household.household_id)
    wid = warning["id"]

    # Another agency neither sees it nor can act on it: not even whether it exists.
    listed = await education.data("{ warnings { nodes { id } } }")
    assert listed["warnings"]["nodes"] == []
    refused = await education.graphql(ACT["acknowledge"], {"id": wid})
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Dispatching is civil affairs' call: the operation is not even in the agency's schema.
    body = await medical.graphql(ACT["dispatch"], {"id": wid, "a": ["education"]})
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    # Its agency sees who it concerns, whole, while it is open.
    mine = await medical.data(
        "query($id: ID!) { warning(id: $id) { subjects { name idNumber phone masked } } }",
        {"id": wid},
    )
    (subject,) = mine["warning"]["subjects"]
    assert subject["idNumber"] == household.numbers[0]
    assert not subject["masked"]

    ack = await medical.data(ACT["acknowledge"], {"id": wid})
    assert ack["acknowledgeWarning"]["status"] == "ACKNOWLEDGED"
    missing = await medical.graphql(ACT["resolve"], {"id": wid, "r": "DELIVERED", "n": " "})
    assert missing["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "note"}
    done = await medical.data(
        ACT["resolve"], {"id": wid, "r": "DELIVERED", "n": "medical assistance paid"}
    )
    assert done["resolveWarning"]["status"] == "RESOLVED"
    again = await medical.graphql(ACT["acknowledge"], {"id": wid})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"

    # Once resolved, the agency no longer sees the people whole.
    after = await medical.data(
        "query($id: ID!) { warning(id: $id) { subjects { idNumber masked phone } } }",
        {"id": wid},
    )
    (masked,) = after["warning"]["subjects"]
    assert masked["masked"]
    assert masked["phone"] is None
    assert masked["idNumber"] != household.numbers[0]

    # Every step is audited, and the resolved finding stays quiet on the same evidence.
    actions = [r.action for r in await sql(
        database_url,
        "SELECT action FROM audit_events WHERE action LIKE 'warning.%' ORDER BY seq",
    )]  # fmt: skip
    assert actions == ["warning.acknowledge", "warning.resolve"]
    await run_full(api.app.state.db, TODAY)
    assert await warnings_of(api, household.household_id) == []
    # New evidence is a new finding to act on.
    await push(medical, EVENTS, [
        event("H2", household.numbers[0], "HOSPITAL_SETTLEMENT", ago(35), out_of_pocket=700)
    ])  # fmt: skip
    await compare(api)
    (fresh,) = await warnings_of(api, household.household_id)
    assert fresh["id"] != wid


async def test_overdue_warnings_escalate_on_their_own(api: Api, database_url: str) -> None:
    household = await seed(api)
    await push(await agency(api, "hr-social-security"), EVENTS, [
        event("U1", household.numbers[0], "UNEMPLOYMENT_REGISTERED", ago(60))
    ])  # fmt: skip
    await compare(api)
    (warning,) = await warnings_of(api, household.household_id)
    await sql(database_url, "UPDATE warnings SET due_on = :d", d=TODAY - timedelta(days=1))
    result = lig("compare", "--pending", "--json", url=database_url)
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["escalated"] == 1
    (escalated,) = await warnings_of(api, household.household_id)
    assert escalated["status"] == "ESCALATED"
    assert escalated["agencies"] == ["coordination", "hr-social-security"]
    assert escalated["history"][-1]["by"] == "system"
    # Twice is once.
    result = lig("compare", "--pending", "--json", url=database_url)
    assert orjson.loads(result.stdout)["escalated"] == 0


ROUTE = """mutation($input: WarningRouteInput!) {
  setWarningRoute(input: $input) { kind hardshipType agencies dueWorkingDays severity updatedBy }
}"""


async def test_routing_is_data_changed_through_the_api_and_audited(
    api: Api, database_url: str
) -> None:
    bad = await api.graphql(ROUTE, {"input": {
        "kind": "POLICY_NOT_DELIVERED", "hardshipType": "MEDICAL", "agencies": ["nobody"],
        "dueWorkingDays": 5, "severity": "HIGH"}})  # fmt: skip
    assert bad["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.agencies"}
    changed = await api.data(
        ROUTE,
        {
            "input": {
                "kind": "POLICY_NOT_DELIVERED",
                "hardshipType": "MEDICAL",
                "agencies": ["medical-security", "health"],
                "dueWorkingDays": 3,
                "severity": "HIGH",
            }
        },
    )
    assert changed["setWarningRoute"]["agencies"] == ["health", "medical-security"]
    routes = (await api.data("{ warningRoutes { kind hardshipType dueWorkingDays } }"))[
        "warningRoutes"
    ]
    assert {
        "kind": "POLICY_NOT_DELIVERED",
        "hardshipType": "MEDICAL",
        "dueWorkingDays": 3,
    } in routes
    (audited,) = await sql(
        database_url, "SELECT subjects FROM audit_events WHERE action = 'warning_route.set'"
    )
    subjects = (
        audited.subjects if isinstance(audited.subjects, dict) else orjson.loads(audited.subjects)
    )
    assert subjects["before"]["agencies"] == ["medical-security"]
    assert subjects["after"]["due_working_days"] == 3
    # An agency may read the table but not change it.
    medical = await agency(api, "medical-security")
    denied = await medical.graphql(ROUTE, {"input": {
        "kind": "POLICY_NOT_DELIVERED", "agencies": ["health"], "dueWorkingDays": 3,
        "severity": "LOW"}})  # fmt: skip
    assert denied["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    household = await seed(api)
    await push(medical, EVENTS, [
        event("H9", household.numbers[0], "HOSPITAL_SETTLEMENT", ago(40), out_of_pocket=5000)
    ])  # fmt: skip
    await compare(api)
    (warning,) = await warnings_of(api, household.household_id)
    assert warning["agencies"] == ["health", "medical-security"]
    assert warning["severity"] == "HIGH"


async def test_economic_comparison_needs_a_valid_authorisation(api: Api) -> None:
    household = await seed(api, authorised=False)
    await push(await agency(api, "public-security"), EVENTS, [
        event("V1", household.numbers[0], "VEHICLE_REGISTERED", ago(10), value=150000)
    ])  # fmt: skip
    tally = await drain(api.app.state.db, TODAY)
    assert tally is not None
    assert tally.skipped == {"NO_AUTHORISATION": 1}
    assert await warnings_of(api, household.household_id) == []


async def test_lig_compare_records_the_run_with_its_counts(demo_api: Api, demo_url: str) -> None:
    result = lig("compare", "--json", url=demo_url)
    assert result.returncode == 0, result.stderr
    counts = orjson.loads(result.stdout)
    (run,) = await sql(
        demo_url,
        "SELECT households, findings, opened, mode FROM comparison_runs WHERE id = :i",
        i=counts["run"],
    )
    assert run.mode == "FULL"
    households = await sql(demo_url, "SELECT count(*) AS n FROM households")
    assert run.households == counts["households"] == households[0].n
    # The demo's warnings were opened at load by the same rules: nothing new today.
    assert counts["opened"] == run.opened == 0
    assert counts["findings"] == sum(counts["by_rule"].values()) == run.findings > 0
    runs = await demo_api.data(
        "{ comparisonRuns(first: 1) { nodes { id mode households byRule } } }"
    )
    (latest,) = runs["comparisonRuns"]["nodes"]
    assert latest["id"] == str(counts["run"])
    assert (latest["mode"], latest["households"]) == ("FULL", run.households)
    assert latest["byRule"] == counts["by_rule"]
    bad = lig("compare", "--region", "32x", url=demo_url)
    assert bad.returncode == 2
    assert "--region" in bad.stderr


async def test_who_sees_a_warning(api: Api, database_url: str) -> None:
    household = await seed(api)
    medical = await agency(api, "medical-security")
    await push(medical, EVENTS, [
        event("H1", household.numbers[0], "HOSPITAL_SETTLEMENT", ago(40), out_of_pocket=5000)
    ])  # fmt: skip
    await compare(api)
    (warning,) = await warnings_of(api, household.household_id)
    town = "320681100000"
    # Neither a region-bound client of another agency, nor one that reads households, sees a
    # warning not assigned to it, by any list; the household's own town does.
    for code, region in (("education", town), ("rural-revitalisation", None)):
        other = await api.as_client(agency=code, profile=code, region=region)
        assert (await other.data("{ warnings { nodes { id } } }"))["warnings"]["nodes"] == []
    reader = await api.as_client(agency="rural-revitalisation", profile="rural-revitalisation")
    listed = await reader.data(
        "query($id: ID!) { household(id: $id) { warnings { nodes { id } } } }",
        {"id": str(household.household_id)},
    )
    assert listed["household"]["warnings"]["nodes"] == []
    local = await api.as_client(agency="town", profile="town", region=town)
    seen = await local.data("{ warnings { nodes { id } } }")
    assert [w["id"] for w in seen["warnings"]["nodes"]] == [warning["id"]]
    elsewhere = await api.as_client(agency="town", profile="town", region="320681101000")
    assert (await elsewhere.data("{ warnings { nodes { id } } }"))["warnings"]["nodes"] == []

    # Re-dispatched: the new agency has it, with a fresh period; the old one no longer sees it.
    await sql(database_url, "UPDATE warnings SET due_on = :d", d=TODAY - timedelta(days=3))
    moved = await api.data(ACT["dispatch"], {"id": warning["id"], "a": ["health"]})
    assert moved["dispatchWarning"] == {"status": "DISPATCHED", "agencies": ["health"]}
    (after,) = await warnings_of(api, household.household_id)
    assert after["dueOn"] > TODAY.isoformat()
    assert (await medical.data("{ warnings { nodes { id } } }"))["warnings"]["nodes"] == []
    result = lig("compare", "--pending", "--json", url=database_url)
    assert orjson.loads(result.stdout)["escalated"] == 0


async def test_a_refusal_after_a_grant_stops_the_economic_comparison(api: Api) -> None:
    from gateway.models import VerificationAuthorisation

    household = await seed(api)  # granted 300 days ago, valid for two more years
    async with api.app.state.db.unit_of_work() as session:
        session.add(
            VerificationAuthorisation(
                household_id=household.household_id,
                granted=False,
                signed_on=TODAY - timedelta(days=10),
                signed_by="测试",
                created_by="test",
            )
        )
    await push(await agency(api, "public-security"), EVENTS, [
        event("V2", household.numbers[0], "VEHICLE_REGISTERED", ago(5), value=150000)
    ])  # fmt: skip
    tally = await drain(api.app.state.db, TODAY)
    assert tally is not None
    assert tally.skipped == {"NO_AUTHORISATION": 1}


async def test_a_change_reported_by_a_visit_runs_the_rules(api: Api) -> None:
    household = await seed(api)
    visit = {
        "householdId": str(household.household_id), "visitedOn": ago(40),
        "visitor": "网格员 李四", "findings": "户主视力残疾一级，已办残疾证",
        "changes": [
            {"idNumber": household.numbers[0], "field": "DISABILITY_TYPE", "value": "VISUAL"},
            {"idNumber": household.numbers[0], "field": "DISABILITY_GRADE", "value": "1"},
        ],
    }  # fmt: skip
    await api.data(
        "mutation($input: ReportVisitInput!) { reportVisit(input: $input) { id } }",
        {"input": visit},
    )
    await compare(api)
    (warning,) = await warnings_of(api, household.household_id)
    assert (warning["finding"], warning["agencies"]) == (
        "policy.disability",
        ["disabled-federation"],
    )
