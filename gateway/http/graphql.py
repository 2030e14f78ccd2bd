"""POST /graphql: GraphQL over HTTP with a JSON body.

A small endpoint of our own rather than strawberry's view, because each request runs against the
caller's own schema view. In order: authenticate the bearer token; parse and validate the
document against the view of the token's scopes; refuse personal data without an `X-Purpose`;
execute; store the audit event of a personal read (or of any refusal) before answering. Errors
carry `extensions.code`; an unexpected exception's text never reaches the client.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, execute
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution import optimized_is_awaitable

from auth.bearer import CHALLENGE, BearerRefused, authenticate
from auth.tokens import AccessToken
from gateway.audit import record_request
from gateway.context import Context
from gateway.database import Database
from gateway.errors import LigError, Unauthenticated
from gateway.http import compiled
from gateway.http import purpose as purposes
from gateway.http.admission import admit, refused_cheaply
from gateway.http.metrics import observe_operation, operation_label
from gateway.http.operations import (
    TOO_MANY_TOKENS,
    Operation,
    Refused,
    analyse,
    parse_within_limits,
    prepare,
)
from gateway.http.responses import JSONResponse, request_id
from gateway.principal import Principal
from resolvers.loaders import Loaders
from schema.views import view_for

log = logging.getLogger("lig.graphql")


def _bad_request(message: str, rid: str, status: int = 400, code: str = "BAD_REQUEST") -> Response:
    return _response(_error(status, code, message, rid))


# A JSON body; `application/graphql+json` is the media type an earlier draft of GraphQL over
# HTTP gave it. Nothing else: a form or text body is what a page on another site can make a
# browser send without asking (CSRF), so it is never read.
_MEDIA_TYPES = frozenset({"application/json", "application/graphql+json"})


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
        # graphql-core's own errors: syntax, validation, variable coercion, and our limits.
        # Their messages name the offending argument or variable and hold nothing the caller
        # did not send.
        # Never a suggestion, even of the name sent ("Did you mean 'x { ... }'?"): schema
        # probing tools read any of them.
        out["message"] = _shortened(_SUGGESTION.sub("", error.message))
        if error.extensions and "code" in error.extensions:
            out["extensions"] = dict(error.extensions)
        elif error.message.endswith(TOO_MANY_TOKENS):
            out["extensions"] = {"code": "LIMIT_EXCEEDED", "setting": "LIG_GRAPHQL_MAX_TOKENS"}
        elif error.message.startswith("Syntax Error"):
            out["extensions"] = {"code": "GRAPHQL_PARSE_FAILED"}
        elif error.message.startswith("Variable '$"):
            out["extensions"] = {"code": "BAD_USER_INPUT"}
        else:
            out["extensions"] = {"code": "GRAPHQL_VALIDATION_FAILED"}
    else:
        log.error("unexpected error [request %s]", rid, exc_info=original)
        out.update(_internal_error(rid))
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    return out


_SUGGESTION = re.compile(r" Did you mean .*$", re.DOTALL)


# graphql-core's messages quote the value they refuse, which may be a 64 KiB literal.
_MAX_MESSAGE = 500


def _shortened(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """One operation as sent: a document, or the id of a trusted document, and its variables."""

    query: str | None
    document_id: str | None
    variables: dict[str, Any] | None
    operation_name: str | None


def read_request(payload: Any) -> GraphQLRequest | str:
    """The request in a JSON body, or what is wrong with it (naming the member)."""
    if not isinstance(payload, dict):
        return "the body must be a JSON object"
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    document_id = payload.get("documentId")
    extensions = payload.get("extensions")
    if document_id is None and isinstance(extensions, dict):
        # Apollo's automatic persisted queries name the same hash this way.
        persisted = extensions.get("persistedQuery")
        if isinstance(persisted, dict) and isinstance(persisted.get("sha256Hash"), str):
            document_id = f"sha256:{persisted['sha256Hash']}"
    if document_id is not None and not isinstance(document_id, str):
        return "documentId: must be a string (sha256:…)"
    if query is not None and not isinstance(query, str):
        return "query: must be a string"
    if document_id is None and (query is None or not query.strip()):
        return "query: a GraphQL document (string) is required, or the documentId of one"
    if variables is not None and not isinstance(variables, dict):
        return "variables: must be a JSON object"
    if operation_name is not None and not isinstance(operation_name, str):
        return "operationName: must be a string"
    return GraphQLRequest(query, document_id, variables, operation_name)


async def graphql_endpoint(request: Request) -> Response:
    """
    summary: GraphQL over HTTP
    description: >
      Send `{"query": ..., "variables": {...}, "operationName": ...}` as JSON
      (`Content-Type: application/json`) with `Authorization: Bearer <access token>` (from
      `/oauth/token`); or, instead of `query`, `"documentId": "sha256:…"`, the id of a document
      registered for the client (`lig documents add`): a client restricted to trusted documents
      may send nothing else. Operations that return personal data also need `X-Purpose` (why,
      at most 200 characters); each is audited. The schema a client sees is cut to its scopes;
      the full one is `schema/schema.graphql`. Documents over the operation limits (depth,
      aliases, fields, directives, tokens, cost) are refused with `LIMIT_EXCEEDED` before they
      run. Errors carry `extensions.code`.
    responses:
      200:
        description: A GraphQL response (`data` and/or `errors`).
      400:
        description: >
          The body is not a GraphQL request, the document is over an operation limit
          (`LIMIT_EXCEEDED`), or `X-Purpose` is missing or invalid.
      401:
        description: No valid access token (`WWW-Authenticate` says why).
      403:
        description: The client may only send trusted documents, by `documentId`.
      413:
        description: The body is over the limit (`LIG_GRAPHQL_MAX_BODY_BYTES`, 16 MiB).
      415:
        description: The body is not `application/json`.
      429:
        description: The client is over its rate limit; `Retry-After` says when to try again.
      500:
        description: The audit record of the read could not be stored; nothing is returned.
      504:
        description: The operation ran past its time (`LIG_GRAPHQL_TIMEOUT_SECONDS`) and stopped.
    """
    rid = request_id(request)
    # Only POST reaches here (the route's methods: GET is 405), so no query or mutation is
    # ever read from a URL.
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media not in _MEDIA_TYPES:
        return _bad_request("Content-Type: send the request as application/json", rid, 415)
    # Admitted before the body is read: a client over its rate limit costs no more than this.
    admission = await admit(request, rid)
    if admission.retry_after is not None:
        wait = admission.retry_after
        message = f"too many requests: try again in {wait} s"
        return _response(_error(429, "RATE_LIMITED", message, rid, **{"retry-after": str(wait)}))
    settings = request.app.state.db.settings
    limit = settings.graphql_max_body_bytes
    body = await _body(request, limit)
    if body is None:
        return _bad_request(f"request body over {limit} bytes", rid, 413)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _bad_request("the body is not valid JSON", rid)
    if isinstance(payload, list):
        return await _batch(request, rid, payload, admission.token)
    operation = read_request(payload)
    if isinstance(operation, str):
        return _bad_request(operation, rid)
    try:
        return _response(await _one(request, rid, operation, admission.token))
    except Exception:
        # A bug (anything raised inside execution is already an error entry): the same
        # answer as for a resolver's, in GraphQL's shape; the details go to the log only.
        log.exception("unexpected error [request %s]", rid)
        return _response(_unexpected(rid))


def _unexpected(rid: str) -> Reply:
    return Reply(500, {"errors": [_internal_error(rid)]}, {"x-request-id": rid})


def _internal_error(rid: str) -> dict[str, Any]:
    """What the caller learns of a bug: that it happened, and the id the log names it by."""
    return {
        "message": f"Internal server error; quote request id {rid}",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": rid},
    }


@dataclass(frozen=True, slots=True)
class Reply:
    """One operation's answer: a GraphQL response body (bytes: already JSON, from the compiled
    path), its status and headers."""

    status: int
    body: dict[str, Any] | bytes
    headers: dict[str, str]


def _response(reply: Reply) -> Response:
    if isinstance(reply.body, bytes):
        return Response(reply.body, media_type="application/json", headers=reply.headers)
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


def _error(status: int, code: str, message: str, rid: str, **headers: str) -> Reply:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Reply(status, body, {"x-request-id": rid, **headers})


async def _batch(
    request: Request, rid: str, payload: list[Any], token: AccessToken | None
) -> Response:
    """An array of operations, answered by an array, when batching is on (it is off unless
    LIG_GRAPHQL_MAX_BATCH allows it: a batch multiplies what one request asks). Each operation
    goes the general way, with its limits and audit record; the batch takes one rate-limit
    token, as any request (a batch is at most LIG_GRAPHQL_MAX_BATCH operations)."""
    most = request.app.state.db.settings.graphql_max_batch
    if most == 0:
        message = "array batching is off: send one operation per request"
        return _response(_error(400, "LIMIT_EXCEEDED", message, rid))
    if not payload or len(payload) > most:
        message = f"a batch holds 1 to {most} operations (LIG_GRAPHQL_MAX_BATCH)"
        return _response(_error(400, "LIMIT_EXCEEDED", message, rid))
    answers: list[Any] = []
    for item in payload:
        operation = read_request(item)
        if isinstance(operation, str):
            answers.append(_error(400, "BAD_REQUEST", operation, rid).body)
            continue
        reply = await _one(request, rid, operation, token, fast=False)
        if reply.status == 401:
            return _response(reply)  # the caller, not the operation, is refused: stop here
        answers.append(reply.body)
    return JSONResponse(answers, headers={"x-request-id": rid})


async def _one(
    request: Request,
    rid: str,
    operation: GraphQLRequest,
    token: AccessToken | None,
    *,
    fast: bool = True,
) -> Reply:
    """One operation of a request admitted (gateway/http/admission.py); `token`: its verified
    token, None when it has none that verifies (the general path answers 401)."""
    query = operation.query
    if token is not None and token.username is None:
        # A client's own token: it may be bound to trusted documents (a person's, the
        # console's, never is).
        store = request.app.state.documents
        if operation.document_id is not None:
            registered = await store.body(token.client_id, operation.document_id)
            if registered is None:
                refused_cheaply("unknown_document", token.client_id, rid)
                message = (
                    "documentId: no document with this id is registered for this client "
                    "(lig documents add)"
                )
                return _error(400, "PERSISTED_QUERY_NOT_FOUND", message, rid)
            if query is not None and query != registered:
                message = "query: send either the document or its documentId, not both"
                return _error(400, "BAD_REQUEST", message, rid)
            query = registered
        elif await store.required(token.client_id):
            refused_cheaply("untrusted_document", token.client_id, rid)
            message = (
                "documentId: this client may only send the documents registered for it, by "
                "their id (lig documents add); free-form queries are refused"
            )
            return _error(403, "TRUSTED_DOCUMENT_REQUIRED", message, rid)
    variables, operation_name = operation.variables, operation.operation_name
    if token is not None and query is not None:
        # A document over the static limits is refused before anything is read for it, even
        # the client's standing (a flood of them costs no database work: not audited, as it
        # reads nothing; gateway/http/admission.py).
        early = parse_within_limits(query, request.app.state.db.settings)
        if isinstance(early, Refused) and early.outcome == "LIMIT_EXCEEDED":
            refused_cheaply("operation_limits", token.subject, rid)
            errors = [format_error(e, rid) for e in early.errors]
            return Reply(early.status, {"errors": errors}, {"x-request-id": rid})

    # Eligibility documents, the desks' everyday request, in one SQL statement when they can be.
    if fast and query is not None:
        answered = await compiled.answer(request, rid, query, variables, operation_name)
        if answered is not None:
            return Reply(200, answered, {"x-request-id": rid})

    db: Database = request.app.state.db
    audit = _Auditor(db, rid)
    try:
        principal = await authenticate(request)
    except Unauthenticated as refusal:
        await audit.refused(None, "graphql", None, "UNAUTHENTICATED")
        return Reply(
            401,
            {"errors": [_lig_error(refusal)]},
            {"x-request-id": rid, "www-authenticate": _challenge(refusal)},
        )
    if query is None:
        # A person's token (the console) with an id: the console sends its documents whole.
        return _error(400, "BAD_REQUEST", "query: a GraphQL document is required", rid)
    try:
        purpose = purposes.read_purpose(request.headers)
    except LigError as refusal:
        await audit.refused(principal, operation_label(operation_name), None, "NO_PURPOSE")
        return Reply(400, {"errors": [_lig_error(refusal)]}, {"x-request-id": rid})
    answer = await run_operation(
        db, principal, rid, purpose, query, variables, operation_name, audit=audit
    )
    if "data" not in answer.body:
        # Refused before execution: no `data` entry (GraphQL over HTTP).
        return Reply(answer.status, {"errors": answer.body["errors"]}, {"x-request-id": rid})
    return Reply(200, answer.body, {"x-request-id": rid})


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
    settings = db.settings
    view = view_for(principal.scopes)
    document = prepare(view, settings, query, operation_name, variables)
    if isinstance(document, Refused):
        if document.outcome == "LIMIT_EXCEEDED":
            # Refused unread, before validation: nothing was asked of the schema, so there is
            # no read (or probe) to audit; counted and logged (gateway/http/admission.py).
            refused_cheaply("operation_limits", principal.client_id, rid)
        else:
            await audit.refused(principal, operation_label(operation_name), purpose, "INVALID")
        return Answer({"errors": [format_error(e, rid) for e in document.errors]}, document.status)
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
    timeout = settings.graphql_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
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
    except TimeoutError:
        # Cancelled where it stood: a unit of work not yet committed is rolled back.
        log.warning("operation stopped after %s s [request %s]", timeout, rid)
        observe_operation(operation_label(operation_name), "timeout", time.perf_counter() - started)
        message = (
            f"the operation ran longer than {timeout:g} s and was stopped; a change it had not "
            "finished was not stored"
        )
        return Answer({"errors": [{"message": message, "extensions": {"code": "TIMEOUT"}}]}, 504)
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
