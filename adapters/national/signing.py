"""Request signatures of the national system: pure functions, shared by the client (which signs)
and the simulator (which verifies). Documented in openapi/national-system.yaml.

The string to sign is seven lines joined by "\\n":

    METHOD               upper case
    PATH                 as sent, percent-encoded, without the query
    CANONICAL_QUERY      k=v pairs, RFC 3986-encoded, sorted by key then value, joined by "&"
    BODY_DIGEST          hex digest of the body with the method's hash (of b"" when empty)
    APP_KEY
    TIMESTAMP            Unix time in seconds
    NONCE                32 hex characters, never reused within the allowed clock skew

and the signature is the lowercase hex HMAC of that string under the app secret, with SM3
(GB/T 32905-2016, as OpenSSL provides it) or SHA-256. Every attempt of a request is signed anew.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote

# How far a request's timestamp may be from the verifier's clock, either way.
ALLOWED_SKEW_SECONDS = 300

APP_KEY_HEADER = "X-App-Key"
TIMESTAMP_HEADER = "X-Timestamp"
NONCE_HEADER = "X-Nonce"
METHOD_HEADER = "X-Signature-Method"
SIGNATURE_HEADER = "X-Signature"


class SignatureMethod(StrEnum):
    HMAC_SM3 = "HMAC-SM3"
    HMAC_SHA256 = "HMAC-SHA256"

    @property
    def hash_name(self) -> str:
        return "sm3" if self is SignatureMethod.HMAC_SM3 else "sha256"


def sm3_available() -> bool:
    return "sm3" in hashlib.algorithms_available


def digest(method: SignatureMethod, body: bytes) -> str:
    return hashlib.new(method.hash_name, body).hexdigest()


def canonical_query(query: Mapping[str, str]) -> str:
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def string_to_sign(
    method: str,
    path: str,
    query: Mapping[str, str],
    body_digest: str,
    app_key: str,
    timestamp: int,
    nonce: str,
) -> str:
    return "\n".join(
        (method.upper(), path, canonical_query(query), body_digest, app_key, str(timestamp), nonce)
    )


def signature(method: SignatureMethod, secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), method.hash_name).hexdigest()


@dataclass(frozen=True)
class RequestSigner:
    """The client side: the headers that sign one attempt of a request."""

    app_key: str
    secret: bytes = field(repr=False)
    method: SignatureMethod = SignatureMethod.HMAC_SM3
    clock: Callable[[], float] = time.time
    nonces: Callable[[], str] = field(default=lambda: secrets.token_hex(16))

    @property
    def hash_name(self) -> str:
        return self.method.hash_name

    def __call__(
        self, http_method: str, path: str, query: Mapping[str, str], body_digest: str
    ) -> dict[str, str]:
        timestamp = int(self.clock())
        nonce = self.nonces()
        text = string_to_sign(http_method, path, query, body_digest, self.app_key, timestamp, nonce)
        return {
            APP_KEY_HEADER: self.app_key,
            TIMESTAMP_HEADER: str(timestamp),
            NONCE_HEADER: nonce,
            METHOD_HEADER: self.method.value,
            SIGNATURE_HEADER: signature(self.method, self.secret, text),
        }


class SignatureRefused(Exception):
    """Why a verifier refused a request: a stable code and a message a person can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Verifier:
    """The server side (the simulator): checks key, clock, nonce and signature, in that order."""

    secrets_by_key: Mapping[str, bytes] = field(repr=False)
    clock: Callable[[], float] = time.time
    skew: int = ALLOWED_SKEW_SECONDS
    _seen: dict[str, float] = field(default_factory=dict)

    def verify(
        self,
        http_method: str,
        path: str,
        query: Mapping[str, str],
        body: bytes | None,
        headers: Mapping[str, str],
        *,
        body_digest: str | None = None,
        received_at: float | None = None,
    ) -> None:
        """Raise SignatureRefused unless the request is signed right; give the body, or its
        digest (with the method the header names) when it was hashed as it streamed in."""
        get = {k.lower(): v for k, v in headers.items()}.get
        app_key = get(APP_KEY_HEADER.lower(), "")
        secret = self.secrets_by_key.get(app_key)
        if secret is None:
            raise SignatureRefused("APP_KEY_UNKNOWN", f"unknown app key {app_key!r}")
        try:
            method = SignatureMethod(get(METHOD_HEADER.lower(), ""))
        except ValueError:
            raise SignatureRefused(
                "SIGNATURE_METHOD_UNSUPPORTED",
                f"{METHOD_HEADER} must be one of {', '.join(m.value for m in SignatureMethod)}",
            ) from None
        raw_timestamp = get(TIMESTAMP_HEADER.lower(), "")
        # isdigit() alone takes "²" or "３" (a header's latin-1 bytes can spell them), which
        # int() then refuses: the caller would get a crash instead of TIMESTAMP_INVALID.
        if not (raw_timestamp.isascii() and raw_timestamp.isdigit()):
            raise SignatureRefused("TIMESTAMP_INVALID", f"{TIMESTAMP_HEADER} must be Unix seconds")
        timestamp = int(raw_timestamp)
        # The clock is checked against the request's arrival (a long upload is signed when it
        # starts, and verified when its last byte is in).
        now = self.clock() if received_at is None else received_at
        if abs(now - timestamp) > self.skew:
            # Said in words: "+600 s from server time" read as a clock ahead when it was behind.
            way = "behind" if timestamp < now else "ahead of"
            raise SignatureRefused(
                "SIGNATURE_EXPIRED",
                f"timestamp {timestamp} is {abs(now - timestamp):.0f} s {way} the server's time "
                f"{int(now)}; at most {self.skew} s allowed (check the caller's clock)",
            )
        nonce = get(NONCE_HEADER.lower(), "")
        if len(nonce) != 32 or any(c not in "0123456789abcdef" for c in nonce):
            raise SignatureRefused("NONCE_INVALID", f"{NONCE_HEADER} must be 32 hex characters")
        self._forget(now)
        if nonce in self._seen:
            raise SignatureRefused(
                "NONCE_REPLAYED", f"nonce {nonce} was already used: a replayed request"
            )
        if body_digest is None:
            body_digest = digest(method, body or b"")
        text = string_to_sign(http_method, path, query, body_digest, app_key, timestamp, nonce)
        expected = signature(method, secret, text)
        # Compared as bytes: compare_digest raises on a str with non-ASCII characters.
        if not hmac.compare_digest(expected.encode(), get(SIGNATURE_HEADER.lower(), "").encode()):
            raise SignatureRefused(
                "SIGNATURE_INVALID",
                "the signature does not match the request (wrong secret, or the request was "
                "changed in transit)",
            )
        self._seen[nonce] = now

    @staticmethod
    def method_of(headers: Mapping[str, str]) -> SignatureMethod | None:
        value = {k.lower(): v for k, v in headers.items()}.get(METHOD_HEADER.lower(), "")
        try:
            return SignatureMethod(value)
        except ValueError:
            return None

    def _forget(self, now: float) -> None:
        # A nonce need only be remembered while its timestamp would still be accepted.
        if len(self._seen) > 10_000:
            horizon = now - 2 * self.skew
            self._seen = {n: t for n, t in self._seen.items() if t >= horizon}
