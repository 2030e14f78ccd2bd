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


def row_id(raw: strawberry.ID, field: str, what: str) -> int:
    """A row id given as a GraphQL ID, or InvalidInput naming the field ("is not a warning id")."""
    article = "an" if what[:1] in "aeiou" else "a"
    try:
        value = int(str(raw))
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidInput(field, f"is not {article} {what} id")
    return value
