"""One resilient HTTP client per upstream: pooled connections, a timeout on every call, bounded
retries with jittered backoff on retryable failures only, and a circuit breaker.

Retryable: connection failures, timeouts, a body that could not be read, and the answers that
mean "try again" (408, 425, 429, 500, 502, 503, 504), honouring `Retry-After`. Anything else
(a refused signature, a bad request) is the caller's to fix and fails at once, with the
upstream's own message, as `UpstreamRefused`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
import orjson
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from gateway.errors import LigError
from gateway.settings import Settings

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
# The longest wait a Retry-After may ask for: longer requests wait this long, then retry.
MAX_RETRY_AFTER = 120.0


class Signer(Protocol):
    """Builds the headers that prove who is calling, over the method, path, query and the
    digest of the body (with the signer's own hash); called for every attempt, so each attempt
    is freshly signed."""

    @property
    def hash_name(self) -> str: ...

    def __call__(
        self, http_method: str, path: str, query: Mapping[str, str], body_digest: str
    ) -> Mapping[str, str]: ...


# A request body that can be sent again on a retry: bytes, or a factory of a fresh stream.
Body = bytes | Callable[[], AsyncIterator[bytes]]


class UpstreamError(LigError):
    """An upstream could not be reached or did not answer usefully, after the retries."""

    code = "UPSTREAM_UNAVAILABLE"
    http_status = 502

    def __init__(self, upstream: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{upstream}: {message}")
        self.upstream = upstream
        self.status = status


class UpstreamRefused(UpstreamError):
    """The upstream answered and refused the request (4xx): retrying would not help."""

    code = "UPSTREAM_REFUSED"


class CircuitOpen(UpstreamError):
    """Too many failures in a row: calls are not even tried until the breaker half-opens."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Policy:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    attempts: int = 5
    backoff: float = 0.5
    backoff_max: float = 30.0
    breaker_failures: int = 8
    breaker_reset: float = 30.0
    max_connections: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_read_timeout,
            attempts=settings.upstream_attempts,
            backoff=settings.upstream_backoff_seconds,
            backoff_max=settings.upstream_backoff_max_seconds,
            breaker_failures=settings.upstream_breaker_failures,
            breaker_reset=settings.upstream_breaker_reset_seconds,
            max_connections=settings.upstream_max_connections,
        )


class CircuitBreaker:
    """Closed → (N failures in a row) → open → (after `reset` seconds) half-open: one trial
    call; its success closes the breaker, its failure opens it again."""

    def __init__(self, failures: int, reset: float, clock: Callable[[], float] = time.monotonic):
        self.threshold = failures
        self.reset = reset
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_since: float | None = None  # a half-open breaker's trial call began

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.reset else "open"

    def check(self, upstream: str) -> None:
        state = self.state
        now = self.clock()
        # A trial that never reported (cancelled, or failed in a way that is not the
        # upstream's) must not keep the breaker shut: after `reset` another trial goes.
        stale = self.trial_since is not None and now - self.trial_since >= self.reset
        if state == "half-open" and (self.trial_since is None or stale):
            self.trial_since = now
            return
        if state != "closed":
            assert self.opened_at is not None
            wait = max(0.0, self.reset - (self.clock() - self.opened_at))
            raise CircuitOpen(
                upstream,
                f"not called: {self.failures} failures in a row; next try in {wait:.0f} s",
            )

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_since = None

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold or self.trial_since is not None:
            self.opened_at = self.clock()
        self.trial_since = None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds)


