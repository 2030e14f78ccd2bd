"""`lig assess`: one assessment request in (CONTRACT.md), the assessment out."""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.assessment import answer_text, assess_parsed, parse_request
from gateway.commands.common import database, fail, fail_with
from gateway.domain.rules import Assessment
from gateway.errors import LigError
from gateway.settings import get_settings
from gateway.standards import in_force


def _read(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise fail(f"{source}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise fail("request: not UTF-8 text") from None
    try:
        # Decimals, not floats: comparisons with the figures must be exact.
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise fail(f"request: not valid JSON ({error.msg} at line {error.lineno})") from None
    except ValueError as error:  # e.g. an integer literal beyond Python's digit limit
        raise fail(f"request: not valid JSON ({error})") from None
    except RecursionError:
        raise fail("request: nested too deeply") from None


async def _assess(payload: Any) -> Assessment:
    request = parse_request(payload)
    async with database(get_settings()) as db, db.unit_of_work() as session:
        stored = await in_force(session, request.region_code, request.as_of)
    return assess_parsed(request, stored)


def assess(
    source: Annotated[
        str, typer.Argument(metavar="[FILE or -]", help="The request as JSON; - reads stdin.")
    ] = "-",
) -> None:
    """Assess one household: which category it qualifies for, rule by rule (CONTRACT.md).

    Figures not given in the request's "standards" come from the stored regional standards in
    force on "as_of". Exit 0 with the assessment; exit 2 naming the field on bad input or an
    unset figure.
    """
    payload = _read(source)
    try:
        assessment = asyncio.run(_assess(payload))
    except LigError as error:
        raise fail_with(error) from None
    typer.echo(answer_text(assessment))
