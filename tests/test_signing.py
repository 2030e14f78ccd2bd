"""Request signatures of the national system and the resilient client that sends them.

signing.py is checked against published vectors (GB/T 32905 for SM3, RFC 4231 for HMAC-SHA256),
against an HMAC built by hand from RFC 2104, and against the documented string to sign written
out here; then through the Verifier, through the simulator served over HTTP, and adapters/http.py
against a tiny upstream served for real: what it retries, how long it waits, when it gives up,
and when its circuit breaker stops calling.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.faults import Faults
from adapters.http import CircuitOpen, Policy, Upstream, UpstreamError, UpstreamRefused
from adapters.national import signing
from adapters.national.client import NationalClient
from adapters.national.openapi import SIGNATURE_CODES, national_openapi_document
from adapters.national.signing import (
    ALLOWED_SKEW_SECONDS,
    RequestSigner,
    SignatureMethod,
    SignatureRefused,
    Verifier,
    canonical_query,
    digest,
    signature,
    sm3_available,
    string_to_sign,
)
from adapters.national.simulator import DEFAULT_APP_KEY, DEFAULT_SECRET, create_app
from adapters.national.wire import API
from gateway.settings import Settings
from tests.support.servers import serving

SM3 = SignatureMethod.HMAC_SM3
SHA256 = SignatureMethod.HMAC_SHA256
needs_sm3 = pytest.mark.skipif(not sm3_available(), reason="this Python's OpenSSL has no SM3")
METHODS = [pytest.param(SM3, marks=needs_sm3), SHA256]

# A fast policy: the tests wait on nothing but the timeouts they are about.
FAST = Policy(attempts=3, backoff=0.001, backoff_max=0.01, read_timeout=0.2, connect_timeout=1.0)


# --- (a) the primitives -------------------------------------------------------------------


@needs_sm3
@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # GB/T 32905-2016 appendix A, examples 1 and 2.
        (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
        (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
    ],
)
def test_sm3_matches_the_standards_examples(message: bytes, expected: str) -> None:
    assert digest(SM3, message) == expected


@pytest.mark.parametrize(
    ("key", "data", "expected"),
    [
        # RFC 4231 test cases 1 and 2.
        (
            b"\x0b" * 20,
            "Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            "what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
    ],
)
def test_hmac_sha256_matches_rfc_4231(key: bytes, data: str, expected: str) -> None:
    assert signature(SHA256, key, data) == expected


def _hmac_sm3_by_hand(key: bytes, message: bytes) -> str:
    """RFC 2104 written out, independent of the hmac module: H((K^opad) || H((K^ipad) || m)),
    with SM3's 64-byte block; a key longer than a block is hashed first."""

    def h(data: bytes) -> bytes:
        return hashlib.new("sm3", data).digest()

    block = 64
    if len(key) > block:
        key = h(key)
    key = key.ljust(block, b"\x00")
    inner = bytes(b ^ 0x36 for b in key)
    outer = bytes(b ^ 0x5C for b in key)
    return h(outer + h(inner + message)).hex()


@needs_sm3
@pytest.mark.parametrize(
    "key",
    [b"short key", b"k" * 64, bytes(range(100))],
    ids=["short", "one-block", "longer-than-a-block"],
)
def test_hmac_sm3_is_rfc_2104_hmac(key: bytes) -> None:
    text = "GET\n/api/v1/changes\nlimit=2\n\nlig\n1767225600\n" + "0" * 32 + "\n张三"
    assert signature(SM3, key, text) == _hmac_sm3_by_hand(key, text.encode())


def test_canonical_query_sorts_by_encoded_name_and_escapes_per_rfc_3986() -> None:
    query = {
        "name": "张三",
        "b": "x y",
        "a": "1+1",
        "path": "a/b",
        "B": "upper",
        "~t": "-_.~",
        "z key": "v",
        "q": "a=b&c",
        "区": "1",
    }
    # Encoded names in byte order: "%E5%8C%BA" ('%' first), "B", "a", "b", "name", "path", "q",
    # "z%20key", "~t"; only A-Z a-z 0-9 - _ . ~ stay as they are, hex in upper case.
    assert canonical_query(query) == (
        "%E5%8C%BA=1&B=upper&a=1%2B1&b=x%20y&name=%E5%BC%A0%E4%B8%89&path=a%2Fb"
        "&q=a%3Db%26c&z%20key=v&~t=-_.~"
    )
    assert canonical_query({}) == ""


