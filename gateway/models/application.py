"""Applications for assistance (申请 → 受理 → 审核 with 公示 → 确认), and the working-day calendar
and procedure limits they are timed by (kept as data)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import ApplicationStatus
from gateway.models.base import Base, BigId, Tracked, enum_column


class Application(Tracked, Base):
    __tablename__ = "applications"
    __table_args__ = (
        # One application under way per household.
        Index(
            "uq_applications_household_open",
            "household_id",
            unique=True,
            sqlite_where=text("status IN ('APPLIED','ACCEPTED','IN_NOTICE')"),
            postgresql_where=text("status IN ('APPLIED','ACCEPTED','IN_NOTICE')"),
        ),
        Index("ix_applications_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    # The NOT_COVERED warning that started it, if any.
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("warnings.id"))
    status: Mapped[ApplicationStatus] = mapped_column(enum_column(ApplicationStatus))
    applied_on: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    reviewed_on: Mapped[date | None] = mapped_column(Date)  # the town's written opinion
    town_opinion: Mapped[str | None] = mapped_column(String(1000))
    notice_from: Mapped[date | None] = mapped_column(Date)
    notice_until: Mapped[date | None] = mapped_column(Date)  # the last working day of the notice
    decided_on: Mapped[date | None] = mapped_column(Date)
    # The deadline of the step under way (working days from the procedure limits).
    due_on: Mapped[date | None] = mapped_column(Date)
    determination_id: Mapped[int | None] = mapped_column(ForeignKey("determinations.id"))
    note: Mapped[str | None] = mapped_column(String(1000))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}


class ProcedureLimit(Base):
    """How many working days a step of the procedure may take (or must last, for the notice)."""

    __tablename__ = "procedure_limits"

    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    working_days: Mapped[int] = mapped_column(Integer)
    # True: at least this long (the public notice); False: at most (a deadline).
    minimum: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(200))


class CalendarDay(Base):
    """An exception to the Monday–Friday working week: a public holiday on a weekday, or a
    weekend day made a working day (调休)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100))
