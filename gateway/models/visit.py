"""Home visits (走访, 入户抽查) and the households' verification authorisations (核对授权书)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, BigId, UTCDateTime, utcnow


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_household_on", "household_id", "visited_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    visited_on: Mapped[date] = mapped_column(Date)
    visitor: Mapped[str] = mapped_column(String(64))
    findings: Mapped[str] = mapped_column(String(2000))
    # The changes reported, as applied ({"person": …, "field": …, "from": …, "to": …}).
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Why: a random sample (its seed and ratio), a warning, a routine visit.
    reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class VerificationAuthorisation(Base):
    """A household's signed authorisation for economic-status verification, or its refusal.

    Append-only apart from `withdrawn_on`: a renewal is a new row.
    """

    __tablename__ = "verification_authorisations"
    __table_args__ = (Index("ix_verification_authorisations_household", "household_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    # False: the household refused to sign (a conduct exclusion, DOMAIN.md).
    granted: Mapped[bool] = mapped_column(Boolean)
    signed_on: Mapped[date] = mapped_column(Date)
    signed_by: Mapped[str] = mapped_column(String(64))  # the member who signed (or refused)
    document_ref: Mapped[str | None] = mapped_column(String(128))
    valid_until: Mapped[date | None] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
