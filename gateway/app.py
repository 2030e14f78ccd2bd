"""The ASGI application: routes, middleware and the lifespan that owns shared resources."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from auth import endpoints as oauth
from auth.keys import KeyRing
from gateway.audit.sealer import run_sealer
from gateway.database import Database
from gateway.http import api_v1
from gateway.http.graphql import graphql_endpoint
from gateway.http.health import healthz, readyz
from gateway.http.metrics import MetricsMiddleware, metrics_endpoint
from gateway.http.openapi import openapi_endpoint
from gateway.settings import Settings, get_settings
from schema.views import full_schema


def routes() -> list[BaseRoute]:
    return [
        Route("/graphql", graphql_endpoint, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint, methods=["GET"], include_in_schema=False),
        *oauth.routes(),
        *api_v1.routes(),
    ]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.db = Database(settings)
        # Reads the key file (if any) now; the database on first use (auth/keys.py).
        app.state.keys = KeyRing(app.state.db, settings)
        # Build the full schema (and its guards) now rather than on the first request.
        full_schema()
        # Audit events are stored with each read; the hash chain is sealed behind them.
        sealer = asyncio.create_task(run_sealer(app.state.db, settings.audit_seal_interval))
        try:
            yield
        finally:
            sealer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sealer
            await app.state.db.dispose()

    return Starlette(
        routes=routes(),
        middleware=[Middleware(MetricsMiddleware)],
        lifespan=lifespan,
    )
