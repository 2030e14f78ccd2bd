"""The outbox of what each agency is told about its warnings.

A notice is written in the same transaction as the change it tells of; with it, one delivery
per active webhook endpoint of the agency (one INSERT … SELECT). The GraphQL subscription
streams the notices by id; the webhook sender (gateway/webhooks) works the deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain.enums import DeliveryStatus, NoticeKind, WarningStatus
from gateway.models import WarningNotice, WebhookDelivery, WebhookEndpoint
from gateway.models.base import table_of, utcnow


@dataclass(frozen=True, slots=True)
class Notice:
    warning_id: int
    agency: str
    kind: NoticeKind
    status: WarningStatus


async def notify(
    session: AsyncSession,
    warning_id: int,
    agencies: Iterable[str],
    kind: NoticeKind,
    status: WarningStatus,
) -> None:
    await notify_many(
        session, [Notice(warning_id, agency, kind, status) for agency in sorted(set(agencies))]
    )


async def notify_many(session: AsyncSession, notices: Sequence[Notice]) -> None:
    """Write the notices, and their webhook deliveries, in two statements however many."""
    if not notices:
        return
    now = utcnow()
    ids = await session.scalars(
        insert(table_of(WarningNotice)).returning(
            table_of(WarningNotice).c.id, sort_by_parameter_order=True
        ),
        [
            {
                "agency_code": n.agency,
                "warning_id": n.warning_id,
                "kind": n.kind,
                "status": n.status,
                "at": now,
            }
            for n in notices
        ],
    )
    notice_ids = list(ids)
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
                WarningNotice.id,
                literal(0),
                literal(DeliveryStatus.PENDING.value),
                literal(0),
                literal(now, WebhookDelivery.next_attempt_at.type),
                literal(now, WebhookDelivery.created_at.type),
            )
            .join(WebhookEndpoint, WebhookEndpoint.agency_code == WarningNotice.agency_code)
            .where(WarningNotice.id.in_(notice_ids), WebhookEndpoint.active.is_(True)),
        )
    )
