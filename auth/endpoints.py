"""The authorization server over HTTP: token (client credentials; the console's authorization
code, auth/authorize.py), introspection, revocation, metadata and keys.

authlib's AuthorizationServer is synchronous and our client store is async, so the endpoints are
our own; authlib still mints the tokens (auth.tokens) and shapes every error (its RFC 6749/6750
error classes give the RFC bodies and headers). Each endpoint owns its unit of work.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    UnsupportedGrantTypeError,
)
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth import secrets
from auth.authorize import CodeError, authorize_endpoint, exchange_code
from auth.keys import KeyRing
from auth.roles import CONSOLE_CLIENT_ID
from auth.scopes import ALL_SCOPES, UnknownScope, as_text, parse
from auth.tokens import (
    CODE_GRANT_TYPE,
    GRANT_TYPE,
    REALM,
    AccessToken,
    Standing,
    grant_for,
    issuer_for,
    mint,
    refusal,
    standing,
    verify,
)
from gateway.audit import record_change
from gateway.database import Database
from gateway.http.responses import JSONResponse, request_id
from gateway.models import OAuthClient, RevokedToken
from gateway.models.base import utcnow
from gateway.principal import Principal

log = logging.getLogger("lig.oauth")

FORM = "application/x-www-form-urlencoded"
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Parameters that RFC 6749 §3.2 forbids to repeat (the ones these endpoints read).
_PARAMETERS = (
    "grant_type",
    "scope",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
    "code",
    "redirect_uri",
    "code_verifier",
)
MAX_TOKEN_LENGTH = 8192
MAX_FORM_BYTES = 64 * 1024


def _error(error: OAuth2Error) -> Response:
    status, body, headers = error()
    out = dict(headers)
    challenge = out.get("WWW-Authenticate", "")
    if challenge.startswith("Basic "):
        # RFC 7617 makes the realm part of every Basic challenge; authlib leaves it out.
        out["WWW-Authenticate"] = f'Basic realm="{REALM}", {challenge.removeprefix("Basic ")}'
    return JSONResponse(body, status_code=status, headers=out)


def _safe(text: str) -> str:
    """Caller-sent text fit for an error_description (RFC 6749 allows no quote or backslash)."""
    cleaned = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "?" for c in text
    )
    return cleaned[:40]


async def _form(request: Request) -> dict[str, str]:
    """The form parameters; one sent empty counts as not sent (RFC 6749 §3.1).

    Parsed here with the standard library: Starlette's form parser needs python-multipart, which
    these few urlencoded fields do not warrant.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM:
        raise InvalidRequestError(description=f"send the parameters as {FORM}")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequestError(description=f"the form is over {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequestError(description="the form is not valid urlencoded text") from None
    out: dict[str, str] = {}
    for name in _PARAMETERS:
        values = [value for key, value in pairs if key == name]
        if len(values) > 1:
            raise InvalidRequestError(description=f"parameter {name} is repeated")
        if values and values[0]:
            out[name] = values[0]
    return out


def _invalid_client(description: str) -> InvalidClientError:
    # 401 makes authlib add `WWW-Authenticate: Basic …`, the scheme a client should use.
    return InvalidClientError(description=description, status_code=401)


@dataclass(frozen=True, slots=True)
class _Credentials:
    client_id: str
    secret: str


def _credentials(request: Request, form: dict[str, str]) -> _Credentials:
    """client_secret_basic (RFC 6749 §2.3.1: both parts form-url-encoded) or client_secret_post."""
    header = request.headers.get("authorization")
    if header is not None:
        if "client_id" in form or "client_secret" in form:
            raise InvalidRequestError(
                description="authenticate the client one way: HTTP Basic or the form, not both"
            )
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "basic":
            raise _invalid_client("authenticate the client with HTTP Basic or client_secret_post")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_client("the HTTP Basic credentials are malformed") from None
        client_id, colon, secret = decoded.partition(":")
        if not colon:
            raise _invalid_client("the HTTP Basic credentials are malformed")
        return _Credentials(unquote_plus(client_id), unquote_plus(secret))
    if "client_id" not in form or "client_secret" not in form:
        raise _invalid_client(
            "client authentication is required: HTTP Basic, or client_id and client_secret"
        )
    return _Credentials(form["client_id"], form["client_secret"])


async def _authenticate(
    session: AsyncSession, request: Request, form: dict[str, str]
) -> OAuthClient:
    given = _credentials(request, form)
    # Ids are ours (`lig_` + URL-safe base64): anything else cannot match, and is not sent to the
    # database (PostgreSQL refuses text holding a NUL).
    usable = 0 < len(given.client_id) <= 64 and given.client_id.isascii()
    usable = usable and given.client_id.isprintable()
    client = await session.get(OAuthClient, given.client_id) if usable else None
    # An unknown id is checked against a dummy hash: it takes as long as a wrong secret.
    matches = secrets.verify_secret(given.secret, client.secret_hash if client else secrets.UNKNOWN)
    # The console is a public client (PKCE, no secret): it never authenticates as itself.
    if client is None or not matches or client.client_id == CONSOLE_CLIENT_ID:
        raise _invalid_client("client authentication failed")
    if client.revoked_at is not None:
        raise _invalid_client("the client has been revoked")
    return client


def _granted(client: OAuthClient, requested: str | None) -> str:
    """The scopes of the token: the client's, or the narrower set it asked for; never more."""
    allowed = frozenset(client.scopes)
    try:
        wanted = parse(requested or "")
    except UnknownScope:
        raise InvalidScopeError(description="scope names a scope that does not exist") from None
    if not wanted:
        return as_text(allowed)
    beyond = wanted - allowed
    if beyond:
        raise InvalidScopeError(description=f"the client may not have {as_text(beyond)}")
    return as_text(wanted)


def _issuer(request: Request, ring: KeyRing) -> str:
    return issuer_for(ring.settings, str(request.base_url))


async def token_endpoint(request: Request) -> Response:
    """RFC 6749 §4.4 client credentials grant (and §4.1.3 for the console's codes).
    ---
    summary: Get an access token (OAuth 2.0 client credentials; the console's authorization code)
    description: >
      Form-encoded `grant_type=client_credentials`, the client authenticated with HTTP Basic
      (`client_secret_basic`) or `client_id` and `client_secret` in the form
      (`client_secret_post`), not both. An optional `scope` (space-separated) narrows the
      client's scopes; it cannot widen them. The access token is an ES256-signed JWT (RFC 9068,
      `typ: at+jwt`) with `scope`, `client_id`, `agency`, `region` (when the client is bound to
      one), `iss`, `aud`, `iat`, `nbf`, `exp` and `jti`. The console, a public client, uses
      `grant_type=authorization_code` with `client_id`, `code`, `redirect_uri` and the PKCE
      `code_verifier`: its token's `sub` is the person (`user:NAME`), with the person's role's
      scopes, agency and region.
    requestBody:
      required: true
      content:
        application/x-www-form-urlencoded:
          schema:
            type: object
            required: [grant_type]
            properties:
              grant_type: {type: string, enum: [client_credentials, authorization_code]}
              scope: {type: string}
              client_id: {type: string}
              client_secret: {type: string}
              code: {type: string}
              redirect_uri: {type: string}
              code_verifier: {type: string}
    responses:
      200:
        description: "`{access_token, token_type: Bearer, expires_in, scope}`, not to be cached."
      400:
        description: "RFC 6749 §5.2 error: invalid_request, unsupported_grant_type, invalid_scope."
      401:
        description: "invalid_client: unknown client, wrong secret, or revoked client."
    """
    db: Database = request.app.state.db
    ring: KeyRing = request.app.state.keys
    try:
        form = await _form(request)
        grant_type = form.get("grant_type")
        if grant_type is None:
            raise InvalidRequestError(description="grant_type is required")
        if grant_type == CODE_GRANT_TYPE:
            return await _code_grant(request, form)
        if grant_type != GRANT_TYPE:
            unsupported = UnsupportedGrantTypeError(_safe(grant_type))
            unsupported.description = (
                f"grant_type must be {GRANT_TYPE} or {CODE_GRANT_TYPE} (the console's sign-in)"
            )
            raise unsupported
        async with db.unit_of_work() as session:
            client = await _authenticate(session, request, form)
            grant = grant_for(client, _granted(client, form.get("scope")))
        keys = await ring.current()
        body = mint(keys, grant, issuer=_issuer(request, ring), settings=ring.settings)
    except OAuth2Error as error:
        return _error(error)
    return JSONResponse(body, headers=NO_STORE)


async def _code_grant(request: Request, form: dict[str, str]) -> Response:
    """RFC 6749 §4.1.3 for the console, a public client: no secret, the PKCE verifier instead."""
    if "authorization" in request.headers or "client_secret" in form:
        raise InvalidRequestError(description="the console is a public client: send no secret")
    missing = [p for p in ("client_id", "code", "redirect_uri", "code_verifier") if p not in form]
    if missing:
        raise InvalidRequestError(description=f"{missing[0]} is required")
    ring: KeyRing = request.app.state.keys
    try:
        body, _ = await exchange_code(
            request.app.state.db,
            ring,
            _issuer(request, ring),
            client_id=form["client_id"],
            code=form["code"],
            redirect_uri=form["redirect_uri"],
            verifier=form["code_verifier"],
        )
    except CodeError as error:
        status = 401 if error.error == "invalid_client" else 400
        return JSONResponse(
            {"error": error.error, "error_description": error.description},
            status_code=status,
            headers=NO_STORE,
        )
    return JSONResponse(body, headers=NO_STORE)


async def _good_token(
    request: Request, ring: KeyRing, session: AsyncSession, text: str
) -> tuple[AccessToken, Standing] | None:
    """The token and its client's standing when it would be accepted now, else None."""
    if len(text) > MAX_TOKEN_LENGTH:
        return None
    try:
        token = await verify(
            ring, text, issuer=_issuer(request, ring), audience=ring.settings.audience
        )
    except InvalidTokenError:
        return None
    client = await standing(session, token.client_id, token.jti, token.username)
    if client is None or refusal(token, client) is not None:
        return None
    return token, client


async def _caller_and_token(
    request: Request, session: AsyncSession
) -> tuple[OAuthClient, tuple[AccessToken, Standing] | None]:
    """For introspection and revocation: the authenticated caller, and the `token` it names
    with its client's standing when that token would be accepted now (else None)."""
    form = await _form(request)
    caller = await _authenticate(session, request, form)
    if "token" not in form:
        raise InvalidRequestError(description="token is required")
    ring: KeyRing = request.app.state.keys
    return caller, await _good_token(request, ring, session, form["token"])


def _may_see(caller: OAuthClient, token: AccessToken) -> bool:
    """A client speaks for its own tokens; only an `admin` client for everyone's."""
    return token.client_id == caller.client_id or "admin" in caller.scopes


async def introspect_endpoint(request: Request) -> Response:
    """RFC 7662 token introspection.
    ---
    summary: Introspect an access token (RFC 7662)
    description: >
      Form-encoded `token`, the caller authenticated like at the token endpoint. Answers
      `{"active": false}` for a token that is invalid, expired, revoked, of a revoked client, or
      issued to another client (unless the caller has the `admin` scope); otherwise `active:
      true` with `scope` (as it holds now), `client_id`, `sub`, `aud`, `iss`, `exp`, `iat`,
      `nbf`, `jti`, `token_type`, `agency` and `region` (when bound).
    requestBody:
      required: true
      content:
        application/x-www-form-urlencoded:
          schema:
            type: object
            required: [token]
            properties:
              token: {type: string}
              token_type_hint: {type: string}
    responses:
      200:
        description: The token's state.
      400:
        description: "invalid_request: no token."
      401:
        description: "invalid_client: the caller did not authenticate."
    """
    db: Database = request.app.state.db
    body: dict[str, Any] = {"active": False}
    try:
        async with db.unit_of_work() as session:
            caller, found = await _caller_and_token(request, session)
    except OAuth2Error as error:
        return _error(error)
    if found is not None and _may_see(caller, found[0]):
        token, client = found
        claims = token.claims
        body = {
            "active": True,
            "scope": as_text(token.scopes & client.scopes),
            "client_id": token.client_id,
            "token_type": "Bearer",
            **{name: claims[name] for name in ("sub", "aud", "iss", "exp", "iat", "nbf", "jti")},
            "agency": client.agency,
        }
        if client.region_code is not None:
            body["region"] = client.region_code
    return JSONResponse(body, headers=NO_STORE)


async def _revoke(session: AsyncSession, dialect: str, token: AccessToken) -> None:
    now = utcnow()
    row = {
        "jti": token.jti,
        "client_id": token.client_id,
        "expires_at": datetime.fromtimestamp(token.expires_at, UTC),
        "revoked_at": now,
    }
    # Two revocations of one token at once must both succeed: ON CONFLICT DO NOTHING.
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(RevokedToken).values(row).on_conflict_do_nothing())
    # Rows of tokens that have expired anyway are of no more use.
    await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))


