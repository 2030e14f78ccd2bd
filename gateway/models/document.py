"""Trusted documents: the GraphQL operations a client registered and may send by id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, UTCDateTime, utcnow


class TrustedDocument(Base):
    """A document registered for one client. `document_id` is `sha256:` and the hex SHA-256 of
    `body` as registered, so an id names one text for good and a cached body never goes stale."""

    __tablename__ = "trusted_documents"

    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[str] = mapped_column(String(71), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str] = mapped_column(String(80), default="local")
