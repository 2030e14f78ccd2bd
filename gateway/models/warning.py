"""Warnings (预警) found by data comparison, routed to the agencies responsible, with history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import (
    ComparisonMode,
    HardshipType,
    NoticeKind,
    Severity,
    WarningKind,
    WarningStatus,
)
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
        # The queue of warnings still to be worked, in its order (due date, then id): a keyset
        # page reads its rows in index order from the cursor on, however deep, and stops at the
        # page's end; resolved warnings, which pile up over the years, are not in it.
        Index(
            "ix_warnings_open_due",
            "due_on",
            "id",
            sqlite_where=text("status IN ('OPEN','DISPATCHED','ACKNOWLEDGED','ESCALATED')"),
            postgresql_where=text("status IN ('OPEN','DISPATCHED','ACKNOWLEDGED','ESCALATED')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[WarningKind] = mapped_column(enum_column(WarningKind))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    # What was found, e.g. "policy.medical_not_delivered": one open warning per household and
    # finding. Usually the id of the comparison rule that found it (gateway/monitoring/rules).
    finding: Mapped[str] = mapped_column(String(128))
    hardship_type: Mapped[HardshipType | None] = mapped_column(enum_column(HardshipType))
    # The people the finding names (person ids): whom an assigned agency may see in full.
    subjects: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The day of the latest comparison that still found it.
    last_found_on: Mapped[date | None] = mapped_column(Date)
    # Counts changes: two caseworkers acting on one warning at once cannot both succeed.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity))
    status: Mapped[WarningStatus] = mapped_column(enum_column(WarningStatus))
    due_on: Mapped[date] = mapped_column(Date)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    resolution: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(String(1000))

    __mapper_args__ = {"version_id_col": version}


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


class WarningRoute(Tracked, Base):
    """Routing as data (预警分类推送): warning kind × hardship type → who acts, by when, how urgent.

    `hardship_type` "*" is the route of a kind for any hardship type without a route of its own.
    """

    __tablename__ = "warning_routes"
    __table_args__ = (UniqueConstraint("kind", "hardship_type"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[WarningKind] = mapped_column(enum_column(WarningKind))
    hardship_type: Mapped[str] = mapped_column(String(32))
    agencies: Mapped[list[str]] = mapped_column(JSON)
    due_working_days: Mapped[int] = mapped_column(Integer)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity))


class WarningNotice(Base):
    """Append-only outbox: what each agency is told about its warnings, in order.

    The subscription streams it and the webhooks deliver it; the id orders it and is the cursor
    an agency replays from.
    """

    __tablename__ = "warning_notices"
    __table_args__ = (Index("ix_warning_notices_agency_id", "agency_code", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agency_code: Mapped[str] = mapped_column(String(32), ForeignKey("agencies.code"))
    warning_id: Mapped[int] = mapped_column(ForeignKey("warnings.id"))
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind))
    status: Mapped[WarningStatus] = mapped_column(enum_column(WarningStatus))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComparisonQueue(Base):
    """Households whose data changed since the last comparison: the incremental path's work.

    Written in the same transaction as the change (a push, a sync, a visit), so nothing is
    lost; a household is queued once however many changes it had.
    """

    __tablename__ = "comparison_queue"
    __table_args__ = (Index("ix_comparison_queue_queued_at", "queued_at"),)

    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComparisonRun(Base):
    """One comparison pass (full or incremental) with its counts."""

    __tablename__ = "comparison_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mode: Mapped[ComparisonMode] = mapped_column(enum_column(ComparisonMode))
    as_of: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    households: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    joined: Mapped[int] = mapped_column(Integer, default=0)
    cleared: Mapped[int] = mapped_column(Integer, default=0)
    # Findings per rule id, and households skipped per reason (e.g. no valid authorisation).
    by_rule: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    skipped: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
