"""People signing in: staff accounts from the CLI, the authorization-code flow with PKCE against
the gateway's own authorization server, the person's token and its standing, the console's
session cookie, CSRF and lock-out — over HTTP, without a browser (tests/test_console_e2e.py
drives the same pages in Chromium)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from auth import users
from auth.authorize import challenge_of, new_verifier
from auth.roles import CONSOLE_CLIENT_ID, CONSOLE_SCOPES, ROLES
from gateway.models import AuditEvent
from tests.conftest import Api, _api, lig

pytestmark = pytest.mark.usefixtures("engine")

PASSWORD = "correct horse battery staple"
REDIRECT = "http://testserver/console/callback"


@pytest.fixture
async def app_api(database_url: str) -> AsyncIterator[Api]:
    async for a in _api(database_url, console_lockout_seconds=900):
        yield a


async def add(api: Api, username: str, role: str, region: str | None = None) -> None:
    async with api.app.state.db.unit_of_work() as session:
        await users.add_user(session, username, username, role, region, PASSWORD)


def hidden_fields(html: str) -> dict[str, str]:
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def authorize_query(challenge: str, state: str = "st-1", **extra: str) -> str:
    query = {
        "response_type": "code",
        "client_id": CONSOLE_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return "/oauth/authorize?" + urlencode(query)


async def sign_in_form(
    client: httpx.AsyncClient, path: str, username: str, password: str
) -> httpx.Response:
    """GET the sign-in page at `path`, then POST its form as a browser would."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), "username": username, "password": password}
    return await client.post("/oauth/authorize", data=form, headers={"Origin": "http://testserver"})


async def code_for(client: httpx.AsyncClient, username: str) -> tuple[str, str]:
    """A code for `username` from the authorization endpoint, and the verifier it needs."""
    verifier = new_verifier()
    answer = await sign_in_form(client, authorize_query(challenge_of(verifier)), username, PASSWORD)
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["st-1"]
    return query["code"][0], verifier


async def exchange(client: httpx.AsyncClient, code: str, verifier: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": CONSOLE_CLIENT_ID,
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )


ME = "{ me { clientId agency scopes regionCode } }"


async def me_with(api: Api, token: str) -> httpx.Response:
    return await api.client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )


