"""Password hashing for staff accounts: Argon2id (RFC 9106) with argon2-cffi's defaults.

Verification of an unknown user still runs Argon2 against a dummy hash, so that the time taken
does not tell which usernames exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 128
_DUMMY = _HASHER.hash("not a password anybody has")


def set_cost(*, time_cost: int, memory_cost_kib: int, parallelism: int) -> None:
    """Hash new passwords (and run the dummy check) at another cost; stored hashes keep theirs,
    which each hash names. For the tests, which are about who may sign in, not the hash."""
    global _HASHER, _DUMMY
    _HASHER = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism
    )
    _DUMMY = _HASHER.hash("not a password anybody has")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored` (None: an unknown user, checked against a dummy)."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if password.strip() != password:
        return "must not start or end with a space"
    if len(set(password)) < 5:
        return "must use at least 5 different characters"
    return None
