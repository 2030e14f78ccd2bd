"""Field validators shared by every request the gateway reads (assessments, situations, pushes).

Pydantic does the checking (unknown fields, types, ranges); every problem is reported with the
path of the field it concerns, as `members[0].id_number`, and nothing is guessed: numbers must
be JSON numbers (or exact decimals), booleans JSON booleans, dates ISO 8601 days.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from gateway.domain import idnumber
from gateway.errors import InvalidInput

MAX_AMOUNT = Decimal(10**12)
CENT = Decimal("0.01")
# ASCII digits only: `\d` alone also matches other scripts' digits (fullwidth ３, Arabic-Indic ٣),
# and a region code of those would be stored as sent.
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_REGION = re.compile(r"\d{6}(\d{6})?", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT = 1000


def written(field: str, value: str, *, limit: int = MAX_TEXT) -> str:
    """A caseworker's text (an opinion, a reason, a note): required, bounded, printable."""
    text = value.strip()
    if not text:
        raise InvalidInput(field, "is required")
    if len(text) > limit:
        raise InvalidInput(field, f"at most {limit} characters")
    if _CONTROL.search(text):
        raise InvalidInput(field, "must not contain control characters")
    return text


def code(field: str, value: str, *, limit: int) -> str:
    """A code a request names exactly (an agency, a client id, a rule id): 1 to `limit`
    printable characters, compared as sent (not stripped). PostgreSQL refuses NUL in any text
    parameter, so an unchecked code fails the statement instead of finding nothing."""
    if not 1 <= len(value) <= limit:
        raise InvalidInput(field, f"must be 1 to {limit} characters")
    if not value.isprintable():
        raise InvalidInput(field, "must not contain control characters")
    return value


MAX_AGENCY_CODE = 32  # agencies.code


def agency_code(field: str, value: str) -> str:
    return code(field, value, limit=MAX_AGENCY_CODE)


def number(value: Any) -> Decimal:
    # bool is an int in Python; a JSON true is not a sum of money.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"must not exceed {MAX_AMOUNT}")
    # Yuan to the fen, m² to the hundredth: what is stored, and what keeps every comparison
    # exact (a per-capita figure is then never within rounding distance of a limit).
    if amount != amount.quantize(CENT):
        raise ValueError("at most two decimal places")
    return amount


def day(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return date.fromisoformat(value)


def id_number(value: str) -> str:
    try:
        return idnumber.validate(value)
    except idnumber.IdNumberError as error:
        raise ValueError(str(error)) from None


def region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise ValueError("must be a 6- or 12-digit administrative division code")
    return value.ljust(12, "0")


# What the OpenAPI document says of each (gateway/http/openapi.py): the checks above, as far as
# JSON Schema can say them. The validators stay the authority; these only describe them.
_TWO_DECIMALS = "A JSON number with at most two decimal places."
_AMOUNT_SCHEMA = {"type": "number", "minimum": 0, "maximum": int(MAX_AMOUNT)}
_POSITIVE_SCHEMA = {"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_AMOUNT)}

Amount = Annotated[
    Decimal,
    BeforeValidator(number),
    Field(ge=0, le=10**12),
    WithJsonSchema({**_AMOUNT_SCHEMA, "description": _TWO_DECIMALS}),
]
Positive = Annotated[
    Decimal,
    BeforeValidator(number),
    Field(gt=0, le=10**12),
    WithJsonSchema({**_POSITIVE_SCHEMA, "description": _TWO_DECIMALS}),
]
Day = Annotated[
    date,
    BeforeValidator(day),
    WithJsonSchema({"type": "string", "format": "date", "description": "An ISO 8601 day."}),
]


class Strict(BaseModel):
    # Not strict as a whole (enums come as strings); booleans, integers, numbers and dates are
    # strict through their own types and validators above.
    model_config = ConfigDict(extra="forbid", frozen=True)


IdNumber = Annotated[
    str,
    AfterValidator(id_number),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{17}[0-9Xx]$",
            "description": "A resident identity number (GB 11643): 17 digits, the 7th to the "
            "14th a valid birth date (YYYYMMDD), then the ISO 7064 MOD 11-2 check character.",
        }
    ),
]
RegionCode = Annotated[
    str,
    AfterValidator(region),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{6}([0-9]{6})?$",
            "description": "A 6- or 12-digit administrative division code.",
        }
    ),
]


MAX_NAME = 64


def path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as the caller wrote it: `members[0].id_number`."""
    text = ""
    for part in loc:
        if isinstance(part, str) and len(part) > MAX_NAME:
            # An unknown field's name is the caller's: echoed, it is cut short, so that a
            # rejection stays small whatever the item holds.
            part = part[: MAX_NAME - 1] + "…"
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def problem(error: Mapping[str, Any], whole: str = "request") -> tuple[str, str]:
    """(field, reason) of one pydantic error; `whole` names the object when no field is."""
    loc = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    # Cross-field checks name their field at the start of the message ("members: …").
    field, sep, rest = message.partition(": ")
    if sep and re.fullmatch(r"[a-z_]+", field):
        loc, message = (*loc, field), rest
    kind = error.get("type")
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "required"
    elif kind == "literal_error" or kind == "enum":
        message = f"must be one of {error.get('ctx', {}).get('expected', '')}".strip()
    return path(loc) or whole, message
