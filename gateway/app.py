"""The ASGI application: routes, middleware and the lifespan that owns shared resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from gateway.database import Database
from gateway.http.graphql import graphql_endpoint
from gateway.http.health import healthz, readyz
from gateway.http.metrics import MetricsMiddleware, metrics_endpoint
from gateway.http.openapi import openapi_endpoint
from gateway.settings import Settings, get_settings
from schema.build import build_schema


def routes() -> list[BaseRoute]:
    return [
        Route("/graphql", graphql_endpoint, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint, methods=["GET"], include_in_schema=False),
    ]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.db = Database(settings)
        app.state.schema = build_schema()
        try:
            yield
        finally:
            await app.state.db.dispose()

    return Starlette(
        routes=routes(),
        middleware=[Middleware(MetricsMiddleware)],
        lifespan=lifespan,
    )