def test_the_string_to_sign_is_the_seven_documented_lines() -> None:
    body_digest = "ab" * 32
    text = string_to_sign(
        "post",
        "/api/v1/uploads",
        {"region_code": "320681000000", "month": "2026-01"},
        body_digest,
        "lig-test",
        1767225600,
        "0123456789abcdef0123456789abcdef",
    )
    assert text == (
        "POST\n"
        "/api/v1/uploads\n"
        "month=2026-01&region_code=320681000000\n"
        "abababababababababababababababababababababababababababababababab\n"
        "lig-test\n"
        "1767225600\n"
        "0123456789abcdef0123456789abcdef"
    )


def test_a_get_without_query_signs_an_empty_line_and_the_digest_of_no_bytes() -> None:
    signer = RequestSigner(
        "lig-test", b"secret", SHA256, clock=lambda: 1767225600.9, nonces=lambda: "f" * 32
    )
    headers = signer("GET", "/api/v1/uploads/u1", {}, digest(SHA256, b""))
    expected_text = (
        "GET\n/api/v1/uploads/u1\n\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"  # SHA-256 of b""
        "lig-test\n1767225600\n" + "f" * 32
    )
    assert headers == {
        "X-App-Key": "lig-test",
        "X-Timestamp": "1767225600",  # whole seconds, rounded down
        "X-Nonce": "f" * 32,
        "X-Signature-Method": "HMAC-SHA256",
        "X-Signature": signature(SHA256, b"secret", expected_text),
    }


def test_every_attempt_gets_a_fresh_nonce() -> None:
    signer = RequestSigner("k", b"s", SHA256)
    nonces = {signer("GET", "/", {}, "")["X-Nonce"] for _ in range(50)}
    assert len(nonces) == 50
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in nonces)


# --- (b) the verifier ---------------------------------------------------------------------

KEY = "lig-test"
SECRET = b"test-secret"
NOW = 1_767_225_600
PATH = "/api/v1/uploads"
QUERY = {"month": "2026-01", "region_code": "320681000000"}
BODY = b'{"household_code":"H1"}\n'
NONCE = "0123456789abcdef" * 2


def _sign(
    method: SignatureMethod = SHA256,
    *,
    at: float = NOW,
    secret: bytes = SECRET,
    key: str = KEY,
    nonce: str = NONCE,
) -> dict[str, str]:
    signer = RequestSigner(key, secret, method, clock=lambda: at, nonces=lambda: nonce)
    return signer("POST", PATH, QUERY, digest(method, BODY))


def _verifier() -> Verifier:
    return Verifier({KEY: SECRET}, clock=lambda: NOW)


def _refused(
    verifier: Verifier,
    headers: dict[str, str],
    *,
    method: str = "POST",
    path: str = PATH,
    query: dict[str, str] = QUERY,
    body: bytes = BODY,
) -> SignatureRefused:
    with pytest.raises(SignatureRefused) as refused:
        verifier.verify(method, path, query, body, headers)
    return refused.value


@pytest.mark.parametrize("method", METHODS)
def test_a_correctly_signed_request_passes(method: SignatureMethod) -> None:
    verifier = _verifier()
    verifier.verify("POST", PATH, QUERY, BODY, _sign(method))
    # Its digest, when the body was hashed as it streamed in, does as well.
    verifier.verify(
        "POST", PATH, QUERY, None, _sign(method, nonce="1" * 32), body_digest=digest(method, BODY)
    )
    # Header names are case-insensitive, as HTTP's are.
    lower = {k.lower(): v for k, v in _sign(method, nonce="2" * 32).items()}
    verifier.verify("POST", PATH, QUERY, BODY, lower)


@pytest.mark.parametrize("offset", [-ALLOWED_SKEW_SECONDS, ALLOWED_SKEW_SECONDS, 0])
def test_a_timestamp_within_the_window_passes_even_at_its_edge(offset: int) -> None:
    assert ALLOWED_SKEW_SECONDS == 300
    _verifier().verify("POST", PATH, QUERY, BODY, _sign(at=NOW + offset))


