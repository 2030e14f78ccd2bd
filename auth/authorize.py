"""The authorization-code grant with PKCE (RFC 6749 §4.1, RFC 7636) for people: the sign-in page
of the gateway's own authorization server, and the exchange of a code for a token.

Only the console, a first-party public client, uses it: its redirect URI is fixed
(`<issuer>/console/callback`) and PKCE with S256 is required. The sign-in form is protected
against cross-site posting by a double-submit token (a cookie scoped to this path, and the same
value in the form) and by the Origin header; failed sign-ins count towards a lock-out
(auth/users.py). A code lives 60 seconds and is exchanged once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auth import users
from auth.keys import KeyRing
from auth.roles import CONSOLE_CLIENT_ID, ROLES
from auth.scopes import UnknownScope, as_text, parse
from auth.tokens import issuer_for, mint, user_grant_for
from gateway.console.i18n import LANGUAGE_COOKIE, chosen
from gateway.console.rendering import is_https, own_origin, render
from gateway.database import Database
from gateway.http.responses import request_id
from gateway.models import AuthorizationCode, OAuthClient, StaffUser
from gateway.models.base import utcnow

log = logging.getLogger("lig.oauth")

CALLBACK_PATH = "/console/callback"
CODE_SECONDS = 60
# How long the sign-in page's form stays good (its CSRF cookie; the console's pending sign-in).
SIGN_IN_SECONDS = 900
SIGNIN_COOKIE = "lig_signin"
_PKCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3).
REQUEST_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


class CodeError(Exception):
    """The token endpoint's answer to a bad code exchange: an RFC 6749 §5.2 error."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def redirect_uri_for(issuer: str) -> str:
    return issuer + CALLBACK_PATH


def challenge_of(verifier: str) -> str:
    """RFC 7636 §4.2, S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_verifier() -> str:
    return secrets.token_urlsafe(48)  # 64 characters of the unreserved set (RFC 7636 §4.1)


def digest(secret: str) -> str:
    """How a random secret of ours (a code, a session id) is kept: its SHA-256, in hex. Enough
    for 256 random bits (nothing to guess); the value itself is never stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: str
    state: str
    code_challenge: str

    def as_form(self) -> dict[str, str]:
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }


class BadAuthorizationRequest(Exception):
    """A request that cannot be answered by redirecting (unknown client or redirect URI), or
    one to answer with an error at the redirect URI (`redirect` set)."""

    def __init__(self, description: str, redirect: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.redirect = redirect


def _checked(params: dict[str, str], issuer: str) -> AuthorizationRequest:
    """The authorization request, checked in the order RFC 6749 §4.1.2.1 asks: client and
    redirect URI first (never redirect to an unchecked URI), then the rest."""
    if params.get("client_id") != CONSOLE_CLIENT_ID:
        raise BadAuthorizationRequest("unknown client_id")
    redirect_uri = redirect_uri_for(issuer)
    if params.get("redirect_uri") != redirect_uri:
        raise BadAuthorizationRequest("redirect_uri is not the one registered for the client")
    state = params.get("state", "")

    def refuse(error: str, description: str) -> BadAuthorizationRequest:
        query = {"error": error, "error_description": description}
        if state:
            query["state"] = state
        return BadAuthorizationRequest(description, f"{redirect_uri}?{urlencode(query)}")

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "only response_type=code is supported")
    if params.get("code_challenge_method") != "S256":
        raise refuse("invalid_request", "PKCE with code_challenge_method=S256 is required")
    challenge = params.get("code_challenge", "")
    if len(challenge) != 43 or not set(challenge) <= _PKCE_CHARS:
        raise refuse("invalid_request", "code_challenge must be 43 characters (S256)")
    if not state or len(state) > 64 or not state.isascii() or not state.isprintable():
        raise refuse("invalid_request", "state is required (at most 64 characters)")
    try:
        scope = parse(params.get("scope", ""))
    except UnknownScope:
        raise refuse("invalid_scope", "scope names a scope that does not exist") from None
    return AuthorizationRequest(CONSOLE_CLIENT_ID, redirect_uri, as_text(scope), state, challenge)


