"""The console's routes, under /console (and its static files, shipped in the package)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.console import audit, dashboard, household, queue, signin

STATIC = Path(__file__).parent / "static"


async def home(request: Request) -> Response:
    return RedirectResponse("/console/warnings", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/console", home, methods=["GET"], include_in_schema=False),
        Route("/console/", home, methods=["GET"], include_in_schema=False),
        Route("/console/login", signin.login, methods=["GET"], include_in_schema=False),
        Route("/console/callback", signin.callback, methods=["GET"], include_in_schema=False),
        Route("/console/logout", signin.logout, methods=["POST"], include_in_schema=False),
        Route("/console/signed-out", signin.signed_out, methods=["GET"], include_in_schema=False),
        Route("/console/language", signin.language, methods=["POST"], include_in_schema=False),
        Route("/console/warnings", queue.queue_page, methods=["GET"], include_in_schema=False),
        Route(
            "/console/warnings/{id}",
            queue.warning_page,
            methods=["GET"],
            include_in_schema=False,
        ),
        Route(
            "/console/warnings/{id}/act",
            queue.act,
            methods=["POST"],
            include_in_schema=False,
        ),
        Route(
            "/console/households/{id}",
            household.household_page,
            methods=["GET"],
            include_in_schema=False,
        ),
        Route(
            "/console/households/{id}/reassess",
            household.reassess,
            methods=["POST"],
            include_in_schema=False,
        ),
        Route(
            "/console/dashboard", dashboard.dashboard_page, methods=["GET"], include_in_schema=False
        ),
        Route("/console/audit", audit.audit_page, methods=["GET"], include_in_schema=False),
        Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"),
    ]
