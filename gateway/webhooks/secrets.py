"""Webhook secrets: made here, shown to the agency once, kept encrypted at rest.

The sender must compute an HMAC with the secret itself, so a hash (as for client secrets) will
not do: the secret is encrypted with Fernet (AES-128-CBC and HMAC-SHA256, from `cryptography`)
under LIG_WEBHOOK_SECRET_KEY, a key that lives in the gateway's configuration and not in the
database, so a copy of the database or of its backups does not give the secrets away. Stored as
`fernet$<token>`, the scheme named so that another can sit beside it. Earlier keys
(LIG_WEBHOOK_PREVIOUS_SECRET_KEYS) still decrypt; `lig webhooks rekey` re-encrypts every secret
under the current key.
"""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from gateway.errors import LigError
from gateway.settings import Settings

SCHEME = "fernet"
SECRET_PREFIX = "whsec_"


class SecretKeyMissing(LigError):
    """LIG_WEBHOOK_SECRET_KEY is not set (or is not a Fernet key): no secret can be kept."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503


class SecretUnreadable(Exception):
    """A stored secret does not decrypt with any configured key."""


def new_secret() -> str:
    """256 random bits; the whole string (prefix included) is the HMAC key, as UTF-8."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _fernet(settings: Settings) -> MultiFernet:
    if settings.webhook_secret_key is None:
        raise SecretKeyMissing(
            "webhooks are not set up on this gateway: the operator must set "
            "LIG_WEBHOOK_SECRET_KEY (make one with `lig webhooks new-key`)"
        )
    keys = [settings.webhook_secret_key, *settings.webhook_previous_secret_keys]
    try:
        return MultiFernet([Fernet(k.get_secret_value().encode("ascii")) for k in keys])
    except (ValueError, UnicodeEncodeError):
        raise SecretKeyMissing(
            "LIG_WEBHOOK_SECRET_KEY (or a previous key) is not a Fernet key: 32 bytes in "
            "URL-safe base64, as `lig webhooks new-key` prints"
        ) from None


def check_key(settings: Settings) -> None:
    """Raise SecretKeyMissing unless secrets can be encrypted."""
    _fernet(settings)


def seal(settings: Settings, secret: str) -> str:
    token = _fernet(settings).encrypt(secret.encode("utf-8")).decode("ascii")
    return f"{SCHEME}${token}"


def unseal(settings: Settings, stored: str) -> str:
    scheme, _, token = stored.partition("$")
    if scheme != SCHEME:
        raise SecretUnreadable(f"unknown secret scheme {scheme!r}")
    try:
        return _fernet(settings).decrypt(token.encode("ascii")).decode("utf-8")
    except SecretKeyMissing as missing:
        raise SecretUnreadable(missing.message) from None
    except InvalidToken:
        raise SecretUnreadable(
            "the secret does not decrypt with LIG_WEBHOOK_SECRET_KEY or a previous key"
        ) from None


def reseal(settings: Settings, stored: str) -> str:
    """The same secret encrypted under the current key (for `lig webhooks rekey`)."""
    scheme, _, token = stored.partition("$")
    if scheme != SCHEME:
        raise SecretUnreadable(f"unknown secret scheme {scheme!r}")
    try:
        return f"{SCHEME}$" + _fernet(settings).rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable("the secret does not decrypt with any configured key") from None
