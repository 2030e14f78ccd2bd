"""Health, readiness, metrics and the shape of GraphQL over HTTP."""

from __future__ import annotations

import httpx

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import Api


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_not_ready_when_the_database_is_unreachable() -> None:
    # Port 1 on loopback: nothing listens there.
    app = create_app(Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            assert (await client.get("/healthz")).status_code == 200
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not ready"


async def test_metrics_count_operations_and_requests(api: Api) -> None:
    await api.client.post(
        "/graphql",
        json={
            "query": "query Lookup { households(first: 1) { edges { cursor } } }",
            "operationName": "Lookup",
        },
        headers=api.headers,
    )
    text = (await api.client.get("/metrics")).text
    assert 'lig_graphql_operations_total{operation="Lookup",outcome="ok"}' in text
    assert 'lig_http_requests_total{method="POST",route="/graphql",status="200"}' in text
    assert "lig_graphql_operation_duration_seconds_bucket" in text


async def test_malformed_requests_are_refused_clearly(api: Api) -> None:
    not_json = await api.client.post(
        "/graphql", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["errors"][0]["message"] == "the body is not valid JSON"
    no_query = await api.client.post("/graphql", json={"variables": {}})
    assert no_query.status_code == 400
    assert "query" in no_query.json()["errors"][0]["message"]
    get = await api.client.get("/graphql", params={"query": "{ __typename }"})
    assert get.status_code == 405
    syntax = await api.post("{ households(")
    assert syntax.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_money_is_an_exact_decimal_string(demo_api: Api) -> None:
    data = await demo_api.data(
        "{ households(first: 50, filter: {category: DIBAO}) { nodes "
        "{ assistanceRecords { nodes { amount } } } } }"
    )
    amounts = [
        r["amount"] for h in data["households"]["nodes"] for r in h["assistanceRecords"]["nodes"]
    ]
    assert amounts
    for amount in amounts:
        whole, _, cents = amount.partition(".")
        assert whole.isdigit()
        assert len(cents) == 2
