"""Pages from Jinja2 templates (autoescaped), with the words, dates and money of the reader's
language, and the headers every console page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.console.i18n import LANGUAGE_COOKIE, Translator, chosen

TEMPLATES = Path(__file__).parent / "templates"

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def language_of(request: Request) -> str:
    return chosen(request.cookies.get(LANGUAGE_COOKIE))


def own_origin(request: Request) -> str:
    """Where our pages are served from, as browsers name it: the configured issuer's origin
    (LIG_ISSUER, the public URL, so that it holds behind a proxy that ends TLS), else the
    request's own."""
    issuer = request.app.state.db.settings.issuer
    if issuer:
        public = urlsplit(issuer)
        return f"{public.scheme}://{public.netloc}"
    return f"{request.url.scheme}://{request.url.netloc}"


def is_https(request: Request) -> bool:
    """Whether the console's cookies get `Secure` (LIG_CONSOLE_SECURE_COOKIES; `auto`: when our
    origin is https)."""
    setting = request.app.state.db.settings.console_secure_cookies
    if setting == "always":
        return True
    if setting == "never":
        return False
    return own_origin(request).startswith("https://")


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    language: str | None = None,
) -> HTMLResponse:
    t = Translator(language or language_of(request))
    page = _ENV.get_template(template).render(request=request, t=t, **context)
    # Its security headers (never cached, never framed, no inline script or style) are every
    # response's: gateway/http/security.py.
    return HTMLResponse(page, status_code=status_code)