@pytest.mark.parametrize("offset", [-301, 301, -3600, 3600])
def test_a_timestamp_outside_the_window_is_expired(offset: int) -> None:
    refused = _refused(_verifier(), _sign(at=NOW + offset))
    assert refused.code == "SIGNATURE_EXPIRED"
    way = "behind" if offset < 0 else "ahead of"
    assert f"is {abs(offset)} s {way} the server's time {NOW};" in refused.message
    assert "check the caller's clock" in refused.message


def test_a_replayed_nonce_is_refused() -> None:
    verifier = _verifier()
    headers = _sign()
    verifier.verify("POST", PATH, QUERY, BODY, headers)
    assert _refused(verifier, headers).code == "NONCE_REPLAYED"
    # Re-signed with the same nonce (a client whose nonces repeat) is no better.
    assert _refused(verifier, _sign(at=NOW - 10)).code == "NONCE_REPLAYED"


def test_a_refused_request_does_not_use_up_its_nonce() -> None:
    verifier = _verifier()
    assert _refused(verifier, _sign(secret=b"wrong")).code == "SIGNATURE_INVALID"
    verifier.verify("POST", PATH, QUERY, BODY, _sign())


@pytest.mark.parametrize("method", METHODS)
def test_a_wrong_secret_is_an_invalid_signature(method: SignatureMethod) -> None:
    refused = _refused(_verifier(), _sign(method, secret=b"not-the-secret"))
    assert refused.code == "SIGNATURE_INVALID"
    assert "wrong secret" in refused.message


@pytest.mark.parametrize(
    "changed",
    [
        {"body": BODY.replace(b"H1", b"H2")},
        {"body": b""},
        {"query": {**QUERY, "month": "2026-02"}},
        {"query": {**QUERY, "extra": "1"}},
        {"path": "/api/v1/uploads/x"},
        {"path": "/api/v2/uploads"},
        {"method": "PUT"},
    ],
    ids=["body", "no-body", "query-value", "query-added", "path", "path-prefix", "method"],
)
def test_a_request_changed_after_signing_is_an_invalid_signature(changed: Any) -> None:
    assert _refused(_verifier(), _sign(), **changed).code == "SIGNATURE_INVALID"


def test_an_unknown_app_key_is_refused_before_anything_else() -> None:
    refused = _refused(_verifier(), _sign(key="someone-else", at=0))
    assert refused.code == "APP_KEY_UNKNOWN"
    assert "someone-else" in refused.message
    headers = _sign()
    del headers["X-App-Key"]
    assert _refused(_verifier(), headers).code == "APP_KEY_UNKNOWN"


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("X-Signature-Method", "HMAC-MD5", "SIGNATURE_METHOD_UNSUPPORTED"),
        ("X-Signature-Method", "hmac-sha256", "SIGNATURE_METHOD_UNSUPPORTED"),
        ("X-Timestamp", "", "TIMESTAMP_INVALID"),
        ("X-Timestamp", "1767225600.5", "TIMESTAMP_INVALID"),
        ("X-Timestamp", "-1", "TIMESTAMP_INVALID"),
        # Digits to str.isdigit() that int() refuses: a header's latin-1 bytes can spell them.
        ("X-Timestamp", "\u00b2", "TIMESTAMP_INVALID"),
        ("X-Nonce", "0123", "NONCE_INVALID"),
        ("X-Nonce", NONCE.upper().replace("0", "A"), "NONCE_INVALID"),
        ("X-Nonce", "g" * 32, "NONCE_INVALID"),
        ("X-Signature", "", "SIGNATURE_INVALID"),
        # Not ASCII: compared as bytes, not a crash in compare_digest.
        ("X-Signature", "\u00e9" * 64, "SIGNATURE_INVALID"),
    ],
)
def test_malformed_headers_are_refused_with_their_code(header: str, value: str, code: str) -> None:
    headers = {**_sign(), header: value}
    assert _refused(_verifier(), headers).code == code


# --- (c) against the simulator over HTTP ----------------------------------------------------


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    with serving(create_app(seed=1, size=5)) as url:
        yield url


