"""The `lig` command line, run as a subprocess against real databases."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import Templates, lig
from tests.support.servers import free_port, start_lig


async def digest(url: str) -> str:
    """A fingerprint of the people, households and records in a database."""
    engine = create_async_engine(url)
    h = hashlib.sha256()
    try:
        async with engine.connect() as conn:
            for stmt in (
                "SELECT id_number, name FROM persons ORDER BY id",
                "SELECT code, region_code, category, status, address FROM households ORDER BY id",
                "SELECT agency_record_id, kind, amount FROM assistance_records ORDER BY id",
            ):
                for row in (await conn.execute(text(stmt))).all():
                    h.update(repr(tuple(row)).encode())
    finally:
        await engine.dispose()
    return h.hexdigest()


def test_demo_load_is_deterministic_and_refuses_a_full_database(
    engine: str, templates: Templates
) -> None:
    first, second = templates.fresh(engine, demo=False), templates.fresh(engine, demo=False)
    for url in (first, second):
        result = lig("demo", "load", "--households", "120", "--seed", "7", url=url)
        assert result.returncode == 0, result.stderr
        loaded = json.loads(result.stdout)["loaded"]
        assert loaded["households"] == 120
        assert loaded["persons"] >= 120
    assert asyncio.run(digest(first)) == asyncio.run(digest(second))
    again = lig("demo", "load", "--households", "10", url=first)
    assert again.returncode == 2
    assert "already holds" in again.stderr
    other_seed = templates.fresh(engine, demo=False)
    assert lig("demo", "load", "--households", "120", "--seed", "8", url=other_seed).returncode == 0
    assert asyncio.run(digest(other_seed)) != asyncio.run(digest(first))


def test_db_upgrade_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    result = lig("db", "upgrade", url=url)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new.db").exists()
    assert lig("db", "upgrade", url=url).returncode == 0  # idempotent


def test_schema_export_check_passes_on_a_clean_tree(tmp_path: Path) -> None:
    result = lig("schema", "export", "--check", url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_serve_demo_from_nothing(tmp_path: Path) -> None:
    """The README's first command: a fresh folder, `lig serve --demo`, an answer over HTTP."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIG_")}
    proc = start_lig(
        ["serve", "--demo", "--port", str(port)], env=env, cwd=tmp_path, log=tmp_path / "serve.log"
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 180
        while time.time() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert (tmp_path / "lig.db").exists()
        # The demo credentials printed for each profile work.
        printed = (tmp_path / "serve.log").read_text()
        found = re.search(r"civil-affairs\s*│\s*(lig_\S+)\s*│\s*(\S+)\s*│", printed)
        assert found, printed
        token = httpx.post(
            base + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(found[1], found[2]),
            timeout=10,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": "README first command"}
        body = httpx.post(
            base + "/graphql",
            headers=headers,
            json={
                "query": "{ households(first: 3, filter: "
                "{category: DIBAO}) { nodes { members { nodes { person { idNumber } } } } } }"
            },
            timeout=10,
        ).json()
        numbers = [
            m["person"]["idNumber"]
            for h in body["data"]["households"]["nodes"]
            for m in h["members"]["nodes"]
        ]
        answer = httpx.post(
            base + "/graphql",
            headers=headers,
            json={
                "query": "query($ids: [String!]!) "
                "{ eligibility(idNumbers: $ids) { found category } }",
                "variables": {"ids": numbers},
            },
            timeout=10,
        ).json()
        assert answer["data"]["eligibility"]
        assert all(a["found"] for a in answer["data"]["eligibility"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
