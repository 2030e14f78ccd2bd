"""GraphQL inputs as the plain JSON-like values the services read, and field paths back."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

import strawberry

from gateway.errors import InvalidInput


def plain(value: Any) -> Any:
    """A strawberry input as the JSON-like request `lig assess` reads."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in fields(value):
            item = getattr(value, f.name)
            # Left out when not sent; an explicit null goes on, to be judged as `lig assess`
            # judges it.
            if item is not strawberry.UNSET:
                out[f.name] = plain(item)
        return out
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value


def camel(path: str) -> str:
    """A service's field path (`details.disability_grade`) in GraphQL's terms
    (`details.disabilityGrade`)."""
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path)


# Row ids are BIGINT (SQLite's INTEGER is as wide): a larger number names no row, and the
# driver fails on it (a 500) rather than finding nothing.
MAX_ROW_ID = 2**63 - 1


def parse_row_id(text: str) -> int | None:
    """The row id a text spells (ASCII digits, 1 to MAX_ROW_ID), else None. `int()` alone also
    reads " 12", "1_2", "١٢" and 20-digit numbers past any id."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None


def row_id(raw: strawberry.ID, field: str, what: str) -> int:
    """A row id given as a GraphQL ID, or InvalidInput naming the field ("is not a warning id")."""
    value = parse_row_id(str(raw))
    if value is None:
        article = "an" if what[:1] in "aeiou" else "a"
        raise InvalidInput(field, f"is not {article} {what} id")
    return value