async def revoke_endpoint(request: Request) -> Response:
    """RFC 7009 token revocation.
    ---
    summary: Revoke an access token (RFC 7009)
    description: >
      Form-encoded `token`, the caller authenticated like at the token endpoint. A valid token
      issued to the caller (or to anyone, for a client with the `admin` scope) is refused from
      then on. Answers 200 with an empty body whatever the token was, so that the answer tells
      nothing about tokens the caller does not hold.
    requestBody:
      required: true
      content:
        application/x-www-form-urlencoded:
          schema:
            type: object
            required: [token]
            properties:
              token: {type: string}
              token_type_hint: {type: string}
    responses:
      200:
        description: Done (or nothing to do).
      400:
        description: "invalid_request: no token."
      401:
        description: "invalid_client: the caller did not authenticate."
    """
    db: Database = request.app.state.db
    try:
        async with db.unit_of_work() as session:
            caller, found = await _caller_and_token(request, session)
            if found is not None and _may_see(caller, found[0]):
                token = found[0]
                await _revoke(session, db.dialect, token)
                record_change(
                    session,
                    Principal(
                        client_id=caller.client_id,
                        agency=caller.agency_code,
                        scopes=frozenset(caller.scopes),
                        region_code=caller.region_code,
                    ),
                    action="tokens.revoke",
                    subjects={"jti": token.jti, "client_id": token.client_id},
                    request_id=request_id(request),
                )
    except OAuth2Error as error:
        return _error(error)
    return Response(status_code=200, headers=NO_STORE)


