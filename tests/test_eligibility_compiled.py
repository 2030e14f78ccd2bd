"""The compiled eligibility statement (PostgreSQL's hot path) answers exactly as the general path.

Two apps share one database: one with `compiled_eligibility` on (the default), one with it off.
Every answer and every audit event of the first must equal the second's, for every status, for
region-bound clients and for every refusal; the hot path must actually answer what it can.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.domain import idnumber
from gateway.eligibility.runner import CompiledEligibility
from gateway.settings import Settings
from tests.conftest import Api, Templates
from tests.support.sql import sql

QUERY = (
    "query($ids: [String!]!) { eligibility(idNumbers: $ids) "
    "{ idNumber found category status validUntil } }"
)
UNKNOWN = idnumber.compose("110101", dt.date(1900, 1, 1), 1)


@pytest.fixture
def pg_demo_url(templates: Templates) -> str:
    return templates.fresh("postgresql", demo=True)


class Counting:
    """Counts the answers the compiled statement gave (None: it left the request to the
    general path)."""

    def __init__(self, runner: CompiledEligibility) -> None:
        self.answered = 0
        self.declined = 0
        original = runner.run

        async def run(*args: Any, **kwargs: Any) -> bytes | None:
            body = await original(*args, **kwargs)
            if body is None:
                self.declined += 1
            else:
                self.answered += 1
            return body

        runner.run = run  # type: ignore[method-assign]


@asynccontextmanager
async def _app(url: str, compiled: bool) -> AsyncIterator[tuple[Api, Any]]:
    settings = Settings(
        database_url=url,
        audit_seal_interval=3600,
        compare_interval_seconds=0,
        webhook_poll_seconds=0,
        compiled_eligibility=compiled,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, app), app


@asynccontextmanager
async def _pair(url: str, **client: Any) -> AsyncIterator[tuple[Api, Api, Counting]]:
    """The same client's token on the hot app and on the general one."""
    async with _app(url, True) as (hot_base, hot_app), _app(url, False) as (plain_base, _):
        hot = await hot_base.as_client(**client)
        plain = Api(plain_base.client, plain_base.app, hot.headers)
        yield hot, plain, Counting(hot_app.state.compiled_eligibility)


async def _statuses(url: str) -> list[str]:
    """ID numbers covering every answer: each household status with and without a category,
    a deceased person and one who left their household."""
    rows = await sql(
        url,
        """SELECT DISTINCT ON (h.status, h.category = 'NONE') p.id_number
        FROM persons p JOIN memberships m ON m.person_id = p.id AND m.left_on IS NULL
        JOIN households h ON h.id = m.household_id WHERE p.deceased_on IS NULL
        ORDER BY h.status, h.category = 'NONE', p.id""",
    )
    numbers = [r[0] for r in rows]
    dead, gone = (
        await sql(
            url,
            """SELECT p.id_number FROM persons p JOIN memberships m ON m.person_id = p.id
            AND m.left_on IS NULL ORDER BY p.id DESC LIMIT 2""",
        )
    )[:2]
    await sql(url, "UPDATE persons SET deceased_on = '2026-01-02' WHERE id_number = :n", n=dead[0])
    await sql(
        url,
        """UPDATE memberships SET left_on = '2026-01-02' WHERE left_on IS NULL
        AND person_id = (SELECT id FROM persons WHERE id_number = :n)""",
        n=gone[0],
    )
    return [*numbers, dead[0], gone[0]]


async def _audit(url: str, client_id: str) -> list[tuple[Any, ...]]:
    rows = await sql(
        url,
        """SELECT client_id, agency, kind, action, purpose, subjects::text, fields::text,
        result_count, outcome FROM audit_events WHERE client_id = :c ORDER BY id""",
        c=client_id,
    )
    return [tuple(r) for r in rows]


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    import json

    # JSON columns compared as values: the statement writes the same content, spaced otherwise.
    return (*row[:5], json.loads(row[5]), json.loads(row[6]), *row[7:])


