"""The root Subscription type (graphql-transport-ws at /graphql; gateway/subscriptions)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers import webhooks as webhook_resolvers
from schema import webhooks as wh


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "The notices of warnings assigned to your agency (and, for a client bound to a "
            "region, about households in it), as they are written: those after "
            "`afterNoticeId` first, then each new one. Resume after the last `cursor` you "
            "received to miss nothing; dedupe on the notice id."
        )
    )
    async def warning_notices(
        self, info: strawberry.Info, after_notice_id: strawberry.ID | None = None
    ) -> AsyncGenerator[wh.WarningNotice, None]:
        async for notice in webhook_resolvers.warning_notices(info, after_notice_id):
            yield notice
