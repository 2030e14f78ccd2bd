"""How a webhook POST is signed, and `verify`, the check a receiver makes.

Every POST carries:

    X-Lig-Timestamp: 1795430000            (unix seconds, when this attempt was signed)
    X-Lig-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>
    X-Lig-Delivery:  8812                  (this delivery; the same on every retry of it)
    X-Lig-Notice:    5120                  (the notice: dedupe on it, delivery is at least once)
    X-Lig-Attempt:   3                     (1 for the first POST of the delivery)

The key is the whole secret string (`whsec_…`) as UTF-8; the message is the timestamp, a dot,
and the raw body bytes as received (parse the JSON only after verifying). Each attempt is signed
anew, so a retry has a fresh timestamp. `X-Lig-Signature` may list several comma-separated
`v1=` values; a receiver accepts the request if any one matches.

`verify` below uses only the standard library: receivers may copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

VERSION = "v1"
TIMESTAMP = "X-Lig-Timestamp"
SIGNATURE = "X-Lig-Signature"
DELIVERY = "X-Lig-Delivery"
NOTICE = "X-Lig-Notice"
ATTEMPT = "X-Lig-Attempt"
# How far a receiver should let the timestamp be from its own clock (seconds), either way.
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def headers(
    secret: str, body: bytes, *, delivery_id: int, notice_id: int, attempt: int, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        TIMESTAMP: str(timestamp),
        SIGNATURE: f"{VERSION}={signature(secret, timestamp, body)}",
        DELIVERY: str(delivery_id),
        NOTICE: str(notice_id),
        ATTEMPT: str(attempt),
    }


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature_header: str | None,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether a webhook POST is genuine: signed with `secret` over `timestamp` and `body`
    (the raw bytes), with the timestamp within `tolerance` seconds of now (a replay of an old
    POST fails). Pass the X-Lig-Timestamp and X-Lig-Signature headers as received."""
    if not timestamp or not signature_header or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    message = timestamp.encode("ascii") + b"." + body
    expected = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    for part in signature_header.split(","):
        version, _, value = part.strip().partition("=")
        given = value.encode("ascii", "replace")
        if version == "v1" and hmac.compare_digest(given, expected.encode("ascii")):
            return True
    return False
