"""The HTTP surface every response shares: security headers, CORS, body limits, masked errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.http.security import API_CSP, PAGE_CSP
from tests.conftest import Api, _api


async def test_api_answers_carry_the_security_headers(api: Api) -> None:
    response = await api.post("{ __typename }")
    headers = response.headers
    assert headers["content-security-policy"] == API_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in headers  # plain http: HSTS means nothing here
    for path in ("/healthz", "/openapi.json", "/.well-known/jwks.json", "/nowhere"):
        response = await api.client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["content-security-policy"] == API_CSP, path


async def test_pages_get_their_own_policy(api: Api) -> None:
    response = await api.client.get("/console/signed-out")
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"


async def test_hsts_behind_tls(database_url: str) -> None:
    async for a in _api(database_url, issuer="https://lig.mz.example.gov.cn"):
        response = await a.client.get("/healthz")
        assert response.headers["strict-transport-security"] == (
            "max-age=31536000; includeSubDomains"
        )


async def test_no_cross_origin_calls_unless_allowed(database_url: str) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async for a in _api(database_url):
        response = await a.client.options("/graphql", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    async for a in _api(database_url, cors_origins=["https://yb.example.gov.cn"]):
        response = await a.client.options("/graphql", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        allowed = {**preflight, "Origin": "https://yb.example.gov.cn"}
        response = await a.client.options("/graphql", headers=allowed)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://yb.example.gov.cn"
        response = await a.post("{ __typename }", headers={"Origin": "https://yb.example.gov.cn"})
        assert response.headers["access-control-allow-origin"] == "https://yb.example.gov.cn"


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_small_endpoints_refuse_large_bodies(api: Api) -> None:
    form = b"grant_type=client_credentials&scope=" + b"x" * 70_000
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await api.client.post("/oauth/token", content=form, headers=headers)
    assert response.status_code == 413
    problem = response.json()
    assert problem["title"] == "Content Too Large"
    assert "65536 bytes" in problem["detail"]
    # Sent in chunks, without a Content-Length: refused as soon as it is over.
    response = await api.client.post("/oauth/token", content=_chunks(form, 8192), headers=headers)
    assert response.status_code == 413
    # Under the limit, the endpoint reads it as before.
    response = await api.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "wrong")
    )
    assert response.status_code == 401


async def test_graphql_bodies_over_the_limit(database_url: str) -> None:
    async for a in _api(database_url, graphql_max_body_bytes=2048):
        response = await a.post("{ __typename }" + " " * 3000)
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_an_unexpected_error_outside_graphql_is_masked(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.http import api_v1

    async def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail: /srv/lig/x.py SELECT password FROM staff_users")

    monkeypatch.setattr(api_v1, "find_receipt", explode)
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(
            "/api/v1/receipts/0123456789abcdef0123456789abcdef",
            headers={**api.headers, "X-Request-Id": "probe-42"},
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "probe-42"
    for leak in ("secret", "/srv/", "SELECT", "Traceback", "RuntimeError"):
        assert leak not in response.text
    assert response.json()["request_id"] == "probe-42"
