"""Webhooks and the warningNotices subscription: thin resolvers over gateway/webhooks and
gateway/subscriptions. Each mutation is its own unit of work (the request's edge)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator

import strawberry

from gateway.context import Context
from gateway.domain.enums import DeliveryStatus
from gateway.errors import Forbidden, InvalidInput
from gateway.models.base import utcnow
from gateway.subscriptions.context import SubscriptionContext
from gateway.webhooks import endpoints as service
from gateway.webhooks import log
from resolvers.inputs import parse_row_id
from resolvers.loaders import connection
from resolvers.pagination import decode_cursor, page_size
from resolvers.work import unit_of_work
from schema import types as t
from schema import webhooks as w


def _id(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    # 0 is an id here: afterNoticeId 0 is "from the first notice".
    parsed = 0 if str(value) == "0" else parse_row_id(str(value))
    if parsed is None:
        raise InvalidInput(field, "is not an id")
    return parsed


def _required_id(value: str, field: str) -> int:
    parsed = _id(value, field)
    assert parsed is not None
    return parsed


async def webhook_endpoints(info: strawberry.Info) -> list[w.WebhookEndpoint]:
    ctx: Context = info.context
    return [w.endpoint(row) for row in await ctx.fetch(service.visible(ctx.principal))]


async def webhook_deliveries(
    info: strawberry.Info,
    status: DeliveryStatus | None = None,
    endpoint_id: strawberry.ID | None = None,
    first: int | None = None,
    after: str | None = None,
) -> t.Connection[w.WebhookDelivery]:
    ctx: Context = info.context
    size = page_size(first, ctx.db.settings)
    found = await ctx.fetch(
        log.deliveries_page(
            ctx.principal,
            status=status,
            endpoint_id=_id(endpoint_id, "endpointId"),
            after_id=decode_cursor("deliveries", after),
            limit=size + 1,
        )
    )
    attempts: dict[int, list[w.WebhookAttempt]] = defaultdict(list)
    if found:
        for row in await ctx.fetch(log.attempts_of([r.id for r in found[:size]])):
            attempts[row.delivery_id].append(w.attempt(row))
    return connection("deliveries", found, size, lambda row: w.delivery(row, attempts[row.id]))


async def register_webhook(info: strawberry.Info, url: str) -> w.WebhookRegistration:
    ctx: Context = info.context
    async with unit_of_work(ctx) as session:
        made = await service.register(
            session, ctx.principal, url, ctx.db.settings, request_id=ctx.request_id, now=utcnow()
        )
    return w.WebhookRegistration(endpoint=w.endpoint(made.endpoint), secret=made.secret)


async def rotate_webhook_secret(info: strawberry.Info, id: strawberry.ID) -> w.WebhookRegistration:
    ctx: Context = info.context
    async with unit_of_work(ctx) as session:
        made = await service.rotate_secret(
            session,
            ctx.principal,
            _required_id(id, "id"),
            ctx.db.settings,
            request_id=ctx.request_id,
            now=utcnow(),
        )
    return w.WebhookRegistration(endpoint=w.endpoint(made.endpoint), secret=made.secret)


async def deactivate_webhook(info: strawberry.Info, id: strawberry.ID) -> w.WebhookEndpoint:
    ctx: Context = info.context
    async with unit_of_work(ctx) as session:
        endpoint = await service.deactivate(
            session, ctx.principal, _required_id(id, "id"), request_id=ctx.request_id, now=utcnow()
        )
    return w.endpoint(endpoint)


async def replay_webhook_deliveries(
    info: strawberry.Info,
    endpoint_id: strawberry.ID,
    from_notice_id: strawberry.ID,
    only_failed: bool = False,
) -> w.WebhookReplay:
    ctx: Context = info.context
    async with unit_of_work(ctx) as session:
        done = await log.replay(
            session,
            ctx.principal,
            _required_id(endpoint_id, "endpointId"),
            from_notice_id=_required_id(from_notice_id, "fromNoticeId"),
            only_failed=only_failed,
            limit=ctx.db.settings.webhook_replay_max,
            request_id=ctx.request_id,
            now=utcnow(),
        )
    return w.WebhookReplay(
        count=done.count,
        first_notice_id=None
        if done.first_notice_id is None
        else strawberry.ID(str(done.first_notice_id)),
        last_notice_id=None
        if done.last_notice_id is None
        else strawberry.ID(str(done.last_notice_id)),
        more=done.more,
    )


async def warning_notices(
    info: strawberry.Info, after_notice_id: strawberry.ID | None = None
) -> AsyncGenerator[w.WarningNotice, None]:
    ctx = info.context
    if not isinstance(ctx, SubscriptionContext) or ctx.hub is None:
        raise Forbidden("subscriptions run over a websocket (graphql-transport-ws at /graphql)")
    after = _id(after_notice_id, "afterNoticeId")
    async for summary, cursor in ctx.hub.stream(ctx.principal, after):
        yield w.notice(summary, cursor)
