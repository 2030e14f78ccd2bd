"""graphql-transport-ws (the `graphql-ws` library's protocol) over a Starlette websocket.

    client                                  server
    connection_init {payload: {"Authorization": "Bearer …"}}
                                            connection_ack          (or close 4403)
    subscribe {id, payload: {query, variables, operationName}}
                                            next {id, payload} …    (error {id, payload})
    complete {id}                           complete {id}
    ping / pong, either way

The access token comes in the `connection_init` payload (`Authorization`, or `authorization`,
or `headers.Authorization`), as browsers cannot set headers on a websocket. It is checked like a
bearer token on POST /graphql, again every RECHECK_SECONDS (a revoked client or token is cut
off), and the socket closes (4403) when the token expires: connect again with a fresh token and
resume after the last cursor. Documents are parsed and validated against the client's own schema
view, so a client whose scopes give no subscription is refused at `connection_init`. Only
subscriptions run here: queries and mutations go to POST /graphql, where they are audited.
Refused connections are recorded in the audit trail, as on POST /graphql.

Close codes (the protocol's): 4400 bad message, 4401 subscribe before ack, 4403 forbidden,
4406 subprotocol not acceptable, 4408 no connection_init in time, 4409 duplicate subscription
id, 4429 a second connection_init.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, OperationType, get_operation_ast, subscribe
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from auth.bearer import authenticate_header
from gateway.audit import record_request
from gateway.errors import LigError, Unauthenticated
from gateway.http.graphql import format_error
from gateway.http.operations import Refused, prepare
from gateway.http.responses import given_request_id
from gateway.principal import Principal
from gateway.subscriptions.context import SubscriptionContext
from schema.views import SchemaView, view_for

log = logging.getLogger("lig.subscriptions")

SUBPROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
RECHECK_SECONDS = 60.0
MAX_SUBSCRIPTIONS = 20
MAX_MESSAGE_BYTES = 64 * 1024


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class _Connection:
    ws: WebSocket
    rid: str
    principal: Principal | None = None
    authorization: str = ""
    expires_at: float = 0.0
    view: SchemaView | None = None
    operations: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.send_text(orjson.dumps(message).decode("utf-8"))


def _base_url(ws: WebSocket) -> str:
    """The http(s) base URL of the websocket's host: the issuer tokens name when LIG_ISSUER is
    unset (ws → http, wss → https)."""
    url = str(ws.base_url)
    if url.startswith("ws"):
        url = "http" + url[2:]
    return url


def _authorization(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    headers = payload.get("headers")
    for source in (payload, headers if isinstance(headers, dict) else {}):
        for key in ("Authorization", "authorization"):
            value = source.get(key)
            if isinstance(value, str):
                return value
    return ""


async def graphql_ws_endpoint(ws: WebSocket) -> None:
    """The websocket at /graphql (graphql-transport-ws)."""
    if SUBPROTOCOL not in ws.scope.get("subprotocols", []):
        await ws.accept()
        await ws.close(4406, "Subprotocol not acceptable: use graphql-transport-ws")
        return
    await ws.accept(subprotocol=SUBPROTOCOL)
    rid = given_request_id(ws.headers.get("x-request-id", ""))
    conn = _Connection(ws, rid or uuid.uuid4().hex)
    watchdog: asyncio.Task[None] | None = None
    try:
        await _initialise(conn)
        watchdog = asyncio.create_task(_watch(conn))
        while True:
            message = await _receive(ws)
            await _handle(conn, message)
    except _Close as close:
        with contextlib.suppress(Exception):
            await ws.close(close.code, close.reason[:120])
    except WebSocketDisconnect:
        pass
    finally:
        if watchdog is not None:
            watchdog.cancel()
        for task in conn.operations.values():
            task.cancel()
        if conn.operations:
            await asyncio.gather(*conn.operations.values(), return_exceptions=True)


async def _receive(ws: WebSocket) -> dict[str, Any]:
    text = await ws.receive_text()
    if len(text) > MAX_MESSAGE_BYTES:
        raise _Close(4400, "message too large")
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _Close(4400, "invalid message: not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise _Close(4400, "invalid message: no type")
    return message


async def _initialise(conn: _Connection) -> None:
    try:
        async with asyncio.timeout(INIT_TIMEOUT_SECONDS):
            while True:
                message = await _receive(conn.ws)
                if message["type"] == "connection_init":
                    break
                if message["type"] == "subscribe":
                    raise _Close(4401, "Unauthorized")
                if message["type"] == "ping":
                    await conn.send({"type": "pong"})
                elif message["type"] != "pong":
                    raise _Close(4400, f"unexpected message type {message['type']!r}")
    except TimeoutError:
        raise _Close(4408, "Connection initialisation timeout") from None
    conn.authorization = _authorization(message.get("payload"))
    app = conn.ws.app
    try:
        conn.principal, conn.expires_at = await authenticate_header(
            app.state.keys, app.state.db, conn.authorization, _base_url(conn.ws)
        )
    except Unauthenticated as refusal:
        await _audit_refusal(conn, None, "UNAUTHENTICATED")
        raise _Close(4403, f"Forbidden: {refusal.message}") from None
    conn.view = view_for(conn.principal.scopes)
    if conn.view.schema.subscription_type is None:
        await _audit_refusal(conn, conn.principal, "FORBIDDEN")
        raise _Close(4403, "Forbidden: your scopes give no subscriptions (warning:read)")
    await conn.send({"type": "connection_ack"})


async def _audit_refusal(conn: _Connection, principal: Principal | None, outcome: str) -> None:
    db = conn.ws.app.state.db
    try:
        await record_request(
            db,
            request_id=conn.rid,
            principal=principal,
            action="subscription",
            purpose=None,
            outcome=outcome,
        )
    except Exception:
        log.exception("audit record of a refused websocket not stored [request %s]", conn.rid)


async def _watch(conn: _Connection) -> None:
    """Close the socket when the token expires, or its client or the token is revoked."""
    app = conn.ws.app
    while True:
        left = conn.expires_at - time.time()
        await asyncio.sleep(max(0.0, min(left, RECHECK_SECONDS)))
        reason = "access token expired; connect again with a fresh token"
        if conn.expires_at > time.time():
            try:
                await authenticate_header(
                    app.state.keys, app.state.db, conn.authorization, _base_url(conn.ws)
                )
                continue
            except Unauthenticated as refusal:
                reason = refusal.message
            except Exception:
                log.exception("re-checking a websocket's token failed; checking again later")
                continue
        with contextlib.suppress(Exception):
            await conn.ws.close(4403, f"Forbidden: {reason}"[:120])
        return


async def _handle(conn: _Connection, message: dict[str, Any]) -> None:
    kind = message["type"]
    if kind == "ping":
        await conn.send({"type": "pong"})
    elif kind == "pong":
        pass
    elif kind == "connection_init":
        raise _Close(4429, "Too many initialisation requests")
    elif kind == "subscribe":
        await _subscribe(conn, message)
    elif kind == "complete":
        task = conn.operations.pop(str(message.get("id")), None)
        if task is not None:
            task.cancel()
    else:
        raise _Close(4400, f"unexpected message type {kind!r}")


async def _subscribe(conn: _Connection, message: dict[str, Any]) -> None:
    op_id = message.get("id")
    payload = message.get("payload")
    if not isinstance(op_id, str) or not op_id or len(op_id) > 128 or not isinstance(payload, dict):
        raise _Close(4400, "invalid subscribe message")
    if op_id in conn.operations:
        raise _Close(4409, f"Subscriber for {op_id} already exists")
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    if (
        not isinstance(query, str)
        or (variables is not None and not isinstance(variables, dict))
        or (operation_name is not None and not isinstance(operation_name, str))
    ):
        raise _Close(4400, "invalid subscribe payload")
    if len(conn.operations) >= MAX_SUBSCRIPTIONS:
        await _error(conn, op_id, [_lig_error(f"at most {MAX_SUBSCRIPTIONS} subscriptions")])
        return
    assert conn.view is not None
    assert conn.principal is not None
    settings = conn.ws.app.state.db.settings
    document = prepare(conn.view, settings, query, operation_name, variables)
    if isinstance(document, Refused):
        await _error(conn, op_id, [format_error(e, conn.rid) for e in document.errors])
        return
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.SUBSCRIPTION:
        await _error(
            conn,
            op_id,
            [
                _lig_error(
                    "only subscriptions over the websocket: send queries and mutations "
                    "with POST /graphql"
                )
            ],
        )
        return
    ctx = SubscriptionContext(
        db=conn.ws.app.state.db,
        principal=conn.principal,
        request_id=conn.rid,
        hub=conn.ws.app.state.notice_hub,
    )
    conn.operations[op_id] = asyncio.create_task(
        _run(conn, op_id, ctx, document, variables, operation_name)
    )


async def _run(
    conn: _Connection,
    op_id: str,
    ctx: SubscriptionContext,
    document: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> None:
    assert conn.view is not None
    try:
        outcome = subscribe(
            conn.view.schema,
            document,
            context_value=ctx,
            variable_values=variables,
            operation_name=operation_name,
            hide_suggestions=True,
        )
        result = await outcome if inspect.isawaitable(outcome) else outcome
        if isinstance(result, ExecutionResult):
            await _error(conn, op_id, [format_error(e, conn.rid) for e in result.errors or []])
            return
        stream: AsyncIterator[ExecutionResult] = result
        try:
            async for item in stream:
                out: dict[str, Any] = {"data": item.data}
                if item.errors:
                    out["errors"] = [format_error(e, conn.rid) for e in item.errors]
                await conn.send({"type": "next", "id": op_id, "payload": out})
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        await conn.send({"type": "complete", "id": op_id})
    except asyncio.CancelledError:
        raise
    except LigError as error:
        await _error(conn, op_id, [{"message": error.message, "extensions": error.extensions()}])
    except GraphQLError as error:
        await _error(conn, op_id, [format_error(error, conn.rid)])
    except Exception:
        log.exception("subscription failed [request %s]", conn.rid)
        await _error(conn, op_id, [_internal(conn.rid)])
    finally:
        conn.operations.pop(op_id, None)
        await ctx.close()


def _lig_error(message: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": "BAD_USER_INPUT"}}


def _internal(rid: str) -> dict[str, Any]:
    return {
        "message": f"Internal server error; quote request id {rid}",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": rid},
    }


async def _error(conn: _Connection, op_id: str, errors: list[dict[str, Any]]) -> None:
    with contextlib.suppress(Exception):
        await conn.send({"type": "error", "id": op_id, "payload": errors})
