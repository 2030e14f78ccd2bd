"""The outbox of what each agency is told about its warnings.

A notice is written in the same transaction as the change it tells of; with it, one delivery
per active webhook endpoint of the agency (one INSERT … SELECT). The GraphQL subscription
streams the notices by id; the webhook sender (gateway/webhooks) works the deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain.enums import DeliveryStatus, NoticeKind, WarningStatus
from gateway.models import WarningNotice, WebhookDelivery, WebhookEndpoint
from gateway.models.base import utcnow


async def notify(
    session: AsyncSession,
    warning_id: int,
    agencies: Iterable[str],
    kind: NoticeKind,
    status: WarningStatus,
) -> None:
    now = utcnow()
    for agency in sorted(set(agencies)):
        notice_id = await session.scalar(
            insert(WarningNotice)
            .values(agency_code=agency, warning_id=warning_id, kind=kind, status=status, at=now)
            .returning(WarningNotice.id)
        )
        await session.execute(
            insert(WebhookDelivery).from_select(
                [
                    "endpoint_id",
                    "notice_id",
                    "generation",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                ],
                select(
                    WebhookEndpoint.id,
                    literal(notice_id),
                    literal(0),
                    literal(DeliveryStatus.PENDING.value),
                    literal(0),
                    literal(now, WebhookDelivery.next_attempt_at.type),
                    literal(now, WebhookDelivery.created_at.type),
                ).where(WebhookEndpoint.agency_code == agency, WebhookEndpoint.active.is_(True)),
            )
        )
