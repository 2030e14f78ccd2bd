"""An agency's paged feed, played for tests and demos (the wire of `paged.py`), from a
deterministic list of record versions, with injectable faults.

The data set (`entries`) is a change log, as an agency's outbound interface keeps one: each
entry is one version of one record; a correction is the same record again, later in the log,
with a higher version. Entry i depends only on the seed and the entries before it, so a larger
`size` extends a smaller one: a test can let the agency "add records" and pull again.

Faults (adapters/faults.py):
- transport, per request, on /api (TransportFaults): error, timeout, slow, malformed;
- `duplicate`: a page also repeats items of the page before it (or, the first page, its own);
- `disorder`: a page's items are shuffled;
- `bad_record`: a record version broken in the agency's own format (a missing field, an
  impossible value, an unknown code), decided when the data set is made and kept for good; the
  entry says how (`Entry.broken`), so a test knows which versions must come back REJECTED.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from random import Random
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.faults import Faults, TransportFaults
from adapters.feeds import synthetic

Record = dict[str, Any]
MAX_LIMIT = 1000
# Share of log entries that correct an earlier record.
CORRECTIONS = 0.12


@dataclass(frozen=True, slots=True)
class Entry:
    key: str  # the agency's id of the record
    version: int
    record: Record  # as served (broken, if `broken` says so)
    broken: str | None = None  # how the bad_record fault broke this version


@dataclass(frozen=True, slots=True)
class Agency:
    """How one agency's simulator makes its records.

    `new(rng, serial, id_number)` a first version (its key field and version 1 set);
    `correct(rng, record)` the fields a correction changes; `spoil(rng, record)` the record
    broken in the agency's format and a word on how."""

    name: str
    key_field: str
    version_field: str
    new: Callable[[Random, int, str], Record]
    correct: Callable[[Random, Record], Record]
    spoil: Callable[[Random, Record], tuple[Record, str]]


def entries(
    agency: Agency,
    *,
    seed: int,
    size: int,
    faults: Faults | None = None,
    id_numbers: Sequence[str] | None = None,
) -> list[Entry]:
    """The agency's change log of `size` record versions."""
    latest: dict[str, Record] = {}  # key → its latest good version, which a correction edits
    keys: list[str] = []
    log: list[Entry] = []
    for i in range(size):
        draw = synthetic.rng(agency.name, seed, i)
        if keys and draw.random() < CORRECTIONS:
            key = keys[draw.randrange(len(keys))]
            before = latest[key]
            record = agency.correct(draw, dict(before))
            version = before[agency.version_field]
            # The next version, written as the agency writes it (a number, or digits as text).
            record[agency.version_field] = type(version)(int(version) + 1)
        else:
            record = agency.new(draw, i, synthetic.person(draw, id_numbers))
            key = str(record[agency.key_field])
            keys.append(key)
        latest[key] = record
        version = int(record[agency.version_field])
        entry = Entry(key, version, record)
        if faults is not None and faults.chance("bad_record", f"{agency.name}:{key}:{version}"):
            spoilt, how = agency.spoil(synthetic.rng(agency.name, seed, i, "spoil"), dict(record))
            entry = replace(entry, record=spoilt, broken=how)
        log.append(entry)
    return log


def cursor_at(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"cursor {cursor!r} is not one of ours") from None
    kind, _, number = text.partition(":")
    if kind != "o" or not number.isdigit():
        raise ValueError(f"cursor {cursor!r} is not one of ours")
    return int(number)


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": "BAD_REQUEST", "message": message}, status_code=status)


def create_paged_app(
    log: Sequence[Entry],
    faults: Faults | None = None,
    *,
    api_key: str | None = None,
) -> Starlette:
    """The feed of `log` over HTTP. With `api_key`, requests without it are refused (401)."""
    faults = faults or Faults()
    records = [entry.record for entry in log]

    async def page(request: Request) -> JSONResponse:
        if api_key is not None and request.headers.get("x-api-key") != api_key:
            return _problem(401, "missing or unknown X-Api-Key")
        try:
            raw_limit = request.query_params.get("limit", "100")
            limit = int(raw_limit)
            if not 1 <= limit <= MAX_LIMIT:
                raise ValueError(f"limit must be 1 to {MAX_LIMIT}, not {raw_limit}")
            cursor = request.query_params.get("cursor")
            start = 0 if cursor is None else _offset(cursor)
        except ValueError as error:
            return _problem(400, str(error))
        start = min(start, len(records))
        end = min(start + limit, len(records))
        items = records[start:end]
        if items and faults.chance("duplicate", f"page:{start}"):
            again = 1 + synthetic.rng(faults.seed, "again", start).randrange(limit)
            # Items the client has already had: the end of the page before, or this page's own.
            items = (
                records[max(0, start - again) : start] + items if start else items + items[:again]
            )
        if faults.chance("disorder", f"page:{start}"):
            items = list(items)
            synthetic.rng(faults.seed, "disorder", start).shuffle(items)
        return JSONResponse(
            {"records": items, "next_cursor": cursor_at(end), "has_more": end < len(records)}
        )

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "records": len(records)})

    return Starlette(
        routes=[Route("/api/records", page), Route("/health", health)],
        middleware=[Middleware(TransportFaults, faults=faults, paths=("/api",))],
    )


def agency_dataset(
    agency: Agency,
    seed: int = 2026,
    size: int = 1000,
    faults: Faults | None = None,
    id_numbers: Sequence[str] | None = None,
) -> list[Entry]:
    """The records an agency's simulator serves, in order, each marked if a fault broke it."""
    return entries(agency, seed=seed, size=size, faults=faults, id_numbers=id_numbers)


def agency_app(
    agency: Agency,
    seed: int = 2026,
    faults: Faults | None = None,
    size: int = 1000,
    *,
    id_numbers: Sequence[str] | None = None,
    api_key: str | None = None,
    **_options: Any,
) -> Starlette:
    """The agency's simulator: its data set served page by page, with the faults asked for."""
    return create_paged_app(
        agency_dataset(agency, seed, size, faults, id_numbers), faults, api_key=api_key
    )
