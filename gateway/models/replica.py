"""Read-your-writes across processes: where the primary's WAL stood after each client's last
change (gateway/replicas.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, UTCDateTime


class ClientWritePosition(Base):
    """One row per client (or person, `user:NAME`) that changed data through the gateway.

    `lsn` is the primary's WAL insert position, in bytes, read just after the change committed:
    a standby that has replayed this far shows the change. Kept only where standbys serve reads
    (PostgreSQL with LIG_DATABASE_REPLICA_URLS); the table exists on both engines.
    """

    __tablename__ = "client_write_positions"

    client_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    lsn: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
