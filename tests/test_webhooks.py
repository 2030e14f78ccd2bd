"""Webhook delivery against a real receiver that fails, times out and recovers (issue 7.4).

The sender is driven round by round with its clock moved on (no sleeping through backoff); the
receiver is a real HTTP server on 127.0.0.1. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.database import Database
from gateway.domain.enums import DeliveryStatus
from gateway.models import WarningNotice, WebhookDelivery, WebhookEndpoint
from gateway.models.base import utcnow
from gateway.settings import Settings
from gateway.webhooks import secrets, signing
from gateway.webhooks.endpoints import check_url
from gateway.webhooks.schedule import Schedule
from gateway.webhooks.sender import Sender
from tests.conftest import Api, _api, lig
from tests.support.notices import household, warn
from tests.support.servers import serving

KEY = secrets.new_key()
SETTINGS: dict[str, Any] = {
    "webhook_secret_key": KEY,
    "webhook_poll_seconds": 0,  # rounds are driven by the tests
    "webhook_timeout": 0.5,
    "webhook_connect_timeout": 0.5,
    "compare_interval_seconds": 0,
}

REGISTER = """mutation($url: String!) {
  registerWebhook(url: $url) { secret endpoint { id agency url active } } }"""
DELIVERIES = """query($endpoint: ID, $status: DeliveryStatus, $after: String) {
  webhookDeliveries(endpointId: $endpoint, status: $status, first: 50, after: $after) {
    nodes { id endpointId agency noticeId warningId generation status attempts lastStatusCode
            lastError deliveredAt attemptLog { statusCode error delivered durationMs } }
    pageInfo { hasNextPage endCursor } } }"""
REPLAY = """mutation($endpoint: ID!, $from: ID!, $onlyFailed: Boolean!) {
  replayWebhookDeliveries(endpointId: $endpoint, fromNoticeId: $from, onlyFailed: $onlyFailed) {
    count firstNoticeId lastNoticeId more } }"""


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        document: dict[str, Any] = orjson.loads(self.body)
        return document


class Receiver:
    """An agency's webhook receiver: answers 500 (`fail`), too late (`slow`) or 200 (`ok`)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[Received] = []
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def hook(request: Request) -> PlainTextResponse:
            body = await request.body()
            with self.lock:
                self.received.append(Received(request.url.path, dict(request.headers), body))
            if self.mode == "fail":
                return PlainTextResponse("receiver broken", status_code=500)
            if self.mode == "slow":
                await asyncio.sleep(2)
                return PlainTextResponse("too late")
            return PlainTextResponse("thanks")

        return Starlette(routes=[Route("/hooks/{agency}", hook, methods=["POST"])])

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async for a in _api(database_url, **SETTINGS):
        yield a


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    r = Receiver()
    with serving(r.app()) as url:
        yield r, url


def _db(api: Api) -> Database:
    db: Database = api.app.state.db
    return db


async def _register(client: Api, url: str) -> tuple[str, str]:
    data = await client.data(REGISTER, {"url": url})
    made = data["registerWebhook"]
    return made["endpoint"]["id"], made["secret"]


async def _notice_ids(db: Database, agency: str) -> set[int]:
    async with db.reader.connect() as conn:
        rows = await conn.scalars(
            select(WarningNotice.id).where(WarningNotice.agency_code == agency)
        )
        return set(rows)


def _check_signed(received: list[Received], secret: str) -> None:
    for r in received:
        assert signing.verify(
            secret, r.body, r.headers["x-lig-timestamp"], r.headers["x-lig-signature"]
        ), r
        assert r.headers["x-lig-notice"] == r.payload["notice"]["id"]
        assert r.headers["x-lig-delivery"] == r.payload["delivery"]["id"]
        assert not signing.verify("whsec_wrong", r.body, r.headers["x-lig-timestamp"],
                                  r.headers["x-lig-signature"])  # fmt: skip


