"""Faults a simulator can inject, from a spec like "error=0.3,timeout=0.1,slow=0.05,duplicate=0.2".

Transport faults (error, timeout, slow, malformed) are decided per request by a seeded hash of
(fault, request key, how many times that key was asked), and never hit one key more than
`max_in_a_row` times in a row: a client that retries enough always gets through, and a run
with the same seed meets the same faults. Data faults (duplicate and out-of-order pages, bad
records, a truncated file) are decided by the simulator that serves the data, with `chance`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

FAULT_HELP = (
    "error, timeout, slow, malformed (transport, per request); duplicate, disorder, "
    "bad_record, truncate (data); skew=SECONDS (the server's clock is off)"
)


@dataclass
class Faults:
    error: float = 0.0  # answer 500 or 503
    timeout: float = 0.0  # hold the answer for `hang_seconds` (past a client's timeout)
    slow: float = 0.0  # delay the answer by `slow_seconds`
    malformed: float = 0.0  # cut the JSON body short
    duplicate: float = 0.0  # serve a page again, or items of the page before it
    disorder: float = 0.0  # shuffle the items of a page
    bad_record: float = 0.0  # a record that breaks the upstream's own format
    truncate: float = 0.0  # a file cut off in the middle of a row
    skew: float = 0.0  # seconds the server's clock is ahead (negative: behind)
    seed: int = 0
    hang_seconds: float = 3.0
    slow_seconds: float = 0.2
    max_in_a_row: int = 2
    _asked: Counter[str] = field(default_factory=Counter, repr=False)
    _in_a_row: Counter[str] = field(default_factory=Counter, repr=False)

    @classmethod
    def parse(cls, spec: str | None, seed: int = 0) -> Faults:
        faults = cls(seed=seed)
        names = {f.name for f in fields(cls) if not f.name.startswith("_")}
        for part in filter(None, (p.strip() for p in (spec or "").split(","))):
            name, _, value = part.partition("=")
            if name not in names or name == "seed":
                raise ValueError(f"unknown fault {name!r}; known: {FAULT_HELP}")
            try:
                number = float(value) if value else 1.0
            except ValueError:
                raise ValueError(f"fault {name}: {value!r} is not a number") from None
            if (
                name
                in {
                    "error",
                    "timeout",
                    "slow",
                    "malformed",
                    "duplicate",
                    "disorder",
                    "bad_record",
                    "truncate",
                }
                and not 0 <= number <= 1
            ):
                raise ValueError(f"fault {name}: a chance between 0 and 1, not {number}")
            setattr(faults, name, int(number) if name == "max_in_a_row" else number)
        return faults

    def chance(self, fault: str, key: str) -> bool:
        """A deterministic draw for data faults: the same key always draws the same."""
        rate = float(getattr(self, fault))
        return rate > 0 and _unit(self.seed, fault, key) < rate

    def strike(self, fault: str, key: str) -> bool:
        """A draw for transport faults, bounded so that a retried request gets through."""
        rate = float(getattr(self, fault))
        if rate <= 0:
            return False
        slot = f"{fault}:{key}"
        self._asked[slot] += 1
        hit = _unit(self.seed, fault, f"{key}#{self._asked[slot]}") < rate
        if hit and self._in_a_row[slot] < self.max_in_a_row:
            self._in_a_row[slot] += 1
            return True
        self._in_a_row[slot] = 0
        return False


def _unit(seed: int, fault: str, key: str) -> float:
    digest = hashlib.blake2b(f"{seed}:{fault}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class TransportFaults:
    """ASGI middleware: errors, hangs, delays and cut-short bodies on the data paths.

    `key(request)` names what is being asked (a path and its cursor), so that retries of one
    request are counted together. Paths outside `paths` (health, the fault switch) are spared.
    """

    def __init__(
        self,
        app: ASGIApp,
        faults: Faults,
        *,
        paths: tuple[str, ...],
        key: Callable[[Request], str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.faults = faults
        self.paths = paths
        self.key = key or (lambda r: f"{r.method} {r.url.path}?{r.url.query}")
        self.sleep = sleep
        self.served = Counter[str]()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = self.key(request)
        faults = self.faults
        if faults.strike("slow", key):
            await self.sleep(faults.slow_seconds)
        if faults.strike("timeout", key):
            await self.sleep(faults.hang_seconds)
        if faults.strike("error", key):
            status = 503 if faults.chance("error", key + "#status") else 500
            response: Response = JSONResponse(
                {"code": "INTERNAL", "message": "simulated server error"},
                status_code=status,
                headers={"Retry-After": "0"} if status == 503 else None,
            )
            await response(scope, receive, send)
            return
        if faults.strike("malformed", key):
            await self.app(scope, receive, _cut_short(send))
            return
        self.served[key] += 1
        await self.app(scope, receive, send)


def _cut_short(send: Send) -> Send:
    """Send half of the body, as a proxy that dropped the rest would."""

    async def wrapped(message: dict) -> None:  # type: ignore[type-arg]
        if message["type"] == "http.response.start":
            message = {
                **message,
                "headers": [
                    (k, v) for k, v in message["headers"] if k.lower() != b"content-length"
                ],
            }
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            message = {**message, "body": body[: max(1, len(body) // 2)], "more_body": False}
        await send(message)

    return wrapped  # type: ignore[return-value]
