"""The append-only audit trail: who read or changed what, why, and with which outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        # What the sealer asks every few seconds: the unsealed events, in id order.
        Index(
            "ix_audit_events_unsealed",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    request_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    agency: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="CHANGE")  # READ or CHANGE
    action: Mapped[str] = mapped_column(String(64))  # operation name, or a CLI command
    purpose: Mapped[str | None] = mapped_column(String(200))
    subjects: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # households, people
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    result_count: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(32))
    # The hash chain, filled in by the sealer (gateway.audit.chain) shortly after the event is
    # stored: `seq` is the event's position in the chain, `hash` covers its content, `seq` and
    # `prev_hash` (the hash of the event at seq - 1).
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditSeal(Base):
    """One sealing batch: the chain positions it covered and the hash it ended on.

    The last seal says where the chain must end, so deleting the newest events is detected too.
    """

    __tablename__ = "audit_seals"

    # Unique first position: two sealers racing for the same batch cannot both commit.
    first_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
