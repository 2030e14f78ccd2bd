"""Each input field's own bound, checked at the edge: a clear error naming the field, nothing
stored, never a 500 (on PostgreSQL a NUL in any text parameter, an integer past BIGINT or a
string past its column fails the statement itself, so these are checked before any query).

The generic guard of the GraphQL request path (every string, list and nesting bounded) is tested
with it; these are the per-field domain bounds behind it.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

import pytest

from gateway.pushes.items import fingerprint
from gateway.validation import MAX_NAME, path
from tests.conftest import Api
from tests.support.idnumbers import id_number
from tests.support.sql import sql

FULLWIDTH = "３２０６８１"  # "320681" in fullwidth digits: `\d` and str.isdigit() take them
ARABIC_INDIC = "٣٢٠٦٨١"
PAST_BIGINT = "9" * 20


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def refusal(body: dict[str, Any]) -> dict[str, Any]:
    """The one error of a refused request, which must be the caller's fault."""
    assert body.get("errors"), body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    found: dict[str, Any] = error
    return found


async def refused_naming(
    api: Api, query: str, variables: dict[str, Any] | None, field: str
) -> dict[str, Any]:
    response = await api.post(query, variables)
    assert response.status_code == 200, response.text
    error = refusal(response.json())
    assert error["extensions"]["field"] == field, error
    return error


# ---- Row ids and cursors ------------------------------------------------------------------------

HOUSEHOLD = "query($id: ID!) { household(id: $id) { id } }"
WARNING = "query($id: ID!) { warning(id: $id) { id } }"
DELIVERIES = "query($id: ID) { webhookDeliveries(endpointId: $id) { nodes { id } } }"


@pytest.mark.parametrize("raw", [PAST_BIGINT, "9223372036854775808", "١", "²", " 1", "1_0", "+1"])
async def test_a_row_id_is_ascii_digits_within_bigint(api: Api, raw: str) -> None:
    await refused_naming(api, HOUSEHOLD, {"id": raw}, "id")
    await refused_naming(api, WARNING, {"id": raw}, "id")
    await refused_naming(api, DELIVERIES, {"id": raw}, "endpointId")


async def test_the_largest_row_id_is_a_row_id(api: Api) -> None:
    body = await api.graphql(HOUSEHOLD, {"id": str(2**63 - 1)})
    assert body == {"data": {"household": None}}


@pytest.mark.parametrize(
    ("query", "after"),
    [
        ("query($a: String) { households(after: $a) { nodes { id } } }", "households:"),
        ("query($a: String) { warnings(after: $a) { nodes { id } } }", "warnings:2026-01-01:"),
        ("query($a: String) { auditEvents(after: $a) { nodes { id } } }", "auditEvents:"),
    ],
)
async def test_a_cursor_names_a_row_within_bigint(api: Api, query: str, after: str) -> None:
    await refused_naming(api, query, {"a": cursor(after + PAST_BIGINT)}, "after")
    await refused_naming(api, query, {"a": cursor(after + "١")}, "after")
    await refused_naming(api, query, {"a": "A" * 129}, "after")  # longer than any cursor


# ---- Region codes: ASCII digits only ------------------------------------------------------------

ASSESS = "query($input: AssessmentInput!) { assess(input: $input) { category } }"


def assessment(**changes: Any) -> dict[str, Any]:
    return {
        "asOf": "2023-03-01",
        "regionCode": "320681",
        "standards": {"dibaoMonthly": "780"},
        "members": [
            {"idNumber": "320681198001011230", "relation": "SELF", "laborCapacity": "FULL"}
        ],
        "annualIncome": "12000",
        **changes,
    }


@pytest.mark.parametrize("code", [FULLWIDTH, ARABIC_INDIC, "320681\x00", "32068１"])
async def test_region_codes_are_ascii_digits(api: Api, code: str) -> None:
    await refused_naming(api, ASSESS, {"input": assessment(regionCode=code)}, "input.regionCode")
    await refused_naming(
        api,
        "query($c: String!) { standards(regionCode: $c) { regionCode } }",
        {"c": code},
        "regionCode",
    )
    await refused_naming(
        api,
        "query($c: String) { households(filter: {regionPrefix: $c}) { nodes { id } } }",
        {"c": code},
        "filter.regionPrefix",
    )
    await refused_naming(
        api,
        "query($c: String!) { authorisationsMissing(regionCode: $c) { nodes { reason } } }",
        {"c": code},
        "regionCode",
    )
    await refused_naming(
        api,
        "query($c: String) { warnings(filter: {regionCode: $c}) { nodes { id } } }",
        {"c": code},
        "filter.regionCode",
    )
    await refused_naming(
        api,
        "query($c: String!) { surveyList(townCode: $c) { nodes { groups } } }",
        {"c": code.ljust(12, "0")},
        "townCode",
    )


