"""The REST API answers as openapi/openapi.yaml says, against a real server.

A uvicorn server on a free loopback port serves a migrated database (each engine). Schemathesis
loads the contract from the server's own GET /openapi.json and generates requests for each /api/v1
operation from it (the documented examples, valid requests, requests that break the schema); each
answer is checked: no 5xx, only documented statuses, content types and headers, bodies that match
their schemas. Then answers schemathesis would not provoke on its own (receipts of real pushes,
refusals of callers without a token or a scope, malformed bodies) are checked the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import jsonschema_rs
import orjson
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from auth.clients import add_client
from gateway.app import create_app, routes
from gateway.database import Database
from gateway.domain import idnumber
from gateway.http.openapi import openapi_document
from gateway.settings import Settings
from tests.support.servers import serving

# Not negative_data_rejection nor positive_data_acceptance: by design a batch is judged item by
# item, so a batch with invalid items is answered 201 with those items REJECTED in the receipt
# (and a schema-valid item may still be rejected: a bad check digit, a date in the future).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
MAX_EXAMPLES = 60


@dataclass(frozen=True)
class Server:
    settings: Settings
    base_url: str
    client_id: str
    secret: str
    token: str  # civil affairs: every scope


async def _register(settings: Settings) -> tuple[str, str]:
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            client, secret = await add_client(
                session, "contract test", "civil-affairs", "civil-affairs", [], None
            )
    finally:
        await db.dispose()
    return client.client_id, secret


@contextmanager
def _serving(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings)) as url:
        yield url


def _token(base_url: str, client_id: str, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = httpx.post(f"{base_url}/oauth/token", data=data, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def rest_server(database_url: str) -> Iterator[Server]:
    # No background sealing (as in conftest's `api`): the chain has its own tests.
    settings = Settings(database_url=database_url, audit_seal_interval=3600)
    client_id, secret = asyncio.run(_register(settings))
    with _serving(settings) as base_url:
        yield Server(settings, base_url, client_id, secret, _token(base_url, client_id, secret))


@pytest.fixture
def rest_schema(rest_server: Server) -> schemathesis.BaseSchema:
    """The contract as the running server serves it."""
    return schemathesis.openapi.from_url(f"{rest_server.base_url}/openapi.json")


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_context: schemathesis.SerializationContext, value: Any) -> bytes:
    """The contract's NDJSON body is text, one item per line; send it as it was generated."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, list):
        return b"".join(orjson.dumps(item) + b"\n" for item in value)
    return orjson.dumps(value)


def _valid_id_number(generated: str) -> str:
    """An ID number that passes every check, keeping the generated sequence digits."""
    first17 = "320681" + "19800101" + generated[14:17].rjust(3, "0")
    return first17 + idnumber.check_character(first17)


def _some_valid_id_numbers(body: Any) -> Any:
    """The generated items, every other one with a valid ID number: a pattern cannot say the
    check character, so without this nearly every item would be REJECTED and the stored
    (ACCEPTED, DUPLICATE) paths of a push would go untested."""
    if not isinstance(body, list):
        return body
    out = []
    for index, item in enumerate(body):
        number = item.get("id_number") if isinstance(item, dict) else None
        if index % 2 == 0 and isinstance(number, str) and number[:17].isdigit():
            item = {**item, "id_number": _valid_id_number(number)}
        out.append(item)
    return out


# The /api/v1 operations, read from the contract the server will serve.
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, operations in openapi_document(routes())["paths"].items()
    if path.startswith("/api/v1/")
    for method in operations
]


@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_answers_as_its_contract_says(
    rest_server: Server, rest_schema: schemathesis.BaseSchema, label: str
) -> None:
    # schemathesis's pytest plugin (`schemathesis.pytest.from_fixture`) fails under pytest 9 (it
    # sets `Node._nodeid`, which pytest 9 removed), so the cases come from its strategies through
    # Hypothesis directly: the documented examples, valid requests, and requests that break the
    # schema (refused with a documented 4xx, or answered 201 with the items REJECTED).
    method, path = label.split(" ", 1)
    operation = rest_schema[path][method]
    cases = st.one_of(
        *operation.get_strategies_from_examples(),
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    auth = {"Authorization": f"Bearer {rest_server.token}"}

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            hypothesis.HealthCheck.too_slow,
            hypothesis.HealthCheck.data_too_large,
            hypothesis.HealthCheck.filter_too_much,
        ],
    )
    @hypothesis.given(case=cases)
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.body = _some_valid_id_numbers(case.body)
        case.call_and_validate(checks=CHECKS, headers=auth)

    answers_as_documented()


def _receipt_case(
    api: schemathesis.BaseSchema, receipt_id: str, outcome: str | None = None
) -> schemathesis.Case:
    operation = api["/api/v1/receipts/{receipt_id}"]["GET"]
    return operation.Case(
        path_parameters={"receipt_id": receipt_id},
        query={"outcome": outcome} if outcome else None,
    )


