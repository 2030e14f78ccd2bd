"""The REST contract (OpenAPI 3.1), generated from the routes' docstrings and pydantic models.

`lig schema export` writes it to `openapi/openapi.yaml`; `GET /openapi.json` serves it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from gateway import __version__
from gateway.http.responses import JSONResponse

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.yaml"

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Health": {
            "type": "object",
            "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
            "required": ["status"],
        },
        "Problem": {
            "description": "RFC 9457 problem details.",
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
            "required": ["title", "status"],
        },
    }
}


def openapi_document(routes: list[BaseRoute]) -> dict[str, Any]:
    generator = SchemaGenerator(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "lig — low-income population sharing gateway",
                "version": __version__,
                "description": (
                    "REST endpoints beside POST /graphql. Errors are RFC 9457 problem details."
                ),
            },
            "components": COMPONENTS,
        }
    )
    # Docstring YAML reads `200:` as an integer; OpenAPI wants string keys, as JSON has.
    document: dict[str, Any] = orjson.loads(
        orjson.dumps(generator.get_schema(routes), option=orjson.OPT_NON_STR_KEYS)
    )
    return document


def openapi_yaml(routes: list[BaseRoute]) -> str:
    return yaml.safe_dump(openapi_document(routes), sort_keys=False, allow_unicode=True)


async def openapi_endpoint(request: Request) -> Response:
    """
    responses:
      200:
        description: This OpenAPI document, as JSON.
    """
    return JSONResponse(openapi_document(request.app.routes))