async def test_a_pushed_registration_change_needs_an_ascii_region_code(
    api: Api, database_url: str
) -> None:
    agency = await api.as_client(agency="public-security", profile="public-security")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    event = {
        "agency_event_id": "GA-1",
        "kind": "REGISTRATION_CHANGED",
        "id_number": id_number(date(1975, 5, 17), 991),
        "occurred_on": yesterday,
        "details": {"region_code": FULLWIDTH},
    }
    response = await agency.client.post("/api/v1/events", json=[event], headers=agency.headers)
    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    assert item["outcome"] == "REJECTED"
    assert [e["field"] for e in item["errors"]] == ["details.region_code"]
    assert await sql(database_url, "SELECT count(*) FROM monitoring_events") == [(0,)]


# ---- Codes in filters and lists: bounded, printable ---------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        (
            "query($a: String) { warnings(filter: {agency: $a}) { nodes { id } } }",
            {"a": "medical\x00"},
            "filter.agency",
        ),
        (
            "query($a: String) { warningCounts(filter: {agency: $a}) { count } }",
            {"a": "x" * 33},
            "filter.agency",
        ),
        (
            "query($f: String) { warnings(filter: {finding: $f}) { nodes { id } } }",
            {"f": "rule\x00"},
            "filter.finding",
        ),
        (
            "query($f: String) { warnings(filter: {finding: $f}) { nodes { id } } }",
            {"f": "r" * 129},
            "filter.finding",
        ),
        (
            "query($c: String) { auditEvents(filter: {clientId: $c}) { nodes { id } } }",
            {"c": "lig_\x00"},
            "filter.clientId",
        ),
        (
            "query($a: String) { auditEvents(filter: {action: $a}) { nodes { id } } }",
            {"a": "a" * 65},
            "filter.action",
        ),
        (
            "query($a: String) { assistanceRecords(agency: $a) { nodes { revision } } }",
            {"a": "civil-affairs\x00"},
            "agency",
        ),
        (
            "query($a: String) { assistanceRecords(agency: $a) { nodes { revision } } }",
            {"a": "c" * 33},
            "agency",
        ),
    ],
)
async def test_filter_codes_are_bounded_and_printable(
    api: Api, query: str, variables: dict[str, Any], field: str
) -> None:
    await refused_naming(api, query, variables, field)


async def test_a_filter_list_repeating_one_value_is_read_once(api: Api) -> None:
    """Each value becomes one statement parameter, however often it is sent (PostgreSQL takes at
    most 32,767 in one statement: four lists of 9,000 were a 500)."""
    many = 9000
    body = await api.graphql(
        """query($k: [WarningKind!], $s: [WarningStatus!], $v: [Severity!],
                 $h: [HardshipType!]) {
          warnings(filter: {kinds: $k, statuses: $s, severities: $v, hardshipTypes: $h}) {
            nodes { id } } }""",
        {
            "k": ["NOT_COVERED"] * many,
            "s": ["OPEN"] * many,
            "v": ["HIGH"] * many,
            "h": ["MEDICAL"] * many,
        },
    )
    assert body == {"data": {"warnings": {"nodes": []}}}


SET_ROUTE = """mutation($a: [String!]!) {
  setWarningRoute(input: {kind: NOT_COVERED, agencies: $a, dueWorkingDays: 5, severity: HIGH}) {
    agencies } }"""


@pytest.mark.parametrize(
    "agencies",
    [["civil-affairs\x00"], ["x" * 33], [f"agency-{i}" for i in range(33)]],
    ids=["nul", "long", "many"],
)
async def test_a_route_names_few_printable_agencies_and_nothing_changes(
    api: Api, database_url: str, agencies: list[str]
) -> None:
    before = await sql(database_url, "SELECT kind, hardship_type, agencies FROM warning_routes")
    error = await refused_naming(api, SET_ROUTE, {"a": agencies}, "input.agencies")
    assert len(error["message"]) < 200  # the refused list is not repeated back
    after = await sql(database_url, "SELECT kind, hardship_type, agencies FROM warning_routes")
    assert after == before


DISPATCH = """mutation($id: ID!, $a: [String!]!) { dispatchWarning(id: $id, agencies: $a) {
  agencies } }"""


async def test_a_dispatch_names_few_printable_agencies_and_nothing_changes(
    demo_api: Api, demo_url: str
) -> None:
    found = await demo_api.data('query { warnings(filter: {statuses: [DISPATCHED]}, first: 1) {'
                                " nodes { id } } }")  # fmt: skip
    (warning,) = found["warnings"]["nodes"]
    assigned = "SELECT warning_id, agency_code FROM warning_assignments ORDER BY 1, 2"
    before = await sql(demo_url, assigned)
    for agencies in (["education\x00"], [f"agency-{i}" for i in range(40)]):
        await refused_naming(demo_api, DISPATCH, {"id": warning["id"], "a": agencies}, "agencies")
    assert await sql(demo_url, assigned) == before


