"""Building the executable schema, and exporting its SDL to `schema/schema.graphql`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALAR_MAP
from schema.subscription import Subscription

SDL_PATH = Path(__file__).parent / "schema.graphql"


@lru_cache(maxsize=1)
def build_schema() -> strawberry.Schema:
    """The full schema: exported as SDL, and cut into each client's view (schema/views.py),
    which the endpoint executes with graphql-core (gateway/http/graphql.py)."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(disable_field_suggestions=True, scalar_map=SCALAR_MAP),
    )


def sdl() -> str:
    return build_schema().as_str().rstrip() + "\n"


def export(path: Path = SDL_PATH) -> Path:
    path.write_text(sdl(), encoding="utf-8")
    return path
