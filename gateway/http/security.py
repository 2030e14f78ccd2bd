"""The HTTP surface every response shares: security headers, small bodies, errors that leak nothing.

- Headers on every response: no sniffing, no framing, no referrer to other sites, never cached
  (answers hold personal data; the console's static files excepted), a Content-Security-Policy
  (HTML pages, the console's and the sign-in's: their own scripts and styles only, none inline,
  forms only to us; everything else is data that no browser should render: nothing at all),
  and HSTS when the gateway is reached over
  TLS (its public URL, LIG_ISSUER, is https, or uvicorn was told the request came over https).
- Bodies: a request that is neither GraphQL nor a push (sign-in forms, OAuth) may carry at most
  LIG_HTTP_MAX_BODY_BYTES; GraphQL and pushes bound their own, larger bodies as they read them.
- Errors: an exception no code expected is logged in full with the request id and answered with
  a problem document carrying only that id (never its text, a stack, SQL or a path).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.responses import problem, request_id
from gateway.settings import Settings

log = logging.getLogger("lig.http")

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000; includeSubDomains"

_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
# Paths that read and bound their own bodies (streamed: pushes may be gigabytes of NDJSON).
_OWN_BODY_LIMITS = ("/graphql", "/api/v1/")


class SecurityMiddleware:
    """Security headers on every HTTP response, and the body limit of small requests."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.http_max_body_bytes
        self.tls_issuer = (settings.issuer or "").startswith("https://")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        static = path.startswith("/console/static/")
        tls = self.tls_issuer or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower(): value for name, value in headers}
                # Pages (the console, the sign-in): their own scripts and styles, forms to us.
                # Anything else is data no browser should render or frame.
                page = present.get(b"content-type", b"").startswith(b"text/html")
                extra = [h for h in _COMMON if h[0] not in present]
                if b"content-security-policy" not in present:
                    csp = PAGE_CSP if page else API_CSP
                    extra.append((b"content-security-policy", csp.encode()))
                if b"referrer-policy" not in present:
                    extra.append((b"referrer-policy", b"same-origin" if page else b"no-referrer"))
                if b"cache-control" not in present and not static:
                    extra.append((b"cache-control", b"no-store"))
                if tls:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                message = {**message, "headers": headers + extra}
            await send(message)

        if path.startswith(_OWN_BODY_LIMITS) or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send_with_headers)
            return
        body = await _read_bounded(receive, scope, self.max_body)
        if body is None:
            response = problem(
                413,
                "Content Too Large",
                f"the request body is over {self.max_body} bytes",
                request_id=request_id(Request(scope)),
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, _replay(body, receive), send_with_headers)


async def _read_bounded(receive: Receive, scope: Scope, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is known to be over `limit` (a declared length
    over it is refused before a byte is read)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            return None
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replayed


async def internal_error(request: Request, error: Exception) -> Response:
    """The answer to an exception nothing handled: its id, and the details in the log only."""
    rid = request_id(request)
    log.error("unexpected error [request %s]", rid, exc_info=error)
    return problem(
        500,
        "Internal Server Error",
        f"an unexpected error; quote request id {rid}",
        request_id=rid,
    )