async def test_every_status_answered_as_the_general_path_does(pg_demo_url: str) -> None:
    numbers = await _statuses(pg_demo_url)
    statuses = await sql(pg_demo_url, "SELECT DISTINCT status FROM households")
    assert len(numbers) >= len(statuses) + 2
    # Duplicates, an unknown number and a lower-case check character echoed as sent.
    with_x = next((n for n in numbers if n.endswith("X")), None)
    asked = [*numbers, UNKNOWN, numbers[0], *([with_x.lower()] if with_x else [])]
    async with _pair(pg_demo_url, agency="medical-security", profile="medical-security") as (
        hot,
        plain,
        counting,
    ):
        fast = await hot.data(QUERY, {"ids": asked})
        slow = await plain.data(QUERY, {"ids": asked})
        assert counting.answered == 1
        client_id = await _client_id(hot)
    assert fast == slow
    answers = fast["eligibility"]
    assert [a["idNumber"] for a in answers] == asked
    seen = {a["status"] for a in answers}
    assert {"UNKNOWN", "DECEASED", "NO_HOUSEHOLD"} <= seen
    assert {s[0] for s in statuses} <= seen
    assert any(a["validUntil"] for a in answers)
    events = [_normal(e) for e in await _audit(pg_demo_url, client_id)]
    assert len(events) == 2
    assert events[0] == events[1]
    assert events[0][8] == "OK"
    assert events[0][7] == len(asked)
    assert events[0][5]["persons"]
    assert events[0][5]["households"]


async def _client_id(api: Api) -> str:
    """The client id the token names (its `sub`), read from the JWT's payload."""
    import base64
    import json

    payload = api.headers["Authorization"].split()[1].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    client_id: str = claims["sub"]
    return client_id


async def test_region_bound_client_sees_only_its_region(pg_demo_url: str) -> None:
    town, inside = (
        await sql(
            pg_demo_url,
            """SELECT h.region_code, p.id_number FROM persons p JOIN memberships m
            ON m.person_id = p.id AND m.left_on IS NULL JOIN households h
            ON h.id = m.household_id ORDER BY p.id LIMIT 1""",
        )
    )[0]
    outside = (
        await sql(
            pg_demo_url,
            """SELECT p.id_number FROM persons p JOIN memberships m ON m.person_id = p.id
            AND m.left_on IS NULL JOIN households h ON h.id = m.household_id
            WHERE h.region_code <> :town ORDER BY p.id LIMIT 1""",
            town=town,
        )
    )[0][0]
    async with _pair(
        pg_demo_url, agency="medical-security", scopes=["eligibility:read"], region=town
    ) as (hot, plain, counting):
        fast = await hot.data(QUERY, {"ids": [inside, outside]})
        slow = await plain.data(QUERY, {"ids": [inside, outside]})
        assert counting.answered == 1
    assert fast == slow
    assert [a["found"] for a in fast["eligibility"]] == [True, False]
    assert fast["eligibility"][1]["status"] == "UNKNOWN"


@pytest.mark.parametrize(
    ("query", "variables", "operation"),
    [
        # Aliases, __typename and an operation name.
        (
            "query Desk($ids: [String!]!) { e: eligibility(idNumbers: $ids) "
            "{ __typename n: idNumber status s: status } }",
            "list",
            "Desk",
        ),
        # The numbers in the document; one string for a list of one.
        ('{{ eligibility(idNumbers: ["{n}", "{u}"]) {{ idNumber found }} }}', None, None),
        ('{{ eligibility(idNumbers: "{n}") {{ found category }} }}', None, None),
        ("query($ids: [String!]!) { eligibility(idNumbers: $ids) { found } }", "one", None),
    ],
)
async def test_document_shapes_compiled(
    pg_demo_url: str, query: str, variables: str | None, operation: str | None
) -> None:
    number = (await _statuses(pg_demo_url))[0]
    text = query.format(n=number, u=UNKNOWN) if variables is None else query
    values = {"list": {"ids": [number, UNKNOWN]}, "one": {"ids": number}}.get(variables or "")
    async with _pair(pg_demo_url, agency="medical-security", profile="medical-security") as (
        hot,
        plain,
        counting,
    ):
        body = {"query": text, "variables": values, "operationName": operation}
        fast = await hot.client.post("/graphql", json=body, headers=hot.headers)
        slow = await plain.client.post("/graphql", json=body, headers=plain.headers)
        assert counting.answered == 1
    assert fast.status_code == slow.status_code == 200
    assert fast.json() == slow.json()
    assert "errors" not in fast.json()


