"""Who sees what: tokens on every request, purposes, masking, regions, agencies, and the audit
record of every read — all through POST /graphql."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auth.scopes import PROFILES
from gateway.context import Context
from gateway.database import Database
from gateway.principal import Principal
from gateway.settings import Settings
from tests.conftest import Api
from tests.support.planted import BEIXIN, HUILONG, plant
from tests.support.sql import sql

HOUSEHOLDS = """query Page($first: Int) { households(first: $first) { nodes { id code
    members { nodes { person { idNumber name } } } } } }"""
ELIGIBILITY = "query($ids: [String!]!) { eligibility(idNumbers: $ids) { idNumber found category } }"


async def read_events(url: str) -> list[Any]:
    return await sql(
        url,
        "SELECT id, client_id, agency, kind, action, purpose, subjects, fields, result_count, "
        "outcome FROM audit_events WHERE kind = 'READ' ORDER BY id",
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- tokens and purposes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"]
)
async def test_graphql_refuses_a_request_without_a_valid_token(
    authorization: str | None, database_url: str, api: Api
) -> None:
    headers = {"Authorization": authorization or ""}
    response = await api.post("{ me { clientId } }", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in response.json()
    (event,) = await read_events(database_url)
    assert (event.client_id, event.outcome) == ("anonymous", "UNAUTHENTICATED")


async def test_me_says_who_the_token_belongs_to(api: Api) -> None:
    town = await api.as_client(agency="town", profile="town", region="320681100")
    me = (await town.data("{ me { clientId agency scopes regionCode } }"))["me"]
    assert me["agency"] == "town"
    assert me["scopes"] == sorted(PROFILES["town"].scopes)
    assert me["regionCode"] == HUILONG


async def test_personal_data_needs_a_purpose(demo_api: Api, demo_url: str) -> None:
    (number,) = (await sql(demo_url, "SELECT id_number FROM persons LIMIT 1"))[0]
    response = await demo_api.post(ELIGIBILITY, {"ids": [number]}, headers={"X-Purpose": ""})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "X-Purpose"}
    assert "required" in error["message"]
    too_long = await demo_api.post(ELIGIBILITY, {"ids": [number]}, headers={"X-Purpose": "x" * 201})
    assert too_long.status_code == 400
    assert "at most 200" in too_long.json()["errors"][0]["message"]
    # What is not personal needs no purpose.
    assert (await demo_api.post("{ me { agency } }", headers={"X-Purpose": ""})).status_code == 200
    events = await read_events(demo_url)
    assert [e.outcome for e in events] == ["NO_PURPOSE", "NO_PURPOSE"]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("医疗救助一站式结算".encode().decode("latin-1"), "医疗救助一站式结算"),
        ("%E5%8C%BB%E7%96%97%E6%95%91%E5%8A%A9", "医疗救助"),
        ("medical aid settlement 50%", "medical aid settlement 50%"),
    ],
)
async def test_the_purpose_is_stored_as_meant(
    sent: str, stored: str, demo_api: Api, demo_url: str
) -> None:
    (number,) = (await sql(demo_url, "SELECT id_number FROM persons LIMIT 1"))[0]
    response = await demo_api.client.post(
        "/graphql",
        json={"query": ELIGIBILITY, "variables": {"ids": [number]}},
        headers={
            "Authorization": demo_api.headers["Authorization"],
            "X-Purpose": sent.encode("latin-1"),
        },
    )
    assert response.status_code == 200, response.text
    (event,) = await read_events(demo_url)
    assert event.purpose == stored


# --- the audit record of a read -------------------------------------------------------------


async def test_a_read_writes_one_audit_event_naming_what_it_returned(
    demo_api: Api, demo_url: str
) -> None:
    data = await demo_api.data(HOUSEHOLDS, {"first": 3})
    nodes = data["households"]["nodes"]
    (event,) = await read_events(demo_url)
    me = (await demo_api.data("{ me { clientId } }"))["me"]["clientId"]
    assert (event.client_id, event.agency, event.kind) == (me, "civil-affairs", "READ")
    assert (event.action, event.purpose, event.outcome) == ("Page", "automated test", "OK")
    subjects = _json(event.subjects)
    assert subjects["households"] == sorted(int(n["id"]) for n in nodes)
    member_numbers = [m["person"]["idNumber"] for n in nodes for m in n["members"]["nodes"]]
    persons = await sql(
        demo_url,
        "SELECT id FROM persons WHERE id_number IN ("
        + ",".join(f"'{x}'" for x in member_numbers)
        + ")",
    )
    assert subjects["persons"] == sorted(p.id for p in persons)
    assert _json(event.fields) == sorted(_json(event.fields))
    assert set(_json(event.fields)) == {
        "Household.code",
        "Household.id",
        "Household.members",
        "HouseholdConnection.nodes",
        "Member.person",
        "MemberConnection.nodes",
        "Person.idNumber",
        "Person.name",
        "Query.households",
    }
    assert event.result_count == 3


async def test_an_eligibility_answer_is_audited_with_the_people_found(
    demo_api: Api, demo_url: str
) -> None:
    rows = await sql(demo_url, "SELECT id, id_number FROM persons ORDER BY id LIMIT 2")
    unknown = "11010119000101001X"
    from gateway.domain.idnumber import check_character

    unknown = unknown[:17] + check_character(unknown[:17])
    answers = (await demo_api.data(ELIGIBILITY, {"ids": [rows[0][1], unknown, rows[1][1]]}))[
        "eligibility"
    ]
    assert [a["found"] for a in answers] == [True, False, True]
    (event,) = await read_events(demo_url)
    assert _json(event.subjects)["persons"] == sorted([rows[0][0], rows[1][0]])
    assert event.result_count == 3
    assert event.action == "eligibility"


async def test_what_is_not_personal_is_not_audited_but_refusals_are(
    api: Api, database_url: str
) -> None:
    await api.data("{ me { agency } }")
    assert await read_events(database_url) == []
    medical = await api.as_client(agency="medical-security", profile="medical-security")
    body = await medical.graphql("{ households { nodes { id } } }")
    assert "errors" in body
    (event,) = await read_events(database_url)
    assert (event.agency, event.outcome) == ("medical-security", "INVALID")


# --- masking, regions and agencies ------------------------------------------------------------


async def test_without_pii_id_numbers_and_names_are_masked(api: Api, database_url: str) -> None:
    inside, _ = await plant(database_url)
    rural = await api.as_client(agency="rural-revitalisation", profile="rural-revitalisation")
    person = (
        await rural.data(
            "query($n: String!) { person(idNumber: $n) { idNumber name age sex } }",
            {"n": inside.id_number},
        )
    )["person"]
    assert person["idNumber"] == inside.id_number[:6] + "********" + inside.id_number[-4:]
    assert person["name"] == "欧阳**"
    assert person["age"] > 80
    # eligibility answers with the number as the caller sent it, and nothing else personal.
    sent = inside.id_number.lower()
    (answer,) = (await rural.data(ELIGIBILITY, {"ids": [sent]}))["eligibility"]
    assert answer == {"idNumber": sent, "found": True, "category": "MARGINAL"}


async def test_a_region_bound_client_sees_only_its_region(api: Api, database_url: str) -> None:
    inside, outside = await plant(database_url)
    town = await api.as_client(agency="town", profile="town", region=HUILONG)
    one = "query($id: ID!) { household(id: $id) { code address } }"
    seen = await town.data(one, {"id": str(inside.household_id)})
    assert seen["household"]["code"] == inside.code
    assert (await town.data(one, {"id": str(outside.household_id)}))["household"] is None
    codes = [
        n["code"] for n in (await town.data(HOUSEHOLDS, {"first": 100}))["households"]["nodes"]
    ]
    assert codes == [inside.code]
    person = "query($n: String!) { person(idNumber: $n) { name } }"
    assert (await town.data(person, {"n": outside.id_number}))["person"] is None
    # Nor can it act there.
    record = """mutation($id: ID!) { recordEconomicSituation(householdId: $id, input: {
        recordedOn: "2025-01-01", source: DECLARATION, annualIncome: 1000}) { id } }"""
    body = await town.graphql(record, {"id": str(outside.household_id)})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await sql(database_url, "SELECT id FROM economic_situations") == []
    # A region-bound client that may ask about eligibility is told nothing of other regions.
    checker = await api.as_client(agency="health", scopes=["eligibility:read"], region=BEIXIN)
    answers = (await checker.data(ELIGIBILITY, {"ids": [inside.id_number, outside.id_number]}))[
        "eligibility"
    ]
    assert [a["found"] for a in answers] == [False, True]


async def test_assistance_records_are_the_agencys_own(api: Api, database_url: str) -> None:
    inside, _ = await plant(database_url)
    query = """query($id: ID!) { household(id: $id) {
        assistanceRecords { nodes { agency agencyRecordId } } } }"""
    records = "household", "assistanceRecords", "nodes"

    async def agencies(client: Api) -> list[str]:
        data: Any = await client.data(query, {"id": str(inside.household_id)})
        for key in records:
            data = data[key]
        return [r["agency"] for r in data]

    assert await agencies(api) == ["education"]  # civil affairs sees every agency's
    medical = await api.as_client(
        agency="medical-security", scopes=["household:read", "assistance:read"]
    )
    assert await agencies(medical) == []
    education = await api.as_client(
        agency="education", scopes=["household:read", "assistance:read"]
    )
    assert await agencies(education) == ["education"]


async def test_the_runtime_check_refuses_a_field_a_view_should_have_cut(database_url: str) -> None:
    """Defence in depth: run the full schema for a client without household:pii."""
    from graphql import execute, parse

    from schema.views import full_schema

    inside, _ = await plant(database_url)
    db = Database(Settings(database_url=database_url))
    principal = Principal("x", "rural-revitalisation", frozenset({"household:read"}))
    ctx = Context(db=db, principal=principal, request_id="t")
    from resolvers.loaders import Loaders

    ctx.loaders = Loaders(ctx)
    try:
        document = parse(f'{{ household(id: "{inside.household_id}") {{ code address }} }}')
        result = await execute(full_schema(), document, context_value=ctx)  # type: ignore[misc]
    finally:
        await ctx.close()
        await db.dispose()
    assert result.errors
    assert "Household.address needs household:pii" in result.errors[0].message
    assert "泄露路" not in str(result.data)


async def test_former_members_who_moved_to_another_region_stay_hidden(
    api: Api, database_url: str
) -> None:
    """The person outside once lived in the household inside (tests/support/planted.py)."""
    inside, outside = await plant(database_url)
    query = """query($id: ID!) { household(id: $id) {
        members(includeFormer: true) { nodes { leftOn person { idNumber name } } } } }"""
    variables = {"id": str(inside.household_id)}

    async def members(client: Api) -> list[str]:
        data = await client.data(query, variables)
        return sorted(m["person"]["idNumber"] for m in data["household"]["members"]["nodes"])

    assert await members(api) == sorted([inside.id_number, outside.id_number])
    town = await api.as_client(agency="town", profile="town", region=HUILONG)
    assert await members(town) == [inside.id_number]


async def test_a_token_built_to_break_the_parser_is_refused_not_crashed_on(api: Api) -> None:
    import base64

    header = base64.urlsafe_b64encode(b"[" * 3000).decode().rstrip("=")
    response = await api.post(
        "{ me { agency } }", headers={"Authorization": f"Bearer {header}.e30.c2ln"}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_audit_trail_is_not_for_region_bound_clients(api: Api) -> None:
    auditor = await api.as_client(agency="town", scopes=["audit:read"], region=HUILONG)
    body = await auditor.graphql("{ auditEvents(first: 1) { nodes { id } } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.data("{ auditEvents(first: 5) { nodes { outcome } } }"))["auditEvents"]