async def metadata_endpoint(request: Request) -> Response:
    """RFC 8414 authorization server metadata.
    ---
    summary: Authorization server metadata (RFC 8414)
    description: >
      The issuer, the endpoints, the grant types (client_credentials; authorization_code with
      PKCE for the console's sign-in), the client
      authentication methods and the scopes.
    responses:
      200:
        description: The metadata document.
    """
    ring: KeyRing = request.app.state.keys
    issuer = _issuer(request, ring)
    metadata = AuthorizationServerMetadata(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            "introspection_endpoint": f"{issuer}/oauth/introspect",
            "revocation_endpoint": f"{issuer}/oauth/revoke",
            "grant_types_supported": [GRANT_TYPE, CODE_GRANT_TYPE],
            # "none": the console, a public client, authenticates its codes with PKCE instead.
            "token_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
            "code_challenge_methods_supported": ["S256"],
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "scopes_supported": sorted(ALL_SCOPES),
            # The authorization endpoint serves the console's sign-in only (auth/authorize.py).
            "response_types_supported": ["code"],
        }
    )
    try:
        metadata.validate()
    except ValueError as error:
        # RFC 8414 wants an https issuer (plain http only on loopback). Serve the document all
        # the same (clients on the same network still need it) and tell the operator.
        log.warning("%s; set LIG_ISSUER to the gateway's public https URL", error)
    return JSONResponse(dict(metadata), headers={"Cache-Control": "max-age=60"})


async def jwks_endpoint(request: Request) -> Response:
    """RFC 7517 key set.
    ---
    summary: The public keys that verify access tokens (JWKS)
    description: >
      Every key whose tokens may still be valid: the one signing now and retired ones until
      their last token expires. Public parts only.
    responses:
      200:
        description: "`{keys: [...]}`"
    """
    ring: KeyRing = request.app.state.keys
    keys = await ring.current()
    return JSONResponse(keys.jwks(), headers={"Cache-Control": "max-age=60"})


def routes() -> list[BaseRoute]:
    return [
        Route("/oauth/authorize", authorize_endpoint, methods=["GET", "POST"]),
        Route("/oauth/token", token_endpoint, methods=["POST"]),
        Route("/oauth/introspect", introspect_endpoint, methods=["POST"]),
        Route("/oauth/revoke", revoke_endpoint, methods=["POST"]),
        Route("/.well-known/oauth-authorization-server", metadata_endpoint, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks_endpoint, methods=["GET"]),
    ]
