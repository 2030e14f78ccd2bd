"""The hot path of POST /graphql: an eligibility document answered by one SQL statement.

Tried before the general path (gateway/http/graphql.py) for every request once the body is
read. It answers only when everything is in order: a client's own token with a good signature,
a purpose, a document that validates against the token's schema view and compiles
(gateway/eligibility/compiled.py), valid ID numbers, and a client the statement finds in good
standing. Otherwise it returns None and the general path answers, with its errors and its audit
of the refusal: the hot path never has to say no, so it never says it differently.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
from starlette.requests import Request

from auth.bearer import BearerRefused, verified_token
from gateway.eligibility import lookup
from gateway.eligibility.compiled import Plan, plan_for
from gateway.eligibility.runner import CompiledEligibility
from gateway.errors import LigError
from gateway.http import purpose as purposes
from gateway.http.metrics import observe_operation, operation_label
from gateway.http.operations import Refused, prepare
from schema.views import view_for

log = logging.getLogger("lig.graphql")


async def answer(
    request: Request,
    rid: str,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> bytes | None:
    """The response body (JSON), or None to let the general path answer."""
    runner: CompiledEligibility | None = request.app.state.compiled_eligibility
    if runner is None:
        return None
    try:
        token = await verified_token(
            request.app.state.keys,
            request.headers.get("authorization", ""),
            str(request.base_url),
        )
        purpose = purposes.read_purpose(request.headers)
    except (BearerRefused, LigError):
        return None
    if token.username is not None or purpose is None:
        return None  # a person's token (the console), or a refusal to explain
    view = view_for(token.scopes)
    document = prepare(view, request.app.state.db.settings, query, operation_name, variables)
    if isinstance(document, Refused):
        return None
    plan = plan_for(view, document, operation_name)
    if plan is None:
        return None
    sent = _asked(plan, variables)
    if sent is None:
        return None
    try:
        numbers = lookup.validate_batch(sent, request.app.state.db.settings.max_eligibility_batch)
    except LigError:
        return None
    started = time.perf_counter()
    try:
        body = await runner.run(
            plan, token, request_id=rid, purpose=purpose, sent=sent, numbers=numbers
        )
    except (asyncpg.PostgresError, OSError) as error:
        # The statement is atomic: nothing was stored, and the general path can answer (or say
        # what is wrong with the database in its own words).
        log.warning("compiled eligibility failed [request %s]: %s", rid, error)
        return None
    if body is None:
        return None
    label = operation_label(plan.operation.name)
    observe_operation(label, "ok", time.perf_counter() - started)
    return body


def _asked(plan: Plan, variables: dict[str, Any] | None) -> list[str] | None:
    """The ID numbers as sent, when they are a list of strings (or one string: a list of one)."""
    if plan.literal is not None:
        return list(plan.literal)
    value = (variables or {}).get(plan.variable or "")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None
