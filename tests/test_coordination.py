"""What must happen once, when several gateway processes share one database.

Each job's own tests cover it across processes (the audit sealers' race in
test_audit_chain.py, the shared webhook queue in test_webhooks.py, the feed leases in
test_feeds.py, …). Here: putting the signing key in place, which every process does on its
first request, as two processes (two Database instances) starting at the same moment.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from joserfc.jwk import ECKey
from sqlalchemy import select, text

from auth.keys import KeyRing
from gateway.database import Database
from gateway.migrate import alembic_config
from gateway.models import SigningKey
from gateway.settings import Settings
from tests.conftest import _pg_admin
from tests.support import postgres

PROCESSES = 4


async def _prepare_together(database_url: str, **settings: str) -> list[SigningKey]:
    dbs = [Database(Settings(database_url=database_url, **settings)) for _ in range(PROCESSES)]
    try:
        await asyncio.gather(*(KeyRing(db).prepare() for db in dbs))
        async with dbs[0].sessions() as session:
            return list(await session.scalars(select(SigningKey)))
    finally:
        for db in dbs:
            await db.dispose()


async def test_processes_starting_together_generate_one_signing_key(database_url: str) -> None:
    keys = await _prepare_together(database_url)
    assert len(keys) == 1
    assert keys[0].private_jwk is not None
    assert keys[0].retired_at is None


async def test_processes_starting_together_store_a_key_files_public_half_once(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "signing.pem"
    path.write_bytes(ECKey.generate_key("P-256").as_pem(private=True))
    keys = await _prepare_together(database_url, signing_key_file=str(path))
    assert len(keys) == 1
    assert keys[0].private_jwk is None


async def test_a_second_start_keeps_the_key(database_url: str) -> None:
    first = await _prepare_together(database_url)
    again = await _prepare_together(database_url)
    assert [k.kid for k in again] == [k.kid for k in first]


async def test_processes_starting_together_migrate_once(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`lig serve` migrates before it serves: hosts restarted together after a release all
    upgrade one fresh database at once, each in its own process (Alembic's context is global
    to a process, so processes are what this needs)."""
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    else:
        cluster: postgres.Cluster = request.getfixturevalue("pg_cluster")
        name = f"fresh_{uuid.uuid4().hex[:12]}"
        await _pg_admin(cluster.url, f"CREATE DATABASE {name}")
        url = cluster.database_url(name)
    exe = str(Path(sys.executable).parent / "lig")
    env = dict(os.environ, LIG_DATABASE_URL=url)
    runs = [
        await asyncio.create_subprocess_exec(
            exe, "db", "upgrade", env=env, stdout=PIPE, stderr=PIPE
        )
        for _ in range(2)
    ]
    outcomes = await asyncio.wait_for(asyncio.gather(*(r.communicate() for r in runs)), 120)
    assert [r.returncode for r in runs] == [0, 0], [err.decode() for _, err in outcomes]
    db = Database(Settings(database_url=url))
    try:
        async with db.reader.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await db.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert [v for (v,) in versions] == [head]
