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
from auth.roles import CONSOLE_CLIENT_ID, ROLES, USER_PREFIX, person_subject
from auth.scopes import CONSOLE_PROFILE
from gateway.models import ClientWritePosition, OAuthClient, RevokedToken, StaffUser
from gateway.settings import Settings

REALM = "lig"
TOKEN_TYPES = ("at+jwt", "application/at+jwt")  # RFC 9068 §2.1; media types are case-blind
LEEWAY_SECONDS = 30
MAX_HEADER_CHARS = 1024
GRANT_TYPE = "client_credentials"
CODE_GRANT_TYPE = "authorization_code"


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
    # For a person signed in through the authorization-code flow: `user:NAME`, the token's sub,
    # and when the person's password last changed (a claim: tokens from before are refused).
    user: str | None = None
    credential_at: int | None = None
    # The client's department profile (a claim): which rate limit applies (gateway/ratelimit).
    profile: str | None = None

    def get_client_id(self) -> str:
        return self.client_id

    def get_user_id(self) -> str | None:
        return self.user

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
        profile=client.profile,
    )


def credential_stamp(moment: datetime) -> int:
    """A password's generation as a token claim: when it was set, in microseconds."""
    return round(moment.timestamp() * 1_000_000)


def user_grant_for(client: OAuthClient, user: StaffUser, scope: str) -> Grant:
    """A person's token, through the console client: the person's agency and region."""
    grant = grant_for(client, scope)
    return Grant(
        client_id=client.client_id,
        agency=user.agency_code,
        region_code=user.region_code,
        scope=scope,
        not_before=grant.not_before,
        user=person_subject(user.username),
        credential_at=credential_stamp(user.password_changed_at),
        profile=CONSOLE_PROFILE,
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
        if client.profile is not None:
            claims["profile"] = client.profile
        if client.credential_at is not None:
            # Compared exactly with the account's, so a password changed (or an account
            # re-enabled) even within the second the token was issued still refuses it.
            claims["credential_at"] = client.credential_at
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
        CODE_GRANT_TYPE if grant.user else GRANT_TYPE,
        grant,
        user=grant if grant.user else None,
        scope=grant.scope,
        include_refresh_token=False,
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
    def username(self) -> str | None:
        """The person the token was issued to (the console), or None for a client's own."""
        sub = str(self.claims["sub"])
        return sub.removeprefix(USER_PREFIX) if sub.startswith(USER_PREFIX) else None

    @property
    def profile(self) -> str | None:
        """The client's profile when the token was issued; `console` for a person's."""
        value = self.claims.get("profile")
        return value if isinstance(value, str) else None

    @property
    def subject(self) -> str:
        """Who acts: the client id, or `user:NAME`."""
        return str(self.claims["sub"])

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


# Tokens whose signature and claims checked out, by (token, issuer, audience): a department
# sends the same token for up to an hour, and checking an ES256 signature and the claims again
# costs more than the whole eligibility lookup of one ID. Bounded; oldest out first.
_VERIFIED_MAX = 4096
_verified: dict[tuple[str, str, str], tuple[AccessToken, str, ECKey]] = {}


async def verify(ring: KeyRing, token: str, *, issuer: str, audience: str) -> AccessToken:
    """Check header, signature and claims; raises `InvalidTokenError` saying what is wrong.

    A token checked before is answered from `_verified` while it has not expired and the key that
    verified it is still the ring's key for its kid (a retired or replaced key is noticed as soon
    as the ring reloads, exactly as without the cache).
    """
    cache_key = (token, issuer, audience)
    hit = _verified.get(cache_key)
    if hit is not None:
        checked, kid, key = hit
        if checked.expires_at > time.time() and (await ring.current()).verifying.get(kid) is key:
            return checked
        del _verified[cache_key]
    checked, kid, key = await _verify(ring, token, issuer=issuer, audience=audience)
    if len(_verified) >= _VERIFIED_MAX:
        del _verified[next(iter(_verified))]
    _verified[cache_key] = (checked, kid, key)
    return checked


async def _verify(
    ring: KeyRing, token: str, *, issuer: str, audience: str
) -> tuple[AccessToken, str, ECKey]:
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
    sub = claims["sub"]
    if not isinstance(claims["client_id"], str) or not isinstance(sub, str):
        raise refused("the token's sub and client_id do not name one client")
    # A client's own token names the client; the console's names a person, always.
    person = sub.startswith(USER_PREFIX) and len(sub) > len(USER_PREFIX)
    if (claims["client_id"] == CONSOLE_CLIENT_ID) != person or (
        not person and sub != claims["client_id"]
    ):
        raise refused("the token's sub and client_id do not name one client")
    if not isinstance(claims.get("scope", ""), str):
        raise refused("the token's scope is not a space-separated string")
    return AccessToken(dict(claims)), kid, key


def _claim_name(claim: str) -> str:
    # Claim names in joserfc's errors come from our own options; keep them to safe characters
    # anyway (an RFC 6750 error_description allows no quotes or backslashes).
    return "".join(c for c in claim if c.isascii() and (c.isalnum() or c in "_,"))


@dataclass(frozen=True, slots=True)
class UserStanding:
    """The person a token was issued to, as the account is now."""

    found: bool
    disabled: bool
    password_changed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Standing:
    """The token's client (or person) as it is now, and whether the token itself was revoked.

    For a person's token, agency, region and scopes are the person's (the role's scopes, within
    the console client's), so that a change of role or region takes effect at once.
    """

    agency: str
    region_code: str | None
    scopes: frozenset[str]
    revoked_at: datetime | None
    secret_rotated_at: datetime | None
    token_revoked: bool
    user: UserStanding | None = None
    # The primary's WAL position after the acting client's last change, when asked for.
    last_write_lsn: int = 0


async def standing(
    conn: AsyncConnection | AsyncSession,
    client_id: str,
    jti: str,
    username: str | None = None,
    *,
    position_of: str | None = None,
) -> Standing | None:
    """One statement: the client row (with the person's, for a person's token) and whether the
    jti is revoked. None: no such client.

    With `position_of` (who acts: the client, or `user:NAME`), the same statement also reads
    where that one's last change left the primary's WAL, so that its reads can be sent to a
    standby that has replayed it (gateway/replicas.py) at no cost of a round trip.
    """
    user = StaffUser.__table__
    statement = select(
        OAuthClient.agency_code,
        OAuthClient.region_code,
        OAuthClient.scopes,
        OAuthClient.revoked_at,
        OAuthClient.secret_rotated_at,
        exists().where(RevokedToken.jti == jti).label("token_revoked"),
        user.c.username,
        user.c.role,
        user.c.agency_code.label("user_agency"),
        user.c.region_code.label("user_region"),
        user.c.disabled_at,
        user.c.password_changed_at,
    ).where(OAuthClient.client_id == client_id)
    statement = statement.outerjoin(user, user.c.username == (username or ""))
    if position_of is not None:
        written = select(ClientWritePosition.lsn).where(
            ClientWritePosition.client_id == position_of
        )
        statement = statement.add_columns(written.scalar_subquery().label("last_write_lsn"))
    row = (await conn.execute(statement)).one_or_none()
    if row is None:
        return None
    client_scopes = frozenset(row.scopes)
    last_write_lsn = (row.last_write_lsn or 0) if position_of is not None else 0
    if username is None:
        return Standing(
            agency=row.agency_code,
            region_code=row.region_code,
            scopes=client_scopes,
            revoked_at=row.revoked_at,
            secret_rotated_at=row.secret_rotated_at,
            token_revoked=bool(row.token_revoked),
            last_write_lsn=last_write_lsn,
        )
    role = ROLES.get(row.role) if row.username is not None else None
    return Standing(
        agency=row.user_agency or "",
        region_code=row.user_region,
        scopes=client_scopes & role.scopes if role else frozenset(),
        revoked_at=row.revoked_at,
        secret_rotated_at=row.secret_rotated_at,
        token_revoked=bool(row.token_revoked),
        user=UserStanding(
            found=row.username is not None,
            disabled=row.disabled_at is not None,
            password_changed_at=row.password_changed_at,
        ),
        last_write_lsn=last_write_lsn,
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
    if token.username is not None:
        user = client.user
        if user is None or not user.found:
            return "the token's user is unknown"
        if user.disabled:
            return "the token's user account is disabled"
        changed = user.password_changed_at
        if changed is None or token.claims.get("credential_at") != credential_stamp(changed):
            return "the user's password was changed after this token was issued"
    return None
