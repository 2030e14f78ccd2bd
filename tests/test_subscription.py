"""The warningNotices subscription over graphql-transport-ws, against the running app on
127.0.0.1 (a real websocket), on SQLite and PostgreSQL (issue 7.4)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from auth.clients import add_client
from gateway.app import create_app
from gateway.database import Database
from gateway.domain.enums import NoticeKind, WarningStatus
from gateway.monitoring.notices import notify
from gateway.principal import Principal
from gateway.settings import Settings
from gateway.subscriptions.hub import NoticeHub
from tests.support.notices import BEIXIN, HUILONG, household, warn
from tests.support.servers import serving

SUBPROTOCOL = "graphql-transport-ws"
NOTICES = """subscription($after: ID) {
  warningNotices(afterNoticeId: $after) {
    id cursor kind agency warningId warningKind status finding hardshipType severity dueOn
    householdId } }"""


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        audit_seal_interval=3600,
        webhook_poll_seconds=0,
        compare_interval_seconds=0,
        subscription_poll_seconds=0.1,
    )


@pytest.fixture
def served(database_url: str) -> Iterator[str]:
    with serving(create_app(_settings(database_url))) as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(_settings(database_url))
    yield database
    await database.dispose()


async def _token(db: Database, base: str, agency: str, region: str | None = None) -> str:
    async with db.unit_of_work() as session:
        client, secret = await add_client(session, "test", agency, agency, [], region)
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, secret),
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


class Subscriber:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def subscribe(self, after: str | None = None, op: str = "1") -> None:
        message = {"type": "subscribe", "id": op,
                   "payload": {"query": NOTICES, "variables": {"after": after}}}  # fmt: skip
        await self.ws.send(json.dumps(message))

    async def message(self, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            received: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if received["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            return received

    async def notices(self, count: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(count):
            received = await self.message()
            assert received["type"] == "next", received
            assert "errors" not in received["payload"], received
            out.append(received["payload"]["data"]["warningNotices"])
        return out

    async def silent(self, seconds: float = 0.5) -> None:
        try:
            extra = await asyncio.wait_for(self.ws.recv(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message {extra!r}")


@asynccontextmanager
async def _connect(base: str, token: str | None) -> AsyncIterator[Subscriber]:
    url = base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == SUBPROTOCOL
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        yield Subscriber(ws)


@asynccontextmanager
async def _acked(base: str, token: str) -> AsyncIterator[Subscriber]:
    async with _connect(base, token) as sub:
        assert await sub.message() == {"type": "connection_ack"}
        yield sub


async def test_each_agency_receives_its_own_notices_live_and_from_a_cursor(
    served: str, db: Database
) -> None:
    medical = await _token(db, served, "medical-security")
    education = await _token(db, served, "education")
    town = await _token(db, served, "town", region=HUILONG)
    inside = await household(db, HUILONG)
    outside = await household(db, BEIXIN)
    before = await warn(db, inside, ["medical-security"])  # written before anyone subscribed

    async with AsyncExitStack() as stack:
        await _subscribers(stack, served, db, medical, education, town, inside, outside, before)


async def _subscribers(
    stack: AsyncExitStack,
    served: str,
    db: Database,
    medical: str,
    education: str,
    town: str,
    inside: int,
    outside: int,
    before: int,
) -> None:
    ms_stream = AsyncExitStack()
    ms = await ms_stream.enter_async_context(_acked(served, medical))
    edu = await stack.enter_async_context(_acked(served, education))
    hl = await stack.enter_async_context(_acked(served, town))
    await ms.subscribe(after="0")
    await hl.subscribe()  # from now on
    (first,) = await ms.notices(1)  # the notice from before, read back from the cursor
    await edu.subscribe(after=first["id"])  # after the newest notice: nothing from before
    assert (first["warningId"], first["kind"], first["agency"]) == (str(before), "ASSIGNED",
                                                                    "medical-security")  # fmt: skip
    assert first["householdId"] == str(inside)
    assert first["hardshipType"] == "MEDICAL"
    await asyncio.sleep(0.3)  # the live subscriptions are in place

    w1 = await warn(db, inside, ["medical-security"])
    w2 = await warn(db, outside, ["education"])
    # A town hears of civil affairs' warnings in its region: it acts on them locally.
    w3 = await warn(db, inside, ["civil-affairs"])
    w4 = await warn(db, outside, ["civil-affairs"])  # another town's household
    w5 = await warn(db, outside, ["medical-security", "education"])
    got_ms = await ms.notices(2)
    got_edu = await edu.notices(2)
    got_town = await hl.notices(1)
    assert [n["warningId"] for n in got_ms] == [str(w1), str(w5)]
    assert [n["warningId"] for n in got_edu] == [str(w2), str(w5)]
    assert [n["warningId"] for n in got_town] == [str(w3)]
    assert {n["agency"] for n in got_ms} == {"medical-security"}
    for stream in (ms, edu, hl):
        await stream.silent(0.5)
    assert str(w4) not in {n["warningId"] for n in got_town}
    ids = [int(n["id"]) for n in [first, *got_ms]]
    assert ids == sorted(ids)
    assert all(int(n["cursor"]) <= int(n["id"]) for n in got_ms)

    # Away for a while, then back from the last cursor: nothing missed.
    last_cursor = got_ms[-1]["cursor"]
    await ms.ws.send(json.dumps({"type": "complete", "id": "1"}))
    await ms_stream.aclose()
    w6 = await warn(db, inside, ["medical-security"])
    async with _acked(served, medical) as back:
        await back.subscribe(after=last_cursor)
        resumed = await back.notices(1)
        assert [n["warningId"] for n in resumed] == [str(w6)]
        w7 = await warn(db, inside, ["medical-security", "civil-affairs"])
        assert [n["warningId"] for n in await back.notices(1)] == [str(w7)]
        await back.silent(0.3)
    assert [n["warningId"] for n in await hl.notices(1)] == [str(w7)]


async def test_refusals(served: str, db: Database) -> None:
    # No token, a bad one, a client whose scopes give no subscription: closed with 4403.
    feed_only = await _token(db, served, "public-security")
    for token in (None, "not-a-token", feed_only):
        async with _connect(served, token) as sub:
            with pytest.raises(ConnectionClosed) as closed:
                await sub.message()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403, token
    # Subscribing before connection_init: 4401.
    url = served.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": NOTICES}}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
    medical = await _token(db, served, "medical-security")
    async with _acked(served, medical) as sub:
        # A query over the websocket is refused (it belongs to POST /graphql, audited there).
        await sub.ws.send(json.dumps(
            {"type": "subscribe", "id": "q", "payload": {"query": "{ me { agency } }"}}
        ))  # fmt: skip
        refused = await sub.message()
        assert refused["type"] == "error"
        assert refused["id"] == "q"
        # An unknown field is a validation error, named by the client's own schema.
        await sub.ws.send(json.dumps(
            {"type": "subscribe", "id": "v", "payload": {"query": "subscription { nope }"}}
        ))  # fmt: skip
        invalid = await sub.message()
        assert invalid["type"] == "error"
        assert invalid["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        await sub.ws.send(json.dumps({"type": "ping"}))
        assert await sub.message() == {"type": "pong"}
        await sub.subscribe(after="x1")
        bad = await sub.message()
        assert bad["type"] == "error"
        assert bad["payload"][0]["extensions"] == {"code": "BAD_USER_INPUT",
                                                   "field": "afterNoticeId"}  # fmt: skip
    async with httpx.AsyncClient(base_url=served) as http:
        response = await http.post(
            "/graphql",
            json={"query": NOTICES},
            headers={"Authorization": f"Bearer {medical}"},
        )
    assert response.status_code == 400
    assert "websocket" in response.json()["errors"][0]["message"]


async def test_a_notice_committed_after_a_later_one_still_arrives(
    engine: str, db: Database
) -> None:
    """PostgreSQL hands out ids at insert and shows rows at commit: the hub waits for gaps."""
    if engine != "postgresql":
        pytest.skip("SQLite has one writer: ids become visible in order")
    home = await household(db, HUILONG)
    early_warning = await warn(db, home, [])  # told below, in a transaction left open
    hub = NoticeHub(db, db.settings)
    reader = Principal(client_id="t", agency="medical-security", scopes=frozenset())
    stream = hub.stream(reader, None)
    started = asyncio.ensure_future(anext(stream))
    await hub.ready.wait()
    async with db.sessions() as slow:
        # This transaction takes the next notice id; a later notice commits first.
        await notify(slow, early_warning, ["medical-security"], NoticeKind.ASSIGNED,
                     WarningStatus.DISPATCHED)  # fmt: skip
        await slow.flush()
        late = await warn(db, home, ["medical-security"])
        first, cursor = await asyncio.wait_for(started, 5)
        assert first.warning_id == late
        assert cursor < first.notice_id  # resuming after it would not skip the open one
        await slow.commit()
    second, _ = await asyncio.wait_for(anext(stream), 5)
    assert second.warning_id == early_warning
    assert second.notice_id < first.notice_id
    await stream.aclose()
    await hub.stop()
