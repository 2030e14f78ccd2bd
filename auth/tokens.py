"""Access tokens: minting them (RFC 9068 JWTs, ES256) and deciding whether one is good.

authlib builds and checks the JWT (its RFC 9068 generator and validator, on joserfc). On top of
what authlib checks, a token must declare `typ: at+jwt` (authlib checks `typ` only when present),
its alg must be ES256 (refused before any key is looked up: no `none`, no HS256 keyed with our
public key), `nbf` is required, and clocks may differ by 30 s for `nbf`/`iat` but not for `exp`.

A good signature is not enough: `standing` reads, in one statement, whether the token's client
still exists, is not revoked and has not rotated its secret since, and whether the token itself
was revoked.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc9068 import (
    JWTBearerTokenGenerator,
    JWTBearerTokenValidator,
)
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auth.keys import ALG, KeyRing, Keys
from gateway.models import OAuthClient, RevokedToken
from gateway.settings import Settings

REALM = "lig"
TOKEN_TYPES = ("at+jwt", "application/at+jwt")  # RFC 9068 §2.1; media types are case-blind
LEEWAY_SECONDS = 30
MAX_HEADER_CHARS = 1024
GRANT_TYPE = "client_credentials"


def issuer_for(settings: Settings, base_url: str) -> str:
    """The configured issuer, else the base URL the request came in on (no trailing slash)."""
    return (settings.issuer or base_url).rstrip("/")


@dataclass(frozen=True, slots=True)
class Grant:
    """A client as authlib's token generator asks for it, with the scopes granted this time."""

    client_id: str
    agency: str
    region_code: str | None
    scope: str  # space-separated, already checked against the client's scopes
    # No token of this client may say it was issued before this (its secret was rotated then).
    not_before: int = 0

    def get_client_id(self) -> str:
        return self.client_id

    def get_allowed_scope(self, scope: str | None) -> str:
        return self.scope


def grant_for(client: OAuthClient, scope: str) -> Grant:
    rotated = client.secret_rotated_at
    return Grant(
        client_id=client.client_id,
        agency=client.agency_code,
        region_code=client.region_code,
        scope=scope,
        not_before=math.ceil(rotated.timestamp()) if rotated is not None else 0,
    )


class _Generator(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, *, issuer: str, audience: str, lifetime: int, keys: KeySet) -> None:
        super().__init__(issuer=issuer, alg=ALG, expires_generator=lifetime)
        self._audience = audience
        self._keys = keys

    def get_jwks(self) -> KeySet:
        return self._keys

    def get_audiences(self, client: Grant, user: None, scope: str) -> str:
        return self._audience

    def get_jti(self, client: Grant, grant_type: str, user: None, scope: str) -> str:
        return secrets.token_urlsafe(18)  # 144 random bits

    def get_extra_claims(
        self, client: Grant, grant_type: str, user: None, scope: str
    ) -> dict[str, Any]:
        # iat has whole seconds; a token made in the second its client's secret was rotated (with
        # the new secret) would say it predates the rotation and be refused. So its iat (and nbf)
        # is moved to the next whole second, well within the verifiers' leeway.
        issued = max(int(time.time()), client.not_before)
        claims: dict[str, Any] = {"iat": issued, "nbf": issued, "agency": client.agency}
        if client.region_code is not None:
            claims["region"] = client.region_code
        return claims


