"""Agencies push over GraphQL: the same service and receipts as /api/v1 (gateway/pushes)."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from sqlalchemy.exc import DBAPIError

from gateway.context import Context
from gateway.database import is_busy
from gateway.domain import idnumber
from gateway.domain.enums import PushKind, PushTransport
from gateway.errors import Busy, Forbidden, InvalidInput, LimitExceeded
from gateway.pushes import receipts
from gateway.pushes.ingest import (
    IDEMPOTENCY_KEY,
    KEY_RULE,
    Batch,
    BatchRefused,
    KeyReused,
    store_batch,
)
from gateway.pushes.items import AGENCY_ID
from gateway.pushes.queries import records_page
from gateway.validation import agency_code
from resolvers import rows
from resolvers.inputs import camel, plain
from resolvers.loaders import connection
from resolvers.pagination import decode_cursor, page_size
from schema import push as p
from schema import types as t


async def push_assistance_records(
    info: strawberry.Info,
    items: list[p.AssistanceRecordInput],
    idempotency_key: str | None = None,
    all_or_nothing: bool = False,
) -> p.PushReceipt:
    return await _push(info, PushKind.ASSISTANCE_RECORDS, items, idempotency_key, all_or_nothing)


async def push_events(
    info: strawberry.Info,
    items: list[p.EventInput],
    idempotency_key: str | None = None,
    all_or_nothing: bool = False,
) -> p.PushReceipt:
    return await _push(info, PushKind.EVENTS, items, idempotency_key, all_or_nothing)


async def push_receipt(info: strawberry.Info, id: strawberry.ID) -> p.PushReceipt | None:
    ctx: Context = info.context
    query = receipts.receipt_query(str(id))
    if query is None:
        return None
    row = receipts.readable(ctx.principal, await ctx.fetch(query))
    return p.receipt(row) if row is not None else None


async def _push(
    info: strawberry.Info,
    kind: PushKind,
    items: list[Any],
    key: str | None,
    all_or_nothing: bool,
) -> p.PushReceipt:
    ctx: Context = info.context
    settings = ctx.db.settings
    if len(items) > settings.push_max_items:
        raise LimitExceeded(
            f"items: at most {settings.push_max_items} per call; send larger batches as NDJSON "
            "to /api/v1",
            field="items",
        )
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput("idempotencyKey", KEY_RULE)
    batch = Batch(kind, PushTransport.GRAPHQL, key, all_or_nothing)
    try:
        async with ctx.db.unit_of_work() as session:
            stored = await store_batch(
                session,
                ctx.principal,
                batch,
                (plain(item) for item in items),
                request_id=ctx.request_id,
                today=date.today(),
                chunk_size=settings.push_chunk_size,
                turn_wait_seconds=settings.push_turn_wait_seconds,
            )
    except BatchRefused as refused:
        for rejection in refused.rejections:
            for error in rejection["errors"]:
                error["field"] = camel(error["field"])
            for name in ("agency_record_id", "agency_event_id"):
                if name in rejection:
                    rejection[camel(name)] = rejection.pop(name)
        raise
    except KeyReused as reused:
        reused.field = "idempotencyKey"
        raise
    except DBAPIError as error:
        if not is_busy(error):
            raise
        raise Busy(
            "the database is busy (another push of your agency, or a long write); nothing was "
            "stored: retry with the same idempotencyKey"
        ) from None
    query = receipts.receipt_query(stored.receipt_id)
    assert query is not None  # the id was made by store_batch
    row = receipts.readable(ctx.principal, await ctx.fetch(query))
    return p.receipt(row, replayed=stored.replayed)


async def assistance_records(
    info: strawberry.Info,
    agency_record_id: str | None = None,
    id_number: str | None = None,
    agency: str | None = None,
    include_revisions: bool = False,
    first: int | None = None,
    after: str | None = None,
) -> t.Connection[t.AssistanceRecord]:
    ctx: Context = info.context
    if agency is not None:
        agency_code("agency", agency)
    if (
        agency is not None
        and not ctx.principal.sees_every_agency
        and agency != ctx.principal.agency
    ):
        raise Forbidden("agency: you read your own agency's records only", field="agency")
    if agency_record_id is not None and not AGENCY_ID.fullmatch(agency_record_id):
        raise InvalidInput("agencyRecordId", "1 to 64 printable ASCII characters without spaces")
    size = page_size(first, ctx.db.settings)
    after_id = decode_cursor("records", after)
    number = None
    if id_number is not None:
        try:
            number = idnumber.validate(id_number)
        except idnumber.IdNumberError as error:
            raise InvalidInput("idNumber", str(error)) from None
    found = await ctx.fetch(
        records_page(
            ctx.principal,
            agency=agency,
            agency_record_id=agency_record_id,
            id_number=number,
            include_revisions=include_revisions,
            after_id=after_id,
            limit=size + 1,
        )
    )
    ctx.saw(
        households=(r.household_id for r in found[:size]),
        persons=(r.person_id for r in found[:size]),
    )
    return connection("records", found, size, rows.assistance_record)