def _settings(url: str, secret: bytes = DEFAULT_SECRET, **more: Any) -> Settings:
    return Settings(
        national_url=url,
        national_app_key=DEFAULT_APP_KEY,
        national_app_secret=secret.decode(),
        national_signature=more.pop("signature", SHA256.value),
        upstream_attempts=FAST.attempts,
        upstream_backoff_seconds=FAST.backoff,
        upstream_backoff_max_seconds=FAST.backoff_max,
        upstream_read_timeout=FAST.read_timeout,
        **more,
    )


@pytest.mark.parametrize("method", METHODS)
async def test_the_client_signs_what_the_simulator_accepts(
    simulator_url: str, method: SignatureMethod, tmp_path: Path
) -> None:
    client = NationalClient(_settings(simulator_url, signature=method.value))
    try:
        page = await client.changes(None, 2)
        assert len(page.changes) == 2
        assert page.has_more
        later = await client.changes(page.next_cursor, 2)  # a query the signature covers
        assert [c["seq"] for c in later.changes] == [3, 4]
        ndjson = tmp_path / "upload.ndjson"
        ndjson.write_text(
            '{"household_code":"H1","region_code":"320681100000","category":"DIBAO",'
            '"status":"ACTIVE","members":[{"id_number":"11010519491231002X","name":"张三",'
            '"relation":"SELF"}]}\n',
            encoding="utf-8",
        )
        accepted = await client.upload("2026-01", "320681000000", ndjson, "k-" + method.value)
        assert accepted.records == 1
    finally:
        await client.aclose()


@pytest.mark.parametrize("method", METHODS)
async def test_a_request_signed_once_and_sent_twice_is_a_replay(
    simulator_url: str, method: SignatureMethod
) -> None:
    query = {"limit": "2"}
    headers = RequestSigner(DEFAULT_APP_KEY, DEFAULT_SECRET, method)(
        "GET", f"{API}/changes", query, digest(method, b"")
    )
    async with httpx.AsyncClient(base_url=simulator_url) as http:
        first = await http.get(f"{API}/changes", params=query, headers=headers)
        second = await http.get(f"{API}/changes", params=query, headers=headers)
    assert first.status_code == 200, first.text
    assert len(first.json()["changes"]) == 2
    assert second.status_code == 401
    assert second.json()["code"] == "NONCE_REPLAYED"