def _params(source: Any) -> dict[str, str]:
    return {name: str(source[name]) for name in REQUEST_PARAMETERS if source.get(name)}


def _signin_page(
    request: Request,
    auth: AuthorizationRequest,
    csrf: str,
    *,
    failed: bool = False,
    username: str = "",
    language: str | None = None,
) -> Response:
    query = auth.as_form()
    links = {
        lang: f"/oauth/authorize?{urlencode({**query, 'ui_locales': lang})}"
        for lang in ("zh-CN", "en")
    }
    response = render(
        request,
        "signin.html",
        {
            "me": None,
            "auth": query,
            "csrf": csrf,
            "failed": failed,
            "username": username,
            "lang_links": links,
        },
        status_code=401 if failed else 200,
        language=language,
    )
    secure = is_https(request)
    response.set_cookie(
        SIGNIN_COOKIE,
        csrf,
        max_age=SIGN_IN_SECONDS,
        path="/oauth/authorize",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    if language is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 86400,
            secure=secure,
            httponly=True,
            samesite="lax",
        )
    return response


def _problem_page(request: Request, description: str) -> Response:
    log.info("authorization request refused: %s", description)
    return render(
        request,
        "message.html",
        {
            "me": None,
            "title_key": "error.title",
            "message_key": "signin.bad_request",
            "detail": description,
            "link": "/console/",
            "link_key": "signin.start",
        },
        status_code=400,
    )


def _issuer(request: Request) -> str:
    ring: KeyRing = request.app.state.keys
    return issuer_for(ring.settings, str(request.base_url))


def same_origin(request: Request) -> bool:
    """A form post came from our own pages: the browser's Origin (or Sec-Fetch-Site) says so.

    Browsers send Origin with every cross-origin POST, and modern ones Sec-Fetch-Site; a request
    without either (an old browser, a script) is judged by the CSRF token alone.
    """
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        if origin.rstrip("/") != own_origin(request):
            return False
    elif origin == "null":
        return False
    site = request.headers.get("sec-fetch-site")
    return site in (None, "same-origin", "none")


async def authorize_endpoint(request: Request) -> Response:
    """RFC 6749 §4.1.1: the sign-in page (GET), and the signed-in answer (POST).
    ---
    summary: Sign a person in (OAuth 2.0 authorization code with PKCE)
    description: >
      For the console only (client `lig-console`, redirect URI `<issuer>/console/callback`,
      PKCE S256 required). GET shows the sign-in page; the form POSTs back here with the
      username and password, and on success the browser is sent to the redirect URI with a
      `code` (valid 60 seconds, once) and the `state`. Repeated failures lock the account for a
      while (LIG_CONSOLE_MAX_FAILED_SIGN_INS, LIG_CONSOLE_LOCKOUT_SECONDS).
    responses:
      200:
        description: The sign-in page (HTML).
      303:
        description: Signed in (or an error for the client) at the redirect URI.
      400:
        description: The request names an unknown client or redirect URI (HTML).
      401:
        description: The sign-in failed; the page again, saying so without telling why.
    """
    issuer = _issuer(request)
    if request.method == "GET":
        language = request.query_params.get("ui_locales")
        try:
            auth = _checked(_params(request.query_params), issuer)
        except BadAuthorizationRequest as error:
            if error.redirect is not None:
                return RedirectResponse(error.redirect, status_code=303)
            return _problem_page(request, error.description)
        csrf = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(24)
        return _signin_page(request, auth, csrf, language=chosen(language) if language else None)
    form = await request.form(max_files=0, max_fields=20, max_part_size=4096)
    try:
        auth = _checked(_params(form), issuer)
    except BadAuthorizationRequest as error:
        if error.redirect is not None:
            return RedirectResponse(error.redirect, status_code=303)
        return _problem_page(request, error.description)
    given_csrf = str(form.get("csrf", ""))
    cookie_csrf = request.cookies.get(SIGNIN_COOKIE, "")
    if (
        not cookie_csrf
        or not hmac.compare_digest(given_csrf.encode(), cookie_csrf.encode())
        or not same_origin(request)
    ):
        return render(
            request,
            "message.html",
            {
                "me": None,
                "title_key": "error.title",
                "message_key": "error.csrf",
                "link": "/console/",
                "link_key": "signin.start",
            },
            status_code=403,
        )
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))[:256]
    db: Database = request.app.state.db
    checked = await users.stored_hash(db, username)
    good = await users.password_matches(password, checked)
    async with db.unit_of_work() as session:
        outcome = await users.record_sign_in(
            session, username, checked, good, db.settings, request_id(request)
        )
        code = await _new_code(session, auth, outcome.user) if outcome.user else None
    if code is None:
        shown = username if users.USERNAME.fullmatch(username) else "(not a username)"
        log.info("sign-in refused for %s: %s", shown, outcome.reason)
        return _signin_page(request, auth, cookie_csrf, failed=True, username=username)
    query = urlencode({"code": code, "state": auth.state})
    response = RedirectResponse(f"{auth.redirect_uri}?{query}", status_code=303)
    response.delete_cookie(SIGNIN_COOKIE, path="/oauth/authorize")
    return response


