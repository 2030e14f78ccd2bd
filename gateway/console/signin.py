"""The console's side of signing in and out: it is an OAuth client of the gateway's own
authorization server (auth/authorize.py), using the authorization-code flow with PKCE."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auth.authorize import CodeError, exchange_code, redirect_uri_for
from auth.roles import CONSOLE_CLIENT_ID, CONSOLE_SCOPES
from auth.scopes import as_text
from auth.tokens import issuer_for
from gateway.audit import record_change
from gateway.console import sessions
from gateway.console.i18n import LANGUAGE_COOKIE, chosen
from gateway.console.rendering import is_https, render
from gateway.console.web import Me, PageError, error_page, page, signed_in
from gateway.database import Database
from gateway.http.responses import request_id
from gateway.models import RevokedToken
from gateway.models.base import utcnow


def _safe_next(value: str | None) -> str:
    """Only a console path: never an open redirect to another site."""
    if value and value.startswith("/console/") and "\\" not in value and ".." not in value:
        return value[:500]
    return "/console/warnings"


def _cookie(request: Request, response: Response, value: str, max_age: int | None) -> None:
    response.set_cookie(
        sessions.COOKIE,
        value,
        max_age=max_age,
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )


async def login(request: Request) -> Response:
    """Start signing in: a pending session, then the authorization server's sign-in page.
    Someone already signed in goes straight on (a link to here signs nobody out)."""
    target = _safe_next(request.query_params.get("next"))
    if await signed_in(request) is not None:
        return RedirectResponse(target, status_code=303)
    db: Database = request.app.state.db
    async with db.unit_of_work() as session:
        started = await sessions.begin(session, target)
    issuer = issuer_for(db.settings, str(request.base_url))
    query = {
        "response_type": "code",
        "client_id": CONSOLE_CLIENT_ID,
        "redirect_uri": redirect_uri_for(issuer),
        "scope": as_text(CONSOLE_SCOPES),
        "state": started.state,
        "code_challenge": started.code_challenge,
        "code_challenge_method": "S256",
    }
    response = RedirectResponse(f"/oauth/authorize?{urlencode(query)}", status_code=303)
    _cookie(request, response, started.cookie, sessions.PENDING_SECONDS)
    return response


async def callback(request: Request) -> Response:
    """The authorization server sends the browser back here with a code (or an error)."""
    db: Database = request.app.state.db
    params = request.query_params
    async with db.unit_of_work() as session:
        claimed = await sessions.claim(
            session, request.cookies.get(sessions.COOKIE), params.get("state", "")
        )
    if claimed is None:
        return error_page(request, None, PageError(400, "signin.bad_request"))
    if "code" not in params:
        detail = params.get("error_description") or params.get("error")
        return error_page(request, None, PageError(400, "signin.bad_request", detail))
    issuer = issuer_for(db.settings, str(request.base_url))
    try:
        token, username = await exchange_code(
            db,
            request.app.state.keys,
            issuer,
            client_id=CONSOLE_CLIENT_ID,
            code=params["code"],
            redirect_uri=redirect_uri_for(issuer),
            verifier=claimed.code_verifier,
        )
    except CodeError as error:
        return error_page(request, None, PageError(400, "signin.bad_request", error.description))
    expires = datetime.fromtimestamp(utcnow().timestamp() + token["expires_in"], UTC)
    async with db.unit_of_work() as session:
        cookie = await sessions.establish(
            session, username, token["access_token"], expires, db.settings.console_idle_seconds
        )
    response = RedirectResponse(_safe_next(claimed.return_to), status_code=303)
    _cookie(request, response, cookie, None)
    return response


@page
async def logout(request: Request, me: Me) -> Response:
    """Sign out: the session ends and its token is revoked, at once, in every process."""
    db: Database = request.app.state.db
    async with db.unit_of_work() as session:
        await sessions.end(session, me.session_id)
        if me.principal.token_id is not None:
            insert = pg_insert if db.dialect == "postgresql" else sqlite_insert
            await session.execute(
                insert(RevokedToken)
                .values(
                    jti=me.principal.token_id,
                    client_id=CONSOLE_CLIENT_ID,
                    expires_at=datetime.fromtimestamp(me.token_expires_at, UTC),
                    revoked_at=utcnow(),
                )
                .on_conflict_do_nothing()
            )
        record_change(
            session,
            me.principal,
            action="console.sign-out",
            subjects={"username": me.username},
            request_id=request_id(request),
        )
    response = RedirectResponse("/console/signed-out", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


async def signed_out(request: Request) -> Response:
    return render(
        request,
        "message.html",
        {
            "me": None,
            "title_key": "signin.title",
            "message_key": "signin.signed_out",
            "link": "/console/login",
            "link_key": "signin.start",
        },
    )


@page
async def language(request: Request, me: Me) -> Response:
    form = await request.form()
    chosen_language = chosen(str(form.get("lang", "")))
    response = RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen_language,
        max_age=365 * 86400,
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )
    return response
