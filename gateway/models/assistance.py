"""Specific assistance (专项救助) delivered by agencies, one row per revision of their record."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CHAR,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import AssistanceKind, AssistanceSubject, RecordSource
from gateway.models.base import Base, BigId, Fixed2, UTCDateTime, enum_column, utcnow


class AssistanceRecord(Base):
    """A correction is the same agency record id with a higher revision; old revisions stay.

    The record names its person by ID number; `person_id` and `household_id` are filled in when
    that person is in the database (now, or when they are matched later).
    """

    __tablename__ = "assistance_records"
    __table_args__ = (
        UniqueConstraint("agency_code", "agency_record_id", "revision"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_assistance_records_household_current", "household_id", "is_current"),
        Index("ix_assistance_records_person", "person_id"),
        Index("ix_assistance_records_receipt", "receipt_id", "receipt_index"),
        # Records not (yet) linked to a household: their person is unknown, or has none yet.
        Index(
            "ix_assistance_records_unmatched",
            "id_number",
            postgresql_where=text("household_id IS NULL"),
            sqlite_where=text("household_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agency_code: Mapped[str] = mapped_column(String(32), ForeignKey("agencies.code"))
    agency_record_id: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[AssistanceKind] = mapped_column(enum_column(AssistanceKind))
    id_number: Mapped[str] = mapped_column(CHAR(18))
    applies_to: Mapped[AssistanceSubject] = mapped_column(
        enum_column(AssistanceSubject), default=AssistanceSubject.PERSON
    )
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    amount: Mapped[Decimal] = mapped_column(Fixed2)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[RecordSource] = mapped_column(enum_column(RecordSource))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the validated item: the same revision sent again is a duplicate only if equal.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # The push that stored it, and its position in that batch (the receipt's item index).
    receipt_id: Mapped[str | None] = mapped_column(ForeignKey("push_receipts.id"))
    receipt_index: Mapped[int | None] = mapped_column(Integer)
