"""What the adapters keep: where each upstream stream stands, who runs which job, what the
national sync could not apply, and the monthly exports with their rejections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import ConflictStatus, ExportStatus, SyncEntity
from gateway.models.base import Base, BigId, UTCDateTime, enum_column, utcnow


class SyncCheckpoint(Base):
    """How far one upstream stream has been applied ("national", "feed:medical-security").

    Advanced in the same transaction as the changes it covers: a crash either keeps both or
    neither, so a rerun resumes exactly where the last committed page ended.
    """

    __tablename__ = "sync_checkpoints"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The upstream's opaque cursor for the next page, and the highest sequence applied.
    cursor: Mapped[str | None] = mapped_column(String(512))
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    # Running totals since the stream began ({"applied": …, "conflicts": …}).
    totals: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobLease(Base):
    """A named job held by one process until `expires_at`: how several hosts running the
    schedule agree that each pull runs once. Taken and renewed by conditional UPDATEs, which
    both engines serialise."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncConflict(Base):
    """A national change that met a local change made after the last sync. Neither is lost: the
    local row stands, the national change is kept here whole until someone resolves it."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (
        # A rerun of the same page finds the conflict it recorded, and records it once.
        UniqueConstraint("entity", "national_id", "national_version"),
        Index("ix_sync_conflicts_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[SyncEntity] = mapped_column(enum_column(SyncEntity))
    national_id: Mapped[str] = mapped_column(String(64))
    national_version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    national_state: Mapped[dict[str, Any]] = mapped_column(JSON)
    local_state: Mapped[dict[str, Any]] = mapped_column(JSON)
    local_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    local_changed_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ConflictStatus] = mapped_column(
        enum_column(ConflictStatus), default=ConflictStatus.OPEN
    )
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))


class SyncRejection(Base):
    """A national change the gateway could not apply (malformed), with the reasons."""

    __tablename__ = "sync_rejections"
    __table_args__ = (UniqueConstraint("seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    entity: Mapped[str | None] = mapped_column(String(16))
    national_id: Mapped[str | None] = mapped_column(String(64))
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NationalExport(Base):
    """One monthly upload of the low-income population to the national system."""

    __tablename__ = "national_exports"
    __table_args__ = (Index("ix_national_exports_month", "month"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[str] = mapped_column(CHAR(7))  # YYYY-MM
    region_code: Mapped[str] = mapped_column(CHAR(12))
    status: Mapped[ExportStatus] = mapped_column(enum_column(ExportStatus))
    # The national system's id for the batch, once it has one.
    upload_id: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    households: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(1000))


class NationalExportRejection(Base):
    __tablename__ = "national_export_rejections"

    export_id: Mapped[str] = mapped_column(ForeignKey("national_exports.id"), primary_key=True)
    # The rejection's place in the receipt (1-based): a household's line may have several.
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    line: Mapped[int] = mapped_column(Integer)  # 1-based, in the upload
    household_code: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(CHAR(18))
    code: Mapped[str] = mapped_column(String(48))
    reason: Mapped[str] = mapped_column(String(500))


class FeedFile(Base):
    """A file taken from a drop folder: processed once, whatever its name, by its content."""

    __tablename__ = "feed_files"

    feed: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(CHAR(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    # The bad rows, by line number, with the reasons (a bounded list).
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    receipt_id: Mapped[str | None] = mapped_column(ForeignKey("push_receipts.id"))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
