"""The GraphQL read API against a real database (both engines), answers checked against SQL."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain import idnumber
from tests.conftest import Api
from tests.support.sql import sql

HOUSEHOLD_FIELDS = (
    "id code category status regionCode: region { code } nextReviewOn formerRegisteredPoor"
)


async def walk(api: Api, filter_: dict[str, Any] | None, first: int) -> list[dict[str, Any]]:
    query = f"""query($f: HouseholdFilter, $first: Int, $after: String) {{
      households(filter: $f, first: $first, after: $after) {{
        edges {{ cursor node {{ {HOUSEHOLD_FIELDS} }} }}
        pageInfo {{ hasNextPage endCursor }} }} }}"""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await api.data(query, {"f": filter_, "first": first, "after": after}))["households"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert len(page["edges"]) <= first
            return nodes
        assert len(page["edges"]) == first
        after = page["pageInfo"]["endCursor"]


async def test_paging_through_all_households_visits_each_once(demo_api: Api, demo_url: str) -> None:
    nodes = await walk(demo_api, None, 37)
    ids = [int(n["id"]) for n in nodes]
    expected = [r[0] for r in await sql(demo_url, "SELECT id FROM households ORDER BY id")]
    assert ids == expected


@pytest.mark.parametrize(
    ("filter_", "where"),
    [
        ({"category": "DIBAO"}, "category = 'DIBAO'"),
        ({"status": "NOT_COVERED"}, "status = 'NOT_COVERED'"),
        ({"formerRegisteredPoor": True}, "former_registered_poor"),
        ({"reviewDueBefore": "2026-03-01"}, "next_review_on < '2026-03-01'"),
        ({"regionPrefix": "320681100"}, "region_code LIKE '320681100%'"),
        ({"regionPrefix": "320681100000"}, "region_code LIKE '320681100%'"),
        ({"regionPrefix": "320681000000"}, "region_code LIKE '320681%'"),
        (
            {"regionPrefix": "320681", "category": "TEKUN"},
            "region_code LIKE '320681%' AND category = 'TEKUN'",
        ),
    ],
)
async def test_filters_match_sql(
    demo_api: Api, demo_url: str, filter_: dict[str, Any], where: str
) -> None:
    nodes = await walk(demo_api, filter_, 100)
    expected = [
        r[0] for r in await sql(demo_url, f"SELECT id FROM households WHERE {where} ORDER BY id")
    ]
    assert [int(n["id"]) for n in nodes] == expected
    assert expected, "the demo county should hold households matching every filter"


async def test_household_with_nested_lists(demo_api: Api, demo_url: str) -> None:
    (hid,) = (
        await sql(
            demo_url,
            "SELECT household_id FROM memberships GROUP BY household_id "
            "HAVING count(*) >= 3 ORDER BY household_id LIMIT 1",
        )
    )[0]
    members = await sql(
        demo_url,
        "SELECT p.id_number, m.relation FROM memberships m JOIN persons p "
        "ON p.id = m.person_id WHERE m.household_id = :h ORDER BY m.id",
        h=hid,
    )
    query = """query($id: ID!, $after: String) { household(id: $id) { id code
        members(first: 2, after: $after) {
          edges { node { relation person { idNumber birthDate sex } } }
          pageInfo { hasNextPage endCursor } }
        history { nodes { version state } } } }"""
    first = (await demo_api.data(query, {"id": str(hid)}))["household"]
    assert first["members"]["pageInfo"]["hasNextPage"] is True
    rest = (
        await demo_api.data(
            query, {"id": str(hid), "after": first["members"]["pageInfo"]["endCursor"]}
        )
    )["household"]
    got = [
        (e["node"]["person"]["idNumber"], e["node"]["relation"])
        for page in (first, rest)
        for e in page["members"]["edges"]
    ]
    assert got[: len(members)] == [(n, r) for n, r in members][: len(got)]
    person = first["members"]["edges"][0]["node"]["person"]
    assert person["birthDate"] == idnumber.birth_date(person["idNumber"]).isoformat()
    assert person["sex"] == idnumber.sex(person["idNumber"])
    assert first["history"]["nodes"][0]["version"] == 1
    assert first["history"]["nodes"][0]["state"]["code"] == first["code"]


async def test_unknown_household_is_null(demo_api: Api) -> None:
    assert (await demo_api.data('{ household(id: "999999999") { id } }'))["household"] is None


async def test_person_by_id_number(demo_api: Api, demo_url: str) -> None:
    number, hid, category = (
        await sql(
            demo_url,
            "SELECT p.id_number, h.id, h.category FROM persons p JOIN memberships m "
            "ON m.person_id = p.id JOIN households h ON h.id = m.household_id LIMIT 1",
        )
    )[0]
    data = await demo_api.data(
        "query($n: String!) { person(idNumber: $n) { idNumber name household { id category } } }",
        {"n": number},
    )
    assert data["person"]["idNumber"] == number
    assert data["person"]["household"] == {"id": str(hid), "category": category}


async def test_eligibility_answers_in_order_with_unknowns(demo_api: Api, demo_url: str) -> None:
    rows = await sql(
        demo_url,
        """SELECT p.id_number, h.category, h.status, h.valid_until
        FROM persons p JOIN memberships m ON m.person_id = p.id AND m.left_on IS NULL
        JOIN households h ON h.id = m.household_id ORDER BY p.id DESC LIMIT 40""",
    )
    unknown = idnumber.compose("110101", __import__("datetime").date(1900, 1, 1), 1)
    asked = [rows[0][0], unknown, *[r[0] for r in rows[1:]], rows[0][0]]
    data = await demo_api.data(
        "query($ids: [String!]!) { eligibility(idNumbers: $ids) "
        "{ idNumber found category status validUntil } }",
        {"ids": asked},
    )
    answers = data["eligibility"]
    assert [a["idNumber"] for a in answers] == asked
    assert answers[1] == {
        "idNumber": unknown,
        "found": False,
        "category": "NONE",
        "status": "UNKNOWN",
        "validUntil": None,
    }
    by_number = {r[0]: r for r in rows}
    for answer in answers[:1] + answers[2:]:
        _, category, status, valid_until = by_number[answer["idNumber"]]
        assert answer["found"] is True
        in_force = status in ("ACTIVE", "SUSPENDED")
        assert answer["category"] == (category if in_force else "NONE")
        assert answer["status"] == status
        assert answer["validUntil"] == (str(valid_until)[:10] if in_force and valid_until else None)


@pytest.mark.parametrize(
    ("query", "variables", "field", "code"),
    [
        (
            "query($ids: [String!]!) { eligibility(idNumbers: $ids) { found } }",
            {"ids": ["320681198001011230", "320681198001011231"]},
            "idNumbers[1]",
            "BAD_USER_INPUT",
        ),
        (
            "query($ids: [String!]!) { eligibility(idNumbers: $ids) { found } }",
            {"ids": []},
            "idNumbers",
            "BAD_USER_INPUT",
        ),
        (
            "query($ids: [String!]!) { eligibility(idNumbers: $ids) { found } }",
            {"ids": ["320681198001011230"] * 1001},
            "idNumbers",
            "LIMIT_EXCEEDED",
        ),
        ('{ person(idNumber: "32068119800101123") { name } }', None, "idNumber", "BAD_USER_INPUT"),
        (
            '{ households(after: "not-a-cursor") { edges { cursor } } }',
            None,
            "after",
            "BAD_USER_INPUT",
        ),
        # A cursor from another list is refused too.
        (
            '{ households(after: "bWVtYmVyczox") { edges { cursor } } }',
            None,
            "after",
            "BAD_USER_INPUT",
        ),
        ("{ households(first: 101) { edges { cursor } } }", None, "first", "LIMIT_EXCEEDED"),
        ("{ households(first: 0) { edges { cursor } } }", None, "first", "BAD_USER_INPUT"),
        (
            '{ households(filter: {regionPrefix: "32ab"}) { edges { cursor } } }',
            None,
            "filter.regionPrefix",
            "BAD_USER_INPUT",
        ),
        ('{ household(id: "abc") { id } }', None, "id", "BAD_USER_INPUT"),
    ],
)
async def test_bad_input_names_the_field(
    demo_api: Api,
    demo_url: str,
    query: str,
    variables: dict[str, Any] | None,
    field: str,
    code: str,
) -> None:
    counts = (
        "SELECT (SELECT count(*) FROM households), (SELECT count(*) FROM persons), "
        "(SELECT count(*) FROM audit_events WHERE kind = 'CHANGE')"
    )
    before = await sql(demo_url, counts)
    body = await demo_api.graphql(query, variables)
    error = body["errors"][0]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["field"] == field
    assert error["message"].startswith(field)
    assert await sql(demo_url, counts) == before
    # Nothing stored but the audit record of the failed read.
    outcomes = await sql(demo_url, "SELECT outcome FROM audit_events WHERE kind = 'READ'")
    assert [o for (o,) in outcomes] == ["ERROR"]


async def test_unknown_enum_value_is_refused_by_name(demo_api: Api) -> None:
    body = await demo_api.graphql(
        "query($c: Category) { households(filter: {category: $c}) { edges { cursor } } }",
        {"c": "RICH"},
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$c" in error["message"]
    assert "RICH" in error["message"]
    assert "Did you mean" not in error["message"]
    inline = await demo_api.graphql("{ households(filter: {category: RICH}) { edges { cursor } } }")
    assert inline["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "RICH" in inline["errors"][0]["message"]


async def test_unknown_field_has_no_suggestions(demo_api: Api) -> None:
    body = await demo_api.graphql("{ households { edges { node { adress } } } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" not in body["errors"][0]["message"]
