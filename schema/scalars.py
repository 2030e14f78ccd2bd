"""Custom scalars. Money is exact: it travels as a decimal string with two places."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, NewType

import strawberry
from graphql import (
    FloatValueNode,
    GraphQLError,
    IntValueNode,
    StringValueNode,
    ValueNode,
    print_ast,
    value_from_ast_untyped,
)
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from gateway.validation import day

Money = NewType("Money", Decimal)
Area = NewType("Area", Decimal)

# How much of a refused value an error message repeats.
_ECHO = 40


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _ECHO else text[: _ECHO - 1] + "…"


def _decimal(value: object) -> Decimal:
    """The value as a Decimal, or ValueError saying why not (the caller says where)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{_shown(value)} is not a decimal number")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{_shown(value)} is not a decimal number") from None
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if abs(amount.adjusted()) > 15:
        # Far beyond any sum of money or area; refused before any arithmetic expands it.
        raise ValueError("out of range")
    return amount


# The parsers raise GraphQLError, not InvalidInput: graphql-core then says where the value was
# (the variable's path, `at .annualIncome`, or the literal's line and column), which a scalar
# cannot know, and the error is coded as graphql-core's own are (BAD_USER_INPUT for a variable,
# GRAPHQL_VALIDATION_FAILED for a literal). Any other exception would be taken for a bug.


def _parsers(name: str) -> tuple[Callable[[Any], Decimal], Callable[..., Decimal]]:
    def parse_value(value: Any) -> Decimal:
        try:
            return _decimal(value)
        except ValueError as error:
            raise GraphQLError(f"{name}: {error}") from None

    def parse_literal(node: ValueNode, variables: Any = None) -> Decimal:
        try:
            if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
                # The text as written: never int() of a 5,000-digit literal.
                return _decimal(node.value)
            return _decimal(value_from_ast_untyped(node, variables))
        except ValueError as error:
            reason = str(error)
        found = print_ast(node)
        found = found if len(found) <= _ECHO else found[: _ECHO - 1] + "…"
        message = f"Expected value of type '{name}', found {found}; {reason}"
        raise GraphQLError(message, node)

    return parse_value, parse_literal


def _iso_day(value: object) -> dt.date:
    # YYYY-MM-DD only, as the REST bodies and `lig assess` read days: strawberry's Date (Python's
    # fromisoformat) also reads "20230301" and week dates ("2023-W09-3").
    try:
        return day(value)
    except ValueError as error:
        raise GraphQLError(f"Date: {_shown(value)} {error}") from None


def _with_location(
    definition: ScalarDefinition, parse_value: Callable[[Any], Any] | None = None
) -> ScalarDefinition:
    """A built-in scalar whose refused literals say where they are (line and column), as ours
    do: strawberry's own refusal of a literal names the value only."""
    parse_value = parse_value or definition.parse_value
    assert parse_value is not None

    def parse_literal(node: ValueNode, variables: Any = None) -> Any:
        try:
            return parse_value(value_from_ast_untyped(node, variables))
        except (GraphQLError, ValueError) as error:
            message = error.message if isinstance(error, GraphQLError) else str(error)
            raise GraphQLError(message, node) from None

    return dataclasses.replace(definition, parse_value=parse_value, parse_literal=parse_literal)


def _two_places(value: Decimal) -> str:
    return f"{value:.2f}"


_money_value, _money_literal = _parsers("Money")
_area_value, _area_literal = _parsers("Area")

SCALAR_MAP: dict[object, ScalarDefinition] = {
    Money: strawberry.scalar(
        name="Money",
        description='An amount in yuan, exact to the fen, as a decimal string such as "1170.00".',
        serialize=_two_places,
        parse_value=_money_value,
        parse_literal=_money_literal,
    ),
    Area: strawberry.scalar(
        name="Area",
        description="An area in square metres, as a decimal string with two places.",
        serialize=_two_places,
        parse_value=_area_value,
        parse_literal=_area_literal,
    ),
    dt.date: _with_location(DateDefinition, _iso_day),
    dt.datetime: _with_location(DateTimeDefinition),
}