async def _new_code(session: AsyncSession, auth: AuthorizationRequest, user: StaffUser) -> str:
    code = secrets.token_urlsafe(32)
    now = utcnow()
    # Codes nobody exchanged are of no more use once expired.
    await session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < now))
    session.add(
        AuthorizationCode(
            code_hash=digest(code),
            client_id=auth.client_id,
            username=user.username,
            redirect_uri=auth.redirect_uri,
            code_challenge=auth.code_challenge,
            scope=auth.scope,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
    )
    return code


async def exchange_code(
    db: Database,
    ring: KeyRing,
    issuer: str,
    *,
    client_id: str,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> tuple[dict[str, Any], str]:
    """The token response for an authorization code (RFC 6749 §4.1.3) and the username it was
    issued to, or CodeError.

    The code is claimed with a conditional UPDATE, so two exchanges of one code cannot both
    succeed. The token's scopes are the person's role's, narrowed by the scope asked for.
    """
    if client_id != CONSOLE_CLIENT_ID:
        raise CodeError("invalid_client", "unknown client")
    if not verifier or not 43 <= len(verifier) <= 128 or not set(verifier) <= _PKCE_CHARS:
        raise CodeError("invalid_grant", "code_verifier must be 43 to 128 unreserved characters")
    now = utcnow()
    async with db.unit_of_work() as session:
        row = await session.get(AuthorizationCode, digest(code)) if len(code) <= 128 else None
        if row is None or row.expires_at <= now or row.used_at is not None:
            raise CodeError("invalid_grant", "the code is unknown, expired or already used")
        if row.client_id != client_id or row.redirect_uri != redirect_uri:
            raise CodeError(
                "invalid_grant", "the code was issued to another client or redirect URI"
            )
        if not hmac.compare_digest(challenge_of(verifier), row.code_challenge):
            raise CodeError("invalid_grant", "code_verifier does not match the code_challenge")
        claimed = await session.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.code_hash == row.code_hash, AuthorizationCode.used_at.is_(None)
            )
            .values(used_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise CodeError("invalid_grant", "the code is unknown, expired or already used")
        client = await session.get(OAuthClient, client_id)
        user = await session.get(StaffUser, row.username)
        if client is None or client.revoked_at is not None:
            raise CodeError("invalid_client", "the client has been revoked")
        if user is None or user.disabled_at is not None:
            raise CodeError("invalid_grant", "the account is disabled")
        role = ROLES[user.role]
        granted = role.scopes & frozenset(client.scopes)
        asked = frozenset(row.scope.split())
        scope = as_text(granted & asked if asked else granted)
        grant = user_grant_for(client, user, scope)
    keys = await ring.current()
    return mint(keys, grant, issuer=issuer, settings=ring.settings), user.username