def test_receipts_of_real_pushes_match_the_contract(
    rest_server: Server, rest_schema: schemathesis.BaseSchema
) -> None:
    today = time.strftime("%Y-%m-%d")
    good = _valid_id_number("00000000000000123")
    records = [
        {"agency_record_id": "R-1", "kind": "MEDICAL", "id_number": good, "amount": 12.5,
         "date": today},
        {"agency_record_id": "R-2", "kind": "MEDICAL", "id_number": good, "amount": 1.234,
         "date": today},
        {"agency_record_id": "R-1", "kind": "MEDICAL", "id_number": good, "amount": 12.5,
         "date": today},
    ]  # fmt: skip
    events = [
        {"agency_event_id": "E-1", "kind": "DISABILITY_CERTIFIED", "id_number": good,
         "occurred_on": today, "details": {"disability_type": "PHYSICAL", "disability_grade": 2}},
        {"agency_event_id": "E-2", "kind": "DECEASED", "id_number": good, "occurred_on": today,
         "details": {"cause": "unknown"}},
    ]  # fmt: skip
    headers = {"Authorization": f"Bearer {rest_server.token}"}
    receipts = []
    with httpx.Client(base_url=rest_server.base_url, headers=headers) as client:
        for path, items in (("/api/v1/assistance-records", records), ("/api/v1/events", events)):
            pushed = client.post(path, json=items)
            assert pushed.status_code == 201, pushed.text
            receipts.append(pushed.json())
        refused = client.post(path, params={"all_or_nothing": "true"}, json=events)
        assert refused.status_code == 422, refused.text
        reused = client.post(path, headers={"Idempotency-Key": "k-1"}, json=events[:1])
        again = client.post(path, headers={"Idempotency-Key": "k-1"}, json=events[1:])
        assert (reused.status_code, again.status_code) == (201, 422), again.text
    outcomes = [[item["outcome"] for item in receipt["items"]] for receipt in receipts]
    assert outcomes == [["ACCEPTED", "REJECTED", "DUPLICATE"], ["ACCEPTED", "REJECTED"]]
    # The same answers, as schemathesis sees them, against the contract.
    push = rest_schema["/api/v1/events"]["POST"]
    cases = [
        push.Case(body=events, query={"all_or_nothing": "true"}, media_type="application/json"),
        push.Case(body=events[1:], headers={"Idempotency-Key": "k-1"},
                  media_type="application/json"),
    ]  # fmt: skip
    for receipt in receipts:
        for outcome in (None, "ACCEPTED", "DUPLICATE", "REJECTED"):
            cases.append(_receipt_case(rest_schema, receipt["id"], outcome))
    cases.append(_receipt_case(rest_schema, "0" * 32))
    statuses = [
        case.call_and_validate(checks=CHECKS, headers=headers).status_code for case in cases
    ]
    assert statuses == [422, 422] + [200] * 8 + [404]


def test_refusals_match_the_contract(
    rest_server: Server, rest_schema: schemathesis.BaseSchema
) -> None:
    narrow = _token(rest_server.base_url, rest_server.client_id, rest_server.secret, "audit:read")
    refusals = {"": 401, "Bearer nonsense": 401, f"Bearer {narrow}": 403}
    checked = 0
    for result in rest_schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/api/v1/"):
            continue
        for authorization, status in refusals.items():
            if operation.method == "get":
                case = operation.Case(path_parameters={"receipt_id": "0" * 32})
            else:
                case = operation.Case(body=[], media_type="application/json")
            response = case.call_and_validate(
                checks=CHECKS, headers={"Authorization": authorization}
            )
            assert response.status_code == status, (operation.label, authorization)
            checked += 1
    assert checked == 9


def test_every_example_matches_its_schema() -> None:
    document = openapi_document(routes())
    found = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
            for body in bodies:
                for media, content in body.get("content", {}).items():
                    if "example" not in content:
                        continue
                    found += 1
                    validator = jsonschema_rs.Draft202012Validator(
                        {**content["schema"], "components": document["components"]}
                    )
                    errors = [e.message for e in validator.iter_errors(content["example"])]
                    assert not errors, (method, path, media, errors)
    assert found >= 3


def test_malformed_pushes_are_refused_as_documented(
    rest_server: Server, rest_schema: schemathesis.BaseSchema
) -> None:
    """What schemathesis cannot send from the contract: other media types, broken JSON, too
    many items; each answer is still checked against it."""
    many = orjson.dumps([{}] * (rest_server.settings.push_max_items + 1))
    requests = [
        ({"content-type": "text/plain"}, {}, b"[]", 415),
        ({}, {}, b"[{nope", 400),
        ({}, {}, b'{"items": []}', 400),
        ({}, {"all_or_nothing": "maybe"}, b"[]", 400),
        ({}, {"unknown": "1"}, b"[]", 400),
        ({"idempotency-key": "not a token"}, {}, b"[]", 400),
        ({}, {}, many, 413),
    ]
    for path in ("/api/v1/assistance-records", "/api/v1/events"):
        case = rest_schema[path]["POST"].Case(body=[], media_type="application/json")
        for headers, params, content, status in requests:
            response = httpx.post(
                rest_server.base_url + path,
                content=content,
                params=params,
                headers={
                    "authorization": f"Bearer {rest_server.token}",
                    "content-type": "application/json",
                    **headers,
                },
            )
            assert response.status_code == status, (path, headers, params, response.text)
            case.validate_response(response, checks=CHECKS)
