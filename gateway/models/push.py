"""Receipts of pushed batches: what arrived, from whom, under which idempotency key, and what
became of each item.

An accepted item is its stored row (which carries the receipt id and its index in the batch);
only duplicates and rejections get a row of their own here, so a large clean batch costs one
receipt row, not one per item.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import PushKind, PushOutcome, PushTransport
from gateway.models.base import Base, UTCDateTime, enum_column, utcnow


class PushReceipt(Base):
    __tablename__ = "push_receipts"
    __table_args__ = (
        # A retried batch finds its first receipt by the key its client sent (NULLs never clash).
        UniqueConstraint("client_id", "idempotency_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[PushKind] = mapped_column(enum_column(PushKind))
    agency_code: Mapped[str] = mapped_column(String(32), ForeignKey("agencies.code"))
    client_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # SHA-256 over the batch's items: the same key with other items is refused, not replayed.
    items_hash: Mapped[str | None] = mapped_column(String(64))
    transport: Mapped[PushTransport] = mapped_column(enum_column(PushTransport))
    all_or_nothing: Mapped[bool] = mapped_column(Boolean, default=False)
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    request_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushReceiptItem(Base):
    """A duplicate or rejected item of a batch (accepted items are their stored rows)."""

    __tablename__ = "push_receipt_items"

    receipt_id: Mapped[str] = mapped_column(ForeignKey("push_receipts.id"), primary_key=True)
    item_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    outcome: Mapped[PushOutcome] = mapped_column(enum_column(PushOutcome))
    # The agency's record or event id and revision, when the item had readable ones.
    item_key: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int | None] = mapped_column(Integer)
    # [{"field": …, "reason": …}, …] for a rejection.
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
