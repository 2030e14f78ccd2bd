"""/api/v1: agencies push assistance records and monitoring events in bulk, and read receipts.

The body is spooled (memory, then a temporary file) while it arrives, then stored by the same
service code as the GraphQL mutations (gateway/pushes/ingest.py) in one transaction. A JSON array
holds at most `push_max_items` items; larger batches come as NDJSON (one item per line), read
line by line. Errors are RFC 9457 problem details naming the field.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import IO, Any

import orjson
from sqlalchemy.exc import DBAPIError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from auth.bearer import authenticate
from gateway.audit import record_request
from gateway.database import Database, is_busy
from gateway.domain.enums import PushKind, PushOutcome, PushTransport
from gateway.errors import Busy, Unauthenticated
from gateway.http.admission import admit
from gateway.http.responses import problem, request_id
from gateway.principal import Principal
from gateway.pushes.ingest import (
    IDEMPOTENCY_KEY,
    KEY_RULE,
    Batch,
    BatchRefused,
    KeyReused,
    Unreadable,
    store_batch,
)
from gateway.pushes.receipts import find_receipt, header, iter_items
from gateway.pushes.targets import TARGETS
from gateway.settings import Settings

log = logging.getLogger("lig.api")

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})
PROBLEM = "urn:lig:problem:"


class _Refusal(Exception):
    """A request refused before anything is stored; `response` is the problem to send."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _field_problem(status: int, title: str, field: str, reason: str, rid: str) -> Response:
    return problem(
        status,
        title,
        f"{field}: {reason}",
        type=PROBLEM + ("invalid-request" if status == 400 else title.lower().replace(" ", "-")),
        errors=[{"field": field, "reason": reason}],
        request_id=rid,
    )


async def _principal(request: Request, scopes: tuple[str, ...], rid: str, action: str) -> Principal:
    """The caller, holding at least one of `scopes`; else the 429 problem, or the 401 or 403
    problem (audited)."""
    db: Database = request.app.state.db
    admission = await admit(request, rid)
    if admission.retry_after is not None:
        wait = admission.retry_after
        response = problem(
            429, "Too Many Requests", f"over the rate limit: try again in {wait} s", request_id=rid
        )
        response.headers["retry-after"] = str(wait)
        raise _Refusal(response)
    try:
        principal = await authenticate(request)
    except Unauthenticated as refusal:
        await record_request(
            db, request_id=rid, principal=None, action=action, purpose=None,
            outcome="UNAUTHENTICATED",
        )  # fmt: skip
        response = problem(401, "Unauthorized", refusal.message, request_id=rid)
        response.headers["www-authenticate"] = getattr(refusal, "www_authenticate", "Bearer")
        raise _Refusal(response) from None
    if not principal.scopes & set(scopes):
        await record_request(
            db, request_id=rid, principal=principal, action=action, purpose=None,
            outcome="FORBIDDEN",
        )  # fmt: skip
        wanted = " or ".join(f"`{s}`" for s in scopes)
        response = problem(403, "Forbidden", f"this needs the {wanted} scope", request_id=rid)
        response.headers["www-authenticate"] = (
            f'Bearer error="insufficient_scope", scope="{" ".join(scopes)}"'
        )
        raise _Refusal(response)
    return principal


def _options(request: Request, rid: str) -> tuple[str | None, bool]:
    unknown = sorted(set(request.query_params) - {"all_or_nothing"})
    if unknown:
        raise _Refusal(_field_problem(400, "Bad Request", unknown[0], "unknown parameter", rid))
    flag = request.query_params.get("all_or_nothing", "false")
    if flag not in ("true", "false"):
        raise _Refusal(
            _field_problem(400, "Bad Request", "all_or_nothing", "must be true or false", rid)
        )
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise _Refusal(
            _field_problem(
                400,
                "Bad Request",
                "Idempotency-Key",
                KEY_RULE,
                rid,
            )
        )
    return key, flag == "true"


def _media_type(request: Request, rid: str) -> PushTransport:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in JSON_TYPES:
        return PushTransport.JSON
    if media in NDJSON_TYPES:
        return PushTransport.NDJSON
    raise _Refusal(
        problem(
            415,
            "Unsupported Media Type",
            "send a JSON array as application/json, or one item per line as application/x-ndjson",
            request_id=rid,
        )
    )


def _too_large(detail: str, rid: str) -> _Refusal:
    return _Refusal(
        problem(
            413, "Content Too Large", detail, type=PROBLEM + "content-too-large", request_id=rid
        )
    )