@pytest.mark.parametrize(
    "query",
    [
        # What the compiler leaves to the general path: fragments, directives, two root fields.
        "query($ids: [String!]!) { eligibility(idNumbers: $ids) { ...F } } "
        "fragment F on Eligibility { found }",
        "query($ids: [String!]!) { eligibility(idNumbers: $ids) { found @include(if: true) } }",
        "query($ids: [String!]!) { eligibility(idNumbers: $ids) { found } "
        "again: eligibility(idNumbers: $ids) { status } }",
    ],
)
async def test_other_shapes_take_the_general_path(pg_demo_url: str, query: str) -> None:
    number = (await _statuses(pg_demo_url))[0]
    async with _pair(pg_demo_url, agency="medical-security", profile="medical-security") as (
        hot,
        plain,
        counting,
    ):
        fast = await hot.graphql(query, {"ids": [number]})
        slow = await plain.graphql(query, {"ids": [number]})
        assert counting.answered == 0
    assert fast == slow
    assert fast["data"]["eligibility"][0]["found"] is True


async def test_refusals_answered_and_audited_by_the_general_path(pg_demo_url: str) -> None:
    number = (await _statuses(pg_demo_url))[0]
    async with _pair(pg_demo_url, agency="medical-security", profile="medical-security") as (
        hot,
        plain,
        counting,
    ):
        client_id = await _client_id(hot)
        # Bad input: the error names the field, whichever app answers; nothing is compiled.
        bad = number[:-1] + ("1" if number[-1] == "0" else "0")
        for api in (hot, plain):
            body = await api.graphql(QUERY, {"ids": [number, bad]})
            assert body["errors"][0]["extensions"]["field"] == "idNumbers[1]"
        # No purpose: 400 from both.
        for api in (hot, plain):
            response = await api.post(QUERY, {"ids": [number]}, headers={"X-Purpose": ""})
            assert response.status_code == 400
        assert counting.answered == 0
        # The client loses a scope it had when the token was issued: the statement refuses
        # (nothing stored), the general path answers within what is left.
        await sql(
            pg_demo_url,
            """UPDATE oauth_clients SET scopes = '["eligibility:read"]' WHERE client_id = :c""",
            c=client_id,
        )
        fast = await hot.graphql(QUERY, {"ids": [number]})
        slow = await plain.graphql(QUERY, {"ids": [number]})
        assert fast == slow
        assert counting.declined == 1
        assert counting.answered == 0
        # A revoked client: 401 from both, audited as such.
        await sql(
            pg_demo_url,
            "UPDATE oauth_clients SET revoked_at = now() WHERE client_id = :c",
            c=client_id,
        )
        for api in (hot, plain):
            response = await api.post(QUERY, {"ids": [number]})
            assert response.status_code == 401
        assert counting.declined == 2
        assert counting.answered == 0
    events = [
        _normal(tuple(r))
        for r in await sql(
            pg_demo_url,
            """SELECT client_id, agency, kind, action, purpose, subjects::text, fields::text,
            result_count, outcome FROM audit_events WHERE kind = 'READ' ORDER BY id""",
        )
    ]
    # Each request audited once, by the general path, the same from either app (the token id
    # in the subjects included).
    assert events[0::2] == events[1::2]
    assert [e[8] for e in events[0::2]] == ["ERROR", "NO_PURPOSE", "OK", "UNAUTHENTICATED"]


async def test_revoked_token_and_rotated_secret_refused(pg_demo_url: str) -> None:
    number = (await _statuses(pg_demo_url))[0]
    async with _pair(pg_demo_url, agency="medical-security", profile="medical-security") as (
        hot,
        _plain,
        counting,
    ):
        assert (await hot.post(QUERY, {"ids": [number]})).status_code == 200
        client_id = await _client_id(hot)
        await sql(
            pg_demo_url,
            "UPDATE oauth_clients SET secret_rotated_at = now() + interval '1 second' "
            "WHERE client_id = :c",
            c=client_id,
        )
        assert (await hot.post(QUERY, {"ids": [number]})).status_code == 401
        assert counting.answered == 1
        assert counting.declined == 1


async def test_a_large_literal_document_is_compiled_without_being_cached(pg_demo_url: str) -> None:
    numbers = await _statuses(pg_demo_url)
    asked = (numbers * (900 // len(numbers) + 1))[:900]
    listed = ", ".join(f'"{n}"' for n in asked)
    text = f"{{ eligibility(idNumbers: [{listed}]) {{ idNumber status }} }}"
    assert len(text) > 16 * 1024  # past the parse cache: a new document object every time
    async with _pair(pg_demo_url, agency="medical-security", profile="medical-security") as (
        hot,
        plain,
        counting,
    ):
        first = await hot.data(text)
        again = await hot.data(text)
        slow = await plain.data(text)
        assert counting.answered == 2
    assert first == again == slow
    assert [a["idNumber"] for a in first["eligibility"]] == asked
