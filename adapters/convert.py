"""Pure helpers the agency normalisers share: the agencies' formats (days as YYYYMMDD, amounts as
decimal strings, codes of their own) turned into the push API's (ISO days, exact yuan, our
enumerations).

A value that does not convert is passed on unchanged: the push API's checks then reject the
item naming our field (`occurred_on: must be a date as YYYY-MM-DD`), and the receipt keeps the
record's id and revision. Only what has no place in an item at all (a code we do not know, a
record that is not an object) becomes `Unreadable` here, its reason naming the agency's field
and the record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from gateway.pushes.ingest import Unreadable

# What a normaliser gives for one agency record: a push-API event item, or why it has none.
Item = dict[str, Any] | Unreadable

_COMPACT_DAY = re.compile(r"\d{8}")
_ISO_DAY_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T].*)?")
_DIGITS = re.compile(r"[0-9]{1,10}")


class Unmapped(ValueError):
    """A value the normaliser cannot put into an item (an unknown code)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


# An agency field that is absent (or null, or blank): left out of the item, so that the push
# API's check answers "required" for our field when it is one.
MISSING: Any = _Missing()


def field(record: Mapping[str, Any], name: str, convert: Callable[[Any], Any] = str) -> Any:
    """The agency's field, converted; MISSING when absent, null or blank."""
    value = record.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return MISSING
    return convert(value.strip() if isinstance(value, str) else value)


def present(**fields: Any) -> dict[str, Any]:
    """The fields that are not MISSING."""
    return {name: value for name, value in fields.items() if value is not MISSING}


def day(value: Any) -> Any:
    """'20260102', '2026-01-02' or '2026-01-02 10:11:12' → '2026-01-02'; other values as given
    (an impossible day such as '20260230' becomes '2026-02-30', which the push API rejects)."""
    if isinstance(value, str):
        if _COMPACT_DAY.fullmatch(value):
            return f"{value[:4]}-{value[4:6]}-{value[6:]}"
        if _ISO_DAY_TIME.fullmatch(value):
            return value[:10]
    return value


def yuan(value: Any) -> Any:
    """An amount in yuan as an exact Decimal: from a decimal string ('18250.00') or a number.
    Anything else as given, for the push API to reject."""
    if isinstance(value, str):
        try:
            amount = Decimal(value.replace(",", ""))
        except InvalidOperation:
            return value
        return amount if amount.is_finite() else value
    return value


def whole(value: Any) -> Any:
    """A whole number sent as digits ('2') → 2; anything else as given."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return value


def code(record: Mapping[str, Any], name: str, table: Mapping[str, Any]) -> Any:
    """The agency's code in field `name`, through its table; Unmapped if unknown."""
    value = record.get(name)
    key = str(value).strip() if value is not None else ""
    if key not in table:
        known = ", ".join(sorted(table))
        shown = "missing" if not key else f"{key!r} is not a known code"
        raise Unmapped(f"{name}: {shown} ({known})")
    return table[key]


def unreadable(record: Any, reason: str, *, key: str, version: str) -> Unreadable:
    """An item the push API rejects with `reason`, naming the agency record it came from."""
    agency_id: str | None = None
    revision: int | None = None
    if isinstance(record, Mapping):
        reason = f"{record.get(key, '?')} ({version} {record.get(version, '?')}): {reason}"
        found = record.get(key)
        agency_id = str(found) if isinstance(found, str | int) and found != "" else None
        number = record.get(version)
        if isinstance(number, int) and not isinstance(number, bool):
            revision = number
        elif isinstance(number, str) and number.isascii() and number.isdigit():
            revision = int(number)
    try:
        raw = orjson.dumps(record, default=str)
    except TypeError:
        raw = repr(record).encode()
    return Unreadable(reason, raw, key=agency_id, revision=revision)