async def _spool(request: Request, limit: int, memory: int, rid: str) -> IO[bytes]:
    """The body in a spooled temporary file (memory up to `memory` bytes, then disk)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(f"the body is over {limit} bytes", rid)
    spool = tempfile.SpooledTemporaryFile(max_size=memory)  # noqa: SIM115 - closed by caller
    size = 0
    try:
        async for part in request.stream():
            size += len(part)
            if size > limit:
                raise _too_large(f"the body is over {limit} bytes", rid)
            spool.write(part)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _json_items(spool: IO[bytes], settings: Settings, rid: str) -> list[Any]:
    try:
        items = orjson.loads(spool.read())
    except orjson.JSONDecodeError as error:
        raise _Refusal(
            _field_problem(400, "Bad Request", "body", f"not valid JSON ({error.msg})", rid)
        ) from None
    if not isinstance(items, list):
        raise _Refusal(
            _field_problem(400, "Bad Request", "body", "must be a JSON array of items", rid)
        )
    if len(items) > settings.push_max_items:
        raise _too_large(
            f"{len(items)} items; a JSON array holds at most {settings.push_max_items}: "
            "send larger batches as NDJSON (application/x-ndjson)",
            rid,
        )
    return items


def _ndjson_items(spool: IO[bytes], settings: Settings, rid: str) -> Iterator[Any]:
    """One item per non-blank line; a line that is not JSON, or too long, is an Unreadable
    item (rejected on its own), never the end of the batch."""
    limit = settings.push_max_line_bytes
    count = 0
    while line := spool.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            # Skip the rest of the over-long line without holding it.
            while (rest := spool.readline(limit)) and not rest.endswith(b"\n"):
                pass
            item: Any = Unreadable(f"line over {limit} bytes", line[:64])
        elif not line.strip():
            continue
        else:
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                item = Unreadable(f"not valid JSON ({error.msg})", line)
        count += 1
        if count > settings.push_max_ndjson_items:
            raise _too_large(f"more than {settings.push_max_ndjson_items} items in one batch", rid)
        yield item


async def _push(request: Request, kind: PushKind) -> Response:
    rid = request_id(request)
    db: Database = request.app.state.db
    settings = db.settings
    target = TARGETS[kind]
    spool: IO[bytes] | None = None
    try:
        principal = await _principal(request, (target.scope,), rid, target.action)
        key, all_or_nothing = _options(request, rid)
        transport = _media_type(request, rid)
        limit = (
            settings.push_max_json_bytes
            if transport == PushTransport.JSON
            else settings.push_max_ndjson_bytes
        )
        spool = await _spool(request, limit, settings.push_spool_memory_bytes, rid)
        items = (
            _json_items(spool, settings, rid)
            if transport == PushTransport.JSON
            else _ndjson_items(spool, settings, rid)
        )
        batch = Batch(kind, transport, key, all_or_nothing)
        async with db.unit_of_work() as session:
            stored = await store_batch(
                session,
                principal,
                batch,
                items,
                request_id=rid,
                today=date.today(),
                chunk_size=settings.push_chunk_size,
                turn_wait_seconds=settings.push_turn_wait_seconds,
            )
        # Committed: the client's next reads, on any process, must see it (gateway/replicas.py;
        # GraphQL mutations do the same in schema/writes.py).
        await db.replicas.note_write(principal.client_id)
    except _Refusal as refusal:
        refusal.response.headers["x-request-id"] = rid
        return refusal.response
    except ClientDisconnect:
        log.info("client went away during a push [request %s]; nothing stored", rid)
        return Response(status_code=400, headers={"x-request-id": rid})
    except BatchRefused as refused:
        return problem(
            refused.http_status,
            "Batch refused",
            refused.reason,
            type=PROBLEM + "batch-refused",
            counts=refused.extensions()["counts"],
            errors=refused.rejections,
            request_id=rid,
        )
    except KeyReused as reused:
        return problem(
            reused.http_status,
            "Idempotency key reused",
            reused.message,
            type=PROBLEM + "idempotency-key-reused",
            errors=[{"field": "Idempotency-Key", "reason": reused.message}],
            request_id=rid,
        )
    except DBAPIError as error:
        if not is_busy(error):
            raise
        log.warning("push refused, database busy [request %s]: %s", rid, error.orig)
        response = problem(
            Busy.http_status,
            "Service Unavailable",
            "the database is busy (another push of your agency, or a long write); nothing was "
            "stored: retry with the same Idempotency-Key",
            type=PROBLEM + "busy",
            request_id=rid,
        )
        response.headers["retry-after"] = "5"
        return response
    finally:
        if spool is not None:
            spool.close()
    receipt = await _receipt(db, principal, stored.receipt_id)
    headers = {
        "location": f"/api/v1/receipts/{stored.receipt_id}",
        "x-request-id": rid,
    }
    if stored.replayed:
        headers["idempotent-replayed"] = "true"
    return _stream(db, receipt, None, 200 if stored.replayed else 201, headers)


async def _receipt(db: Database, principal: Principal, receipt_id: str) -> Any:
    async with db.reader.connect() as conn:
        return await find_receipt(conn, principal, receipt_id)


def _stream(
    db: Database,
    receipt: Any,
    outcome: PushOutcome | None,
    status: int,
    headers: dict[str, str],
) -> Response:
    async def body() -> AsyncIterator[bytes]:
        head = orjson.dumps(header(receipt))
        yield head[:-1] + b',"items":['
        first = True
        async for item in iter_items(db, receipt, outcome=outcome):
            yield (b"" if first else b",") + orjson.dumps(item)
            first = False
        yield b"]}"

    return StreamingResponse(
        body(), status_code=status, headers=headers, media_type="application/json"
    )


async def push_assistance_records(request: Request) -> Response:
    """
    summary: Push assistance records
    description: >
      Store the assistance the caller's agency delivered: a JSON array of at most 10,000 items
      (`application/json`), or any number as NDJSON, one item per line
      (`application/x-ndjson`; also `application/ndjson`, `application/jsonl`). Needs the
      `assistance:write` scope; records are stored as the caller's agency's. Each item is
      judged on its own (`ACCEPTED`, `DUPLICATE`, `REJECTED` with the field and the reason)
      unless `all_or_nothing=true`, when one rejection refuses the batch (422) and nothing is
      stored. A correction is the same `agency_record_id` with a
      higher `revision`. Send an `Idempotency-Key`: the same key again returns the first receipt
      (200, `Idempotent-Replayed: true`) and stores nothing.
    parameters:
      - $ref: '#/components/parameters/IdempotencyKey'
      - $ref: '#/components/parameters/AllOrNothing'
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/AssistanceRecordBatch'}
          example:
            - {agency_record_id: YB-2026-000123, kind: MEDICAL, id_number: '320681198001011230',
               amount: 1250.5, date: '2026-11-02', notes: 'inpatient, second tier'}
            - {agency_record_id: YB-2026-000124, revision: 2, kind: MEDICAL,
               id_number: '32068120100307001X', applies_to: PERSON, amount: 300,
               period_start: '2026-10-01', period_end: '2026-10-31'}
        application/x-ndjson:
          schema: {type: string, description: 'One AssistanceRecord object per line.'}
    responses:
      201:
        description: The batch was stored; the receipt lists every item's outcome.
        headers:
          Location: {description: The receipt's address., schema: {type: string}}
          X-Request-Id:
            description: The id of this request in logs and audit.
            schema: {type: string}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Receipt'}
            example: {id: 5f0c2d0e9b7a4d3c8e1f2a3b4c5d6e7f, kind: ASSISTANCE_RECORDS,
              agency: medical-security, transport: JSON, idempotency_key: 7d3f-…,
              all_or_nothing: false, received_at: '2026-11-23T08:00:00+00:00',
              counts: {received: 2, accepted: 1, duplicate: 0, rejected: 1},
              items: [{index: 0, outcome: ACCEPTED, agency_record_id: YB-2026-000123,
                       revision: 1},
                      {index: 1, outcome: REJECTED, agency_record_id: YB-2026-000124,
                       revision: 2, errors: [{field: period_start,
                       reason: '2027-10-01 is in the future (today is 2026-11-23)'}]}]}
      200: {$ref: '#/components/responses/Replayed'}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      403: {$ref: '#/components/responses/Forbidden'}
      429: {$ref: '#/components/responses/TooManyRequests'}
      413: {$ref: '#/components/responses/TooLarge'}
      415: {$ref: '#/components/responses/UnsupportedMediaType'}
      422: {$ref: '#/components/responses/Unprocessable'}
      503: {$ref: '#/components/responses/Busy'}
    """
    return await _push(request, PushKind.ASSISTANCE_RECORDS)


async def push_events(request: Request) -> Response:
    """
    summary: Push monitoring events
    description: >
      Store events the caller's agency observed, in one vocabulary whatever the source (see the
      `Event` schema: each `kind` has its own `details`). Events about people the database does
      not know are kept for later matching. Needs the `feed:push` scope; otherwise as
      `POST /api/v1/assistance-records` (per-item outcomes, `all_or_nothing`, `Idempotency-Key`,
      corrections by `revision`, NDJSON for large batches).
    parameters:
      - $ref: '#/components/parameters/IdempotencyKey'
      - $ref: '#/components/parameters/AllOrNothing'
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/EventBatch'}
          example:
            - {agency_event_id: HOSP-88-2026-7781, kind: HOSPITAL_SETTLEMENT,
               id_number: '320681198001011230', occurred_on: '2026-11-01',
               details: {out_of_pocket: 18250, total_cost: 60200, days: 12}}
            - {agency_event_id: DPF-2026-0042, kind: DISABILITY_CERTIFIED,
               id_number: '32068120100307001X', occurred_on: '2026-10-20',
               details: {disability_type: PHYSICAL, disability_grade: 2}}
        application/x-ndjson:
          schema: {type: string, description: 'One Event object per line.'}
    responses:
      201:
        description: The batch was stored; the receipt lists every item's outcome.
        headers:
          Location: {description: The receipt's address., schema: {type: string}}
          X-Request-Id:
            description: The id of this request in logs and audit.
            schema: {type: string}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Receipt'}
            example: {id: 9a41c0d2e7b84f6a9c3d5e1f0b2a4c6d, kind: EVENTS,
              agency: medical-security, transport: NDJSON, idempotency_key: feed-2026-11-23,
              all_or_nothing: false, received_at: '2026-11-23T08:00:00+00:00',
              counts: {received: 2, accepted: 1, duplicate: 1, rejected: 0},
              items: [{index: 0, outcome: ACCEPTED, agency_event_id: HOSP-88-2026-7781,
                       revision: 1},
                      {index: 1, outcome: DUPLICATE, agency_event_id: DPF-2026-0042,
                       revision: 1}]}
      200: {$ref: '#/components/responses/Replayed'}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      403: {$ref: '#/components/responses/Forbidden'}
      429: {$ref: '#/components/responses/TooManyRequests'}
      413: {$ref: '#/components/responses/TooLarge'}
      415: {$ref: '#/components/responses/UnsupportedMediaType'}
      422: {$ref: '#/components/responses/Unprocessable'}
      503: {$ref: '#/components/responses/Busy'}
    """
    return await _push(request, PushKind.EVENTS)


async def get_receipt(request: Request) -> Response:
    """
    summary: A push's receipt
    description: >
      The receipt of a batch the caller's agency pushed (civil affairs reads all), with every
      item's outcome in order; `outcome` keeps only items with that outcome. Needs the scope
      that pushes the receipt's kind.
    parameters:
      - {name: receipt_id, in: path, required: true, schema: {type: string, maxLength: 32}}
      - name: outcome
        in: query
        required: false
        schema: {type: string, enum: [ACCEPTED, DUPLICATE, REJECTED]}
    responses:
      200:
        description: The receipt.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Receipt'}
            example: {id: 5f0c2d0e9b7a4d3c8e1f2a3b4c5d6e7f, kind: ASSISTANCE_RECORDS,
              agency: medical-security, transport: JSON, idempotency_key: null,
              all_or_nothing: false, received_at: '2026-11-23T08:00:00+00:00',
              counts: {received: 3, accepted: 2, duplicate: 0, rejected: 1},
              items: [{index: 2, outcome: REJECTED, agency_record_id: YB-2026-000125,
                       revision: 1, errors: [{field: amount,
                       reason: at most two decimal places}]}]}
      400: {$ref: '#/components/responses/BadRequest'}
      401: {$ref: '#/components/responses/Unauthorized'}
      403: {$ref: '#/components/responses/Forbidden'}
      429: {$ref: '#/components/responses/TooManyRequests'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    rid = request_id(request)
    db: Database = request.app.state.db
    try:
        scopes = tuple(t.scope for t in TARGETS.values())
        principal = await _principal(request, scopes, rid, "getReceipt")
        unknown = sorted(set(request.query_params) - {"outcome"})
        if unknown:
            raise _Refusal(_field_problem(400, "Bad Request", unknown[0], "unknown parameter", rid))
        given = request.query_params.get("outcome")
        if given is not None and given not in PushOutcome.__members__:
            raise _Refusal(
                _field_problem(
                    400, "Bad Request", "outcome", "one of ACCEPTED, DUPLICATE, REJECTED", rid
                )
            )
    except _Refusal as refusal:
        refusal.response.headers["x-request-id"] = rid
        return refusal.response
    receipt = await _receipt(db, principal, request.path_params["receipt_id"])
    if receipt is None:
        return problem(404, "Not Found", "no such receipt for this client", request_id=rid)
    outcome = PushOutcome(given) if given else None
    return _stream(db, receipt, outcome, 200, {"x-request-id": rid})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/assistance-records", push_assistance_records, methods=["POST"]),
        Route("/api/v1/events", push_events, methods=["POST"]),
        Route("/api/v1/receipts/{receipt_id}", get_receipt, methods=["GET"]),
    ]
