"""Rate limits shared by every gateway process: one token bucket per client (gateway/ratelimit)."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base


class RateBucket(Base):
    """A client's token bucket as it stood at `updated_at` (unix seconds, the claiming
    process's clock). Processes take tokens from it in slices and spend them locally, so the
    bucket is written once per slice, not once per request."""

    __tablename__ = "rate_buckets"

    client_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
