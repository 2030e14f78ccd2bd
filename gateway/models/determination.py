"""Category determinations: the history of decisions on a household, with their reasons."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import Category, Channel
from gateway.models.base import Base, BigId, UTCDateTime, enum_column, utcnow


class Determination(Base):
    """Append-only: a new decision is a new row; nothing is overwritten."""

    __tablename__ = "determinations"
    __table_args__ = (Index("ix_determinations_household_decided", "household_id", "decided_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    category: Mapped[Category] = mapped_column(enum_column(Category))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    decided_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # The rule-by-rule reasons ({rule, passed, detail}) and the standards used, as evaluated.
    # The recorded economic situation the rules assessed, when decided by the rules.
    situation_id: Mapped[int | None] = mapped_column(ForeignKey("economic_situations.id"))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    standards: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
