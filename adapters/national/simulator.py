"""A simulator of the national system, for tests, benchmarks and demos (`lig simulate national`).

It verifies every signature as the real system would (app key, clock window, nonce, HMAC),
serves the deterministic change stream of `dataset.py` by cursor, takes monthly uploads as a
stream and answers their receipts asynchronously, and injects the faults it is asked for
(`adapters/faults.py`): server errors, hangs, slow and cut-short answers, repeated and shuffled
pages, malformed records, and a clock that is off (so signatures look expired).

`/_sim/…` is the simulator's own control surface (append a national edit, read what it
broke); it is not part of the national interface and is not signed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.faults import Faults, TransportFaults
from adapters.national.dataset import NationalDataset
from adapters.national.divisions import DIVISIONS
from adapters.national.signing import SignatureRefused, Verifier
from adapters.national.wire import API, UploadRecord
from gateway.domain import idnumber
from gateway.domain.enums import SyncEntity

DEFAULT_APP_KEY = "lig-sim"
DEFAULT_SECRET = b"lig-simulator-secret"
MAX_LIMIT = 5000
MAX_LINE = 1024 * 1024


def encode_cursor(after: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{after}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    padded = cursor + "=" * (-len(cursor) % 4)
    text = base64.urlsafe_b64decode(padded.encode()).decode()
    if not text.startswith("seq:"):
        raise ValueError(cursor)
    return int(text[4:])


@dataclass
class _Upload:
    upload_id: str
    month: str
    region_code: str
    key: str | None
    digest: str
    records: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    ready_at: float = 0.0


@dataclass
class NationalSimulator:
    dataset: NationalDataset
    faults: Faults
    app_key: str = DEFAULT_APP_KEY
    secret: bytes = DEFAULT_SECRET
    # ID numbers registered in another province (the upload rejects them), and a rate at
    # which any ID number is, by a hash of it (for demos).
    elsewhere: frozenset[str] = frozenset()
    elsewhere_rate: float = 0.0
    receipt_delay: float = 0.5
    uploads: dict[str, _Upload] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.verifier = Verifier(
            {self.app_key: self.secret}, clock=lambda: time.time() + self.faults.skew
        )

    def bad(self, change: dict[str, Any]) -> bool:
        """Whether the `bad_record` fault breaks this change (never a household's first
        version, on which its members depend)."""
        if change["entity"] == SyncEntity.HOUSEHOLD.value and change["version"] == 1:
            return False
        return self.faults.chance("bad_record", str(change["seq"]))

    def bad_seqs(self) -> frozenset[int]:
        return frozenset(c["seq"] for c in self.dataset.changes() if self.bad(c))


def _break(change: dict[str, Any]) -> dict[str, Any]:
    """A record that breaks the national format the way real exports do."""
    data = dict(change["data"])
    entity = change["entity"]
    if entity == SyncEntity.PERSON.value:
        number = data["id_number"]
        data["id_number"] = number[:17] + ("0" if number[17] != "0" else "1")
    elif entity == SyncEntity.CATEGORY.value:
        data["category"] = "低保"  # a label where a code belongs
    else:
        data["region_code"] = data["region_code"][:6]
    return {**change, "data": data}


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


class _Signatures:
    """ASGI middleware: every /api/ request must be signed; the body's digest is computed as
    it streams in, and the verdict waits until the body has been read (or is refused then)."""

    def __init__(self, app: ASGIApp, sim: NationalSimulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        method = Verifier.method_of(request.headers)
        if method is None:
            await _problem(
                401, "SIGNATURE_METHOD_UNSUPPORTED", "X-Signature-Method: HMAC-SM3 or HMAC-SHA256"
            )(scope, receive, send)
            return
        hasher = hashlib.new(method.hash_name)
        chunks: list[bytes] = []
        streaming = scope["method"] == "POST" and scope["path"] == f"{API}/uploads"
        if streaming:
            # The upload handler reads the stream and hashes it; the signature is checked by
            # the handler once the last byte is in (see _upload).
            scope["lig.hasher"] = hasher
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        hasher.update(body)
        try:
            self.sim.verifier.verify(
                scope["method"],
                scope["raw_path"].decode() if scope.get("raw_path") else scope["path"],
                dict(request.query_params),
                None,
                request.headers,
                body_digest=hasher.hexdigest(),
            )
        except SignatureRefused as refused:
            await _problem(401, refused.code, refused.message)(scope, receive, send)
            return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(
    seed: int = 2026,
    faults: Faults | None = None,
    size: int = 1000,
    *,
    updates: int | None = None,
    app_key: str = DEFAULT_APP_KEY,
    secret: bytes = DEFAULT_SECRET,
    elsewhere: frozenset[str] = frozenset(),
    elsewhere_rate: float = 0.0,
    receipt_delay: float = 0.5,
) -> Starlette:
    """The simulator of a national system holding `size` households."""
    sim = NationalSimulator(
        NationalDataset(seed, size, updates),
        faults or Faults(seed=seed),
        app_key=app_key,
        secret=secret,
        elsewhere=elsewhere,
        elsewhere_rate=elsewhere_rate,
        receipt_delay=receipt_delay,
    )

    async def changes(request: Request) -> Response:
        cursor = request.query_params.get("cursor", "")
        try:
            after = decode_cursor(cursor) if cursor else 0
            limit = int(request.query_params.get("limit", "500"))
        except ValueError:
            return _problem(400, "BAD_REQUEST", "cursor: not a cursor this system issued")
        if not 1 <= limit <= MAX_LIMIT:
            return _problem(400, "BAD_REQUEST", f"limit: 1 to {MAX_LIMIT}")
        faults = sim.faults
        dataset = sim.dataset
        end = min(after + limit, dataset.total)
        first = after + 1
        if after and faults.chance("duplicate", f"overlap:{after}"):
            first = max(1, after - 2)  # items of the page before, served again
        page = [dataset.change(seq) for seq in range(first, end + 1)]
        page = [_break(c) if sim.bad(c) else c for c in page]
        if faults.chance("disorder", cursor or "start"):
            random.Random(f"{faults.seed}:{cursor}").shuffle(page)
        next_cursor = encode_cursor(end)
        if page and faults.strike("duplicate", f"again:{cursor}"):
            next_cursor = cursor or encode_cursor(0)  # this very page, once more
        body = {
            "changes": page,
            "next_cursor": next_cursor,
            "has_more": end < dataset.total,
            "remaining": dataset.total - end,
        }
        return Response(orjson.dumps(body), media_type="application/json")

    async def upload(request: Request) -> Response:
        return await _upload(sim, request)

    async def receipt(request: Request) -> Response:
        found = sim.uploads.get(request.path_params["upload_id"])
        if found is None:
            return _problem(404, "NOT_FOUND", "no such upload")
        done = time.monotonic() >= found.ready_at
        rejected = len({r["line"] for r in found.rejections})
        return JSONResponse(
            {
                "upload_id": found.upload_id,
                "month": found.month,
                "region_code": found.region_code,
                "status": "DONE" if done else "PROCESSING",
                "records": found.records,
                "accepted": found.records - rejected if done else 0,
                "rejected": rejected if done else 0,
            }
        )

    async def rejections(request: Request) -> Response:
        found = sim.uploads.get(request.path_params["upload_id"])
        if found is None or time.monotonic() < found.ready_at:
            return _problem(404, "NOT_FOUND", "no receipt for this upload yet")
        try:
            start = int(request.query_params.get("cursor") or 0)
            limit = min(int(request.query_params.get("limit", "500")), MAX_LIMIT)
        except ValueError:
            return _problem(400, "BAD_REQUEST", "cursor and limit are integers")
        page = found.rejections[start : start + limit]
        after = start + len(page)
        return JSONResponse(
            {
                "rejections": page,
                "next_cursor": str(after) if after < len(found.rejections) else None,
            }
        )

    async def edit(request: Request) -> Response:
        body = await request.json()
        seq = sim.dataset.append(SyncEntity(body["entity"]), body["national_id"], body["data"])
        return JSONResponse({"seq": seq})

    async def broken(_request: Request) -> Response:
        return JSONResponse({"bad_seqs": sorted(sim.bad_seqs())})

    app = Starlette(
        routes=[
            Route(f"{API}/changes", changes, methods=["GET"]),
            Route(f"{API}/uploads", upload, methods=["POST"]),
            Route(f"{API}/uploads/{{upload_id}}", receipt, methods=["GET"]),
            Route(f"{API}/uploads/{{upload_id}}/rejections", rejections, methods=["GET"]),
            Route("/_sim/edit", edit, methods=["POST"]),
            Route("/_sim/bad", broken, methods=["GET"]),
        ],
        middleware=[
            Middleware(TransportFaults, faults=sim.faults, paths=(API,)),
            Middleware(_Signatures, sim=sim),
        ],
    )
    app.state.simulator = sim
    return app


async def _lines(request: Request, hasher: Any) -> AsyncIterator[bytes]:
    """The upload's NDJSON lines as they stream in, hashing every byte."""
    pending = b""
    async for chunk in request.stream():
        hasher.update(chunk)
        pending += chunk
        *complete, pending = pending.split(b"\n")
        if len(pending) > MAX_LINE:
            raise ValueError("a line longer than 1 MiB")
        for line in complete:
            yield line
    if pending:
        yield pending


