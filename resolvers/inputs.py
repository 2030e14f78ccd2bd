"""GraphQL inputs as the plain JSON-like values the services read, and field paths back."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

import strawberry


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
