"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from gateway.database import Database
from gateway.http.responses import JSONResponse, problem


async def healthz(_request: Request) -> Response:
    """
    responses:
      200:
        description: The process is alive.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Health'}
    """
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """
    responses:
      200:
        description: The database is reachable; the gateway can serve.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Health'}
      503:
        description: The database is not reachable.
        content:
          application/problem+json:
            schema: {$ref: '#/components/schemas/Problem'}
    """
    db: Database = request.app.state.db
    try:
        await asyncio.wait_for(db.ping(), timeout=2.0)
    except Exception:  # any failure to reach the database means "not ready"
        return problem(503, "Not ready", "the database is not reachable")
    return JSONResponse({"status": "ready", "database": db.dialect})
