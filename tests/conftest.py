"""Fixtures: real SQLite and real PostgreSQL databases, the app over HTTP, and the CLI.

Every test that takes `database_url` (or a fixture built on it) runs once per engine. Each test
gets its own database, copied from a template migrated once per session (and, for `demo_url`,
loaded once with a small demo county).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.app import create_app
from gateway.settings import Settings
from tests.support import postgres

ENGINES = ("sqlite", "postgresql")
DEMO_HOUSEHOLDS = 300
_counter = itertools.count()
# Under pytest-xdist each worker names its databases apart (they may share one server).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("all", *ENGINES),
        default="all",
        help="run database tests on one engine only (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--db")
        metafunc.parametrize("engine", ENGINES if chosen == "all" else (chosen,), scope="session")


async def _migrate(url: str) -> None:
    from gateway.migrate import upgrade

    engine = create_async_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _load_demo(url: str, households: int) -> None:
    from gateway.database import Database
    from gateway.demo import loader

    db = Database(Settings(database_url=url))
    try:
        async with db.engine.begin() as conn:
            await loader.load(conn, households)
        await loader.compare(db)  # the demo's warnings are what the comparison finds
    finally:
        await db.dispose()


async def _pg_admin(server_url: str, sql: str) -> None:
    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.Cluster]:
    cluster = postgres.start()
    yield cluster
    cluster.stop()


class Templates:
    """Migrated (and demo-loaded) template databases, made on first use."""

    def __init__(self, tmp: Path, request: pytest.FixtureRequest) -> None:
        self.tmp = tmp
        self.request = request
        self.made: dict[tuple[str, bool], str] = {}

    def template(self, engine: str, demo: bool) -> str:
        key = (engine, demo)
        if key not in self.made:
            if engine == "sqlite":
                path = self.tmp / f"template-{'demo' if demo else 'empty'}.db"
                url = f"sqlite+aiosqlite:///{path}"
            else:
                cluster: postgres.Cluster = self.request.getfixturevalue("pg_cluster")
                name = f"template_{_WORKER}_{'demo' if demo else 'empty'}"
                asyncio.run(_pg_admin(cluster.url, f"CREATE DATABASE {name}"))
                url = cluster.database_url(name)
            asyncio.run(_migrate(url))
            if demo:
                asyncio.run(_load_demo(url, DEMO_HOUSEHOLDS))
            self.made[key] = url
        return self.made[key]

    def fresh(self, engine: str, demo: bool) -> str:
        template = self.template(engine, demo)
        n = next(_counter)
        if engine == "sqlite":
            source = Path(template.removeprefix("sqlite+aiosqlite:///"))
            target = self.tmp / f"test-{n}.db"
            shutil.copyfile(source, target)
            return f"sqlite+aiosqlite:///{target}"
        cluster: postgres.Cluster = self.request.getfixturevalue("pg_cluster")
        name = f"test_{_WORKER}_{n}"
        asyncio.run(
            _pg_admin(cluster.url, f"CREATE DATABASE {name} TEMPLATE {template.rsplit('/', 1)[1]}")
        )
        return cluster.database_url(name)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> None:
    """Argon2id at its lowest cost in the tests' own process (a third of a second and 64 MiB a
    hash otherwise, many times over); `lig` subprocesses keep the real cost."""
    from auth import passwords

    passwords.set_cost(time_cost=1, memory_cost_kib=8, parallelism=1)


@pytest.fixture(scope="session")
def templates(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Templates:
    return Templates(tmp_path_factory.mktemp("db"), request)


@pytest.fixture
def database_url(engine: str, templates: Templates) -> str:
    """A migrated, empty database of the engine under test."""
    return templates.fresh(engine, demo=False)


@pytest.fixture
def demo_url(engine: str, templates: Templates) -> str:
    """A migrated database holding a small demo county."""
    return templates.fresh(engine, demo=True)


class Api:
    """The app over HTTP (in-process ASGI) as one OAuth client, with GraphQL helpers.

    The `api` and `demo_api` fixtures are a civil-affairs client (every scope) stating a purpose;
    `as_client` registers another client and answers an Api that sends its token.
    """

    def __init__(
        self, client: httpx.AsyncClient, app: Any, headers: dict[str, str] | None = None
    ) -> None:
        self.client = client
        self.app = app
        self.headers = headers or {}

    async def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.post(query, variables, headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST /graphql; `headers` add to (or, with an empty value, remove) the client's own."""
        merged = {k: v for k, v in {**self.headers, **(headers or {})}.items() if v}
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=merged
        )

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.graphql(query, variables)
        assert "errors" not in body, body["errors"]
        result: dict[str, Any] = body["data"]
        return result

    async def register(
        self,
        *,
        agency: str,
        profile: str | None = None,
        scopes: Iterable[str] = (),
        region: str | None = None,
        name: str = "test client",
    ) -> tuple[str, str]:
        """A new OAuth client in the registry: (client_id, client_secret)."""
        from auth.clients import add_client

        async with self.app.state.db.unit_of_work() as session:
            client, secret = await add_client(
                session, name, agency, profile, sorted(scopes), region
            )
        return client.client_id, secret

    async def token(self, client_id: str, secret: str, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = await self.client.post("/oauth/token", data=data, auth=(client_id, secret))
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def as_client(
        self,
        *,
        agency: str,
        profile: str | None = None,
        scopes: Iterable[str] = (),
        region: str | None = None,
        purpose: str = "automated test",
    ) -> Api:
        client_id, secret = await self.register(
            agency=agency, profile=profile, scopes=scopes, region=region
        )
        token = await self.token(client_id, secret)
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": purpose}
        return Api(self.client, self.app, headers)


async def _api(url: str, **settings: Any) -> AsyncIterator[Api]:
    """The app on `url` (with any settings overridden) as a civil-affairs client."""
    # No background sealing in these tests: an event loop blocked by a CLI subprocess would leave
    # a sealer's SQLite write lock held. The chain has its own tests (test_audit_chain.py).
    # Nor background comparison: tests compare when they mean to (gateway/monitoring).
    settings.setdefault("compare_interval_seconds", 0)
    # Nor a background webhook sender: tests drive it round by round (tests/test_webhooks.py).
    settings.setdefault("webhook_poll_seconds", 0)
    app = create_app(Settings(database_url=url, audit_seal_interval=3600, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield await Api(client, app).as_client(agency="civil-affairs", profile="civil-affairs")


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async for a in _api(database_url):
        yield a


@pytest.fixture
async def demo_api(demo_url: str) -> AsyncIterator[Api]:
    async for a in _api(demo_url):
        yield a


def lig(
    *args: str,
    url: str,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the `lig` command line as a subprocess against the given database (with any further
    `LIG_…` settings in `env`)."""
    exe = Path(sys.executable).parent / "lig"
    env = dict(os.environ, **(env or {}), LIG_DATABASE_URL=url)
    return subprocess.run(
        [str(exe), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
