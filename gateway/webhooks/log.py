"""The delivery log an agency reads, and replaying deliveries from a notice id.

Every POST is one `webhook_attempts` row; each delivery (one notice to one endpoint, one
generation) keeps its state and the outcome of its latest attempt. A replay makes new
deliveries, generation + 1, so the log keeps what happened before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import record_change
from gateway.database import AnySelect
from gateway.domain.enums import DeliveryStatus
from gateway.errors import Conflict, InvalidInput
from gateway.models import WarningNotice, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gateway.principal import Principal
from gateway.webhooks.endpoints import own, visible


def deliveries_page(
    principal: Principal,
    *,
    status: DeliveryStatus | None,
    endpoint_id: int | None,
    after_id: int | None,
    limit: int,
) -> AnySelect:
    """Deliveries of the endpoints the principal may read, newest first."""
    endpoints = visible(principal).with_only_columns(WebhookEndpoint.id).order_by(None)
    query = (
        select(
            WebhookDelivery.id,
            WebhookDelivery.endpoint_id,
            WebhookEndpoint.agency_code.label("agency"),
            WebhookDelivery.notice_id,
            WarningNotice.kind.label("notice_kind"),
            WarningNotice.warning_id,
            WebhookDelivery.generation,
            WebhookDelivery.status,
            WebhookDelivery.attempts,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.last_attempt_at,
            WebhookDelivery.last_status_code,
            WebhookDelivery.last_error,
            WebhookDelivery.delivered_at,
            WebhookDelivery.created_at,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WarningNotice, WarningNotice.id == WebhookDelivery.notice_id)
        .where(WebhookDelivery.endpoint_id.in_(endpoints.scalar_subquery()))
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if after_id is not None:
        query = query.where(WebhookDelivery.id < after_id)
    return query


def attempts_of(delivery_ids: Sequence[int]) -> AnySelect:
    """The attempts of the given deliveries, oldest first (one query for a whole page)."""
    return (
        select(
            WebhookAttempt.id,
            WebhookAttempt.delivery_id,
            WebhookAttempt.at,
            WebhookAttempt.duration_ms,
            WebhookAttempt.status_code,
            WebhookAttempt.error,
            WebhookAttempt.delivered,
        )
        .where(WebhookAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
    )


@dataclass(frozen=True, slots=True)
class Replayed:
    count: int
    first_notice_id: int | None
    last_notice_id: int | None
    more: bool  # more notices qualified than one replay makes: call again after the last


async def replay(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: int,
    *,
    from_notice_id: int,
    only_failed: bool,
    limit: int,
    request_id: str,
    now: datetime,
) -> Replayed:
    """New deliveries (generation + 1) to one of the agency's own endpoints of its notices
    from `from_notice_id` on (inclusive), in id order, at most `limit`.

    Notices with a delivery to this endpoint still pending are left out (it is on its way).
    `only_failed`: only notices the endpoint never received, whose delivery was given up.
    Without it, every notice of the agency from that id, also those made before the endpoint
    was registered.
    """
    if from_notice_id < 0:
        raise InvalidInput("fromNoticeId", "must be a notice id")
    endpoint = await own(session, principal, endpoint_id)
    if not endpoint.active:
        raise Conflict(f"webhook endpoint {endpoint_id} is deactivated", field="endpointId")

    def count(status: DeliveryStatus) -> Any:
        return func.count(case((WebhookDelivery.status == status, 1)))

    candidates = (
        select(
            WarningNotice.id,
            func.coalesce(func.max(WebhookDelivery.generation), -1).label("generation"),
        )
        .outerjoin(
            WebhookDelivery,
            (WebhookDelivery.notice_id == WarningNotice.id)
            & (WebhookDelivery.endpoint_id == endpoint.id),
        )
        .where(
            WarningNotice.agency_code == endpoint.agency_code,
            WarningNotice.id >= from_notice_id,
        )
        .group_by(WarningNotice.id)
        .having(count(DeliveryStatus.PENDING) == 0)
        .order_by(WarningNotice.id)
        .limit(limit + 1)
    )
    if only_failed:
        candidates = candidates.having(
            count(DeliveryStatus.GAVE_UP) > 0, count(DeliveryStatus.DELIVERED) == 0
        )
    found = (await session.execute(candidates)).all()
    chosen = found[:limit]
    if chosen:
        try:
            await session.execute(
                insert(WebhookDelivery),
                [
                    {
                        "endpoint_id": endpoint.id,
                        "notice_id": row.id,
                        "generation": row.generation + 1,
                        "status": DeliveryStatus.PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for row in chosen
                ],
            )
        except IntegrityError:
            raise Conflict(
                "another replay to this endpoint is under way; try again", field="endpointId"
            ) from None
    result = Replayed(
        count=len(chosen),
        first_notice_id=chosen[0].id if chosen else None,
        last_notice_id=chosen[-1].id if chosen else None,
        more=len(found) > limit,
    )
    record_change(
        session,
        principal,
        action="webhooks.replay",
        request_id=request_id,
        subjects={
            "webhook_endpoint": endpoint.id,
            "from_notice_id": from_notice_id,
            "only_failed": only_failed,
            "first_notice_id": result.first_notice_id,
            "last_notice_id": result.last_notice_id,
        },
        result_count=result.count,
    )
    return result
