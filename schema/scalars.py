"""Custom scalars. Money is exact: it travels as a decimal string with two places."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from gateway.errors import InvalidInput

Money = NewType("Money", Decimal)
Area = NewType("Area", Decimal)


def _parse_decimal(value: object) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput("value", f"{value!r} is not a decimal number") from None
    if not amount.is_finite():
        raise InvalidInput("value", "must be a finite number")
    if abs(amount.adjusted()) > 15:
        # Far beyond any sum of money or area; refused before any arithmetic expands it.
        raise InvalidInput("value", "out of range")
    return amount


def _two_places(value: Decimal) -> str:
    return f"{value:.2f}"


SCALAR_MAP: dict[object, ScalarDefinition] = {
    Money: strawberry.scalar(
        name="Money",
        description='An amount in yuan, exact to the fen, as a decimal string such as "1170.00".',
        serialize=_two_places,
        parse_value=_parse_decimal,
    ),
    Area: strawberry.scalar(
        name="Area",
        description="An area in square metres, as a decimal string with two places.",
        serialize=_two_places,
        parse_value=_parse_decimal,
    ),
}
