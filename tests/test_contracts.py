"""The exported contracts match the code: schema.graphql, openapi.yaml and national-system.yaml
never drift."""

from __future__ import annotations

import yaml

from adapters.national.openapi import NATIONAL_OPENAPI_PATH, national_openapi_yaml
from gateway.app import routes
from gateway.http.openapi import OPENAPI_PATH, openapi_yaml
from schema.build import SDL_PATH, sdl
from tests.conftest import Api


def test_schema_graphql_is_current() -> None:
    assert SDL_PATH.read_text(encoding="utf-8") == sdl(), "run `lig schema export`"


def test_openapi_yaml_is_current() -> None:
    assert OPENAPI_PATH.read_text(encoding="utf-8") == openapi_yaml(routes()), (
        "run `lig schema export`"
    )


def test_national_openapi_yaml_is_current() -> None:
    assert NATIONAL_OPENAPI_PATH.read_text(encoding="utf-8") == national_openapi_yaml(), (
        "run `lig schema export`"
    )


async def test_openapi_json_is_served_and_equals_the_file(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert response.json()["openapi"].startswith("3.1")


async def test_the_migrations_build_exactly_the_models(database_url: str) -> None:
    """Alembic's history and the SQLAlchemy models describe the same tables, on both engines."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    from gateway.models import Base

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []
