"""Who is calling /graphql or /api/v1: the principal of a bearer access token (RFC 6750).

The token is checked in process (signature, header, claims against the key ring), then one
statement reads its client's standing, so that revoking a client, rotating its secret or
revoking the token takes effect at once rather than when the token expires.
"""

from __future__ import annotations

from authlib.oauth2.rfc6750 import InvalidTokenError
from starlette.requests import Request

from auth.keys import KeyRing
from auth.tokens import REALM, AccessToken, issuer_for, refusal, refused, standing, verify
from gateway.database import Database
from gateway.errors import Unauthenticated
from gateway.principal import Principal

CHALLENGE = f'Bearer realm="{REALM}"'
MAX_TOKEN_LENGTH = 8192


class BearerRefused(Unauthenticated):
    """401: no access token, or one that is refused; `www_authenticate` is the header to send.

    The message says what is wrong (never echoing the token).
    """

    def __init__(self, message: str, www_authenticate: str = CHALLENGE) -> None:
        super().__init__(message)
        self.www_authenticate = www_authenticate

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.www_authenticate}

    @classmethod
    def invalid(cls, error: InvalidTokenError) -> BearerRefused:
        description = str(error.get_error_description())
        challenge = dict(error.get_headers())["WWW-Authenticate"]
        return cls(f"access token refused: {description}", challenge)


async def authenticate(request: Request) -> Principal:
    """The principal of the request's `Authorization: Bearer` token, or BearerRefused.

    Scopes are the token's, less any the client has lost since; agency and region are the
    client's as they are now.
    """
    principal, _ = await authenticate_header(
        request.app.state.keys,
        request.app.state.db,
        request.headers.get("authorization", ""),
        str(request.base_url),
    )
    return principal


async def authenticate_header(
    ring: KeyRing, db: Database, authorization: str, base_url: str
) -> tuple[Principal, float]:
    """The principal of an `Authorization` value (`Bearer <token>`) and when its token expires
    (unix seconds), or BearerRefused. `base_url` is the http(s) base URL the client called, for
    the issuer when LIG_ISSUER is unset. Also for the websocket's connection_init
    (gateway/subscriptions)."""
    token = await verified_token(ring, authorization, base_url)
    try:
        # On the primary, always: a revocation counts at once. With standbys, the statement
        # also reads where the acting client's last change left the WAL (read-your-writes).
        position_of = token.subject if db.replicas.enabled else None
        async with db.reader.connect() as conn:
            client = await standing(
                conn, token.client_id, token.jti, token.username, position_of=position_of
            )
        reason = refusal(token, client)
        if reason is not None or client is None:
            raise refused(reason or "the token's client is unknown")
    except InvalidTokenError as error:
        raise BearerRefused.invalid(error) from None
    principal = Principal(
        # Who acts: the client, or the person signed in through it (`user:NAME`).
        client_id=token.subject,
        agency=client.agency,
        scopes=token.scopes & client.scopes,
        region_code=client.region_code,
        token_id=token.jti,
        last_write_lsn=client.last_write_lsn,
    )
    return principal, token.expires_at


async def verified_token(ring: KeyRing, authorization: str, base_url: str) -> AccessToken:
    """The token of an `Authorization` value whose signature and claims check out, or
    BearerRefused; its standing is not checked (the compiled eligibility statement checks it in
    the same round trip as the lookup, gateway/eligibility/compiled.py)."""
    scheme, _, value = authorization.strip().partition(" ")
    text = value.strip()
    if scheme.lower() != "bearer" or not text:
        raise BearerRefused(
            "an access token is required: send `Authorization: Bearer <token>` "
            "(tokens come from POST /oauth/token)"
        )
    try:
        if len(text) > MAX_TOKEN_LENGTH:
            raise refused("the access token is too long")
        return await verify(
            ring,
            text,
            issuer=issuer_for(ring.settings, base_url),
            audience=ring.settings.audience,
        )
    except InvalidTokenError as error:
        raise BearerRefused.invalid(error) from None
