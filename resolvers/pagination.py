"""Opaque cursors and page sizes, shared by every list."""

from __future__ import annotations

import base64
import binascii

from gateway.errors import InvalidInput, LimitExceeded
from gateway.settings import Settings
from resolvers.inputs import parse_row_id


def encode_cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode().rstrip("=")


# The longest cursor this gateway writes is well under this; anything longer is not one.
MAX_CURSOR = 128


def decode_cursor(kind: str, cursor: str | None, field: str = "after") -> int | None:
    if cursor is None:
        return None
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        prefix, _, value = text.partition(":")
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput(field, "is not a cursor returned by this list") from None
    # "0" is a cursor too (before the first row); past MAX_ROW_ID the driver would fail on it.
    row_id = 0 if value == "0" else parse_row_id(value)
    if prefix != kind or row_id is None:
        raise InvalidInput(field, "is not a cursor returned by this list")
    return row_id


def page_size(first: int | None, settings: Settings, field: str = "first") -> int:
    if first is None:
        return settings.default_page_size
    if first < 1:
        raise InvalidInput(field, "must be at least 1")
    if first > settings.max_page_size:
        raise LimitExceeded(
            f"{field}: at most {settings.max_page_size} per page, got {first}", field=field
        )
    return first
