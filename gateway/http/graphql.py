"""POST /graphql: GraphQL over HTTP with a JSON body.

A small endpoint of our own rather than strawberry's view, because each request runs against the
caller's own schema view. In order: authenticate the bearer token; parse and validate the
document against the view of the token's scopes; refuse personal data without an `X-Purpose`;
execute; store the audit event of a personal read (or of any refusal) before answering. Errors
carry `extensions.code`; an unexpected exception's text never reaches the client.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, execute
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution import optimized_is_awaitable

from auth.bearer import CHALLENGE, BearerRefused, authenticate
from gateway.audit import record_request
from gateway.context import Context
from gateway.database import Database
from gateway.errors import LigError, Unauthenticated
from gateway.http import compiled
from gateway.http import purpose as purposes
from gateway.http.metrics import observe_operation, operation_label
from gateway.http.operations import Operation, analyse, parse_document, validate_document
from gateway.http.responses import JSONResponse, request_id
from gateway.principal import Principal
from resolvers.loaders import Loaders
from schema.views import view_for

log = logging.getLogger("lig.graphql")


def _bad_request(message: str, rid: str, status: int = 400) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    return JSONResponse(body, status_code=status, headers={"x-request-id": rid})


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be over `limit` (also when it is sent in
    chunks without a Content-Length)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
    return b"".join(parts)


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
      Send `{"query": ..., "variables": {...}, "operationName": ...}` as JSON with
      `Authorization: Bearer <access token>` (from `/oauth/token`). Operations that return personal
      data also need `X-Purpose` (why, at most 200 characters); each is audited. The schema a client
      sees is cut to its scopes; the full one is `schema/schema.graphql`. Errors carry
      `extensions.code`.
    responses:
      200:
        description: A GraphQL response (`data` and/or `errors`).
      400:
        description: The body is not a GraphQL request, or `X-Purpose` is missing or invalid.
      413:
        description: The body is over the limit (`LIG_GRAPHQL_MAX_BODY_BYTES`, 16 MiB).
      401:
        description: No valid access token (`WWW-Authenticate` says why).
      500:
        description: The audit record of the read could not be stored; nothing is returned.
    """
    rid = request_id(request)
    if request.method != "POST":
        return _bad_request("send GraphQL requests with POST", rid)
    limit = request.app.state.db.settings.graphql_max_body_bytes
    body = await _body(request, limit)
    if body is None:
        return _bad_request(f"request body over {limit} bytes", rid, 413)
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

    # Eligibility documents, the desks' everyday request, in one SQL statement when they can be.
    fast = await compiled.answer(request, rid, query, variables, operation_name)
    if fast is not None:
        return fast

    db: Database = request.app.state.db
    audit = _Auditor(db, rid)
    try:
        principal = await authenticate(request)
    except Unauthenticated as refusal:
        await audit.refused(None, "graphql", None, "UNAUTHENTICATED")
        headers = {"x-request-id": rid, "www-authenticate": _challenge(refusal)}
        return _errors([_lig_error(refusal)], 401, headers)

    try:
        purpose = purposes.read_purpose(request.headers)
    except LigError as refusal:
        await audit.refused(principal, operation_label(operation_name), None, "NO_PURPOSE")
        return _errors([_lig_error(refusal)], 400, {"x-request-id": rid})
    answer = await run_operation(
        db, principal, rid, purpose, query, variables, operation_name, audit=audit
    )
    if answer.status != 200 or "data" not in answer.body:
        return _errors(answer.body["errors"], answer.status, {"x-request-id": rid})
    return JSONResponse(answer.body, headers={"x-request-id": rid})


@dataclass(frozen=True, slots=True)
class Answer:
    """A GraphQL response body and the HTTP status it goes with."""

    body: dict[str, Any]
    status: int = 200