# ---- Standards: the figure's text and its source ------------------------------------------------

SET_STANDARD = """mutation($i: SetStandardInput!) { setStandard(input: $i) { regionCode } }"""


def standard(**changes: Any) -> dict[str, Any]:
    return {
        "regionCode": "320681",
        "figure": "DIBAO_MONTHLY",
        "effectiveFrom": "2030-01-01",
        "value": "900",
        "source": "Qidong civil affairs bureau, notice 2029-12",
        **changes,
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source": "s" * 301}, "input.source"),
        ({"source": "notice\x00"}, "input.source"),
        ({"value": "9" * 33}, "input.value"),
        ({"value": "1e999999999"}, "input.value"),
        ({"regionCode": FULLWIDTH}, "input.regionCode"),
    ],
)
async def test_a_standard_is_refused_naming_its_field_and_nothing_is_stored(
    api: Api, database_url: str, change: dict[str, Any], field: str
) -> None:
    count = "SELECT count(*) FROM regional_standards"
    before = await sql(database_url, count)
    error = await refused_naming(api, SET_STANDARD, {"i": standard(**change)}, field)
    assert len(error["message"]) < 200
    assert await sql(database_url, count) == before


async def test_a_standard_within_its_bounds_is_stored(api: Api, database_url: str) -> None:
    body = await api.graphql(SET_STANDARD, {"i": standard(source="s" * 300)})
    assert body == {"data": {"setStandard": {"regionCode": "320681000000"}}}


# ---- Money and dates: refusals that say where ---------------------------------------------------


async def test_a_bad_amount_in_a_variable_names_its_path(api: Api) -> None:
    body = await api.graphql(ASSESS, {"input": assessment(annualIncome="x" * 5000)})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at .annualIncome" in error["message"]
    assert len(error["message"]) < 300  # the value is not repeated in full


@pytest.mark.parametrize(
    ("fields", "type_"),
    [
        ('asOf: "2023-03-01", annualIncome: "abc"', "Money"),
        # Longer numbers are refused before validation (tests/test_operation_limits.py).
        (f'asOf: "2023-03-01", annualIncome: {"9" * 40}', "Money"),
        ('asOf: "2023-03-01", annualIncome: "NaN"', "Money"),
        ('asOf: "2023-03-01", annualIncome: {a: 1}', "Money"),
        ('asOf: "2023-02-30", annualIncome: "1"', "Date"),
        ('asOf: 20230301, annualIncome: "1"', "Date"),
    ],
)
async def test_a_bad_literal_is_refused_with_its_place(api: Api, fields: str, type_: str) -> None:
    query = (
        f'query {{ assess(input: {{regionCode: "320681", members: [], {fields}}}) {{ category }} }}'
    )
    body = await api.graphql(query)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", error
    assert error["locations"], error
    assert type_ in error["message"]
    assert len(error["message"]) < 300


async def test_a_huge_integer_literal_is_refused_as_the_callers_fault(api: Api) -> None:
    response = await api.post(f"query {{ households(first: {'9' * 5000}) {{ nodes {{ id }} }} }}")
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert error["message"] == "a number in the document is longer than 40 characters"


# ---- What the push digest and the error paths do with odd items ---------------------------------


async def test_a_keyed_graphql_push_with_a_huge_deep_number_is_judged(api: Api) -> None:
    """The batch digest of an item holding, past the depth it reads, an integer wider than 64
    bits (a GraphQL literal may): the item is rejected, the batch stored, and sent again it is a
    replay."""
    agency = await api.as_client(agency="public-security", profile="public-security")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    number = id_number(date(1975, 5, 17), 991)
    query = (
        'mutation { pushEvents(idempotencyKey: "deep-1", items: [{agencyEventId: "GA-9", '
        f'kind: DECEASED, idNumber: "{number}", occurredOn: "{yesterday}", '
        "details: {a: {b: {c: {d: {e: 99999999999999999999999}}}}}}]) {"
        " replayed items { outcome errors { field } } } }"
    )
    first = await agency.data(query)
    assert first["pushEvents"]["replayed"] is False
    assert [i["outcome"] for i in first["pushEvents"]["items"]] == ["REJECTED"]
    again = await agency.data(query)
    assert again["pushEvents"]["replayed"] is True


def test_an_unknown_field_is_named_short() -> None:
    name = path(("details", "k" * 10_000))
    assert name.startswith("details.kkk")
    assert len(name) == len("details.") + MAX_NAME


def test_the_push_digest_reads_any_depth() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    assert fingerprint({"details": deep}) != fingerprint({"details": [deep]})
    assert fingerprint({"details": {"a": {"b": {"c": {"d": {"e": 2**80}}}}}})
