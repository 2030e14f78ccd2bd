"""Fieldwork on the demo county (issue 7, points 6 and 7): `lig sample`, the survey list, home
visits and verification authorisations, over GraphQL and the command line, on both engines."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from typer.testing import CliRunner

from gateway.cli import app as cli
from gateway.fieldwork import sampling
from gateway.models import Determination
from gateway.settings import get_settings
from tests.conftest import Api, lig
from tests.support.idnumbers import id_number
from tests.support.sql import sql

pytestmark = pytest.mark.usefixtures("engine")

HUILONG = "320681100000"  # 汇龙镇
BEIXIN = "320681101000"  # 北新镇
TODAY = date.today()
RUNNING = ("ACTIVE", "SUSPENDED")
GROUPS = [
    "FORMER_REGISTERED_POOR",
    "REFUSED_OR_LEFT_DIBAO",
    "DISABLED_MEMBER",
    "NO_OR_WEAK_LABOUR",
    "SERIOUS_OR_CHRONIC_ILLNESS",
    "EMERGENCY",
]


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`lig …` in this process (typer's runner) against a database; wide enough for tables."""
    runner = CliRunner()

    def run(*args: str, url: str) -> Any:
        monkeypatch.setenv("LIG_DATABASE_URL", url)
        monkeypatch.setenv("COLUMNS", "200")
        get_settings.cache_clear()
        return runner.invoke(cli, list(args))

    yield run
    get_settings.cache_clear()


def rows(url: str, statement: str, **params: Any) -> list[Any]:
    """`sql` for the command-line tests, which are not coroutines (the CLI runs its own loop)."""
    return asyncio.run(sql(url, statement, **params))


async def add(url: str, *rows: object) -> None:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            session.add_all(rows)
    finally:
        await engine.dispose()


# ---- lig sample ---------------------------------------------------------------------------------


def test_lig_sample_draws_each_category_reproducibly_and_records_the_draw(
    demo_url: str, invoke: Any
) -> None:
    done = lig("sample", "--ratio", "0.1", "--region", "320681", "--seed", "7", "--json",
               url=demo_url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    drawn = json.loads(done.stdout)
    assert (drawn["region"], drawn["ratio"], drawn["seed"]) == ("320681000000", "0.1", 7)

    # What the draw must be, from the rows themselves: running assistance, stratified.
    strata: dict[str, list[int]] = defaultdict(list)
    for hid, category in rows(
        demo_url,
        "SELECT id, category FROM households WHERE region_code LIKE '320681%' "
        "AND category <> 'NONE' AND status IN ('ACTIVE', 'SUSPENDED')",
    ):
        strata[category].append(hid)
    expected = sampling.draw(strata, Decimal("0.1"), seed=7)
    got: dict[str, list[int]] = defaultdict(list)
    for h in drawn["households"]:
        got[h["category"]].append(h["id"])
        assert h["status"] in RUNNING
    assert dict(got) == expected
    assert {s["category"]: (s["population"], s["drawn"]) for s in drawn["strata"]} == {
        c: (len(ids), sampling.sample_size(len(ids), Decimal("0.1"))) for c, ids in strata.items()
    }

    # The same seed again draws the same households; on a terminal (or without --json), a table.
    again = invoke("sample", "--ratio", "0.1", "--region", "320681000000", "--seed", "7",
                   url=demo_url)  # fmt: skip
    assert again.exit_code == 0, again.output
    shown = [line.split("│")[1].strip() for line in again.output.splitlines() if "│ 3206" in line]
    assert [int(x) for x in shown if x.isdigit()] == [h["id"] for h in drawn["households"]]

    # Each draw is in the audit trail with its seed, ratio, region and households.
    audit = rows(demo_url, "SELECT subjects FROM audit_events WHERE action = 'households.sample'")
    assert len(audit) == 2
    for (subjects,) in audit:
        subjects = json.loads(subjects) if isinstance(subjects, str) else subjects
        assert subjects["seed"] == 7
        assert subjects["ratio"] == "0.1"
        assert subjects["region"] == "320681000000"
        assert subjects["households"] == [h["id"] for h in drawn["households"]]

    other = invoke("sample", "--ratio", "0.1", "--region", "320681", "--seed", "8", "--json",
                   url=demo_url)  # fmt: skip
    assert json.loads(other.output)["households"] != drawn["households"]
    town = invoke("sample", "--ratio", "1", "--region", HUILONG, "--seed", "7", "--json",
                  url=demo_url)  # fmt: skip
    everyone = json.loads(town.output)["households"]
    assert sorted(h["id"] for h in everyone) == sorted(
        hid for ids in strata.values() for hid in ids if hid in {h["id"] for h in everyone}
    )
    assert {h["region_code"] for h in everyone} == {HUILONG}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--ratio", "0", "--region", "320681"), "--ratio"),
        (("--ratio", "1.5", "--region", "320681"), "--ratio"),
        (("--ratio", "a tenth", "--region", "320681"), "--ratio"),
        (("--ratio", "0.1", "--region", "329999"), "--region"),
        (("--ratio", "0.1", "--region", "32068x"), "--region"),
    ],
)
def test_lig_sample_refuses_a_bad_option_naming_it(
    demo_url: str, invoke: Any, args: tuple[str, ...], named: str
) -> None:
    refused = invoke("sample", *args, "--seed", "1", url=demo_url)
    assert refused.exit_code == 2
    assert f"error: {named}" in refused.output
    audit = rows(demo_url, "SELECT count(*) FROM audit_events WHERE action = 'households.sample'")
    assert audit[0][0] == 0


