"""Monitoring events observed by agencies, in one normalised vocabulary."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import EventKind, RecordSource
from gateway.models.base import Base, BigId, UTCDateTime, enum_column, utcnow


class MonitoringEvent(Base):
    """An event names its person by ID number; one about an unknown person waits for matching.

    As with assistance records, a correction is the same agency event id with a higher revision.
    """

    __tablename__ = "monitoring_events"
    __table_args__ = (
        UniqueConstraint("agency_code", "agency_event_id", "revision"),
        Index("ix_monitoring_events_household_occurred", "household_id", "occurred_on"),
        Index("ix_monitoring_events_id_number", "id_number"),
        Index("ix_monitoring_events_receipt", "receipt_id", "receipt_index"),
        Index(
            "ix_monitoring_events_unmatched",
            "id_number",
            postgresql_where=text("household_id IS NULL"),
            sqlite_where=text("household_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind))
    agency_code: Mapped[str] = mapped_column(String(32), ForeignKey("agencies.code"))
    agency_event_id: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    id_number: Mapped[str] = mapped_column(CHAR(18))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    occurred_on: Mapped[date] = mapped_column(Date)
    # Kind-specific facts (amount, disability type and grade, stage, area …), validated on entry.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[RecordSource] = mapped_column(enum_column(RecordSource))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    receipt_id: Mapped[str | None] = mapped_column(ForeignKey("push_receipts.id"))
    receipt_index: Mapped[int | None] = mapped_column(Integer)