async def test_code_flow_gives_the_person_a_token_of_their_role_once(app_api: Api) -> None:
    await add(app_api, "wang.fang", "town", "320681100")
    code, verifier = await code_for(app_api.client, "wang.fang")

    wrong = await exchange(app_api.client, code, new_verifier())
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert "code_verifier" in wrong.json()["error_description"]

    # A failed exchange does not use the code up; the right verifier still works, once.
    good = await exchange(app_api.client, code, verifier)
    assert good.status_code == 200, good.text
    body = good.json()
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == ROLES["town"].scopes
    again = await exchange(app_api.client, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"

    me = await me_with(app_api, body["access_token"])
    assert me.status_code == 200, me.text
    who = me.json()["data"]["me"]
    assert who["clientId"] == "user:wang.fang"
    assert who["agency"] == "town"
    assert who["regionCode"] == "320681100000"
    assert set(who["scopes"]) == ROLES["town"].scopes


async def test_a_persons_token_stops_working_when_disabled_or_password_changes(
    app_api: Api,
) -> None:
    await add(app_api, "li.ming", "civil-affairs")
    code, verifier = await code_for(app_api.client, "li.ming")
    token = (await exchange(app_api.client, code, verifier)).json()["access_token"]
    assert (await me_with(app_api, token)).status_code == 200

    async with app_api.app.state.db.unit_of_work() as session:
        await users.set_password(session, "li.ming", PASSWORD + "!")
    refused = await me_with(app_api, token)
    assert refused.status_code == 401
    assert "password was changed" in refused.headers["www-authenticate"]

    async with app_api.app.state.db.unit_of_work() as session:
        await users.set_password(session, "li.ming", PASSWORD)
    code, verifier = await code_for(app_api.client, "li.ming")
    token = (await exchange(app_api.client, code, verifier)).json()["access_token"]
    assert (await me_with(app_api, token)).status_code == 200
    async with app_api.app.state.db.unit_of_work() as session:
        await users.disable_user(session, "li.ming")
    refused = await me_with(app_api, token)
    assert refused.status_code == 401
    assert "disabled" in refused.headers["www-authenticate"]


async def test_authorization_requests_are_checked_before_any_redirect(app_api: Api) -> None:
    challenge = challenge_of(new_verifier())
    # An unregistered redirect URI is never redirected to: an error page instead.
    elsewhere = authorize_query(challenge, redirect_uri="https://evil.example/cb")
    page = await app_api.client.get(elsewhere)
    assert page.status_code == 400
    assert "location" not in page.headers
    unknown = authorize_query(challenge, client_id="lig_someone")
    assert (await app_api.client.get(unknown)).status_code == 400
    # With the client and redirect URI good, errors go back to the client with the state.
    for bad, error in (
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "warning:read superpowers"}, "invalid_scope"),
    ):
        answer = await app_api.client.get(authorize_query(challenge, **bad))
        assert answer.status_code == 303, bad
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["error"] == [error], bad
        assert query["state"] == ["st-1"]
    metadata = (await app_api.client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["authorization_endpoint"].endswith("/oauth/authorize")
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "authorization_code" in metadata["grant_types_supported"]


async def test_sign_in_form_needs_its_csrf_token_and_our_origin(app_api: Api) -> None:
    await add(app_api, "zhao.lei", "civil-affairs")
    path = authorize_query(challenge_of(new_verifier()))
    page = await app_api.client.get(path)
    form = {**hidden_fields(page.text), "username": "zhao.lei", "password": PASSWORD}
    forged = await app_api.client.post(
        "/oauth/authorize", data=form, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    no_token = {k: v for k, v in form.items() if k != "csrf"}
    assert (await app_api.client.post("/oauth/authorize", data=no_token)).status_code == 403
    # The same form from our own page signs in.
    ok = await app_api.client.post(
        "/oauth/authorize", data=form, headers={"Origin": "http://testserver"}
    )
    assert ok.status_code == 303


async def test_lock_out_after_repeated_failures_and_every_attempt_audited(
    app_api: Api,
) -> None:
    await add(app_api, "chen.jing", "auditor")
    path = authorize_query(challenge_of(new_verifier()))
    for _ in range(5):
        failed = await sign_in_form(app_api.client, path, "chen.jing", "wrong password!")
        assert failed.status_code == 401
        assert 'data-testid="signin-error"' in failed.text
    # Locked: the right password is refused with the same words as a wrong one.
    locked = await sign_in_form(app_api.client, path, "chen.jing", PASSWORD)
    assert locked.status_code == 401
    unknown = await sign_in_form(app_api.client, path, "nobody.here", PASSWORD)
    assert unknown.status_code == 401
    assert _error_text(locked.text) == _error_text(unknown.text)

    async with app_api.app.state.db.unit_of_work() as session:
        await users.unlock_user(session, "chen.jing")
    assert (await sign_in_form(app_api.client, path, "chen.jing", PASSWORD)).status_code == 303

    async with app_api.app.state.db.reader.connect() as conn:
        counts = dict(
            (
                await conn.execute(
                    select(AuditEvent.action, func.count())
                    .where(AuditEvent.client_id == "user:chen.jing")
                    .group_by(AuditEvent.action)
                )
            ).all()
        )
    assert counts["console.sign-in-refused"] == 6
    assert counts["console.sign-in"] == 1


def _error_text(html: str) -> str:
    match = re.search(r'data-testid="signin-error">([^<]*)<', html)
    assert match is not None
    return match.group(1)


async def test_console_session_cookie_flow_and_sign_out(app_api: Api) -> None:
    await add(app_api, "sun.li", "civil-affairs")
    client = app_api.client
    start = await client.get("/console/warnings")
    assert start.status_code == 303
    assert start.headers["location"].startswith("/console/login?next=")
    login = await client.get(start.headers["location"])
    assert login.status_code == 303
    pending_cookie = client.cookies.get("lig_console")
    assert "httponly" in login.headers["set-cookie"].lower()
    assert "samesite=lax" in login.headers["set-cookie"].lower()
    assert "secure" not in login.headers["set-cookie"].lower()  # plain http here
    answer = await sign_in_form(client, login.headers["location"], "sun.li", PASSWORD)
    assert answer.status_code == 303
    callback = await client.get(answer.headers["location"])
    assert callback.status_code == 303
    assert callback.headers["location"] == "/console/warnings"
    signed_cookie = client.cookies.get("lig_console")
    assert signed_cookie
    assert signed_cookie != pending_cookie  # a new id at sign-in
    queue = await client.get("/console/warnings")
    assert queue.status_code == 200
    assert "user:sun.li" not in queue.text  # who signed in shows as their name
    assert queue.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in queue.headers["content-security-policy"]

    # The callback cannot be replayed: the pending sign-in is used up.
    replay = await client.get(answer.headers["location"])
    assert replay.status_code == 400

    csrf = hidden_fields(queue.text)["csrf"]
    no_csrf = await client.post("/console/logout", data={})
    assert no_csrf.status_code == 403
    out = await client.post(
        "/console/logout", data={"csrf": csrf}, headers={"Origin": "http://testserver"}
    )
    assert out.status_code == 303
    client.cookies.set("lig_console", signed_cookie)  # the old cookie, kept by an attacker
    again = await client.get("/console/warnings")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/console/login")


async def test_users_cli_adds_and_refuses_naming_the_field(database_url: str) -> None:
    made = lig(
        "users", "add", "wu.gang", "--role", "town", "--region", "320681100", url=database_url
    )
    assert made.returncode == 0, made.stderr
    out = json.loads(made.stdout)
    assert out["username"] == "wu.gang"
    assert out["region"] == "320681100000"
    assert len(out["password"]) >= 20

    refusals = {
        ("Bad Name", "--role", "auditor"): "username",
        ("wu.gang", "--role", "auditor"): "username",  # taken
        ("he.ping", "--role", "mayor"): "--role",
        ("he.ping", "--role", "town"): "--region",
        ("he.ping", "--role", "town", "--region", "999999"): "--region",
        ("he.ping", "--role", "auditor", "--password-stdin"): "password",  # "short"
    }
    # Side by side: each `lig` spends a second or two starting up.
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(
            pool.map(
                lambda args: lig("users", "add", *args, url=database_url, stdin="short\n"),
                refusals,
            )
        )
    for (args, field), refused in zip(refusals.items(), results, strict=True):
        assert refused.returncode == 2, (args, refused.stdout)
        assert field in refused.stderr, (args, refused.stderr)

    listed = lig("users", "list", "--json", url=database_url)
    assert [u["username"] for u in json.loads(listed.stdout)] == ["wu.gang"]


def test_console_client_scopes_in_the_migration_are_the_roles() -> None:
    """Migration 0008 fixed the console client's scopes as they were; they must still cover every
    role's (a role given a new scope needs a migration that widens the client)."""
    import importlib

    migration = importlib.import_module("gateway.migrations.versions.0008_console")
    assert frozenset(migration.CONSOLE_SCOPES) == CONSOLE_SCOPES
    assert migration.CONSOLE_CLIENT_ID == CONSOLE_CLIENT_ID


def test_every_word_has_both_languages_and_templates_use_known_keys() -> None:
    from pathlib import Path

    from gateway.console.messages import MESSAGES

    for key, (zh, en) in MESSAGES.items():
        assert zh.strip(), key
        assert en.strip(), key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key
    templates = Path("gateway/console/templates")
    used: set[str] = set()
    for template in templates.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.\-+]+)["']""", template.read_text()))
    # `t("action." ~ name)`: a prefix, of which some keys must exist.
    prefixes = {key for key in used if key.endswith(".")}
    assert used - prefixes - MESSAGES.keys() == set()
    assert all(any(k.startswith(p) for k in MESSAGES) for p in prefixes)