def mint(keys: Keys, grant: Grant, *, issuer: str, settings: Settings) -> dict[str, Any]:
    """The token response body: access_token, token_type, expires_in, scope."""
    generator = _Generator(
        issuer=issuer,
        audience=settings.audience,
        lifetime=settings.token_lifetime_seconds,
        keys=keys.signing_set,
    )
    token: dict[str, Any] = generator.generate(
        GRANT_TYPE, grant, scope=grant.scope, include_refresh_token=False
    )
    return token


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A token whose signature and claims checked out (its standing is checked separately)."""

    claims: dict[str, Any]

    @property
    def client_id(self) -> str:
        return str(self.claims["client_id"])

    @property
    def jti(self) -> str:
        return str(self.claims["jti"])

    @property
    def issued_at(self) -> float:
        return float(self.claims["iat"])

    @property
    def expires_at(self) -> float:
        return float(self.claims["exp"])

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(str(self.claims.get("scope", "")).split())


def refused(description: str) -> InvalidTokenError:
    """RFC 6750 invalid_token; its `get_headers()` holds the WWW-Authenticate value to send."""
    return InvalidTokenError(description=description, realm=REALM)


class _Validator(JWTBearerTokenValidator):  # type: ignore[misc]
    def __init__(self, *, issuer: str, audience: str, key: ECKey) -> None:
        super().__init__(issuer=issuer, resource_server=audience, realm=REALM)
        self._key = key

    def get_jwks(self) -> KeySet:
        return KeySet([self._key])


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, read before the signature is checked (to refuse bad algs, find the kid)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise refused("the access token is not a signed JWT")
    if len(parts[0]) > MAX_HEADER_CHARS:
        # Ours are ~120 characters; a huge one is an attack on the JSON parser, not a token.
        raise refused("the access token's header is malformed")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise refused("the access token's header is malformed") from None
    if not isinstance(header, dict):
        raise refused("the access token's header is malformed")
    return header


_CLAIM_PROBLEMS = {
    "iss": "the token is from another issuer",
    "aud": "the token is for another audience",
    "nbf": "the token is not valid yet (nbf)",
    "iat": "the token says it was issued in the future (iat)",
    "exp": "the token has expired",
}


async def verify(ring: KeyRing, token: str, *, issuer: str, audience: str) -> AccessToken:
    """Check header, signature and claims; raises `InvalidTokenError` saying what is wrong."""
    header = _header(token)
    if header.get("alg") != ALG:
        raise refused(f"the token is not signed with {ALG}")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in TOKEN_TYPES:
        raise refused("the token is not an access token (typ at+jwt)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise refused("the token names no signing key (kid)")
    key = await ring.verification_key(kid)
    if key is None:
        raise refused("the token's signing key (kid) is unknown")
    validator = _Validator(issuer=issuer, audience=audience, key=key)
    try:
        claims = validator.authenticate_token(token)
    except InvalidTokenError as error:
        if isinstance(error.__cause__, BadSignatureError):
            raise refused("the token's signature does not verify") from None
        raise refused("the access token is malformed") from None
    try:
        claims.validate(leeway=LEEWAY_SECONDS)
    except ExpiredTokenError:
        raise refused(_CLAIM_PROBLEMS["exp"]) from None
    except MissingClaimError as error:
        raise refused(f"the token lacks a claim it needs ({_claim_name(error.claim)})") from None
    except InvalidClaimError as error:
        problem = _CLAIM_PROBLEMS.get(error.claim)
        raise refused(problem or f"the token's {_claim_name(error.claim)} is invalid") from None
    except JoseError:
        raise refused("the token's claims are invalid") from None
    # The leeway is for a signer whose clock runs ahead; none is given to an expired token.
    if claims["exp"] <= time.time():
        raise refused(_CLAIM_PROBLEMS["exp"])
    if "nbf" not in claims:
        raise refused("the token lacks a claim it needs (nbf)")
    if not isinstance(claims["client_id"], str) or claims["sub"] != claims["client_id"]:
        raise refused("the token's sub and client_id do not name one client")
    if not isinstance(claims.get("scope", ""), str):
        raise refused("the token's scope is not a space-separated string")
    return AccessToken(dict(claims))


def _claim_name(claim: str) -> str:
    # Claim names in joserfc's errors come from our own options; keep them to safe characters
    # anyway (an RFC 6750 error_description allows no quotes or backslashes).
    return "".join(c for c in claim if c.isascii() and (c.isalnum() or c in "_,"))


@dataclass(frozen=True, slots=True)
class Standing:
    """The token's client as it is now, and whether the token itself was revoked."""

    agency: str
    region_code: str | None
    scopes: frozenset[str]
    revoked_at: datetime | None
    secret_rotated_at: datetime | None
    token_revoked: bool


async def standing(
    conn: AsyncConnection | AsyncSession, client_id: str, jti: str
) -> Standing | None:
    """One statement: the client row and whether the jti is revoked. None: no such client."""
    row = (
        await conn.execute(
            select(
                OAuthClient.agency_code,
                OAuthClient.region_code,
                OAuthClient.scopes,
                OAuthClient.revoked_at,
                OAuthClient.secret_rotated_at,
                exists().where(RevokedToken.jti == jti).label("token_revoked"),
            ).where(OAuthClient.client_id == client_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return Standing(
        agency=row.agency_code,
        region_code=row.region_code,
        scopes=frozenset(row.scopes),
        revoked_at=row.revoked_at,
        secret_rotated_at=row.secret_rotated_at,
        token_revoked=bool(row.token_revoked),
    )


def refusal(token: AccessToken, client: Standing | None) -> str | None:
    """Why a token with a good signature is still refused, or None when it is good."""
    if client is None:
        return "the token's client is unknown"
    if client.revoked_at is not None:
        return "the token's client has been revoked"
    if client.token_revoked:
        return "the token has been revoked"
    rotated = client.secret_rotated_at
    if rotated is not None and token.issued_at < rotated.timestamp():
        return "the client's secret was rotated after this token was issued"
    return None
