"""Warnings (预警) found by data comparison, routed to the agencies responsible, with history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import Severity, WarningKind, WarningStatus
from gateway.models.base import Base, BigId, Tracked, UTCDateTime, enum_column, utcnow


class WarningRecord(Tracked, Base):
    __tablename__ = "warnings"
    __table_args__ = (
        # A household never has two open warnings for the same finding.
        Index(
            "uq_warnings_open_finding",
            "household_id",
            "finding",
            unique=True,
            sqlite_where=text("status IN ('OPEN','DISPATCHED','ACKNOWLEDGED','ESCALATED')"),
            postgresql_where=text("status IN ('OPEN','DISPATCHED','ACKNOWLEDGED','ESCALATED')"),
        ),
        Index("ix_warnings_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[WarningKind] = mapped_column(enum_column(WarningKind))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    # The comparison rule and what it found, e.g. "medical.not_delivered"; dedupes open warnings.
    finding: Mapped[str] = mapped_column(String(128))
    hardship_type: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity))
    status: Mapped[WarningStatus] = mapped_column(enum_column(WarningStatus))
    due_on: Mapped[date] = mapped_column(Date)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    resolution: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(String(1000))


class WarningAssignment(Base):
    __tablename__ = "warning_assignments"
    __table_args__ = (Index("ix_warning_assignments_agency", "agency_code", "warning_id"),)

    warning_id: Mapped[int] = mapped_column(ForeignKey("warnings.id"), primary_key=True)
    agency_code: Mapped[str] = mapped_column(
        String(32), ForeignKey("agencies.code"), primary_key=True
    )
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WarningTransition(Base):
    """Append-only history of a warning's status."""

    __tablename__ = "warning_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warnings.id"), index=True)
    from_status: Mapped[WarningStatus | None] = mapped_column(enum_column(WarningStatus))
    to_status: Mapped[WarningStatus] = mapped_column(enum_column(WarningStatus))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(1000))
