"""POST /graphql with trusted documents: a restricted client sends registered ids only, and an id
is its own client's; others keep free-form documents."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.documents import add_document, document_id, set_trusted_only
from tests.conftest import Api, _api

LOOKUP = "query Lookup($ids: [String!]!) { eligibility(idNumbers: $ids) { idNumber found } }"
IDS = ["110101199003074514"]


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    # Documents are read through a per-process cache; 0 s here, so a change shows at once.
    async for a in _api(database_url, trusted_documents_cache_seconds=0):
        yield a


async def _department(api: Api, *, restricted: bool) -> tuple[Api, str]:
    client_id, secret = await api.register(agency="medical-security", profile="medical-security")
    async with api.app.state.db.unit_of_work() as session:
        await add_document(session, client_id, LOOKUP)
        if restricted:
            await set_trusted_only(session, client_id, True)
    token = await api.token(client_id, secret)
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "trusted documents test"}
    return Api(api.client, api.app, headers), client_id


async def _send(client: Api, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.client.post("/graphql", json=payload, headers=client.headers)
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def test_a_restricted_client_sends_registered_ids_only(api: Api) -> None:
    department, _ = await _department(api, restricted=True)
    status, body = await _send(
        department, {"documentId": document_id(LOOKUP), "variables": {"ids": IDS}}
    )
    assert status == 200, body
    assert body == {"data": {"eligibility": [{"idNumber": IDS[0], "found": False}]}}
    # Apollo's persisted-query extension names the same document.
    sha = hashlib.sha256(LOOKUP.encode()).hexdigest()
    status, body = await _send(
        department,
        {
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}},
            "variables": {"ids": IDS},
        },
    )
    assert status == 200, body
    # The same text sent whole is refused, as is any other.
    for query in (LOOKUP, "{ __typename }"):
        status, body = await _send(department, {"query": query, "variables": {"ids": IDS}})
        assert status == 403
        error = body["errors"][0]
        assert error["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
        assert error["message"].startswith("documentId:")
        assert "data" not in body


async def test_unknown_and_foreign_ids_are_not_found(api: Api) -> None:
    department, _ = await _department(api, restricted=True)
    other, _ = await _department(api, restricted=False)
    foreign = "query Other($ids: [String!]!) { eligibility(idNumbers: $ids) { found } }"
    async with api.app.state.db.unit_of_work() as session:
        me = (await api.data("{ me { clientId } }"))["me"]["clientId"]
        await add_document(session, me, foreign)
    for unknown in (document_id(foreign), "sha256:" + "0" * 64, document_id("{ x }")):
        status, body = await _send(department, {"documentId": unknown, "variables": {"ids": IDS}})
        assert status == 400, body
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    status, body = await _send(department, {"documentId": 42})
    assert status == 400
    assert body["errors"][0]["message"].startswith("documentId:")
    # An unrestricted client may send its ids and free-form documents alike.
    status, body = await _send(
        other, {"documentId": document_id(LOOKUP), "variables": {"ids": IDS}}
    )
    assert status == 200, body
    status, body = await _send(other, {"query": LOOKUP, "variables": {"ids": IDS}})
    assert status == 200, body
    # A document and a different id: refused rather than guessing which was meant.
    status, body = await _send(
        other,
        {"query": "{ __typename }", "documentId": document_id(LOOKUP), "variables": {"ids": IDS}},
    )
    assert status == 400
    assert body["errors"][0]["message"].startswith("query:")


async def test_removing_the_restriction_takes_effect(api: Api) -> None:
    department, client_id = await _department(api, restricted=True)
    status, _ = await _send(department, {"query": "{ __typename }"})
    assert status == 403
    async with api.app.state.db.unit_of_work() as session:
        await set_trusted_only(session, client_id, False)
    status, body = await _send(department, {"query": "{ __typename }"})
    assert (status, body) == (200, {"data": {"__typename": "Query"}})


async def test_the_answer_by_id_equals_the_answer_by_text(demo_url: str) -> None:
    """On PostgreSQL an eligibility document sent by id takes the compiled path, as its text
    would; the answers are the same, on both engines."""
    async for api in _api(demo_url, trusted_documents_cache_seconds=0):
        rows = await api.data(
            "{ households(first: 3) { nodes { members { nodes { person { idNumber } } } } } }"
        )
        ids = [
            m["person"]["idNumber"]
            for h in rows["households"]["nodes"]
            for m in h["members"]["nodes"]
        ]
        department, _ = await _department(api, restricted=False)
        by_text = await _send(department, {"query": LOOKUP, "variables": {"ids": ids}})
        by_id = await _send(
            department, {"documentId": document_id(LOOKUP), "variables": {"ids": ids}}
        )
        assert by_text == by_id
        assert by_id[0] == 200
        assert any(e["found"] for e in by_id[1]["data"]["eligibility"])