async def run_operation(
    db: Database,
    principal: Principal,
    rid: str,
    purpose: str | None,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    *,
    audit: _Auditor | None = None,
) -> Answer:
    """Parse, validate against the principal's schema view, execute and audit one operation.

    The one path for every GraphQL operation, whoever sends it: a department over HTTP, or the
    console on behalf of the person signed in (gateway/console), so that scopes, masking, row
    rules and the audit of every read are the same for both.
    """
    audit = audit or _Auditor(db, rid)
    view = view_for(principal.scopes)
    try:
        document = parse_document(query)
    except GraphQLError as error:
        await audit.refused(principal, operation_label(operation_name), purpose, "INVALID")
        return Answer({"errors": [format_error(error, rid)]})
    invalid = validate_document(view, document)
    if invalid:
        await audit.refused(principal, operation_label(operation_name), purpose, "INVALID")
        return Answer({"errors": [format_error(e, rid) for e in invalid]})
    operation = analyse(view, document, operation_name)
    if operation is not None and operation.kind == "subscription":
        message = "subscriptions run over a websocket at /graphql (graphql-transport-ws)"
        refused = {"message": message, "extensions": {"code": "BAD_USER_INPUT"}}
        return Answer({"errors": [refused]}, 400)
    if purpose is None and operation is not None and operation.personal:
        await audit.refused(principal, operation.name, None, "NO_PURPOSE")
        return Answer({"errors": [_lig_error(purposes.missing())]}, 400)

    ctx = Context(db=db, principal=principal, request_id=rid, purpose=purpose)
    ctx.loaders = Loaders(ctx)
    started = time.perf_counter()
    try:
        outcome = execute(
            view.schema,
            document,
            context_value=ctx,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
            hide_suggestions=True,
        )
        result: ExecutionResult = await outcome if optimized_is_awaitable(outcome) else outcome  # type: ignore[misc,assignment]
    finally:
        await ctx.close()
    out: dict[str, Any] = {}
    if result.errors:
        out["errors"] = [format_error(e, rid) for e in result.errors]
    out["data"] = result.data
    if operation is not None and (operation.personal or _refused(out)):
        try:
            await audit.answered(ctx, operation, out)
        except Exception:
            # No read leaves without its audit record.
            log.exception("audit record not stored [request %s]; answer withheld", rid)
            message = f"the audit record could not be stored; quote request id {rid}"
            failure = {"message": message, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
            return Answer({"errors": [failure]}, 500)
    observe_operation(
        operation_label(operation.name if operation else operation_name),
        "error" if result.errors else "ok",
        time.perf_counter() - started,
    )
    return Answer(out)


def _challenge(refusal: Unauthenticated) -> str:
    return refusal.www_authenticate if isinstance(refusal, BearerRefused) else CHALLENGE


def _lig_error(error: LigError) -> dict[str, Any]:
    return {"message": error.message, "extensions": error.extensions()}


def _errors(errors: list[dict[str, Any]], status: int, headers: dict[str, str]) -> Response:
    # Refused before execution: no `data` entry (GraphQL over HTTP).
    return JSONResponse({"errors": errors}, status_code=status, headers=headers)


def _refused(out: dict[str, Any]) -> bool:
    return any(
        e.get("extensions", {}).get("code") in ("FORBIDDEN", "UNAUTHENTICATED")
        for e in out.get("errors", ())
    )


def _outcome(out: dict[str, Any]) -> str:
    if not out.get("errors"):
        return "OK"
    if _refused(out):
        return "FORBIDDEN"
    data = out.get("data")
    answered = isinstance(data, dict) and any(v is not None for v in data.values())
    return "PARTIAL" if answered else "ERROR"


def _count(data: Any) -> int:
    """How many results the answer holds: list items and page nodes at the top level."""
    if not isinstance(data, dict):
        return 0
    total = 0
    for value in data.values():
        if isinstance(value, list):
            total += len(value)
        elif isinstance(value, dict):
            page = value.get("edges", value.get("nodes"))
            total += len(page) if isinstance(page, list) else 1
    return total


class _Auditor:
    """Writes the one audit event of a request: a personal read, or a refusal."""

    def __init__(self, db: Database, rid: str) -> None:
        self.db = db
        self.rid = rid

    async def refused(
        self, principal: Principal | None, action: str, purpose: str | None, outcome: str
    ) -> None:
        await record_request(
            self.db,
            request_id=self.rid,
            principal=principal,
            action=action,
            purpose=purpose,
            outcome=outcome,
        )

    async def answered(self, ctx: Context, operation: Operation, out: dict[str, Any]) -> None:
        await record_request(
            self.db,
            request_id=self.rid,
            principal=ctx.principal,
            action=operation.name,
            purpose=ctx.purpose,
            households=ctx.households_seen,
            persons=ctx.persons_seen,
            fields=operation.fields,
            result_count=_count(out.get("data")),
            outcome=_outcome(out),
        )