async def test_a_timestamp_the_simulator_cannot_read_is_a_401_not_a_crash(
    simulator_url: str,
) -> None:
    headers: dict[str, str | bytes] = {
        **RequestSigner(DEFAULT_APP_KEY, DEFAULT_SECRET, SHA256)(
            "GET", f"{API}/changes", {}, digest(SHA256, b"")
        ),
        "X-Timestamp": b"\xb2",  # "²" in latin-1
    }
    async with httpx.AsyncClient(base_url=simulator_url) as http:
        answer = await http.get(f"{API}/changes", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "TIMESTAMP_INVALID"


async def _refusal(client: NationalClient) -> UpstreamRefused:
    try:
        with pytest.raises(UpstreamRefused) as refused:
            await client.changes(None, 2)
    finally:
        await client.aclose()
    assert refused.value.status == 401
    assert client.upstream.attempts_made == 1, "a refused signature is not retried"
    return refused.value


async def test_a_client_clock_ten_minutes_behind_is_told_its_signature_expired(
    simulator_url: str,
) -> None:
    settings = _settings(simulator_url)
    behind = RequestSigner(DEFAULT_APP_KEY, DEFAULT_SECRET, SHA256, clock=lambda: time.time() - 600)
    upstream = Upstream("national system", simulator_url, FAST, signer=behind)
    message = str(await _refusal(NationalClient(settings, upstream)))
    assert "SIGNATURE_EXPIRED" in message
    # 600 s, or 601 as the whole-second timestamp and the server's clock round.
    assert re.search(r"is 60[01] s behind the server's time", message), message
    assert "check the caller's clock" in message


async def test_a_simulator_clock_fifteen_minutes_ahead_expires_every_signature() -> None:
    with serving(create_app(seed=1, size=5, faults=Faults.parse("skew=900", seed=1))) as url:
        message = str(await _refusal(NationalClient(_settings(url))))
    assert "SIGNATURE_EXPIRED" in message
    assert re.search(r"is 90[01] s behind the server's time", message), message
    assert "check the caller's clock" in message


async def test_a_wrong_secret_is_refused_as_an_invalid_signature(simulator_url: str) -> None:
    message = str(await _refusal(NationalClient(_settings(simulator_url, b"not-the-secret"))))
    assert "SIGNATURE_INVALID" in message
    assert "wrong secret" in message


# --- (d) adapters/http.py against a tiny upstream ---------------------------------------------


class Tiny:
    """A tiny upstream: what it answers, path by path, and how often each path was asked."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.switch = 503

    def app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            name = request.path_params["name"]
            self.hits[name] += 1
            first = self.hits[name] == 1
            if name == "bad":
                return JSONResponse(
                    {"code": "BAD_REQUEST", "message": "limit: 1 to 5000"}, status_code=400
                )
            if name == "flaky" and first:
                return JSONResponse({"code": "BUSY", "message": "try again"}, status_code=503)
            if name == "later" and first:
                return JSONResponse(
                    {"code": "BUSY", "message": "come back in a second"},
                    status_code=503,
                    headers={"Retry-After": "1"},
                )
            if name == "cut" and first:
                return Response(b'{"ok": tr', media_type="application/json")
            if name == "slow":
                await asyncio.sleep(0.5)  # past FAST.read_timeout
            if name == "switch" and self.switch != 200:
                return JSONResponse({"code": "DOWN", "message": "down"}, status_code=self.switch)
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/{name}", handle)])


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[tuple[str, Tiny]]:
    tiny = Tiny()
    with serving(tiny.app()) as url:
        yield url, tiny


@pytest.fixture
def tiny(tiny_server: tuple[str, Tiny]) -> tuple[str, Tiny]:
    url, state = tiny_server
    state.hits.clear()
    state.switch = 503
    return url, state


class Sleeps:
    """A recorded fake sleep: the waits the retries asked for, without waiting. (Not a list
    itself: an empty list is falsy, and Upstream takes `sleep or its default`.)"""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_a_400_is_not_retried_and_carries_the_upstreams_words(
    tiny: tuple[str, Tiny],
) -> None:
    url, state = tiny
    sleeps = Sleeps()
    async with Upstream("tiny", url, FAST, sleep=sleeps) as upstream:
        with pytest.raises(UpstreamRefused) as refused:
            await upstream.get_json("/bad")
    assert state.hits["bad"] == 1
    assert sleeps.waits == []
    assert refused.value.status == 400
    assert "BAD_REQUEST: limit: 1 to 5000" in str(refused.value)
    assert upstream.breaker.state == "closed"


async def test_a_503_then_a_200_succeeds_after_one_retry(tiny: tuple[str, Tiny]) -> None:
    url, state = tiny
    sleeps = Sleeps()
    async with Upstream("tiny", url, FAST, sleep=sleeps) as upstream:
        assert await upstream.get_json("/flaky") == {"ok": True}
    assert state.hits["flaky"] == 2
    assert len(sleeps.waits) == 1
    assert 0 <= sleeps.waits[0] <= FAST.backoff_max  # the jittered backoff
    assert upstream.breaker.failures == 0


async def test_retry_after_is_waited(tiny: tuple[str, Tiny]) -> None:
    url, state = tiny
    sleeps = Sleeps()
    async with Upstream("tiny", url, FAST, sleep=sleeps) as upstream:
        assert await upstream.get_json("/later") == {"ok": True}
    assert state.hits["later"] == 2
    assert sleeps.waits == [pytest.approx(1.0, abs=FAST.backoff_max)]


async def test_an_unreadable_json_answer_is_retried(tiny: tuple[str, Tiny]) -> None:
    url, state = tiny
    async with Upstream("tiny", url, FAST, sleep=Sleeps()) as upstream:
        assert await upstream.get_json("/cut") == {"ok": True}
    assert state.hits["cut"] == 2


async def test_timeouts_are_retried_up_to_the_attempts_and_then_given_up(
    tiny: tuple[str, Tiny],
) -> None:
    url, state = tiny
    sleeps = Sleeps()
    async with Upstream("tiny", url, FAST, sleep=sleeps) as upstream:
        with pytest.raises(UpstreamError) as gave_up:
            await upstream.get_json("/slow")
    assert type(gave_up.value) is UpstreamError  # not refused, not a circuit
    assert "timed out" in str(gave_up.value)
    assert f"gave up after {FAST.attempts} attempts" in str(gave_up.value)
    assert upstream.attempts_made == FAST.attempts
    assert len(sleeps.waits) == FAST.attempts - 1
    assert state.hits["slow"] == FAST.attempts


async def test_the_breaker_opens_after_failures_in_a_row_and_half_opens_after_reset(
    tiny: tuple[str, Tiny],
) -> None:
    url, state = tiny
    now = [1000.0]
    policy = Policy(
        attempts=3,
        backoff=0.001,
        backoff_max=0.01,
        read_timeout=0.2,
        breaker_failures=3,
        breaker_reset=30.0,
    )
    async with Upstream("tiny", url, policy, sleep=Sleeps()) as upstream:
        upstream.breaker.clock = lambda: now[0]
        with pytest.raises(UpstreamError, match="gave up after 3 attempts"):
            await upstream.get_json("/switch")
        assert state.hits["switch"] == 3
        assert upstream.breaker.state == "open"

        # Open: not even tried.
        with pytest.raises(CircuitOpen, match="3 failures in a row; next try in 30 s"):
            await upstream.get_json("/switch")
        now[0] += 29.9
        with pytest.raises(CircuitOpen):
            await upstream.get_json("/switch")
        assert state.hits["switch"] == 3

        # Half-open: one trial; it fails, so the breaker opens again without a second try.
        now[0] += 0.1
        assert upstream.breaker.state == "half-open"
        with pytest.raises(CircuitOpen):
            await upstream.get_json("/switch")
        assert state.hits["switch"] == 4
        assert upstream.breaker.state == "open"

        # Half-open again, and the upstream is back: the trial succeeds and closes it.
        now[0] += policy.breaker_reset
        state.switch = 200
        assert await upstream.get_json("/switch") == {"ok": True}
        assert state.hits["switch"] == 5
        assert upstream.breaker.state == "closed"
        assert upstream.breaker.failures == 0


# --- (e) the documented interface is the one the code speaks ----------------------------------


def test_the_document_lists_every_code_the_verifier_answers() -> None:
    source = inspect.getsource(signing)
    assert set(re.findall(r'SignatureRefused\(\s*"([A-Z_]+)"', source)) == set(SIGNATURE_CODES)


def _conforms(schema_name: str, instance: Any) -> None:
    document = national_openapi_document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    errors = [error.message for error in jsonschema_rs.validator_for(schema).iter_errors(instance)]
    assert not errors, errors


async def test_the_simulators_answers_match_the_documented_schemas() -> None:
    line = (
        '{"household_code":"H1","region_code":"%s","category":"DIBAO","status":"ACTIVE",'
        '"members":[{"id_number":"%s","name":"张三","relation":"SELF"}]}\n'
    )
    valid = "11010519491231002X"
    # Accepted; a region the system does not know; an ID number that is not one.
    body = "".join(
        line % fields
        for fields in (("320681100000", valid), ("999999999999", valid), ("320681100000", "1" * 18))
    )
    signer = RequestSigner(DEFAULT_APP_KEY, DEFAULT_SECRET, SHA256)
    with serving(create_app(seed=1, size=5, receipt_delay=0)) as url:
        async with Upstream("national system", url, FAST, signer=signer) as upstream:
            _conforms("ChangesPage", await upstream.get_json(f"{API}/changes", {"limit": "5000"}))
            accepted = (
                await upstream.call(
                    "POST",
                    f"{API}/uploads",
                    params={"month": "2026-01", "region_code": "320681000000"},
                    body=body.encode(),
                    content_type="application/x-ndjson",
                )
            ).json()
            _conforms("UploadAccepted", accepted)
            receipt = f"{API}/uploads/{accepted['upload_id']}"
            _conforms("UploadReceipt", await upstream.get_json(receipt))
            rejections = await upstream.get_json(f"{receipt}/rejections")
            _conforms("RejectionsPage", rejections)
            assert {r["code"] for r in rejections["rejections"]} == {
                "REGION_UNKNOWN",
                "ID_NUMBER_INVALID",
            }
        async with httpx.AsyncClient(base_url=url) as http:
            refused = await http.get(f"{API}/changes", headers=_sign())
        assert refused.status_code == 401
        _conforms("SignatureProblem", refused.json())
