"""POST /graphql: GraphQL over HTTP with a JSON body.

A small endpoint of our own rather than strawberry's view: it owns the request context (principal,
connection, dataloaders), formats errors with `extensions.code`, and never echoes an unexpected
exception's text to the client.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response

from gateway.context import Context
from gateway.database import Database
from gateway.errors import LigError
from gateway.http.metrics import observe_operation, operation_label
from gateway.http.responses import JSONResponse
from gateway.principal import LOCAL_OPERATOR
from resolvers.loaders import Loaders

log = logging.getLogger("lig.graphql")

MAX_BODY_BYTES = 2 * 1024 * 1024


def request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    if given and len(given) <= 64 and given.replace("-", "").isalnum():
        return given
    return uuid.uuid4().hex


def _bad_request(message: str, rid: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    return JSONResponse(body, status_code=400, headers={"x-request-id": rid})


def format_error(error: GraphQLError, rid: str) -> dict[str, Any]:
    original = error.original_error
    out: dict[str, Any] = {}
    if isinstance(original, LigError):
        out["message"] = original.message
        out["extensions"] = original.extensions()
    elif original is None or isinstance(original, GraphQLError):
        # graphql-core's own errors: syntax, validation, variable coercion. Their messages name
        # the offending argument or variable and hold nothing the caller did not send.
        out["message"] = error.message
        if error.message.startswith("Syntax Error"):
            code = "GRAPHQL_PARSE_FAILED"
        elif error.message.startswith("Variable '$"):
            code = "BAD_USER_INPUT"
        else:
            code = "GRAPHQL_VALIDATION_FAILED"
        out["extensions"] = {"code": code}
    else:
        log.error("unexpected error [request %s]", rid, exc_info=original)
        out["message"] = f"Internal server error; quote request id {rid}"
        out["extensions"] = {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    return out


async def graphql_endpoint(request: Request) -> Response:
    """
    summary: GraphQL over HTTP
    description: >
      Send `{"query": ..., "variables": {...}, "operationName": ...}` as JSON. The schema is in
      `schema/schema.graphql`. Errors carry `extensions.code`.
    responses:
      200:
        description: A GraphQL response (`data` and/or `errors`).
      400:
        description: The body is not a GraphQL request.
    """
    rid = request_id(request)
    if request.method != "POST":
        return _bad_request("send GraphQL requests with POST", rid)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _bad_request(f"request body over {MAX_BODY_BYTES} bytes", rid)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _bad_request("the body is not valid JSON", rid)
    if not isinstance(payload, dict):
        return _bad_request("the body must be a JSON object", rid)
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return _bad_request("query: a GraphQL document (string) is required", rid)
    if variables is not None and not isinstance(variables, dict):
        return _bad_request("variables: must be a JSON object", rid)
    if operation_name is not None and not isinstance(operation_name, str):
        return _bad_request("operationName: must be a string", rid)

    db: Database = request.app.state.db
    schema: strawberry.Schema = request.app.state.schema
    ctx = Context(db=db, principal=LOCAL_OPERATOR, request_id=rid)
    ctx.loaders = Loaders(ctx)
    started = time.perf_counter()
    try:
        result = await schema.execute(
            query, variable_values=variables, context_value=ctx, operation_name=operation_name
        )
    finally:
        await ctx.close()
    out: dict[str, Any] = {}
    if result.errors:
        out["errors"] = [format_error(e, rid) for e in result.errors]
    out["data"] = result.data
    observe_operation(
        operation_label(operation_name),
        "error" if result.errors else "ok",
        time.perf_counter() - started,
    )
    return JSONResponse(out, headers={"x-request-id": rid})
