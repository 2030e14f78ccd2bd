"""The ASGI application: routes, middleware and the lifespan that owns shared resources."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from auth import endpoints as oauth
from auth.keys import KeyRing
from gateway import jobs
from gateway.console.routes import routes as console_routes
from gateway.database import Database
from gateway.documents import DocumentStore
from gateway.eligibility.runner import CompiledEligibility
from gateway.http import api_v1
from gateway.http.graphql import graphql_endpoint
from gateway.http.health import healthz, readyz
from gateway.http.metrics import MetricsMiddleware, metrics_endpoint
from gateway.http.openapi import openapi_endpoint
from gateway.http.security import SecurityMiddleware, internal_error
from gateway.ratelimit import RateLimiter
from gateway.settings import Settings, get_settings
from gateway.subscriptions.hub import NoticeHub
from gateway.subscriptions.protocol import graphql_ws_endpoint
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


def create_app(
    settings: Settings | None = None, *, serving: bool = False, run_jobs: bool = True
) -> Starlette:
    """The app; `serving`: it is this process's one app for its whole life (`lig serve`);
    `run_jobs`: it runs the background jobs too (not a `--workers N` worker's)."""
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
        # Shared by every process through the database, with a local share each.
        app.state.rate_limiter = RateLimiter(app.state.db, settings)
        app.state.documents = DocumentStore(app.state.db, settings)
        # Build the full schema (and its guards) now rather than on the first request.
        full_schema()
        # The audit sealer, the comparison of queued households, the webhook sender
        # (gateway/jobs.py): here, or in a process of their own beside the workers.
        tasks = jobs.start(app.state.db, settings) if run_jobs else []
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
            await jobs.stop(tasks)
            if compiled is not None:
                await compiled.close()
            await app.state.db.dispose()

    middleware = [
        Middleware(MetricsMiddleware),
        Middleware(SecurityMiddleware, settings=settings),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Purpose", "X-Request-Id"],
                expose_headers=["X-Request-Id", "Retry-After", "WWW-Authenticate"],
                max_age=600,
            )
        )
    return Starlette(
        routes=routes(),
        middleware=middleware,
        exception_handlers={Exception: internal_error},
        lifespan=lifespan,
    )


def worker_app() -> Starlette:
    """The app of a `lig serve --workers N` worker process (uvicorn's factory): requests only;
    the background jobs run in the process `lig serve` starts beside the workers."""
    return create_app(serving=True, run_jobs=False)