def _reason(response: httpx.Response) -> str:
    """The upstream's own words: its error code and an RFC 9457 `detail`/`title` or a
    `message`, else the start of the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        code = body.get("code") if isinstance(body.get("code"), str) else None
        for key in ("detail", "message", "title", "error"):
            if isinstance(body.get(key), str):
                text = str(body[key])[:300]
                return f"{code}: {text}" if code else text
    return response.text[:300]


class Upstream:
    """The one client of one upstream, shared by everything that calls it in this process."""

    def __init__(
        self,
        name: str,
        base_url: str,
        policy: Policy,
        *,
        signer: Signer | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.signer = signer
        self.breaker = CircuitBreaker(policy.breaker_failures, policy.breaker_reset)
        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout),
            limits=httpx.Limits(
                max_connections=policy.max_connections,
                max_keepalive_connections=policy.max_connections,
            ),
            follow_redirects=False,
        )
        self._sleep = sleep
        self.attempts_made = 0  # every attempt, for the sync's report

    async def __aenter__(self) -> Upstream:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET and parse JSON; a body that does not parse is retried like a dropped connection
        (a proxy that cut the answer short)."""

        async def parse(response: httpx.Response) -> Any:
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError as error:
                raise _Retryable(f"unreadable JSON answer ({error})") from error

        return await self.call("GET", path, params=params, handle=parse)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Body = b"",
        body_digest: str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        handle: Callable[[httpx.Response], Awaitable[Any]] | None = None,
    ) -> Any:
        """Send one request with retries; answer `handle(response)` for a 2xx (default: the
        response, its body read)."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            sleep=_default_sleep if self._sleep is None else self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(
                        method, path, params, body, body_digest, content_type, headers, handle
                    )
        except _Retryable as error:
            raise UpstreamError(
                self.name, f"{error} (gave up after {self.policy.attempts} attempts)"
            ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Body,
        body_digest: str | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        handle: Callable[[httpx.Response], Awaitable[Any]] | None,
    ) -> Any:
        self.breaker.check(self.name)
        self.attempts_made += 1
        query = {k: str(v) for k, v in (params or {}).items()}
        sent: dict[str, str] = dict(headers or {})
        if content_type:
            sent["Content-Type"] = content_type
        content: Any = body if isinstance(body, bytes) else body()
        request = self.client.build_request(
            method, path, params=query or None, content=content or None, headers=sent
        )
        if self.signer is not None:
            if body_digest is None:
                if not isinstance(body, bytes):
                    raise ValueError("a streamed body needs its digest computed beforehand")
                body_digest = hashlib.new(self.signer.hash_name, body).hexdigest()
            # Signed over the path as sent: with the base URL's prefix, percent-encoded.
            sent_path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
            request.headers.update(self.signer(method, sent_path, query, body_digest))
        try:
            response = await self.client.send(request)
        except httpx.TimeoutException as error:
            self.breaker.failed()
            raise _Retryable(f"timed out ({type(error).__name__})") from error
        except httpx.RequestError as error:  # connection, protocol, a body that will not decode
            self.breaker.failed()
            raise _Retryable(f"connection failed ({type(error).__name__}: {error})") from error
        if response.status_code in RETRYABLE_STATUS:
            self.breaker.failed()
            raise _Retryable(
                f"answered {response.status_code}: {_reason(response)}", _retry_after(response)
            )
        if response.status_code >= 300:
            # It answered: the upstream is up, the request is wrong (or redirected elsewhere,
            # which an upstream's configured URL must not be).
            self.breaker.succeeded()
            raise UpstreamRefused(
                self.name,
                f"refused the request ({response.status_code}): {_reason(response)}",
                status=response.status_code,
            )
        try:
            result = await handle(response) if handle is not None else response
        except _Retryable:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        return result

    def _wait(self, state: RetryCallState) -> float:
        jittered = wait_random_exponential(
            multiplier=self.policy.backoff, max=self.policy.backoff_max
        )(state)
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return min(max(error.retry_after, jittered), MAX_RETRY_AFTER)
        return jittered


async def _default_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class Upstreams:
    """The clients of a long-running process (the feed schedule), one per upstream, kept
    between calls so that pooled connections and the circuit breaker span them."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], Upstream] = {}

    def get(self, name: str, base_url: str, make: Callable[[], Upstream]) -> Upstream:
        key = (name, base_url)
        if key not in self._clients:
            self._clients[key] = make()
        return self._clients[key]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
