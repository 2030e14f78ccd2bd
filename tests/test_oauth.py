"""The OAuth 2.0 authorization server (client credentials) and bearer-token authentication."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth import keys as keyring
from auth.bearer import BearerRefused, authenticate
from auth.clients import add_client, ensure_demo_clients, revoke_client, rotate_secret
from auth.keys import KeyRing
from auth.scopes import PROFILES
from gateway.app import create_app
from gateway.database import Database
from gateway.errors import Conflict
from gateway.models import AuditEvent, OAuthClient, RevokedToken, SigningKey
from gateway.settings import Settings
from tests.conftest import lig

pytestmark = pytest.mark.usefixtures("engine")

GRANT = {"grant_type": "client_credentials"}


async def whoami(request: Request) -> Response:
    """A tiny protected route: the principal, or the refusal as /graphql would send it."""
    try:
        principal = await authenticate(request)
    except BearerRefused as refused:
        return JSONResponse({"error": refused.message}, status_code=401, headers=refused.headers)
    return JSONResponse(
        {
            "client_id": principal.client_id,
            "agency": principal.agency,
            "scopes": sorted(principal.scopes),
            "region": principal.region_code,
            "token_id": principal.token_id,
        }
    )


@dataclass
class Server:
    app: Starlette
    http: httpx.AsyncClient

    @property
    def db(self) -> Database:
        db: Database = self.app.state.db
        return db

    @property
    def ring(self) -> KeyRing:
        ring: KeyRing = self.app.state.keys
        return ring

    async def client(
        self,
        profile: str | None = "medical-security",
        *,
        agency: str | None = None,
        scopes: tuple[str, ...] = (),
        region: str | None = None,
    ) -> tuple[str, str]:
        async with self.db.unit_of_work() as session:
            client, secret = await add_client(
                session, "test", agency or profile or "", profile, scopes, region
            )
        return client.client_id, secret

    async def token(self, client_id: str, secret: str, **form: str) -> httpx.Response:
        return await self.http.post("/oauth/token", data=GRANT | form, auth=(client_id, secret))

    async def access_token(self, client_id: str, secret: str, **form: str) -> str:
        response = await self.token(client_id, secret, **form)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def whoami(self, token: str) -> httpx.Response:
        return await self.http.get("/whoami", headers={"Authorization": f"Bearer {token}"})

    async def signing_key(self) -> ECKey:
        return (await self.ring.current()).signing


@asynccontextmanager
async def serving(url: str, **settings: Any) -> AsyncIterator[Server]:
    app = create_app(Settings(database_url=url, **settings))
    app.router.routes.append(Route("/whoami", whoami))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Server(app, http)


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[Server]:
    async with serving(database_url) as s:
        yield s


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims, _ = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(header + "==")),
        json.loads(base64.urlsafe_b64decode(claims + "==")),
    )


def forge(header: dict[str, Any], claims: dict[str, Any], key: ECKey) -> str:
    return jwt.encode(header, claims, key, algorithms=[header["alg"]], default_type=None)


def refusal(response: httpx.Response) -> str:
    """The error_description of an RFC 6750 refusal (and it is one)."""
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="lig", error="invalid_token", error_description="')
    return challenge.split('error_description="', 1)[1].rstrip('"')


async def test_token_by_basic_and_by_post(server: Server) -> None:
    client_id, secret = await server.client("town", region="320681100")
    response = await server.token(client_id, secret)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert (
        body["scope"]
        == "household:finance household:pii household:read warning:handle warning:read"
    )
    header, claims = parts(body["access_token"])
    assert header["alg"] == "ES256"
    assert header["typ"] == "at+jwt"
    assert header["kid"] == (await server.signing_key()).kid
    assert claims["iss"] == "http://testserver"
    assert claims["aud"] == "lig"
    assert claims["sub"] == claims["client_id"] == client_id
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 5
    assert claims["scope"] == body["scope"]
    assert claims["agency"] == "town"
    assert claims["region"] == "320681100000"
    assert len(claims["jti"]) >= 22

    # client_secret_post; and RFC 6749 §2.3.1 form-url-encoding inside the Basic credentials.
    post = await server.http.post(
        "/oauth/token", data=GRANT | {"client_id": client_id, "client_secret": secret}
    )
    assert post.status_code == 200, post.text
    escaped = client_id.replace("_", "%5F")
    basic = base64.b64encode(f"{escaped}:{secret}".encode()).decode()
    encoded = await server.http.post(
        "/oauth/token", data=GRANT, headers={"Authorization": f"Basic {basic}"}
    )
    assert encoded.status_code == 200, encoded.text
    assert parts(post.json()["access_token"])[1]["jti"] != claims["jti"]

    jwks = await server.http.get("/.well-known/jwks.json")
    assert jwks.headers["cache-control"] == "max-age=60"
    published = jwks.json()["keys"]
    assert header["kid"] in {k["kid"] for k in published}
    assert all("d" not in k for k in published)
    assert all(k["kty"] == "EC" and k["crv"] == "P-256" for k in published)


async def test_scopes_narrow_but_never_widen(server: Server) -> None:
    client_id, secret = await server.client("rural-revitalisation")
    narrowed = await server.token(client_id, secret, scope="household:read eligibility:read")
    assert narrowed.json()["scope"] == "eligibility:read household:read"
    assert parts(narrowed.json()["access_token"])[1]["scope"] == "eligibility:read household:read"
    for scope in ("household:read admin", "household:pii", "nonsense"):
        escalated = await server.token(client_id, secret, scope=scope)
        assert escalated.status_code == 400, scope
        assert escalated.json()["error"] == "invalid_scope"
    assert (
        "admin"
        in (await server.token(client_id, secret, scope="admin")).json()["error_description"]
    )


async def test_malformed_token_requests(server: Server) -> None:
    client_id, secret = await server.client()
    other = await server.token(client_id, secret, grant_type="password")
    assert other.status_code == 400
    assert other.json()["error"] == "unsupported_grant_type"
    missing = await server.http.post("/oauth/token", data={}, auth=(client_id, secret))
    assert missing.json()["error"] == "invalid_request"
    both = await server.http.post(
        "/oauth/token",
        data=GRANT | {"client_id": client_id, "client_secret": secret},
        auth=(client_id, secret),
    )
    assert both.status_code == 400
    assert both.json()["error"] == "invalid_request"
    repeated = await server.http.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&scope=a&scope=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(client_id, secret),
    )
    assert repeated.json() == {
        "error": "invalid_request",
        "error_description": "parameter scope is repeated",
    }
    as_json = await server.http.post("/oauth/token", json=GRANT, auth=(client_id, secret))
    assert as_json.json()["error"] == "invalid_request"


async def test_client_authentication_failures(server: Server) -> None:
    client_id, secret = await server.client()
    revoked_id, revoked_secret = await server.client("fire")
    async with server.db.unit_of_work() as session:
        await revoke_client(session, revoked_id)
    attempts = {
        "unknown": await server.token("lig_nobody", secret),
        "wrong secret": await server.token(client_id, secret + "x"),
        "revoked": await server.token(revoked_id, revoked_secret),
        "wrong secret, post": await server.http.post(
            "/oauth/token", data=GRANT | {"client_id": client_id, "client_secret": "x"}
        ),
        "none": await server.http.post("/oauth/token", data=GRANT),
        "bearer": await server.http.post(
            "/oauth/token", data=GRANT, headers={"Authorization": "Bearer x"}
        ),
        "garbled basic": await server.http.post(
            "/oauth/token", data=GRANT, headers={"Authorization": "Basic !!!"}
        ),
    }
    for what, response in attempts.items():
        assert response.status_code == 401, what
        assert response.json()["error"] == "invalid_client", what
        assert response.headers["www-authenticate"].startswith('Basic realm="lig"'), what
        assert response.headers["cache-control"] == "no-store"
    assert attempts["revoked"].json()["error_description"] == "the client has been revoked"


async def test_metadata_validates_and_names_the_endpoints(database_url: str) -> None:
    issuer = "https://lig.mzj.example.gov.cn"
    async with serving(database_url, issuer=issuer + "/") as server:
        response = await server.http.get("/.well-known/oauth-authorization-server")
        metadata = response.json()
        AuthorizationServerMetadata(metadata).validate()
        assert metadata["issuer"] == issuer
        assert metadata["token_endpoint"] == f"{issuer}/oauth/token"
        assert metadata["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
        assert metadata["introspection_endpoint"] == f"{issuer}/oauth/introspect"
        assert metadata["revocation_endpoint"] == f"{issuer}/oauth/revoke"
        # Departments' systems use client credentials; people sign in to the console with the
        # authorization code (PKCE, S256 only), the console being a public client ("none").
        assert metadata["grant_types_supported"] == ["client_credentials", "authorization_code"]
        assert metadata["authorization_endpoint"] == f"{issuer}/oauth/authorize"
        assert metadata["response_types_supported"] == ["code"]
        assert metadata["code_challenge_methods_supported"] == ["S256"]
        assert metadata["token_endpoint_auth_methods_supported"] == [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]
        for endpoint in ("introspection", "revocation"):
            assert metadata[f"{endpoint}_endpoint_auth_methods_supported"] == [
                "client_secret_basic",
                "client_secret_post",
            ]
        assert "household:pii" in metadata["scopes_supported"]
        # The configured issuer is the tokens' issuer too, and the one they are checked against.
        client_id, secret = await server.client()
        token = await server.access_token(client_id, secret)
        assert parts(token)[1]["iss"] == issuer
        assert (await server.whoami(token)).status_code == 200
    # Unconfigured, the issuer is the request's base URL. Plain http on a non-loopback host is
    # not RFC 8414-valid (the gateway logs a warning), but the document is still served.
    async with serving(database_url) as server:
        response = await server.http.get("/.well-known/oauth-authorization-server")
        assert response.status_code == 200
        assert response.json()["token_endpoint"] == "http://testserver/oauth/token"


async def test_demo_clients_one_per_profile_with_working_secrets(server: Server) -> None:
    async with server.db.unit_of_work() as session:
        first = await ensure_demo_clients(session)
    async with server.db.unit_of_work() as session:
        again = await ensure_demo_clients(session)
    assert [c.profile for c in first] == list(PROFILES)
    assert [c.client_id for c in again] == [c.client_id for c in first]
    town = next(c for c in again if c.profile == "town")
    assert parts(await server.access_token(town.client_id, town.client_secret))[1]["region"] == (
        "320681100000"
    )
    stale = next(c for c in first if c.profile == "town")
    assert (await server.token(stale.client_id, stale.client_secret)).status_code == 401


async def test_a_good_token_gives_the_principal(server: Server) -> None:
    client_id, secret = await server.client("town", region="320681100000")
    token = await server.access_token(client_id, secret, scope="household:read warning:read")
    who = await server.whoami(token)
    assert who.status_code == 200, who.text
    assert who.json() == {
        "client_id": client_id,
        "agency": "town",
        "scopes": ["household:read", "warning:read"],
        "region": "320681100000",
        "token_id": parts(token)[1]["jti"],
    }
    # A scope the client has lost since the token was issued is gone at once.
    async with server.db.unit_of_work() as session:
        await session.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == client_id)
            .values(scopes=["household:read"])
        )
    assert (await server.whoami(token)).json()["scopes"] == ["household:read"]

    no_token = await server.http.get("/whoami")
    assert no_token.status_code == 401
    assert no_token.headers["www-authenticate"] == 'Bearer realm="lig"'
    basic = await server.http.get("/whoami", auth=(client_id, secret))
    assert basic.headers["www-authenticate"] == 'Bearer realm="lig"'


async def test_forged_and_stale_tokens_are_refused(server: Server) -> None:
    client_id, secret = await server.client()
    good = await server.access_token(client_id, secret)
    header, claims = parts(good)
    key = await server.signing_key()
    now = int(time.time())
    public_pem = key.as_pem(private=False)

    def hs256() -> str:
        hs_header = _b64(json.dumps(header | {"alg": "HS256"}).encode())
        signing_input = f"{hs_header}.{_b64(json.dumps(claims).encode())}"
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"

    untyped = {k: v for k, v in header.items() if k != "typ"}
    cases = {
        "expired": (
            forge(header, claims | {"iat": now - 3700, "nbf": now - 3700, "exp": now - 100}, key),
            "the token has expired",
        ),
        "not yet valid": (
            forge(header, claims | {"iat": now, "nbf": now + 120}, key),
            "the token is not valid yet (nbf)",
        ),
        "issued in the future": (
            forge(header, claims | {"iat": now + 120, "nbf": now}, key),
            "the token says it was issued in the future (iat)",
        ),
        "wrong signature": (
            forge(header, claims, ECKey.generate_key("P-256")),
            "the token's signature does not verify",
        ),
        "wrong audience": (
            forge(header, claims | {"aud": "another-gateway"}, key),
            "the token is for another audience",
        ),
        "wrong issuer": (
            forge(header, claims | {"iss": "https://evil.example"}, key),
            "the token is from another issuer",
        ),
        "unknown kid": (
            forge(header | {"kid": "nope"}, claims, ECKey.generate_key("P-256")),
            "the token's signing key (kid) is unknown",
        ),
        "alg none": (
            f"{_b64(json.dumps(header | {'alg': 'none'}).encode())}."
            f"{_b64(json.dumps(claims).encode())}.",
            "the token is not signed with ES256",
        ),
        "HS256 keyed with the public key": (hs256(), "the token is not signed with ES256"),
        "missing typ": (
            forge(untyped, claims, key),
            "the token is not an access token (typ at+jwt)",
        ),
        "typ JWT": (
            forge(header | {"typ": "JWT"}, claims, key),
            "the token is not an access token (typ at+jwt)",
        ),
        "no nbf": (
            forge(header, {k: v for k, v in claims.items() if k != "nbf"}, key),
            "the token lacks a claim it needs (nbf)",
        ),
        "no jti": (
            forge(header, {k: v for k, v in claims.items() if k != "jti"}, key),
            "the token lacks a claim it needs (jti)",
        ),
        "another client's sub": (
            forge(header, claims | {"sub": "lig_someone"}, key),
            "the token's sub and client_id do not name one client",
        ),
        "unknown client": (
            forge(header, claims | {"sub": "lig_nobody", "client_id": "lig_nobody"}, key),
            "the token's client is unknown",
        ),
        "not a JWT": ("not-a-token", "the access token is not a signed JWT"),
    }
    for what, (token, description) in cases.items():
        response = await server.whoami(token)
        assert refusal(response) == description, what
        assert token not in response.text, what
    # Within the 30 s leeway a signer's clock may run ahead; the good token still works.
    assert (await server.whoami(forge(header, claims | {"nbf": now + 10}, key))).status_code == 200
    assert (await server.whoami(good)).status_code == 200


async def test_revoked_tokens_clients_and_rotated_secrets_are_refused_at_once(
    server: Server,
) -> None:
    client_id, secret = await server.client()
    token = await server.access_token(client_id, secret)
    kept = await server.access_token(client_id, secret)
    revoked = await server.http.post(
        "/oauth/revoke", data={"token": token}, auth=(client_id, secret)
    )
    assert revoked.status_code == 200
    assert revoked.content == b""
    assert refusal(await server.whoami(token)) == "the token has been revoked"
    assert (await server.whoami(kept)).status_code == 200
    again = await server.http.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    assert again.status_code == 200
    garbage = await server.http.post(
        "/oauth/revoke", data={"token": "garbage"}, auth=(client_id, secret)
    )
    assert garbage.status_code == 200
    assert garbage.content == b""
    no_token = await server.http.post("/oauth/revoke", data={}, auth=(client_id, secret))
    assert no_token.json()["error"] == "invalid_request"
    anonymous = await server.http.post("/oauth/revoke", data={"token": token})
    assert anonymous.status_code == 401
    async with server.db.unit_of_work() as session:
        rows = (await session.scalars(select(RevokedToken))).all()
        assert [(r.jti, r.client_id) for r in rows] == [(parts(token)[1]["jti"], client_id)]
        assert int(rows[0].expires_at.timestamp()) == parts(token)[1]["exp"]
        audit = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "tokens.revoke"))
        ).all()
        assert len(audit) == 1

    # A rotated secret: the old one no longer authenticates, earlier tokens are refused, and a
    # token made with the new secret in the same second works.
    async with server.db.unit_of_work() as session:
        _, new_secret = await rotate_secret(session, client_id)
    assert (await server.token(client_id, secret)).status_code == 401
    fresh = await server.access_token(client_id, new_secret)
    assert refusal(await server.whoami(kept)) == (
        "the client's secret was rotated after this token was issued"
    )
    assert (await server.whoami(fresh)).status_code == 200

    async with server.db.unit_of_work() as session:
        await revoke_client(session, client_id)
    assert refusal(await server.whoami(fresh)) == "the token's client has been revoked"


async def test_introspection(server: Server) -> None:
    own_id, own_secret = await server.client("town", region="320681100000")
    other_id, other_secret = await server.client("education")
    admin_id, admin_secret = await server.client("civil-affairs")
    token = await server.access_token(own_id, own_secret, scope="household:read")

    async def introspect(text: str, client_id: str, secret: str) -> dict[str, Any]:
        response = await server.http.post(
            "/oauth/introspect", data={"token": text}, auth=(client_id, secret)
        )
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body: dict[str, Any] = response.json()
        return body

    own = await introspect(token, own_id, own_secret)
    claims = parts(token)[1]
    assert own == {
        "active": True,
        "scope": "household:read",
        "client_id": own_id,
        "token_type": "Bearer",
        "sub": own_id,
        "aud": "lig",
        "iss": "http://testserver",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "jti": claims["jti"],
        "agency": "town",
        "region": "320681100000",
    }
    assert await introspect(token, other_id, other_secret) == {"active": False}
    assert (await introspect(token, admin_id, admin_secret))["active"] is True
    assert await introspect("garbage", own_id, own_secret) == {"active": False}

    # Revoking another client's token does nothing (and says nothing); an admin client can.
    await server.http.post("/oauth/revoke", data={"token": token}, auth=(other_id, other_secret))
    assert (await introspect(token, own_id, own_secret))["active"] is True
    await server.http.post("/oauth/revoke", data={"token": token}, auth=(admin_id, admin_secret))
    assert await introspect(token, own_id, own_secret) == {"active": False}
    assert await introspect(token, admin_id, admin_secret) == {"active": False}

    anonymous = await server.http.post("/oauth/introspect", data={"token": token})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    missing = await server.http.post("/oauth/introspect", data={}, auth=(own_id, own_secret))
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


async def test_key_rotation_keeps_old_tokens_valid(server: Server, database_url: str) -> None:
    client_id, secret = await server.client()
    before = await server.access_token(client_id, secret)
    old_kid = parts(before)[0]["kid"]

    rotated = lig("keys", "rotate", url=database_url)
    assert rotated.returncode == 0, rotated.stderr
    new_kid = json.loads(rotated.stdout)["kid"]
    assert json.loads(rotated.stdout)["retired"] == [old_kid]

    # Another process signs with the new key before this one has reloaded: the unknown kid
    # makes this process read the keys again (once), and the token verifies.
    elsewhere = KeyRing(Database(Settings(database_url=database_url)))
    try:
        header, claims = parts(before)
        signed_elsewhere = forge(
            header | {"kid": new_kid}, claims, (await elsewhere.current()).signing
        )
    finally:
        await elsewhere.db.dispose()
    assert (await server.whoami(signed_elsewhere)).status_code == 200
    assert (await server.whoami(before)).status_code == 200
    after = await server.access_token(client_id, secret)
    assert parts(after)[0]["kid"] == new_kid
    assert (await server.whoami(after)).status_code == 200
    published = {k["kid"] for k in (await server.http.get("/.well-known/jwks.json")).json()["keys"]}
    assert published == {old_kid, new_kid}

    async with server.db.unit_of_work() as session:
        statuses = {s.kid: s.status for s in await keyring.statuses(session, server.ring.settings)}
    assert statuses[new_kid] == "active"
    assert statuses[old_kid].startswith("verifies until ")

    # A made-up kid reloads the keys at most every few seconds.
    reloads = 0
    reload = server.ring.reload

    async def counting() -> keyring.Keys:
        nonlocal reloads
        reloads += 1
        return await reload()

    server.ring.reload = counting  # type: ignore[method-assign]
    server.ring._unknown_kid_at = 0.0  # as if the last such reload was long ago
    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        assert await server.ring.verification_key(kid) is None
    assert reloads == 1


async def test_a_key_file_signs_and_the_database_keeps_its_public_half(
    database_url: str, tmp_path: Path
) -> None:
    async with serving(database_url) as server:
        generated = (await server.signing_key()).kid
    key = ECKey.generate_key("P-256")
    path = tmp_path / "signing.pem"
    path.write_bytes(key.as_pem(private=True))
    async with serving(database_url, signing_key_file=str(path)) as server:
        client_id, secret = await server.client()
        token = await server.access_token(client_id, secret)
        assert parts(token)[0]["kid"] == key.thumbprint()
        assert (await server.whoami(token)).status_code == 200
        async with server.db.unit_of_work() as session:
            rows = {r.kid: r for r in (await session.scalars(select(SigningKey))).all()}
            assert rows[key.thumbprint()].private_jwk is None
            assert "d" not in rows[key.thumbprint()].public_jwk
            assert rows[generated].retired_at is not None
            with pytest.raises(Conflict, match="replace the key file instead"):
                await keyring.rotate(session, server.ring.settings)

    path.write_text("not a key")
    db = Database(Settings(database_url=database_url, signing_key_file=str(path)))
    try:
        with pytest.raises(keyring.KeyFileError, match="not a PEM EC P-256 private key"):
            KeyRing(db)
    finally:
        await db.dispose()
