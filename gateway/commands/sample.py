"""`lig sample --ratio R --region CODE --seed S [--json]`: a reproducible random sample of the
region's covered households for home visits (随机抽查), stratified by category.

The draw is recorded in the audit trail (seed, ratio, region, households): the same seed on the
same data draws the same households, so anyone can check a sample was not hand-picked.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.commands.common import database, fail_with
from gateway.errors import LigError
from gateway.fieldwork import sampling
from gateway.fieldwork.population import Sample, draw_sample
from gateway.principal import LOCAL_OPERATOR
from gateway.settings import get_settings


async def _sample(region: str, ratio_text: str, seed: int) -> Sample:
    ratio = sampling.parse_ratio(ratio_text, "--ratio")
    async with database(get_settings()) as db, db.unit_of_work() as session:
        return await draw_sample(
            session,
            LOCAL_OPERATOR,
            region_code=region,
            ratio=ratio,
            seed=seed,
            region_field="--region",
        )


def _print(sample: Sample) -> None:
    out = Console()
    out.print(
        f"sample of {sample.region_name} ({sample.region_code}), ratio {sample.ratio}, "
        f"seed {sample.seed}",
        highlight=False,
    )
    strata = Table("category", "households", "drawn")
    for s in sample.strata:
        strata.add_row(s.category.value, str(s.population), str(s.drawn))
    out.print(strata)
    drawn = Table("id", "code", "category", "status", "region", "address")
    for h in sample.households:
        drawn.add_row(str(h.id), h.code, h.category.value, h.status.value, h.region_code, h.address)
    out.print(drawn)


def sample(
    ratio: Annotated[
        str, typer.Option("--ratio", help="The share of each category to draw: above 0, up to 1.")
    ],
    region: Annotated[
        str, typer.Option("--region", help="The region: its 12-digit code (or leading digits).")
    ],
    seed: Annotated[int, typer.Option("--seed", help="The same seed draws the same sample.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Draw a random sample of the region's households whose assistance is running, for home
    visits: ratio × each category's households (rounded half up, at least 1), reproducibly."""
    try:
        result = asyncio.run(_sample(region, ratio, seed))
    except LigError as error:
        raise fail_with(error) from None
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        _print(result)
