"""Operation limits: each limit refuses what is over it with one LIMIT_EXCEEDED error naming it,
lets through what is exactly at it, and is configurable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Api, _api

SMALL = {
    "graphql_max_depth": 8,
    "graphql_max_aliases": 3,
    "graphql_max_root_fields": 3,
    "graphql_max_fields": 20,
    "graphql_max_directives": 4,
    "graphql_max_tokens": 200,
    "graphql_max_cost": 500,
    "graphql_max_string_length": 300,
    "graphql_max_list_length": 1000,
}


@pytest.fixture
async def small(database_url: str) -> AsyncIterator[Api]:
    """A civil-affairs client of an app with small limits (boundaries easy to reach)."""
    async for a in _api(database_url, **SMALL):
        yield a


async def refused(api: Api, query: str, variables: dict[str, Any] | None = None) -> str:
    response = await api.post(query, variables)
    body = response.json()
    assert response.status_code == 400, body
    assert "data" not in body
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    message: str = error["message"]
    return f"{message} [{error['extensions']['setting']}]"


async def accepted(api: Api, query: str, variables: dict[str, Any] | None = None) -> None:
    body = await api.graphql(query, variables)
    assert all(e["extensions"]["code"] != "LIMIT_EXCEEDED" for e in body.get("errors", ())), body


async def test_depth(database_url: str) -> None:
    async for shallow in _api(database_url, graphql_max_depth=4):
        at = "{ households(first: 1) { edges { node { code } } } }"  # 4 levels
        await accepted(shallow, at)
        over = "{ households(first: 1) { edges { node { region { name } } } } }"
        message = await refused(shallow, over)
        assert message == (
            "the query is nested 5 levels deep, over the limit of 4 [LIG_GRAPHQL_MAX_DEPTH]"
        )
        # Through a fragment, the same.
        via = (
            "{ households(first: 1) { edges { ...n } } } "
            "fragment n on HouseholdEdge { node { region { name } } }"
        )
        assert "5 levels" in await refused(shallow, via)


async def test_aliases(small: Api) -> None:
    await accepted(small, "{ a: __typename b: __typename c: __typename }")
    message = await refused(small, "{ a: __typename b: __typename c: __typename d: __typename }")
    assert message == ("the document uses 4 aliases, over the limit of 3 [LIG_GRAPHQL_MAX_ALIASES]")


async def test_root_fields(small: Api) -> None:
    await accepted(small, "{ __typename __typename __typename }")
    message = await refused(small, "{ __typename __typename __typename __typename }")
    assert "selects 4 root fields, over the limit of 3" in message


async def test_fields_are_counted_with_fragments_expanded(small: Api) -> None:
    fragment = "fragment f on Query { " + "__typename " * 3 + "}"
    await accepted(small, "{ ...f } " + fragment)
    # Small text, many fields: 3 spreads of a fragment of 3 fields inside pages.
    inner = "fragment r on Region { " + " ".join(["name"] * 7) + " }"
    query = "{ households(first: 1) { edges { node { region { ...r ...r ...r } } } } } " + inner
    async for big in _api(small.app.state.db.settings.database_url, graphql_max_fields=20):
        message = await refused(big, query)
    assert "selects 25 fields (fragments expanded), over the limit of 20" in message


async def test_directives(small: Api) -> None:
    await accepted(small, "{ __typename @include(if: true) @skip(if: false) }")
    message = await refused(small, "{ __typename @skip(if: false) @skip(if: false) }")
    assert "@skip is repeated" in message
    many = "{ a: __typename @include(if: true) b: __typename @include(if: true) " + (
        "c: __typename @include(if: true) __typename @include(if: true) @skip(if: false) }"
    )
    assert "5 directives, over the limit of 4" in await refused(small, many)


async def test_tokens(small: Api) -> None:
    query = "{ " + "__typename " * 250 + "}"
    message = await refused(small, query)
    assert "more than 200 tokens" in message
    assert message.endswith("[LIG_GRAPHQL_MAX_TOKENS]")


async def test_page_sizes_and_cost(small: Api) -> None:
    nested = """query($n: Int) { households(first: $n) { edges { node {
        members(first: $n) { nodes { relation } } } } } }"""
    await accepted(small, nested, {"n": 10})  # about 10 × (3 + 10 × 2) = 230
    message = await refused(small, nested, {"n": 20})  # about 20 × (3 + 20 × 2) = 860
    assert "estimated cost is" in message
    assert message.endswith("or fewer nested lists) [LIG_GRAPHQL_MAX_COST]")
    message = await refused(small, "{ households(first: 5000) { edges { node { code } } } }")
    assert message.startswith("first: at most 1000 items (asked for 5000")
    # A page without `first` counts as the default page.
    ids = [f"11010119900307{i:04d}" for i in range(100)]
    await accepted(
        small, "query($ids: [String!]!) { eligibility(idNumbers: $ids) { found } }", {"ids": ids}
    )
    fields = " ".join(["found", "status", "category", "validUntil", "idNumber"])
    query = f"query($ids: [String!]!) {{ eligibility(idNumbers: $ids) {{ {fields} }} }}"
    assert "estimated cost is 1001" in await refused(small, query, {"ids": ids * 2})


async def test_variables_are_bounded(small: Api) -> None:
    query = "query($s: String) { households(filter: {regionCode: $s}, first: 1) { totalCount } }"
    message = await refused(small, query, {"s": "3" * 301})
    assert message == "$s: longer than 300 characters [LIG_GRAPHQL_MAX_STRING_LENGTH]"
    deep: Any = "x"
    for _ in range(20):
        deep = {"a": deep}
    message = await refused(small, query, {"s": deep})
    assert "nested deeper than 16 levels" in message
    message = await refused(small, query, {"s": ["1"] * 1001})
    assert message == "$s: more than 1000 items [LIG_GRAPHQL_MAX_LIST_LENGTH]"
    literal = '{ households(filter: {regionCode: "' + "3" * 301 + '"}, first: 1) { totalCount } }'
    assert "longer than 300 characters" in await refused(small, literal)


async def test_refusals_are_counted_not_audited(small: Api) -> None:
    """Refused before validation, nothing was read or probed: a flood of them writes nothing."""
    from gateway.http.metrics import REFUSALS

    before = REFUSALS.labels("operation_limits")._value.get()
    await refused(small, "{ a: __typename b: __typename c: __typename d: __typename }")
    assert REFUSALS.labels("operation_limits")._value.get() == before + 1
    data = await small.data("{ auditEvents(first: 20) { nodes { outcome } } }")
    assert "LIMIT_EXCEEDED" not in [n["outcome"] for n in data["auditEvents"]["nodes"]]
    # An invalid document is audited as before (it may be a probe for fields).
    await small.post("{ nosuchfield }")
    data = await small.data("{ auditEvents(first: 20) { nodes { outcome } } }")
    assert "INVALID" in [n["outcome"] for n in data["auditEvents"]["nodes"]]


async def test_an_operation_past_its_time_is_stopped(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.context import Context

    async def slow(*_args: Any, **_kwargs: Any) -> Any:
        await asyncio.sleep(5)

    monkeypatch.setattr(Context, "fetch", slow)
    async for a in _api(database_url, graphql_timeout_seconds=0.2, compiled_eligibility=False):
        response = await a.post('{ eligibility(idNumbers: ["110101199003074514"]) { found } }')
    body = response.json()
    assert response.status_code == 504, body
    assert body["errors"][0]["extensions"] == {"code": "TIMEOUT"}
    assert "longer than 0.2 s" in body["errors"][0]["message"]
