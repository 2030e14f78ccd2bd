"""The checks graphql-cop runs, each as a test, with a department's token against the app.

graphql-cop (dolevf/graphql-cop) sends these requests and reports the server vulnerable when the
answer shows the request worked (data for an abusive query, a list for a batch, one error per
repeated directive, an IDE page, a suggestion, a trace, a stack). The requests below are the
tool's own, and each test asserts the opposite of its finding, plus the refusal we mean to give.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.eligibility import lookup
from tests.conftest import Api


@pytest.fixture
async def department(api: Api) -> Api:
    """A medical-security bureau's client: eligibility and its own assistance records."""
    return await api.as_client(agency="medical-security", profile="medical-security")


def _codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", ())]


async def test_alias_overloading_is_refused(department: Api) -> None:
    aliases = " ".join(f"alias{i}:__typename" for i in range(101))
    response = await department.post(f"query cop {{ {aliases} }}")
    body = response.json()
    assert response.status_code == 400
    assert "data" not in body
    assert _codes(body) == ["LIMIT_EXCEEDED"]
    assert "101 aliases" in body["errors"][0]["message"]


async def test_array_based_batching_is_off(department: Api) -> None:
    batch = [{"query": "query cop { __typename }"} for _ in range(10)]
    response = await department.client.post("/graphql", json=batch, headers=department.headers)
    assert response.status_code == 400
    body = response.json()
    assert not isinstance(body, list)
    assert _codes(body) == ["LIMIT_EXCEEDED"]
    assert "batching is off" in body["errors"][0]["message"]


async def test_directive_overloading_gives_one_error(department: Api) -> None:
    response = await department.post("query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }")
    body = response.json()
    assert response.status_code == 400
    assert len(body["errors"]) == 1
    assert _codes(body) == ["LIMIT_EXCEEDED"]


async def test_field_duplication_is_refused(department: Api) -> None:
    response = await department.post("query cop { " + "__typename \n" * 500 + "}")
    body = response.json()
    assert response.status_code == 400
    assert "data" not in body
    assert _codes(body) == ["LIMIT_EXCEEDED"]
    assert "selects 500 root fields" in body["errors"][0]["message"]


CIRCULAR = (
    "query cop { __schema { types { fields { type { fields { type { fields { type { fields "
    "{ type { name } } } } } } } } } } }"
)


async def test_introspection_based_circular_query_is_refused(department: Api, api: Api) -> None:
    response = await department.post(CIRCULAR)
    assert "data" not in response.json()
    # Even for civil affairs, who may introspect: the circle itself is refused.
    response = await api.post(CIRCULAR)
    body = response.json()
    assert response.status_code == 400
    assert "data" not in body
    assert _codes(body) == ["LIMIT_EXCEEDED"]


async def test_introspection_is_for_admin_clients_only(department: Api, api: Api) -> None:
    query = "query cop { __schema { types { name fields { name } } } }"
    body = (await department.post(query)).json()
    assert "data" not in body
    assert set(_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection has been disabled" in body["errors"][0]["message"]
    # `__type` is introspection too; `__typename` is not.
    body = (await department.post('{ __type(name: "Query") { name } }')).json()
    assert "data" not in body
    assert (await department.post("{ __typename }")).json() == {"data": {"__typename": "Query"}}
    # Civil affairs (admin scope) keeps it, cut to its own view.
    data = await api.data("{ __schema { queryType { name } } }")
    assert data == {"__schema": {"queryType": {"name": "Query"}}}


async def test_field_suggestions_are_not_given(department: Api) -> None:
    body = (await department.post("query cop { __schema { directive } }")).json()
    body2 = (await department.post("query cop { eligibilit(idNumbers: []) { found } }")).json()
    for answer in (body, body2):
        assert "errors" in answer
        assert all("Did you mean" not in e["message"] for e in answer["errors"])


@pytest.mark.parametrize("path", ["/graphql", "/graphiql", "/playground", "/console/graphiql"])
async def test_no_graphql_ide_is_served(department: Api, path: str) -> None:
    response = await department.client.get(
        path, params={"query": "{ __typename }"}, headers={"Accept": "text/html"}
    )
    assert response.status_code in (404, 405)
    text = response.text.lower()
    assert "graphiql" not in text
    assert "playground" not in text


async def test_queries_over_get_are_refused(department: Api) -> None:
    response = await department.client.get(
        "/graphql", params={"query": "query cop { __typename }"}, headers=department.headers
    )
    assert response.status_code == 405
    assert "__typename" not in response.text
    assert response.headers["allow"] == "POST"


async def test_mutations_over_get_are_refused(department: Api) -> None:
    response = await department.client.get(
        "/graphql", params={"query": "mutation cop { __typename }"}, headers=department.headers
    )
    assert response.status_code == 405
    assert "data" not in response.text


async def test_url_encoded_post_is_refused(department: Api) -> None:
    """A form post is what a page on another site can make a browser send (CSRF)."""
    headers = dict(department.headers)
    response = await department.client.post(
        "/graphql", data={"query": "query cop { __typename }"}, headers=headers
    )
    assert response.status_code == 415
    assert "data" not in response.json()
    for media in ("text/plain", "multipart/form-data; boundary=x", "application/graphql"):
        response = await department.client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={**headers, "Content-Type": media},
        )
        assert response.status_code == 415, media


async def test_trace_mode_is_off(department: Api) -> None:
    body = (await department.post("query cop { __typename }")).json()
    assert body == {"data": {"__typename": "Query"}}
    assert "extensions" not in body


async def test_unhandled_errors_disclose_nothing(
    department: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # graphql-cop's probe: a malformed document. Its error names the syntax, nothing of ours.
    body = (await department.post("qwerty cop { abc }")).json()
    assert _codes(body) == ["GRAPHQL_PARSE_FAILED"]
    assert "qwerty" in body["errors"][0]["message"]

    # A real unexpected failure inside a resolver: a generic message and the request id only.
    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail: /srv/lig/gateway/x.py SELECT * FROM people")

    monkeypatch.setattr(lookup, "validate_batch", explode)
    response = await department.client.post(
        "/graphql",
        json={"query": '{ eligibility(idNumbers: ["110101199003074514"]) { found } }'},
        headers={**department.headers, "X-Request-Id": "cop-probe-1"},
    )
    text = response.text
    for leak in ("secret", "/srv/", "SELECT", "Traceback", "RuntimeError", ".py"):
        assert leak not in text, leak
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "cop-probe-1"}
    assert "cop-probe-1" in error["message"]
