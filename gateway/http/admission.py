"""Before a request's own work: whose token it is, and whether its rate limit lets it in.

Checked for /graphql and /api/v1 before anything else is read from the database, so that a
flood is refused at the cost of a signature check answered from cache (auth/tokens.py) and a
look at the caller's local share of its rate bucket (gateway/ratelimit). A request without a
valid token is let through here: the endpoint's own authentication answers it 401, audited.

Refusals for the rate limit, like those for the operation limits (gateway/http/limits.py), are
not written to the audit trail: they read nothing and name nothing, and a flood would otherwise
write a row per refused request, the very work the limits exist to spare. They are counted in
the metrics (`lig_refusals_total`) and logged at most once a minute per caller.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from starlette.requests import Request

from auth.bearer import BearerRefused, verified_token
from auth.tokens import AccessToken
from gateway.http.metrics import observe_refusal

log = logging.getLogger("lig.limits")

_LOG_EVERY_SECONDS = 60.0
_last_logged: dict[tuple[str, str], float] = {}


@dataclass(frozen=True, slots=True)
class Admission:
    token: AccessToken | None  # None: no valid token (the endpoint refuses it, 401)
    retry_after: int | None = None  # seconds: over its rate limit


async def admit(request: Request, rid: str) -> Admission:
    try:
        token = await verified_token(
            request.app.state.keys,
            request.headers.get("authorization", ""),
            str(request.base_url),
        )
    except BearerRefused:
        return Admission(None)
    wait = await request.app.state.rate_limiter.admit(token.subject, token.profile)
    if wait is None:
        return Admission(token)
    refused_cheaply("rate_limited", token.subject, rid)
    return Admission(token, max(1, math.ceil(wait)))


def refused_cheaply(reason: str, subject: str, rid: str) -> None:
    """A refusal that is counted and logged but not audited: counted in the metrics, logged at
    most once a minute per caller and reason (a flood must not flood the log either)."""
    observe_refusal(reason)
    now = time.monotonic()
    key = (reason, subject)
    if now - _last_logged.get(key, -math.inf) >= _LOG_EVERY_SECONDS:
        if len(_last_logged) > 10_000:
            _last_logged.clear()
        _last_logged[key] = now
        log.warning("%s: %s refused [request %s] (logged once a minute)", reason, subject, rid)