async def test_fails_times_out_recovers_every_notice_delivered_signed_to_its_agency(
    api: Api, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    db = _db(api)
    medical = await api.as_client(agency="medical-security", profile="medical-security")
    education = await api.as_client(agency="education", profile="education")
    ms_id, ms_secret = await _register(medical, f"{base}/hooks/medical-security")
    edu_id, edu_secret = await _register(education, f"{base}/hooks/education")
    assert ms_secret.startswith("whsec_")
    assert ms_secret != edu_secret
    # The secret is kept encrypted, never in clear.
    async with db.reader.connect() as conn:
        stored = list(await conn.scalars(select(WebhookEndpoint.secret)))
    assert all(s.startswith("fernet$") and ms_secret not in s for s in stored)
    assert secrets.unseal(db.settings, stored[0]) in (ms_secret, edu_secret)
    # Each agency sees its own endpoints; civil affairs sees all.
    own = await medical.data("{ webhookEndpoints { id agency } }")
    assert own["webhookEndpoints"] == [{"id": ms_id, "agency": "medical-security"}]
    every = await api.data("{ webhookEndpoints { id } }")
    assert {e["id"] for e in every["webhookEndpoints"]} == {ms_id, edu_id}

    home = await household(db)
    await warn(db, home, ["medical-security"])
    await warn(db, home, ["education"])
    await warn(db, home, ["medical-security", "education", "civil-affairs"])
    ms_notices = await _notice_ids(db, "medical-security")
    edu_notices = await _notice_ids(db, "education")
    assert len(ms_notices) == len(edu_notices) == 2

    clock = Clock()
    sender = Sender(db, db.settings, clock=clock)
    try:
        rec.mode = "fail"
        first = await sender.round()
        assert (first.claimed, first.failed, first.deferred, first.delivered) == (4, 2, 2, 0)
        clock.advance(3600)
        rec.mode = "slow"
        second = await sender.round()
        assert (second.failed, second.deferred, second.delivered) == (2, 2, 0)
        clock.advance(3600)
        rec.mode = "ok"
        third = await sender.drain()
        assert third.delivered == 4
        assert (await sender.round()).claimed == 0
    finally:
        await sender.aclose()

    ms_got = rec.at("/hooks/medical-security")
    edu_got = rec.at("/hooks/education")
    # Every notice reached its own agency, none another's; every POST was signed.
    assert {int(r.payload["notice"]["id"]) for r in ms_got} == ms_notices
    assert {int(r.payload["notice"]["id"]) for r in edu_got} == edu_notices
    assert {r.payload["notice"]["agency"] for r in ms_got} == {"medical-security"}
    assert {r.payload["notice"]["agency"] for r in edu_got} == {"education"}
    _check_signed(ms_got, ms_secret)
    _check_signed(edu_got, edu_secret)
    payload = ms_got[-1].payload
    assert set(payload["warning"]) == {
        "id", "kind", "status", "finding", "hardshipType", "severity", "dueOn", "householdId"
    }  # fmt: skip
    assert payload["warning"]["householdId"] == str(home)
    assert "测试路" not in ms_got[-1].body.decode()  # nothing personal

    # The log shows each attempt: the first delivery 500, timeout, 200; the other, deferred
    # while the endpoint failed, one attempt.
    log = (await medical.data(DELIVERIES, {"endpoint": ms_id}))["webhookDeliveries"]["nodes"]
    assert [d["status"] for d in log] == ["DELIVERED", "DELIVERED"]
    assert {d["agency"] for d in log} == {"medical-security"}
    tried = sorted(log, key=lambda d: int(d["noticeId"]))
    assert [a["statusCode"] for a in tried[0]["attemptLog"]] == [500, None, 200]
    assert "answered 500: receiver broken" in tried[0]["attemptLog"][0]["error"]
    assert "timed out" in tried[0]["attemptLog"][1]["error"]
    assert tried[0]["attempts"] == 3
    assert tried[0]["lastStatusCode"] == 200
    assert [a["delivered"] for a in tried[1]["attemptLog"]] == [True]
    # Another agency neither sees nor acts on medical security's deliveries.
    theirs = await education.data(DELIVERIES, {"endpoint": ms_id})
    assert theirs["webhookDeliveries"]["nodes"] == []
    refused = await education.graphql(REPLAY, {"endpoint": ms_id, "from": "0", "onlyFailed": False})
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    everyone = await api.data(DELIVERIES, {})
    assert len(everyone["webhookDeliveries"]["nodes"]) == 4

    # Replay from the first notice: each notice again, as generation 1, also signed.
    replay = await medical.data(
        REPLAY, {"endpoint": ms_id, "from": str(min(ms_notices)), "onlyFailed": False}
    )
    assert replay["replayWebhookDeliveries"] == {
        "count": 2,
        "firstNoticeId": str(min(ms_notices)),
        "lastNoticeId": str(max(ms_notices)),
        "more": False,
    }
    nothing_failed = await medical.data(
        REPLAY, {"endpoint": ms_id, "from": "0", "onlyFailed": True}
    )
    assert nothing_failed["replayWebhookDeliveries"]["count"] == 0
    sender = Sender(db, db.settings, clock=clock)
    try:
        assert (await sender.drain()).delivered == 2
    finally:
        await sender.aclose()
    again = [r for r in rec.at("/hooks/medical-security") if r.payload["delivery"]["generation"]]
    assert sorted(int(r.headers["x-lig-notice"]) for r in again) == sorted(ms_notices)
    _check_signed(again, ms_secret)
    assert rec.at("/hooks/education") == edu_got  # untouched by medical security's replay
    audit = await api.data("{ auditEvents(first: 50) { nodes { action agency } } }")
    actions = {(e["action"], e["agency"]) for e in audit["auditEvents"]["nodes"]}
    assert ("webhooks.register", "medical-security") in actions
    assert ("webhooks.replay", "medical-security") in actions


async def test_a_receiver_down_for_days_is_retried_over_a_day_then_replayed(
    api: Api, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    db = _db(api)
    medical = await api.as_client(agency="medical-security", profile="medical-security")
    ms_id, secret = await _register(medical, f"{base}/hooks/medical-security")
    await warn(db, await household(db), ["medical-security"])
    rec.mode = "fail"
    clock = Clock()
    sender = Sender(db, db.settings, clock=clock)
    schedule = Schedule.from_settings(db.settings)
    try:
        waits = []
        for _ in range(200):
            report = await sender.round()
            assert report.claimed == 1
            async with db.reader.connect() as conn:
                row = (await conn.execute(select(WebhookDelivery))).one()
            if row.status == DeliveryStatus.GAVE_UP:
                break
            waits.append((row.next_attempt_at - clock.now).total_seconds())
            clock.now = row.next_attempt_at
        else:
            raise AssertionError("never gave up")
    finally:
        await sender.aclose()
    # Retried for the whole window (at least a day), waiting longer each time up to the cap.
    assert row.last_attempt_at - row.created_at >= schedule.window >= timedelta(hours=24)
    assert row.attempts == len(rec.at("/hooks/medical-security")) == len(waits) + 1
    assert 30 <= row.attempts <= 60
    assert waits[0] <= schedule.first * 1.2
    assert max(waits) <= schedule.cap * 1.2
    assert all(b >= a * 0.6 for a, b in zip(waits, waits[1:], strict=False))
    failed = await medical.data(DELIVERIES, {"status": "GAVE_UP"})
    (gone,) = failed["webhookDeliveries"]["nodes"]
    assert gone["attempts"] == row.attempts
    assert gone["lastError"].startswith("answered 500")
    assert len(gone["attemptLog"]) == row.attempts

    # The receiver is back: replay what it never received.
    rec.mode = "ok"
    replay = await medical.data(REPLAY, {"endpoint": ms_id, "from": "0", "onlyFailed": True})
    assert replay["replayWebhookDeliveries"]["count"] == 1
    sender = Sender(db, db.settings, clock=clock)
    try:
        assert (await sender.drain()).delivered == 1
    finally:
        await sender.aclose()
    last = rec.at("/hooks/medical-security")[-1]
    assert last.payload["delivery"]["generation"] == 1
    _check_signed([last], secret)
    # Received now: a replay of only the failed ones finds nothing more.
    replay = await medical.data(REPLAY, {"endpoint": ms_id, "from": "0", "onlyFailed": True})
    assert replay["replayWebhookDeliveries"]["count"] == 0


async def test_several_senders_share_the_queue_each_delivery_sent_once(
    api: Api, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    db = _db(api)
    medical = await api.as_client(agency="medical-security", profile="medical-security")
    education = await api.as_client(agency="education", profile="education")
    await _register(medical, f"{base}/hooks/medical-security")
    await _register(education, f"{base}/hooks/education")
    home = await household(db)
    for _ in range(12):
        await warn(db, home, ["medical-security", "education"])
    # Two "processes": each its own engine, claiming small batches at the same time. Timeouts
    # generous: one slow answer on a loaded machine would hold the endpoint's other deliveries
    # back for a retry, which is another test's matter.
    settings = Settings(
        database_url=db.settings.database_url,
        **{**SETTINGS, "webhook_timeout": 10.0, "webhook_connect_timeout": 10.0},
        webhook_batch_size=5,
    )
    other = Database(settings)
    senders = [Sender(db, settings), Sender(other, settings)]
    try:
        reports = await asyncio.gather(*(s.drain() for s in senders))
    finally:
        for s in senders:
            await s.aclose()
        await other.dispose()
    assert sum(r.delivered for r in reports) == 24
    notices = [r.headers["x-lig-delivery"] for r in rec.received]
    assert len(notices) == len(set(notices)) == 24


async def test_deactivated_endpoint_gets_nothing_more_and_rotation_changes_the_key(
    api: Api, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    db = _db(api)
    medical = await api.as_client(agency="medical-security", profile="medical-security")
    ms_id, old = await _register(medical, f"{base}/hooks/medical-security")
    rotated = await medical.data(
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id } } }",
        {"id": ms_id},
    )
    new = rotated["rotateWebhookSecret"]["secret"]
    assert new != old
    home = await household(db)
    await warn(db, home, ["medical-security"])
    sender = Sender(db, db.settings, clock=Clock())
    try:
        assert (await sender.drain()).delivered == 1
        (got,) = rec.at("/hooks/medical-security")
        _check_signed([got], new)
        assert not signing.verify(
            old, got.body, got.headers["x-lig-timestamp"], got.headers["x-lig-signature"]
        )
        rec.mode = "fail"
        await warn(db, home, ["medical-security"])
        done = await medical.data(
            "mutation($id: ID!) { deactivateWebhook(id: $id) { active } }", {"id": ms_id}
        )
        assert done["deactivateWebhook"] == {"active": False}
        await warn(db, home, ["medical-security"])  # no delivery made for it
        assert (await sender.drain()).claimed == 0
    finally:
        await sender.aclose()
    assert len(rec.at("/hooks/medical-security")) == 1
    log = (await medical.data(DELIVERIES, {}))["webhookDeliveries"]["nodes"]
    assert [(d["status"], d["lastError"]) for d in log] == [
        ("GAVE_UP", "endpoint deactivated"),
        ("DELIVERED", None),
    ]


async def test_registration_rules(api: Api) -> None:
    medical = await api.as_client(agency="medical-security", profile="medical-security")
    for url, reason in [
        ("http://receiver.ybj.example/hook", "https is required"),
        ("ftp://receiver.ybj.example/hook", "https:// URL"),
        ("https://user:pw@receiver.ybj.example/hook", "user name"),
        ("https:///nohost", "https:// URL"),
        ("https://receiver.ybj.example/hook#x", "fragment"),
        ("https://receiver.ybj.example/ hook", "spaces"),
    ]:
        body = await medical.graphql(REGISTER, {"url": url})
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "url"}, url
        assert reason in error["message"], (url, error)
    ok = await medical.data(REGISTER, {"url": "https://receiver.ybj.example/hook"})
    assert ok["registerWebhook"]["endpoint"]["active"] is True
    town = await api.as_client(agency="town", profile="town", region="320681100000")
    refused = await town.graphql(REGISTER, {"url": "https://town.example/hook"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    feed_only = await api.as_client(agency="public-security", profile="public-security")
    unknown = await feed_only.graphql("{ webhookEndpoints { id } }")
    assert unknown["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    development = Settings(env="development")
    assert check_url("http://receiver.ybj.example/hook", development)
    assert check_url("http://127.0.0.1:9000/hook", Settings())


async def test_without_a_secret_key_registration_says_which_setting(database_url: str) -> None:
    async for api in _api(database_url, webhook_poll_seconds=0, compare_interval_seconds=0):
        medical = await api.as_client(agency="medical-security", profile="medical-security")
        body = await medical.graphql(REGISTER, {"url": "https://receiver.ybj.example/hook"})
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "LIG_WEBHOOK_SECRET_KEY" in error["message"]


def test_verify_refuses_old_timestamps_and_accepts_any_listed_signature() -> None:
    body = b'{"notice": {}}'
    now = 1_800_000_000
    good = signing.signature("whsec_k", now, body)
    assert signing.verify("whsec_k", body, str(now), f"v1={good}", now=now + 299)
    assert not signing.verify("whsec_k", body, str(now), f"v1={good}", now=now + 301)
    assert signing.verify("whsec_k", body, str(now), f"v1=00,v1={good}", now=now)
    assert not signing.verify("whsec_k", body + b" ", str(now), f"v1={good}", now=now)
    assert not signing.verify("whsec_k", body, "abc", f"v1={good}", now=now)
    assert not signing.verify("whsec_k", body, str(now), None, now=now)


async def test_background_sender_of_the_app_and_the_command_line(
    database_url: str, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    async for api in _api(database_url, **{**SETTINGS, "webhook_poll_seconds": 0.1}):
        db = _db(api)
        medical = await api.as_client(agency="medical-security", profile="medical-security")
        _, secret = await _register(medical, f"{base}/hooks/medical-security")
        await warn(db, await household(db), ["medical-security"])
        for _ in range(100):
            if rec.at("/hooks/medical-security"):
                break
            await asyncio.sleep(0.05)
        _check_signed(rec.at("/hooks/medical-security"), secret)
    # With `lig serve` stopped, `lig webhooks run --once` sends what is due.
    async for api in _api(database_url, **SETTINGS):
        await warn(_db(api), await household(_db(api)), ["medical-security"])
    done = await asyncio.to_thread(
        lig,
        "webhooks",
        "run",
        "--once",
        url=database_url,
        env={"LIG_WEBHOOK_SECRET_KEY": KEY, "LIG_WEBHOOK_TIMEOUT": "2"},
    )
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["delivered"] == 1
    assert len(rec.at("/hooks/medical-security")) == 2
    _check_signed(rec.at("/hooks/medical-security"), secret)
