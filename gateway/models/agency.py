"""Departments (部门) that read from and push to the gateway."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base


class Agency(Base):
    __tablename__ = "agencies"

    # The profile name of CONTRACT.md, e.g. "medical-security".
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
