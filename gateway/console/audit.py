"""The audit trail's page: who read or changed what, newest first (audit:read; reading it is
itself audited, as through the API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.console.rendering import render
from gateway.console.web import Me, PageError, ask, page

PAGE_SIZE = 50
MAX_FILTER = 64

AUDIT = """
query ConsoleAudit($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    nodes { id at clientId agency kind action purpose subjects resultCount outcome }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _text(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    if len(value) > MAX_FILTER:
        raise PageError(400, "error.title", f"{name}: at most {MAX_FILTER} characters")
    return value


@page
async def audit_page(request: Request, me: Me) -> Response:
    if not me.can("audit:read"):
        raise PageError(403, "error.forbidden")
    action, who = _text(request, "action"), _text(request, "who")
    flt: dict[str, Any] = {}
    if action:
        flt["action"] = action
    if who:
        flt["clientId"] = who
    after = request.query_params.get("after") or None
    data = await ask(request, me, AUDIT, {"filter": flt, "first": PAGE_SIZE, "after": after})
    events = data["auditEvents"]
    for event in events["nodes"]:
        event["subjects_text"] = orjson.dumps(event["subjects"]).decode()
    shown = {k: v for k, v in (("action", action), ("who", who)) if v}
    info = events["pageInfo"]
    return render(
        request,
        "audit.html",
        {
            "me": me,
            "section": "audit",
            "events": events["nodes"],
            "action": action,
            "who": who,
            "next_link": "?" + urlencode({**shown, "after": info["endCursor"]})
            if info["hasNextPage"]
            else None,
        },
    )
