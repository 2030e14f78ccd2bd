"""`lig clients add|list|revoke|rotate-secret`: the registry from the command line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import create_async_engine

from auth.roles import CONSOLE_CLIENT_ID
from gateway.app import create_app
from gateway.models import AuditEvent, OAuthClient
from gateway.settings import Settings
from tests.conftest import lig

pytestmark = pytest.mark.usefixtures("engine")

ADD = ("clients", "add", "--name", "Qidong medical insurance bureau")


def run_all(*commands: tuple[str, ...], url: str) -> list[subprocess.CompletedProcess[str]]:
    """Independent commands side by side: each `lig` spends a second or so starting up."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: lig(*args, url=url), commands))


async def rows(url: str) -> tuple[list[Row[Any]], list[Row[Any]]]:
    """The clients registered (not the console's own, which migration 0008 makes) and the audit
    events stored."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            clients = (
                await conn.execute(
                    select(OAuthClient.client_id).where(OAuthClient.client_id != CONSOLE_CLIENT_ID)
                )
            ).all()
            audit = (
                await conn.execute(
                    select(AuditEvent.action, AuditEvent.client_id, AuditEvent.subjects)
                )
            ).all()
            return list(clients), list(audit)
    finally:
        await engine.dispose()


@asynccontextmanager
async def gateway(url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def token_status(http: httpx.AsyncClient, client_id: str, secret: str) -> int:
    response = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    return response.status_code


async def test_add_list_rotate_and_revoke(database_url: str) -> None:
    added, extra = run_all(
        (*ADD, "--agency", "medical-security", "--profile", "medical-security"),
        ("clients", "add", "--name", "Finance", "--agency", "finance",
         "--scope", "eligibility:read warning:read", "--scope", "household:read",
         "--region", "320681"),
        url=database_url,
    )  # fmt: skip
    for result in (added, extra):
        assert result.returncode == 0, result.stderr
    credentials = json.loads(added.stdout)
    assert set(credentials) == {"client_id", "client_secret"}
    assert added.stdout.count("\n") == 1
    client_id, secret = credentials["client_id"], credentials["client_secret"]
    assert client_id.startswith("lig_")

    listed, rotated = run_all(
        ("clients", "list", "--json"), ("clients", "rotate-secret", client_id), url=database_url
    )
    assert listed.returncode == 0, listed.stderr
    assert secret not in listed.stdout
    assert "sha256$" not in listed.stdout
    by_name = {c["name"]: c for c in json.loads(listed.stdout)}
    assert by_name["Qidong medical insurance bureau"] == by_name[
        "Qidong medical insurance bureau"
    ] | {
        "client_id": client_id,
        "agency": "medical-security",
        "profile": "medical-security",
        "scopes": [
            "assistance:read",
            "assistance:write",
            "eligibility:read",
            "feed:push",
            "warning:handle",
            "warning:read",
        ],
        "region": None,
    }
    assert by_name["Finance"] == by_name["Finance"] | {
        "agency": "finance",
        "profile": None,
        "scopes": ["eligibility:read", "household:read", "warning:read"],
        "region": "320681000000",
        "revoked_at": None,
    }

    assert rotated.returncode == 0, rotated.stderr
    new_secret = json.loads(rotated.stdout)["client_secret"]
    assert json.loads(rotated.stdout)["client_id"] == client_id
    async with gateway(database_url) as http:
        assert await token_status(http, client_id, secret) == 401
        assert await token_status(http, client_id, new_secret) == 200

    revoked, unknown_revoke, unknown_rotate = run_all(
        ("clients", "revoke", client_id),
        ("clients", "revoke", "lig_nobody"),
        ("clients", "rotate-secret", "lig_nobody"),
        url=database_url,
    )
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revoked_at"]
    for result in (unknown_revoke, unknown_rotate):
        assert result.returncode == 2
        assert "lig_nobody" in result.stderr
    async with gateway(database_url) as http:
        assert await token_status(http, client_id, new_secret) == 401

    clients, audit = await rows(database_url)
    assert len(clients) == 2
    actions = sorted(e.action for e in audit)
    assert actions == ["clients.add"] * 2 + ["clients.revoke", "clients.rotate-secret"]
    for event in audit:
        assert event.client_id == "local"
        assert secret not in json.dumps(event.subjects)
        assert new_secret not in json.dumps(event.subjects)
        assert "sha256" not in json.dumps(event.subjects)


async def test_bad_options_exit_2_naming_them_and_store_nothing(database_url: str) -> None:
    # Every problem of one command is named at once, so four commands cover every option.
    cases = {
        ("--name", "--agency", "--scope", "--region"): (
            "--name", " ", "--agency", "no-such-agency", "--scope", "eligibility:read bogus:scope",
            "--region", "3206",
        ),
        ("--profile", "--region"): (
            "--name", "x", "--agency", "medical-security", "--profile", "education",
            "--region", "320681999",  # well-formed, but no such town
        ),
        ("--region",): ("--name", "x", "--agency", "town", "--profile", "town"),  # town needs one
        ("--scope",): ("--name", "x", "--agency", "education"),  # nothing to grant
    }  # fmt: skip
    results = run_all(*(("clients", "add", *args) for args in cases.values()), url=database_url)
    for options, result in zip(cases, results, strict=True):
        assert result.returncode == 2, (options, result.stdout, result.stderr)
        assert result.stdout == ""
        named = [":".join(line.split(":")[:2]) for line in result.stderr.splitlines() if line]
        assert named == [f"error: {option}" for option in options], result.stderr
    assert "bogus:scope" in results[0].stderr
    assert "no such" in results[1].stderr or "unknown region" in results[1].stderr
    clients, audit = await rows(database_url)
    assert clients == []
    assert audit == []