async def _upload(sim: NationalSimulator, request: Request) -> Response:
    month = request.query_params.get("month", "")
    region = request.query_params.get("region_code", "")
    if len(month) != 7 or month[4] != "-" or region not in DIVISIONS:
        return _problem(400, "BAD_REQUEST", "month (YYYY-MM) and a known region_code are needed")
    hasher = request.scope["lig.hasher"]
    arrived = sim.verifier.clock()
    upload = _Upload(uuid.uuid4().hex, month, region, request.headers.get("idempotency-key"), "")
    try:
        async for line in _lines(request, hasher):
            if line.strip():
                upload.records += 1
                upload.rejections.extend(_check(sim, upload.records, line))
    except ValueError as error:
        return _problem(400, "BAD_REQUEST", str(error))
    try:
        sim.verifier.verify(
            "POST",
            request.scope["raw_path"].decode(),
            dict(request.query_params),
            None,
            request.headers,
            body_digest=hasher.hexdigest(),
            received_at=arrived,
        )
    except SignatureRefused as refused:
        return _problem(401, refused.code, refused.message)
    upload.digest = hasher.hexdigest()
    if upload.key:
        for earlier in sim.uploads.values():
            if earlier.key == upload.key:
                if earlier.digest != upload.digest:
                    return _problem(
                        409, "IDEMPOTENCY_KEY_REUSED", "this key named an upload of other content"
                    )
                return JSONResponse(
                    {
                        "upload_id": earlier.upload_id,
                        "status": "PROCESSING",
                        "records": earlier.records,
                    },
                    status_code=202,
                )
    upload.ready_at = time.monotonic() + sim.receipt_delay
    sim.uploads[upload.upload_id] = upload
    await asyncio.sleep(0)
    return JSONResponse(
        {"upload_id": upload.upload_id, "status": "PROCESSING", "records": upload.records},
        status_code=202,
    )


