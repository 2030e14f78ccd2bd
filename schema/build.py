"""Building the executable schema, and exporting its SDL to `schema/schema.graphql`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALAR_MAP

SDL_PATH = Path(__file__).parent / "schema.graphql"


class LigSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors (bad input, limits, validation) are answers, not incidents; the HTTP
        # endpoint logs unexpected ones with the request id.
        return None


@lru_cache(maxsize=1)
def build_schema() -> strawberry.Schema:
    return LigSchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(disable_field_suggestions=True, scalar_map=SCALAR_MAP),
        # Parsing and validating cost ~2 ms a query; departments send the same few documents.
        extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
    )


def sdl() -> str:
    return build_schema().as_str().rstrip() + "\n"


def export(path: Path = SDL_PATH) -> Path:
    path.write_text(sdl(), encoding="utf-8")
    return path
