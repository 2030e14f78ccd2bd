"""The OAuth 2.0 authorization server's state: clients, signing keys and revoked tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CHAR, JSON, Boolean, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, UTCDateTime, utcnow


class OAuthClient(Base):
    """A department's registered client. Only a hash of its secret is kept."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_code: Mapped[str] = mapped_column(String(32), ForeignKey("agencies.code"))
    profile: Mapped[str | None] = mapped_column(String(32))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    # A client bound to a region sees only households in it (12-digit code).
    region_code: Mapped[str | None] = mapped_column(CHAR(12), ForeignKey("regions.code"))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A revoked client gets no tokens, and the tokens it holds are refused at once.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Such a client may only send the documents registered for it (gateway/documents), by id.
    trusted_documents_only: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class SigningKey(Base):
    """A key that signs access tokens. Retired keys still verify until their tokens expire."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)  # RFC 7638 thumbprint
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    # The private JWK (JSON) of a key the gateway generated; NULL for a key kept in a file
    # (LIG_SIGNING_KEY_FILE), of which the database holds only the public half.
    private_jwk: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class RevokedToken(Base):
    """An access token revoked before its expiry (RFC 7009); kept until it would have expired."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
