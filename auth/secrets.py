"""Client identifiers and secrets: how they are made, stored and checked.

Only a hash of a secret is stored. It is a plain SHA-256, not a slow password hash (bcrypt,
argon2): those exist to make guessing a *human-chosen* password expensive, but every secret here
is 256 bits from `secrets.token_urlsafe(32)`, made by us, so there is nothing to guess and a slow
hash would only slow down every token request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCHEME = "sha256"
CLIENT_ID_PREFIX = "lig_"


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(12)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """`sha256$<hex>`: the scheme is named so that a later scheme can sit beside it."""
    return f"{SCHEME}${hashlib.sha256(secret.encode()).hexdigest()}"


# Compared against when the client is unknown, so that an unknown id and a wrong secret take
# the same time.
UNKNOWN = hash_secret(secrets.token_urlsafe(32))


def verify_secret(secret: str, stored: str) -> bool:
    scheme, _, _ = stored.partition("$")
    # Constant-time comparison: the time taken says nothing about how much of the hash matched.
    return hmac.compare_digest(hash_secret(secret), stored) and scheme == SCHEME
