"""Prometheus metrics: HTTP requests by route, GraphQL operations by name, with latencies."""

from __future__ import annotations

import re
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "lig_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "lig_http_request_duration_seconds", "HTTP request latency", ["route"], buckets=_BUCKETS
)
GRAPHQL_OPERATIONS = Counter(
    "lig_graphql_operations_total", "GraphQL operations executed", ["operation", "outcome"]
)
GRAPHQL_LATENCY = Histogram(
    "lig_graphql_operation_duration_seconds",
    "GraphQL operation latency",
    ["operation"],
    buckets=_BUCKETS,
)
REFUSALS = Counter(
    "lig_refusals_total",
    "Requests refused before any work: rate limit, operation limits, trusted documents",
    ["reason"],
)

_OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def operation_label(name: Any) -> str:
    # Label values come from clients: keep them bounded and well-formed.
    return name if isinstance(name, str) and _OPERATION_NAME.fullmatch(name) else "anonymous"


def observe_operation(name: str, outcome: str, seconds: float) -> None:
    GRAPHQL_OPERATIONS.labels(name, outcome).inc()
    GRAPHQL_LATENCY.labels(name).observe(seconds)


def observe_refusal(reason: str) -> None:
    REFUSALS.labels(reason).inc()


async def metrics_endpoint(_request: Request) -> Response:
    """
    responses:
      200:
        description: Prometheus text exposition of the gateway's metrics.
        content:
          text/plain: {}
    """
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every HTTP request, labelled by route template, not by raw path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = "other"
        for candidate in scope["app"].routes if "app" in scope else []:
            match, _ = candidate.matches(scope)
            if match == Match.FULL:
                route = getattr(candidate, "path", "other")
                break
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)
