"""Regional standards: figures with a region and an effective date, never constants in code."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CHAR, CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import StandardFigure, StandardStatus
from gateway.models.base import Base, BigId, Fixed2, UTCDateTime, enum_column, utcnow


class RegionalStandard(Base):
    """A figure in force for a region from `effective_from` until the next row for it.

    Money and areas go in `amount`; dates (the legacy transition end) in `on_date`.
    DISPOSABLE_INCOME rows hold the figure *for* the calendar year of `effective_from`.
    """

    __tablename__ = "regional_standards"
    __table_args__ = (
        UniqueConstraint("region_code", "figure", "effective_from"),
        CheckConstraint("amount IS NOT NULL OR on_date IS NOT NULL", name="has_value"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(CHAR(12), ForeignKey("regions.code"))
    figure: Mapped[StandardFigure] = mapped_column(enum_column(StandardFigure))
    effective_from: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(Fixed2)
    on_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[StandardStatus] = mapped_column(enum_column(StandardStatus))
    source: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
