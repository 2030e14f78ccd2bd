"""Per-client rate limits: token buckets shared by every gateway process through the database.

`bucket` is the arithmetic (no I/O), `claim` the one statement that takes a slice of a shared
bucket, `limiter` what a process holds and asks: `RateLimiter.admit`.
"""

from gateway.ratelimit.limiter import RateLimiter

__all__ = ["RateLimiter"]
