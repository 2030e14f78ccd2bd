"""Reading receipts back: the batch's counts, then each item's outcome in index order.

An agency reads the receipts of its own batches (civil affairs reads all), and only of the kinds
its scopes let it push. Items are read in pages by index, so a receipt of a million items
streams in constant memory.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Row, cast, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.database import AnySelect, Database
from gateway.domain.enums import PushKind, PushOutcome, PushTransport
from gateway.models import PushReceipt, PushReceiptItem
from gateway.principal import Principal
from gateway.pushes.targets import TARGETS

ITEMS_PAGE = 5000


def may_read(principal: Principal, receipt: Row[Any] | PushReceipt) -> bool:
    return TARGETS[PushKind(receipt.kind)].scope in principal.scopes and (
        principal.sees_every_agency or receipt.agency_code == principal.agency
    )


# Receipt ids are the hex of a random UUID; anything else is no receipt (and never reaches SQL).
RECEIPT_ID = re.compile(r"[0-9a-f]{32}")


def receipt_query(receipt_id: str) -> AnySelect | None:
    if not RECEIPT_ID.fullmatch(receipt_id):
        return None
    return select(PushReceipt.__table__).where(PushReceipt.id == receipt_id)


def readable(principal: Principal, rows: Sequence[Any]) -> Any:
    """The receipt row if there is one and the principal may read it, else None (never says
    which: another agency's receipt ids are not confirmed)."""
    return rows[0] if rows and may_read(principal, rows[0]) else None


async def find_receipt(conn: AsyncConnection, principal: Principal, receipt_id: str) -> Any:
    query = receipt_query(receipt_id)
    if query is None:
        return None
    return readable(principal, (await conn.execute(query)).all())


def header(receipt: Any) -> dict[str, Any]:
    """The receipt without its items, as both transports show it (snake_case)."""
    return {
        "id": receipt.id,
        "kind": PushKind(receipt.kind).value,
        "agency": receipt.agency_code,
        "transport": PushTransport(receipt.transport).value,
        "idempotency_key": receipt.idempotency_key,
        "all_or_nothing": bool(receipt.all_or_nothing),
        "received_at": receipt.received_at.isoformat(),
        "counts": {
            "received": receipt.received,
            "accepted": receipt.accepted,
            "duplicate": receipt.duplicate,
            "rejected": receipt.rejected,
        },
    }


def items_query(
    receipt: Any, *, after: int, limit: int, outcome: PushOutcome | None = None
) -> AnySelect:
    """One page of item outcomes after index `after`: the stored rows of the accepted items and
    the receipt's own rows for the others, merged in index order."""
    target = TARGETS[PushKind(receipt.kind)]
    table = target.table
    others = select(
        PushReceiptItem.item_index.label("item_index"),
        PushReceiptItem.outcome.label("outcome"),
        PushReceiptItem.item_key.label("item_key"),
        PushReceiptItem.revision.label("revision"),
        PushReceiptItem.errors.label("errors"),
    ).where(PushReceiptItem.receipt_id == receipt.id, PushReceiptItem.item_index > after)
    accepted = select(
        table.c.receipt_index.label("item_index"),
        literal(PushOutcome.ACCEPTED.value).label("outcome"),
        target.key_column.label("item_key"),
        table.c.revision.label("revision"),
        cast(null(), PushReceiptItem.errors.type).label("errors"),
    ).where(table.c.receipt_id == receipt.id, table.c.receipt_index > after)
    if outcome == PushOutcome.ACCEPTED:
        parts = [accepted]
    elif outcome is not None:
        parts = [others.where(PushReceiptItem.outcome == outcome)]
    else:
        parts = [others, accepted]
    # Each part is ordered and cut to the page on its own (an index walk), then merged: sorting
    # the union instead would read every remaining row for every page (quadratic in the batch).
    # The receipt's own rows come first: their column types (JSON errors) apply to the union.
    pages = [
        select(page)
        for page in (
            part.order_by(part.selected_columns[0]).limit(limit).subquery() for part in parts
        )
    ]
    merged = union_all(*pages).subquery() if len(pages) > 1 else pages[0].subquery()
    return select(merged).order_by(merged.c.item_index).limit(limit)


def item_json(receipt: Any, row: Any) -> dict[str, Any]:
    key_field = TARGETS[PushKind(receipt.kind)].key_field
    item: dict[str, Any] = {
        "index": row[0],
        "outcome": str(row[1]),
        key_field: row[2],
        "revision": row[3],
    }
    if row[4]:
        item["errors"] = row[4]
    return item


async def iter_items(
    db: Database, receipt: Any, *, outcome: PushOutcome | None = None, page: int = ITEMS_PAGE
) -> AsyncIterator[dict[str, Any]]:
    after = -1
    while True:
        async with db.reader.connect() as conn:
            rows = (
                await conn.execute(items_query(receipt, after=after, limit=page, outcome=outcome))
            ).all()
        for row in rows:
            yield item_json(receipt, row)
        if len(rows) < page:
            return
        after = rows[-1][0]