# ---- the survey list ----------------------------------------------------------------------------

SURVEY = """query($town: String!, $first: Int, $after: String) {
  surveyList(townCode: $town, first: $first, after: $after) {
    edges { node { household { id category status } groups } }
    pageInfo { hasNextPage endCursor } } }"""


async def survey(api: Api, town: str, first: int = 4) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    after = None
    while True:
        page = (await api.data(SURVEY, {"town": town, "first": first, "after": after}))[
            "surveyList"
        ]
        for edge in page["edges"]:
            found[int(edge["node"]["household"]["id"])] = edge["node"]["groups"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def expected_survey(url: str, town: str) -> dict[int, list[str]]:
    """The survey list computed from the rows, apart from the code under test."""
    households = await sql(
        url,
        "SELECT id, category, status, former_registered_poor FROM households "
        "WHERE region_code = :town",
        town=town,
    )
    members: dict[int, list[Any]] = defaultdict(list)
    for row in await sql(
        url,
        "SELECT m.household_id, p.disability_type, p.labor_capacity, p.illness, p.deceased_on "
        "FROM memberships m JOIN persons p ON p.id = m.person_id WHERE m.left_on IS NULL",
    ):
        deceased = (
            row[4] if row[4] is None or isinstance(row[4], date) else date.fromisoformat(row[4])
        )
        if deceased is None or deceased > TODAY:
            members[row[0]].append(row)
    emergencies = {
        hid
        for hid, kind, on, current in await sql(
            url, "SELECT household_id, kind, occurred_on, is_current FROM monitoring_events"
        )
        if current
        and kind in ("FIRE_INCIDENT", "DISASTER_LOSS")
        and TODAY - timedelta(days=365)
        < (on if isinstance(on, date) else date.fromisoformat(on))
        <= TODAY
    }
    refused_or_dibao = {
        hid
        for hid, category, until in await sql(
            url, "SELECT household_id, category, valid_until FROM determinations"
        )
        if category == "DIBAO" or (category == "NONE" and until is None)
    }
    expected = {}
    for hid, category, status, former in households:
        if category != "NONE" and status in RUNNING:
            continue
        people = members[hid]
        groups = [
            g
            for g, holds in (
                ("FORMER_REGISTERED_POOR", bool(former)),
                ("REFUSED_OR_LEFT_DIBAO", category == "DIBAO" or hid in refused_or_dibao),
                ("DISABLED_MEMBER", any(p[1] is not None for p in people)),
                ("NO_OR_WEAK_LABOUR", bool(people) and all(p[2] != "FULL" for p in people)),
                ("SERIOUS_OR_CHRONIC_ILLNESS", any(p[3] in ("SEVERE", "CHRONIC") for p in people)),
                ("EMERGENCY", hid in emergencies),
            )
            if holds
        ]
        if groups:
            expected[hid] = groups
    return expected


async def test_the_survey_list_holds_each_uncovered_priority_household_of_the_town(
    demo_api: Api, demo_url: str
) -> None:
    # Plant a fire two months ago and a disaster loss 13 months ago (too old) on households of
    # the town that nothing else puts on the list (the second a former registered poor one),
    # and a refused application on a third.
    candidates = await sql(
        demo_url,
        "SELECT h.id, min(p.id_number) FROM households h "
        "JOIN memberships m ON m.household_id = h.id AND m.left_on IS NULL "
        "JOIN persons p ON p.id = m.person_id WHERE h.region_code = :town "
        "AND h.category = 'NONE' GROUP BY h.id ORDER BY h.id",
        town=HUILONG,
    )
    before = await expected_survey(demo_url, HUILONG)
    quiet = [(hid, number) for hid, number in candidates if hid not in before]
    assert len(quiet) >= 2, "the demo town has uncovered households in no priority group"
    (fire, fire_member), (old, old_member) = quiet[:2]
    refused = next(
        hid
        for hid, _ in candidates
        if hid not in (fire, old) and "REFUSED_OR_LEFT_DIBAO" not in before.get(hid, [])
    )
    items = [
        {"agencyEventId": "FW-FIRE-1", "kind": "FIRE_INCIDENT", "idNumber": fire_member,
         "occurredOn": str(TODAY - timedelta(days=60)), "details": {"loss": 5000}},
        {"agencyEventId": "FW-LOSS-1", "kind": "DISASTER_LOSS", "idNumber": old_member,
         "occurredOn": str(TODAY - timedelta(days=400)),
         "details": {"amount": 8000, "cause": "ACCIDENT"}},
    ]  # fmt: skip
    pushed = await demo_api.data(
        "mutation($items: [EventInput!]!) { pushEvents(items: $items) { counts { accepted } } }",
        {"items": items},
    )
    assert pushed["pushEvents"]["counts"]["accepted"] == 2
    await add(
        demo_url,
        Determination(
            household_id=refused,
            category="NONE",
            channel="APPLICATION",
            decided_on=TODAY - timedelta(days=30),
            decided_by="test",
            reasons=[],
            standards={},
        ),  # fmt: skip
    )

    await sql(
        demo_url,
        "UPDATE households SET former_registered_poor = :yes WHERE id = :id",
        yes=True,
        id=old,
    )

    listed = await survey(demo_api, HUILONG)
    assert listed == await expected_survey(demo_url, HUILONG)
    assert listed[fire] == ["EMERGENCY"]
    assert listed[old] == ["FORMER_REGISTERED_POOR"]  # its disaster loss is too old
    assert listed[refused] == sorted(
        {*before.get(refused, []), "REFUSED_OR_LEFT_DIBAO"}, key=GROUPS.index
    )
    seen = {g for groups in listed.values() for g in groups}
    assert {"FORMER_REGISTERED_POOR", "REFUSED_OR_LEFT_DIBAO", "EMERGENCY"} <= seen

    # A town sees its own list, and nobody's in another town.
    huilong = await demo_api.as_client(agency="town", profile="town", region=HUILONG)
    assert await survey(huilong, HUILONG, first=50) == listed
    beixin = await demo_api.as_client(agency="town", profile="town", region=BEIXIN)
    assert await survey(beixin, HUILONG) == {}

    county = await demo_api.graphql(SURVEY, {"town": "320681000000"})
    assert county["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "townCode"}
    unsaid = await demo_api.post(SURVEY, {"town": HUILONG}, headers={"X-Purpose": ""})
    assert unsaid.status_code == 400
    assert unsaid.json()["errors"][0]["extensions"]["field"] == "X-Purpose"


# ---- visits -------------------------------------------------------------------------------------

VISIT = """mutation($input: ReportVisitInput!) {
  reportVisit(input: $input) {
    id visitedOn visitor findings reason changes { idNumber field from to } createdBy } }"""


async def a_household(url: str, town: str = HUILONG) -> tuple[int, list[Any]]:
    """A covered household of the town with at least two living members, none disabled."""
    rows = await sql(
        url,
        "SELECT m.household_id, p.id, p.id_number, p.labor_capacity, p.version, p.illness "
        "FROM memberships m JOIN persons p ON p.id = m.person_id "
        "JOIN households h ON h.id = m.household_id "
        "WHERE m.left_on IS NULL AND p.deceased_on IS NULL AND p.disability_type IS NULL "
        "AND h.region_code = :town AND h.status = 'ACTIVE' ORDER BY m.household_id, p.id",
        town=town,
    )
    by_household: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_household[row[0]].append(row)
    hid, people = next((h, p) for h, p in by_household.items() if len(p) >= 2)
    return hid, people


async def test_a_visit_applies_its_changes_keeps_them_and_queues_the_comparison(
    demo_api: Api, demo_url: str
) -> None:
    hid, people = await a_household(demo_url)
    first, second = people[0], people[1]
    new_capacity = "NONE" if first[3] != "NONE" else "WEAK"
    visit = {
        "householdId": str(hid), "visitedOn": str(TODAY), "visitor": "网格员 张三",
        "findings": "户主因病卧床，次子已去世", "reason": "抽查 seed=7 ratio=0.1",
        "changes": [
            {"idNumber": first[2], "field": "LABOR_CAPACITY", "value": new_capacity},
            {"idNumber": first[2], "field": "ILLNESS", "value": "SEVERE"},
            {"idNumber": second[2].lower(), "field": "DISABILITY_TYPE", "value": "VISUAL"},
            {"idNumber": second[2], "field": "DISABILITY_GRADE", "value": "1"},
            {"idNumber": second[2], "field": "DECEASED_ON", "value": str(TODAY)},
        ],
    }  # fmt: skip
    await sql(demo_url, "DELETE FROM comparison_queue")
    done = (await demo_api.data(VISIT, {"input": visit}))["reportVisit"]
    assert done["visitor"] == "网格员 张三"
    assert done["reason"] == "抽查 seed=7 ratio=0.1"
    assert {(c["idNumber"], c["field"], c["from"], c["to"]) for c in done["changes"]} == {
        (first[2], "LABOR_CAPACITY", first[3], new_capacity),
        (first[2], "ILLNESS", first[5], "SEVERE"),
        (second[2], "DISABILITY_TYPE", None, "VISUAL"),
        (second[2], "DISABILITY_GRADE", None, "1"),
        (second[2], "DECEASED_ON", None, str(TODAY)),
    }
    stored = await sql(
        demo_url,
        "SELECT id, labor_capacity, illness, disability_type, disability_grade, deceased_on, "
        "version, updated_by FROM persons WHERE id IN (:a, :b) ORDER BY id",
        a=first[1],
        b=second[1],
    )
    assert (stored[0][1], stored[0][2]) == (new_capacity, "SEVERE")
    assert (stored[1][3], stored[1][4], str(stored[1][5])) == ("VISUAL", 1, str(TODAY))
    assert [row[6] for row in stored] == [first[4] + 1, second[4] + 1]  # one version per flush
    assert {row[7] for row in stored} == {done["createdBy"]}
    assert await sql(demo_url, "SELECT household_id FROM comparison_queue") == [(hid,)]
    (audit,) = await sql(
        demo_url, "SELECT subjects FROM audit_events WHERE action = 'household.visit'"
    )
    subjects = json.loads(audit[0]) if isinstance(audit[0], str) else audit[0]
    assert subjects["households"] == [hid]
    assert subjects["visit"] == int(done["id"])

    shown = await demo_api.data(
        "query($id: ID!) { household(id: $id) { visits(first: 5) { nodes { id findings "
        "changes { field to } } } } }",
        {"id": str(hid)},
    )
    (listed,) = shown["household"]["visits"]["nodes"]
    assert listed["id"] == done["id"]
    assert len(listed["changes"]) == 5

    # Without household:pii a town's rural-revitalisation reader sees the ID numbers masked
    # and no findings at all.
    rural = await demo_api.as_client(agency="rural-revitalisation", profile="rural-revitalisation")
    masked = await rural.data(
        "query($id: ID!) { household(id: $id) { visits { nodes { changes { idNumber } } } } }",
        {"id": str(hid)},
    )
    numbers = {c["idNumber"] for c in masked["household"]["visits"]["nodes"][0]["changes"]}
    assert numbers
    assert all("*" in n for n in numbers)
    hidden = await rural.graphql(
        "query($id: ID!) { household(id: $id) { visits { nodes { findings } } } }",
        {"id": str(hid)},
    )
    assert hidden["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_wrong_change_refuses_the_whole_visit_naming_the_field(
    demo_api: Api, demo_url: str
) -> None:
    hid, people = await a_household(demo_url)
    member = people[0][2]
    stranger = id_number(date(1970, 1, 1), 999)
    base = {"householdId": str(hid), "visitedOn": str(TODAY), "visitor": "张三",
            "findings": "走访"}  # fmt: skip
    versions = await sql(demo_url, "SELECT id, version FROM persons ORDER BY id")

    def changes(*items: tuple[str, str, str | None]) -> dict[str, Any]:
        return {**base, "changes": [{"idNumber": n, "field": f, "value": v} for n, f, v in items]}

    cases = [
        (
            changes(
                (member, "LABOR_CAPACITY", "NONE"),  # fine, but the visit is refused whole
                (member[:-1] + ("0" if member[-1] != "0" else "1"), "ILLNESS", "SEVERE"),
                (member, "EMPLOYMENT_STATUS", "ASTRONAUT"),
                (member, "DECEASED_ON", str(TODAY + timedelta(days=3))),
            ),
            "input.visitedOn",
            ["input.changes[1].idNumber", "input.changes[2].value", "input.changes[3].value"],
        ),
        (changes((stranger, "ILLNESS", "CHRONIC")), "input.changes[0].idNumber", ["member"]),
        (
            changes((member, "DISABILITY_TYPE", "PHYSICAL")),
            "input.changes[0].value",
            ["DISABILITY_GRADE"],
        ),
        (
            changes((member, "ILLNESS", "SEVERE"), (member, "ILLNESS", "NONE")),
            "input.changes[1].field",
            ["changes[0]"],
        ),
        (changes((member, "LABOR_CAPACITY", None)), "input.changes[0].value", ["cannot"]),
        ({**base, "visitor": " "}, "input.visitor", []),
    ]
    cases[0][0]["visitedOn"] = str(TODAY + timedelta(days=2))
    for sent, field, mentioned in cases:
        body = await demo_api.graphql(VISIT, {"input": sent})
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, error
        for text in mentioned:
            assert text in error["message"], error["message"]
    assert await sql(demo_url, "SELECT count(*) FROM visits") == [(0,)]
    assert await sql(demo_url, "SELECT id, version FROM persons ORDER BY id") == versions

    # Another town's worker cannot visit here; an agency without household:read has no such
    # mutation at all.
    beixin = await demo_api.as_client(agency="town", profile="town", region=BEIXIN)
    elsewhere = await beixin.graphql(VISIT, {"input": base})
    assert elsewhere["errors"][0]["extensions"] == {
        "code": "NOT_FOUND",
        "field": "input.householdId",
    }
    medical = await demo_api.as_client(agency="medical-security", profile="medical-security")
    unknown = await medical.graphql(VISIT, {"input": base})
    assert unknown["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# ---- verification authorisations ----------------------------------------------------------------

MISSING = """query($region: String!, $on: Date, $first: Int, $after: String) {
  authorisationsMissing(regionCode: $region, on: $on, first: $first, after: $after) {
    edges { node { household { id category status } reason latest { id granted signedOn } } }
    pageInfo { hasNextPage endCursor } } }"""
RECORD = """mutation($input: RecordAuthorisationInput!) {
  recordAuthorisation(input: $input) {
    id granted signedOn signedBy documentRef validUntil withdrawnOn } }"""
WITHDRAW = """mutation($id: ID!, $on: Date!) {
  withdrawAuthorisation(id: $id, on: $on) { id withdrawnOn } }"""


async def missing(api: Api, region: str = "320681") -> dict[int, str]:
    found: dict[int, str] = {}
    after = None
    while True:
        page = (await api.data(MISSING, {"region": region, "first": 25, "after": after}))[
            "authorisationsMissing"
        ]
        for edge in page["edges"]:
            found[int(edge["node"]["household"]["id"])] = edge["node"]["reason"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _day(value: Any) -> date | None:
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)


async def expected_missing(url: str) -> dict[int, str]:
    answers: dict[int, list[Any]] = defaultdict(list)
    for hid, granted, signed, until, withdrawn in await sql(
        url,
        "SELECT household_id, granted, signed_on, valid_until, withdrawn_on "
        "FROM verification_authorisations",
    ):
        answers[hid].append((bool(granted), _day(signed), _day(until), _day(withdrawn)))
    expected = {}
    for (hid,) in await sql(
        url,
        "SELECT id FROM households WHERE category <> 'NONE' AND status IN ('ACTIVE', 'SUSPENDED')",
    ):
        mine = [a for a in answers[hid] if a[1] <= TODAY]
        if any(g and (u is None or TODAY <= u) and (w is None or TODAY < w) for g, _, u, w in mine):
            continue
        if not mine:
            expected[hid] = "NONE_ON_RECORD"
            continue
        granted, _, _, withdrawn = max(mine, key=lambda a: a[1])
        expected[hid] = (
            "REFUSED"
            if not granted
            else ("WITHDRAWN" if withdrawn is not None and withdrawn <= TODAY else "EXPIRED")
        )
    return expected


async def test_authorisations_are_recorded_withdrawn_and_the_missing_listed(
    demo_api: Api, demo_url: str
) -> None:
    before = await missing(demo_api)
    assert before == await expected_missing(demo_url)
    assert "NONE_ON_RECORD" in before.values()
    hid = next(h for h, reason in before.items() if reason == "NONE_ON_RECORD")

    await sql(demo_url, "DELETE FROM comparison_queue")
    granted = (await demo_api.data(RECORD, {"input": {
        "householdId": str(hid), "granted": True, "signedOn": str(TODAY), "signedBy": "户主",
        "documentRef": "SQ-TEST-1", "validUntil": str(TODAY + timedelta(days=3 * 365))}}))[
        "recordAuthorisation"
    ]  # fmt: skip
    assert (granted["granted"], granted["documentRef"], granted["withdrawnOn"]) == (
        True,
        "SQ-TEST-1",
        None,
    )
    assert await sql(demo_url, "SELECT household_id FROM comparison_queue") == [(hid,)]
    now = await missing(demo_api)
    assert hid not in now
    assert now == {h: r for h, r in before.items() if h != hid}

    withdrawn = (await demo_api.data(WITHDRAW, {"id": granted["id"], "on": str(TODAY)}))[
        "withdrawAuthorisation"
    ]
    assert withdrawn["withdrawnOn"] == str(TODAY)
    assert (await missing(demo_api))[hid] == "WITHDRAWN"
    twice = await demo_api.graphql(WITHDRAW, {"id": granted["id"], "on": str(TODAY)})
    assert twice["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "id"}

    shown = await demo_api.data(
        "query($id: ID!) { household(id: $id) { authorisations { nodes { id withdrawnOn } } } }",
        {"id": str(hid)},
    )
    assert shown["household"]["authorisations"]["nodes"] == [
        {"id": granted["id"], "withdrawnOn": str(TODAY)}
    ]
    actions = await sql(
        demo_url,
        "SELECT action FROM audit_events WHERE action LIKE 'household.authorisation%' ORDER BY id",
    )
    assert [a for (a,) in actions] == [
        "household.authorisation",
        "household.authorisation_withdrawn",
    ]

    # Refused input names its fields and stores nothing.
    counted = await sql(demo_url, "SELECT count(*) FROM verification_authorisations")
    bad = await demo_api.graphql(RECORD, {"input": {
        "householdId": str(hid), "granted": False, "signedOn": str(TODAY + timedelta(days=1)),
        "signedBy": " ", "validUntil": str(TODAY)}})  # fmt: skip
    error = bad["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.signedOn"}
    assert "input.signedBy" in error["message"]
    assert "input.validUntil" in error["message"]
    assert await sql(demo_url, "SELECT count(*) FROM verification_authorisations") == counted

    # Region-bound: another town gets NOT_FOUND; without household:finance there is no such field.
    (region,) = (await sql(demo_url, "SELECT region_code FROM households WHERE id = :i", i=hid))[0]
    other = BEIXIN if region != BEIXIN else HUILONG
    town = await demo_api.as_client(agency="town", profile="town", region=other)
    answer = {"householdId": str(hid), "granted": True, "signedOn": str(TODAY), "signedBy": "户主"}
    away = await town.graphql(RECORD, {"input": answer})
    assert away["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "input.householdId"}
    assert hid not in await missing(town)
    rural = await demo_api.as_client(agency="rural-revitalisation", profile="rural-revitalisation")
    hidden = await rural.graphql(MISSING, {"region": "320681"})
    assert hidden["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


DECIDE = """mutation($id: ID!, $asOf: Date) {
  assessHousehold(householdId: $id, asOf: $asOf) { category reasons } }"""


def refusal_rule(decided: dict[str, Any]) -> bool:
    (rule,) = [r for r in decided["reasons"] if r["rule"] == "conduct.refused_authorisation"]
    return bool(rule["passed"])


async def test_a_refusal_excludes_the_household_from_every_later_assessment(
    demo_api: Api, demo_url: str
) -> None:
    for figure, since, value in (
        ("DISPOSABLE_INCOME", "2025-01-01", "55000"),
        ("HOUSING_AREA_PER_CAPITA", "2020-01-01", "30"),
    ):
        await demo_api.data(
            "mutation($input: SetStandardInput!) { setStandard(input: $input) { figure } }",
            {
                "input": {
                    "regionCode": "320681",
                    "figure": figure,
                    "effectiveFrom": since,
                    "value": value,
                    "source": "test operator figure",
                }
            },  # fmt: skip
        )
    candidates = await sql(
        demo_url,
        "SELECT h.id FROM households h WHERE h.category = 'MARGINAL' AND h.status = 'ACTIVE' "
        "AND NOT EXISTS (SELECT 1 FROM verification_authorisations a "
        "WHERE a.household_id = h.id AND a.granted = :no) ORDER BY h.id",
        no=False,
    )
    yesterday = TODAY - timedelta(days=1)
    hid = None
    for (candidate,) in candidates:
        decided = (await demo_api.data(DECIDE, {"id": str(candidate), "asOf": str(yesterday)}))[
            "assessHousehold"
        ]
        if decided["category"] == "MARGINAL":
            hid = candidate
            break
    assert hid is not None, "a demo MARGINAL household the rules keep"
    assert refusal_rule(decided)

    refused = (await demo_api.data(RECORD, {"input": {
        "householdId": str(hid), "granted": False, "signedOn": str(TODAY), "signedBy": "户主",
        "documentRef": None}}))["recordAuthorisation"]  # fmt: skip
    assert refused["granted"] is False
    # From the day of the refusal on, the rules apply the exclusion: the household is ended.
    decided = (await demo_api.data(DECIDE, {"id": str(hid), "asOf": str(TODAY)}))["assessHousehold"]
    assert decided["category"] == "NONE"
    assert refusal_rule(decided) is False
    state = await demo_api.data(
        "query($id: ID!) { household(id: $id) { status } }", {"id": str(hid)}
    )
    assert state["household"]["status"] == "ENDED"
    assert (await missing(demo_api)).get(hid) is None  # no longer covered: not followed up
    cannot = await demo_api.graphql(WITHDRAW, {"id": refused["id"], "on": str(TODAY)})
    assert cannot["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
