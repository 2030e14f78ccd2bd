"""The ASGI application: routes, middleware and the lifespan that owns shared resources."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from auth import endpoints as oauth
from auth.keys import KeyRing
from gateway.audit.sealer import run_sealer
from gateway.console.routes import routes as console_routes
from gateway.database import Database
from gateway.eligibility.runner import CompiledEligibility
from gateway.http import api_v1
from gateway.http.graphql import graphql_endpoint
from gateway.http.health import healthz, readyz
from gateway.http.metrics import MetricsMiddleware, metrics_endpoint
from gateway.http.openapi import openapi_endpoint
from gateway.monitoring.worker import run_monitor
from gateway.settings import Settings, get_settings
from gateway.subscriptions.hub import NoticeHub
from gateway.subscriptions.protocol import graphql_ws_endpoint
from gateway.webhooks.sender import run_sender
from schema.views import full_schema


def routes() -> list[BaseRoute]:
    return [
        Route("/graphql", graphql_endpoint, methods=["POST"]),
        # Subscriptions (graphql-transport-ws): gateway/subscriptions.
        WebSocketRoute("/graphql", graphql_ws_endpoint),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint, methods=["GET"], include_in_schema=False),
        *oauth.routes(),
        *api_v1.routes(),
        # The civil-affairs console (HTML): gateway/console.
        *console_routes(),
    ]


def create_app(settings: Settings | None = None, *, serving: bool = False) -> Starlette:
    """The app; `serving`: it is this process's one app for its whole life (`lig serve`)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.db = Database(settings)
        # The hot path of eligibility documents (PostgreSQL; gateway/http/compiled.py).
        compiled = None
        if settings.compiled_eligibility and app.state.db.dialect == "postgresql":
            compiled = CompiledEligibility(settings)
        app.state.compiled_eligibility = compiled
        # Reads the key file (if any) now; the database on first use (auth/keys.py).
        app.state.keys = KeyRing(app.state.db, settings)
        # Build the full schema (and its guards) now rather than on the first request.
        full_schema()
        # Audit events are stored with each read; the hash chain is sealed behind them.
        tasks = [asyncio.create_task(run_sealer(app.state.db, settings.audit_seal_interval))]
        # Queued households compared, overdue warnings escalated (gateway/monitoring).
        if settings.compare_interval_seconds > 0:
            tasks.append(
                asyncio.create_task(run_monitor(app.state.db, settings.compare_interval_seconds))
            )
        # Warning notices: webhooks POSTed from the database's queue (every process takes a
        # share), and one poller per process for its subscribers, started by the first.
        if settings.webhook_poll_seconds > 0:
            tasks.append(asyncio.create_task(run_sender(app.state.db, settings)))
        app.state.notice_hub = NoticeHub(app.state.db, settings)
        if serving:
            # What start-up built (schemas, policy tables, templates) lives as long as the
            # process: keep it out of the garbage collector's full passes, which otherwise walk
            # all of it while requests wait. (Not for apps made and dropped by the dozen, as
            # tests make them: frozen objects are never freed.)
            gc.freeze()
        try:
            yield
        finally:
            await app.state.notice_hub.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if compiled is not None:
                await compiled.close()
            await app.state.db.dispose()

    return Starlette(
        routes=routes(),
        middleware=[Middleware(MetricsMiddleware)],
        lifespan=lifespan,
    )


def serving_app() -> Starlette:
    """The app of a `lig serve --workers N` worker process (uvicorn's factory)."""
    return create_app(serving=True)
