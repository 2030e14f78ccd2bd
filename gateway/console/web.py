"""What every console page shares: who is signed in, the CSRF check of every form, asking the
gateway's GraphQL on the person's behalf, and the error pages.

Pages read and act through the same GraphQL operations the departments use, run in process as
the signed-in person (gateway.http.graphql.run_operation): the person's schema view, row rules,
masking and the audit of every read are the API's own, decided in one place.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from graphql import GraphQLObjectType
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auth.authorize import same_origin
from auth.bearer import authenticate_header
from gateway.console import sessions
from gateway.console.rendering import render
from gateway.database import Database
from gateway.errors import Unauthenticated
from gateway.http.graphql import run_operation
from gateway.http.responses import request_id
from gateway.models import Region, StaffUser
from gateway.principal import Principal
from schema.views import view_for

# Recorded as the purpose of every read the console makes (X-Purpose for the API), by role.
PURPOSES = {
    "auditor": "民政工作台：审计核查",
}
PURPOSE = "民政工作台：低收入人口动态监测预警处置"


@dataclass(frozen=True, slots=True)
class Me:
    """The person signed in, as pages need them."""

    principal: Principal
    username: str
    display_name: str
    role: str
    region_name: str | None
    csrf: str
    session_id: str
    token_expires_at: float  # unix seconds

    def can(self, scope: str) -> bool:
        return scope in self.principal.scopes

    @property
    def can_audit(self) -> bool:
        return self.can("audit:read")

    def sees(self, type_name: str, field: str) -> bool:
        """Whether the person's schema view has `type_name.field`: pages ask only for what the
        view holds (the view, cut from auth/policy.py, is the one word on it)."""
        graphql_type = view_for(self.principal.scopes).schema.get_type(type_name)
        return isinstance(graphql_type, GraphQLObjectType) and field in graphql_type.fields

    def fields(self, type_name: str, *names: str) -> str:
        """The names the view holds, as a selection (`a b c`)."""
        # `members(first: 5) { … }` is asked for by its name, `members`.
        return " ".join(
            n for n in names if self.sees(type_name, n.partition(" ")[0].partition("(")[0])
        )


def path_id(text: str) -> str:
    """A row id from the URL: 1 to 18 digits, not 0; anything else is simply not found (the
    same page as an id that does not exist, or is not the person's to see)."""
    if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise PageError(404, "error.not_found")
    return text


class PageError(Exception):
    """Answered with an error page: the status, a message key, and details to show."""

    def __init__(self, status: int, message_key: str, detail: str | None = None) -> None:
        super().__init__(message_key)
        self.status = status
        self.message_key = message_key
        self.detail = detail


async def signed_in(request: Request) -> Me | None:
    """The person of this browser's session, or None (no session, ended, expired, or a token
    the gateway now refuses: account disabled, password changed, console client revoked)."""
    db: Database = request.app.state.db
    live = await sessions.live(db, request.cookies.get(sessions.COOKIE))
    if live is None:
        return None
    try:
        principal, expires_at = await authenticate_header(
            request.app.state.keys, db, f"Bearer {live.access_token}", str(request.base_url)
        )
    except Unauthenticated:
        return None
    async with db.reader.connect() as conn:
        row = (
            await conn.execute(
                select(StaffUser.display_name, StaffUser.role, Region.name)
                .outerjoin(Region, Region.code == StaffUser.region_code)
                .where(StaffUser.username == live.username)
            )
        ).one_or_none()
    if row is None:
        return None
    return Me(
        principal=principal,
        username=live.username,
        display_name=row.display_name,
        role=row.role,
        region_name=row.name,
        csrf=live.csrf_token,
        session_id=live.id_hash,
        token_expires_at=expires_at,
    )


Handler = Callable[[Request, Me], Awaitable[Response]]


def _to_sign_in(request: Request) -> Response:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    elif request.method != "GET":
        # After signing in the browser GETs where it is sent: the page the form was on.
        resource, _, action = target.rpartition("/")
        target = resource if action in ("act", "reassess") else "/console/warnings"
    return RedirectResponse(f"/console/login?{urlencode({'next': target})}", status_code=303)


def error_page(request: Request, me: Me | None, error: PageError) -> Response:
    return render(
        request,
        "message.html",
        {
            "me": me,
            "title_key": "error.title",
            "message_key": error.message_key,
            "detail": error.detail,
            "rid": request_id(request),
            "alert": True,
        },
        status_code=error.status,
    )


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A console page: signed in or sent to sign in; every POST's CSRF token and origin checked;
    PageError answered with its page."""

    async def endpoint(request: Request) -> Response:
        me = await signed_in(request)
        if me is None:
            return _to_sign_in(request)
        if request.method == "POST":
            form = await request.form(max_files=0, max_fields=200, max_part_size=64 * 1024)
            given = str(form.get("csrf", ""))
            if not hmac.compare_digest(given.encode(), me.csrf.encode()) or not same_origin(
                request
            ):
                return error_page(request, me, PageError(403, "error.csrf"))
        try:
            return await handler(request, me)
        except PageError as error:
            return error_page(request, me, error)

    return endpoint


def first_error(errors: list[dict[str, Any]]) -> PageError:
    """The page for a GraphQL error: not found, forbidden, a bad field, a stale version …"""
    error = errors[0]
    code = error.get("extensions", {}).get("code")
    message = str(error.get("message", ""))
    if code == "NOT_FOUND":
        return PageError(404, "error.not_found")
    if code in ("FORBIDDEN", "UNAUTHENTICATED") or code == "GRAPHQL_VALIDATION_FAILED":
        # A field the person's schema view lacks is an action their role does not allow.
        return PageError(403, "error.forbidden")
    if code == "CONFLICT":
        return PageError(409, "action.stale", message)
    if code in ("BAD_USER_INPUT", "MISSING_STANDARD"):
        # The message names the field (or the missing figure) and holds nothing personal.
        return PageError(400 if code == "BAD_USER_INPUT" else 422, "error.title", message)
    return PageError(500, "error.internal", None)


async def ask(
    request: Request, me: Me, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run one GraphQL operation as the signed-in person; its data, or PageError."""
    answer = await run_operation(
        request.app.state.db,
        me.principal,
        request_id(request),
        PURPOSES.get(me.role, PURPOSE),
        query,
        variables,
    )
    errors = answer.body.get("errors")
    if errors:
        raise first_error(errors)
    data: dict[str, Any] = answer.body["data"]
    return data
