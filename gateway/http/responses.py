"""JSON responses (orjson) and RFC 9457 problem details for every REST error."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update(extra)
    response = Response(
        orjson.dumps(body), status_code=status, media_type="application/problem+json"
    )
    if isinstance(extra.get("request_id"), str):
        # The same id as in the logs and the audit trail, as every other answer carries it.
        response.headers["x-request-id"] = extra["request_id"]
    return response


def request_id(request: Request) -> str:
    """The caller's `X-Request-Id` when it is a sane token, else a new one: logs and audit
    records of one request share it (kept in the request's scope, so that the error handler
    names the same id as the endpoint that failed)."""
    state = request.scope.setdefault("state", {})
    known = state.get("request_id")
    if isinstance(known, str):
        return known
    rid = given_request_id(request.headers.get("x-request-id", "")) or uuid.uuid4().hex
    state["request_id"] = rid
    return rid


def given_request_id(given: str) -> str | None:
    """The caller's request id when it is a sane token (ASCII letters, digits and dashes, at
    most 64): it is written to logs and the audit trail as it came."""
    token = given.replace("-", "")
    if given and len(given) <= 64 and token.isascii() and token.isalnum():
        return given
    return None
