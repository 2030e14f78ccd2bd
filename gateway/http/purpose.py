"""The `X-Purpose` header: why a caller needs personal data, recorded with every such read."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.datastructures import Headers

from gateway.errors import InvalidInput

HEADER = "X-Purpose"
MAX_CHARS = 200


def read_purpose(headers: Headers) -> str | None:
    """The stated purpose, or None when the header is absent or blank.

    HTTP header values are bytes; Starlette hands them over as Latin-1. A purpose in Chinese
    arrives either as raw UTF-8 (decoded back here) or percent-encoded (`%E5%8C%BB…`).
    """
    raw = headers.get(HEADER)
    if raw is None:
        return None
    try:
        text = raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise InvalidInput(HEADER, "is not valid UTF-8") from None
    if "%" in text:
        text = unquote(text, errors="strict") if _is_percent_encoded(text) else text
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_CHARS:
        raise InvalidInput(HEADER, f"at most {MAX_CHARS} characters, got {len(text)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput(HEADER, "must not contain control characters")
    return text


def _is_percent_encoded(text: str) -> bool:
    try:
        unquote(text, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def missing() -> InvalidInput:
    return InvalidInput(
        HEADER,
        f"required: say why you need this personal data (at most {MAX_CHARS} characters); "
        "it is recorded with the read",
    )
