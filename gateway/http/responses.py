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
    records of one request share it."""
    given = request.headers.get("x-request-id", "")
    if given and len(given) <= 64 and given.replace("-", "").isalnum():
        return given
    return uuid.uuid4().hex
