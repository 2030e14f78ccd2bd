"""People who sign in to the console: staff accounts, authorization codes and console sessions.

Departments' systems are OAuth clients (gateway.models.oauth); caseworkers are people with a role,
who sign in through the authorization-code flow of the same authorization server.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CHAR, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, UTCDateTime, utcnow


class StaffUser(Base):
    """A caseworker's account. Only an Argon2id hash of the password is kept."""

    __tablename__ = "staff_users"

    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # auth.roles.ROLES
    agency_code: Mapped[str] = mapped_column(String(32), ForeignKey("agencies.code"))
    # A user bound to a region sees only households in it (12-digit code); towns always are.
    region_code: Mapped[str | None] = mapped_column(CHAR(12), ForeignKey("regions.code"))
    password_hash: Mapped[str] = mapped_column(String(200))
    # Tokens issued before the password last changed are refused (like a client's secret).
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Lock-out: consecutive failures since the last success, and until when sign-in is refused.
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")
    # A disabled account cannot sign in, and its tokens are refused at once.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthorizationCode(Base):
    """An authorization code (RFC 6749 §4.1) waiting to be exchanged once, with its PKCE
    challenge (RFC 7636). Only a hash of the code is kept."""

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(CHAR(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(32), ForeignKey("staff_users.username"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    code_challenge: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A browser's session with the console, kept on the server; the cookie holds only a random
    id, of which this row keeps the hash. Before sign-in it holds the PKCE verifier and the
    `state` of the authorization request; after, the user's access token (never sent to the
    browser)."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(CHAR(64), primary_key=True)
    username: Mapped[str | None] = mapped_column(String(32), ForeignKey("staff_users.username"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(64))
    code_verifier: Mapped[str | None] = mapped_column(String(128))
    # Where to go after sign-in (a console path).
    return_to: Mapped[str | None] = mapped_column(String(500))
    access_token: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
