"""Administrative regions (行政区划) by their 12-digit statistical division code."""

from __future__ import annotations

from sqlalchemy import CHAR, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.domain.enums import RegionLevel
from gateway.models.base import Base, enum_column


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(CHAR(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel))
    parent_code: Mapped[str | None] = mapped_column(
        CHAR(12), ForeignKey("regions.code"), index=True
    )
