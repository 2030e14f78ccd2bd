"""The retry schedule of a webhook delivery (pure: no clock, no I/O).

After the n-th failed attempt the next comes `first × 2^(n-1)` seconds later, at most `cap`,
each wait stretched or shrunk by up to ±20% at random (so that the deliveries of one outage do
not all come back at the same moment). A delivery is given up (GAVE_UP, replayable) after the
first failed attempt made `window` or more after the delivery was created, so it is tried for
at least the whole window. With the defaults (15 s, 2 h, 72 h): 15 s, 30 s, 1 min, 2 min, 4 min,
8 min, 16 min, 32 min, 64 min, then every 2 h: 45 attempts over three days.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.settings import Settings

JITTER = 0.2


@dataclass(frozen=True, slots=True)
class Schedule:
    first: float = 15.0  # seconds before the first retry
    cap: float = 7200.0  # the longest wait between two attempts
    window: timedelta = timedelta(hours=72)  # retried at least this long

    @classmethod
    def from_settings(cls, settings: Settings) -> Schedule:
        return cls(
            first=settings.webhook_backoff_seconds,
            cap=settings.webhook_backoff_max_seconds,
            window=timedelta(hours=settings.webhook_retry_hours),
        )

    def wait(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after `failures` failed attempts (≥ 1), jitter included."""
        exponent = min(max(failures, 1) - 1, 40)
        base = min(self.first * 2.0**exponent, self.cap)
        return base * (1 - JITTER + 2 * JITTER * rand())

    def next_attempt(
        self,
        created_at: datetime,
        now: datetime,
        failures: int,
        rand: Callable[[], float] = random.random,
    ) -> datetime | None:
        """When to try again after a failed attempt at `now`, or None: give up."""
        if now - created_at >= self.window:
            return None
        return now + timedelta(seconds=self.wait(failures, rand))