async def test_the_console_client_never_acts_as_a_machine(app_api: Api, database_url: str) -> None:
    """A public client: no secret to rotate into it, no client authentication, and a token in
    its name that names no person is refused."""
    rotated = lig("clients", "rotate-secret", CONSOLE_CLIENT_ID, url=database_url)
    assert rotated.returncode == 2
    assert "public client" in rotated.stderr
    asked = await app_api.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(CONSOLE_CLIENT_ID, "none$public-client"),
    )
    assert asked.status_code == 401
    assert asked.json()["error"] == "invalid_client"


async def test_next_never_leaves_the_console(app_api: Api) -> None:
    await add(app_api, "qian.yu", "civil-affairs")
    for target in ("https://evil.example/x", "//evil.example/x", "/console/../oauth/x"):
        login = await app_api.client.get("/console/login", params={"next": target})
        answer = await sign_in_form(app_api.client, login.headers["location"], "qian.yu", PASSWORD)
        callback = await app_api.client.get(answer.headers["location"])
        assert callback.headers["location"].startswith("/console/"), target
        assert "evil" not in callback.headers["location"]
        assert ".." not in callback.headers["location"]
        app_api.client.cookies.clear()


async def test_behind_a_tls_proxy_the_issuer_gives_the_origin_and_secure_cookies(
    database_url: str,
) -> None:
    """`lig serve` speaks plain http behind a proxy that ends TLS: LIG_ISSUER, the public URL,
    says what the browser sees."""
    async for api in _api(database_url, issuer="https://lig.example.gov.cn"):
        await add(api, "tls.user", "civil-affairs")
        login = await api.client.get("/console/login")
        assert "secure" in login.headers["set-cookie"].lower()
        query = parse_qs(urlsplit(login.headers["location"]).query)
        assert query["redirect_uri"] == ["https://lig.example.gov.cn/console/callback"]
        page = await api.client.get(login.headers["location"])
        assert page.status_code == 200
        assert "secure" in page.headers["set-cookie"].lower()
        # The browser, on https, sends the Secure cookie back (httpx, on http here, would not).
        cookie = {"Cookie": f"lig_signin={page.cookies['lig_signin']}"}
        form = {**hidden_fields(page.text), "username": "tls.user", "password": PASSWORD}
        plain = await api.client.post(
            "/oauth/authorize", data=form, headers={"Origin": "http://testserver", **cookie}
        )
        assert plain.status_code == 403  # not where the browser says our pages are
        ok = await api.client.post(
            "/oauth/authorize",
            data=form,
            headers={"Origin": "https://lig.example.gov.cn", **cookie},
        )
        assert ok.status_code == 303
        assert ok.headers["location"].startswith("https://lig.example.gov.cn/console/callback?")