def _check(sim: NationalSimulator, line_no: int, line: bytes) -> list[dict[str, Any]]:
    """The national checks of one upload line: its format, its area code, its people."""
    try:
        record = UploadRecord.model_validate_json(line)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        code = "ID_NUMBER_INVALID" if where.endswith("id_number") else "RECORD_INVALID"
        return [{"line": line_no, "code": code, "reason": f"{where}: {first['msg']}"}]
    found: list[dict[str, Any]] = []
    base = {"line": line_no, "household_code": record.household_code}
    if record.region_code not in DIVISIONS:
        found.append(
            {
                **base,
                "code": "REGION_UNKNOWN",
                "reason": f"region_code {record.region_code} is not a national division code",
            }
        )
    for member in record.members:
        if member.id_number in sim.elsewhere or (
            sim.elsewhere_rate and _unit(member.id_number) < sim.elsewhere_rate
        ):
            found.append(
                {
                    **base,
                    "id_number": member.id_number,
                    "code": "ID_REGISTERED_ELSEWHERE",
                    "reason": "already registered as low-income in another region",
                }
            )
        try:
            idnumber.validate(member.id_number)
        except idnumber.IdNumberError as error:
            found.append(
                {
                    **base,
                    "id_number": member.id_number,
                    "code": "ID_NUMBER_INVALID",
                    "reason": str(error),
                }
            )
    return found


def _unit(text: str) -> float:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") / 2**64
