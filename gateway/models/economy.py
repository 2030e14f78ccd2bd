"""A household's economic situation as declared or verified on a date: what the rules assess.

Append-only: a new declaration or verification result (核对结果) is a new row; a determination
points at the row it used.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import SituationSource
from gateway.models.base import Base, BigId, Fixed2, UTCDateTime, enum_column, utcnow


class EconomicSituation(Base):
    __tablename__ = "economic_situations"
    __table_args__ = (Index("ix_economic_situations_household_on", "household_id", "recorded_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    recorded_on: Mapped[date] = mapped_column(Date)
    source: Mapped[SituationSource] = mapped_column(enum_column(SituationSource))
    annual_income: Mapped[Decimal] = mapped_column(Fixed2)
    rigid_medical: Mapped[Decimal] = mapped_column(Fixed2, default=Decimal(0))
    rigid_education: Mapped[Decimal] = mapped_column(Fixed2, default=Decimal(0))
    rigid_disability_rehabilitation: Mapped[Decimal] = mapped_column(Fixed2, default=Decimal(0))
    rigid_disaster_accident: Mapped[Decimal] = mapped_column(Fixed2, default=Decimal(0))
    rigid_other: Mapped[Decimal] = mapped_column(Fixed2, default=Decimal(0))
    financial: Mapped[Decimal] = mapped_column(Fixed2, default=Decimal(0))
    car_values: Mapped[list[str]] = mapped_column(JSON, default=list)  # decimal strings, yuan
    homes: Mapped[int] = mapped_column(Integer, default=0)
    floor_area: Mapped[Decimal] = mapped_column(Fixed2, default=Decimal(0))
    homes_from_demolition: Mapped[bool] = mapped_column(Boolean, default=False)
    non_residential_acquired: Mapped[bool] = mapped_column(Boolean, default=False)
    subscribed_capital: Mapped[Decimal] = mapped_column(Fixed2, default=Decimal(0))
    refused_investigation: Mapped[bool] = mapped_column(Boolean, default=False)
    refused_authorisation: Mapped[bool] = mapped_column(Boolean, default=False)
    deliberate_disposal: Mapped[bool] = mapped_column(Boolean, default=False)
    high_consumption: Mapped[bool] = mapped_column(Boolean, default=False)
    refuses_work: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
