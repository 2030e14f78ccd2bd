"""The token-bucket arithmetic of rate limits, without I/O.

The shared bucket (one row per client, gateway/ratelimit/claim.py) is refilled at `rate` tokens a
second up to `burst`. A process does not spend the shared tokens one request at a time, which
would write the row on every request: it claims a *slice* of them at once and spends them
locally (`Allowance`).

A claim always takes a whole slice, even from a bucket that holds less: what is missing is owed
(the row's tokens go below zero) and arrives with the refill, reserved for this process, which
spends each owed token only once the refill has brought it. Taking a constant amount is what
lets one statement both take the tokens and say how many were there: the row it returns holds
`refill - size`, so `refill` is known; a statement that took `min(size, refill)` would leave
`refill` unknowable from the row alone whenever it took less than a slice.

Overshoot: in any window, a client is admitted at most `burst + rate × window` requests, plus
what the processes held of earlier claims, already refilled but unspent, when the window opened:
at most one slice per process (a process claims again only once its slice is spent). Tokens a
process does not spend are lost, which only makes the limit stricter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The share of the burst a process claims at once, and the claims a second it may make at most
# at the client's full rate: a larger slice means fewer statements, a larger overshoot.
SLICE_OF_BURST = 0.1
SLICE_SECONDS_AT_RATE = 0.05
# Float rounding must not make a token that is there look a hair short.
_EPSILON = 1e-9


def slice_size(rate: float, burst: int) -> int:
    """How many tokens one claim takes: a tenth of the burst, or 50 ms of the rate if that is
    more (a client allowed 1,000 a second with a burst of 10 would otherwise claim 1,000 times
    a second), never more than the burst and at least one."""
    wanted = max(burst * SLICE_OF_BURST, rate * SLICE_SECONDS_AT_RATE)
    return max(1, min(burst, math.floor(wanted)))


def refill(tokens: float, updated_at: float, now: float, rate: float, burst: float) -> float:
    """What the bucket holds at `now`; the claim statement computes the same in SQL. A clock
    behind `updated_at` (another host's) adds nothing rather than taking back."""
    return min(burst, tokens + max(0.0, now - updated_at) * rate)


@dataclass(slots=True)
class Allowance:
    """The tokens one claim gave a process for one client.

    `refill` is what the shared bucket held when the claim took its `size` tokens (negative
    when earlier claims still owe tokens); the claim's tokens numbered up to `refill` are usable
    at once, each after that when the refill brings it, at `rate` a second from `anchor` (the
    row's `updated_at` after the claim: never before the claiming process's own clock).
    """

    size: int
    refill: float
    anchor: float
    rate: float
    spent: int = 0

    @classmethod
    def from_claim(
        cls, size: int, tokens_after: float, updated_at: float, now: float, rate: float
    ) -> Allowance:
        """The allowance of a claim whose statement returned the row (`tokens_after`,
        `updated_at`) for a process whose clock said `now`."""
        return cls(size=size, refill=tokens_after + size, anchor=max(updated_at, now), rate=rate)

    @classmethod
    def unlimited(cls, size: int) -> Allowance:
        """`size` tokens usable at once, taken from no bucket (the database failed: fail open)."""
        return cls(size=size, refill=float(size), anchor=0.0, rate=math.inf)

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.size

    def ready_at(self) -> float:
        """When the next token can be spent (-inf: now); only while not exhausted."""
        number = self.spent + 1
        if number <= self.refill + _EPSILON:
            return -math.inf
        return self.anchor + (number - self.refill) / self.rate

    def spend(self, now: float) -> float | None:
        """Spend a token: None if one is usable at `now`, otherwise the seconds until one is
        (nothing is spent). Only while not exhausted."""
        ready = self.ready_at()
        if ready > now:
            return ready - now
        self.spent += 1
        return None
