"""GraphQL types of the delivery of warnings: webhook endpoints, their delivery log, and the
notices the `warningNotices` subscription streams.

A notice names its warning by id and summary only: no personal data travels by webhook or
subscription; an agency reads the people concerned through `warning` / `Household.warnings`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from gateway.domain.enums import (
    DeliveryStatus,
    HardshipType,
    NoticeKind,
    Severity,
    WarningKind,
    WarningStatus,
)
from gateway.webhooks.payload import NoticeSummary

strawberry.enum(NoticeKind, description="What an agency is told about a warning.")
strawberry.enum(DeliveryStatus, description="Where a webhook delivery stands.")


@strawberry.type(
    description=(
        "Where an agency's warning notices are POSTed, signed with HMAC-SHA256 (see README: "
        "X-Lig-Timestamp, X-Lig-Signature, X-Lig-Delivery, X-Lig-Notice)."
    )
)
class WebhookEndpoint:
    db_id: strawberry.Private[int]
    agency: str
    url: str
    active: bool
    created_at: datetime
    created_by: str = strawberry.field(description="The client that registered it.")
    updated_at: datetime
    updated_by: str

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.db_id))


@strawberry.type(description="An endpoint and its signing secret, shown this once.")
class WebhookRegistration:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(
        description=(
            "The HMAC-SHA256 key (the whole string, as UTF-8). Shown only now: the gateway "
            "keeps it encrypted and never answers it again; rotate it if it is lost."
        )
    )


@strawberry.type(description="One POST of a delivery and what came of it.")
class WebhookAttempt:
    at: datetime
    duration_ms: int
    status_code: int | None = strawberry.field(description="The receiver's HTTP status.")
    error: str | None = strawberry.field(
        description="Why it failed: the status and the start of the answer, a timeout, a "
        "refused connection."
    )
    delivered: bool


@strawberry.type(
    description=(
        "One notice to one endpoint (a replay is another delivery, generation + 1): retried on "
        "a schedule until the receiver answers 2xx, for at least a day, then GAVE_UP."
    )
)
class WebhookDelivery:
    db_id: strawberry.Private[int]
    endpoint_id: strawberry.ID
    agency: str
    notice_id: strawberry.ID
    notice_kind: NoticeKind
    warning_id: strawberry.ID
    generation: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[WebhookAttempt] = strawberry.field(description="Every attempt, oldest first.")

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.db_id))


@strawberry.type(description="What a replay queued.")
class WebhookReplay:
    count: int = strawberry.field(description="New deliveries made (at most one call's limit).")
    first_notice_id: strawberry.ID | None
    last_notice_id: strawberry.ID | None
    more: bool = strawberry.field(
        description="More notices qualify: replay again from lastNoticeId + 1."
    )


@strawberry.type(
    description=(
        "A notice to your agency about one of its warnings, with a summary of the warning "
        "(read the people concerned through `warning`)."
    )
)
class WarningNotice:
    id: strawberry.ID = strawberry.field(description="The notice id: increasing; dedupe on it.")
    cursor: strawberry.ID = strawberry.field(
        description=(
            "Resume after this (afterNoticeId) to miss nothing: every notice of yours up to it "
            "has reached you. It may lag the id a little (on PostgreSQL a notice can commit "
            "after a later one), so a resumed stream can repeat a few notices."
        )
    )
    kind: NoticeKind
    at: datetime
    agency: str
    warning_id: strawberry.ID
    warning_kind: WarningKind
    status: WarningStatus = strawberry.field(description="The warning's status when notified.")
    finding: str
    hardship_type: HardshipType | None
    severity: Severity
    due_on: date
    household_id: strawberry.ID


def endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        db_id=row.id,
        agency=row.agency_code,
        url=row.url,
        active=row.active,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def attempt(row: Any) -> WebhookAttempt:
    return WebhookAttempt(
        at=row.at,
        duration_ms=row.duration_ms,
        status_code=row.status_code,
        error=row.error,
        delivered=row.delivered,
    )


def delivery(row: Any, attempts: list[WebhookAttempt]) -> WebhookDelivery:
    return WebhookDelivery(
        db_id=row.id,
        endpoint_id=strawberry.ID(str(row.endpoint_id)),
        agency=row.agency,
        notice_id=strawberry.ID(str(row.notice_id)),
        notice_kind=NoticeKind(row.notice_kind),
        warning_id=strawberry.ID(str(row.warning_id)),
        generation=row.generation,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
        attempt_log=attempts,
    )


def notice(summary: NoticeSummary, cursor: int) -> WarningNotice:
    return WarningNotice(
        id=strawberry.ID(str(summary.notice_id)),
        cursor=strawberry.ID(str(cursor)),
        kind=summary.notice_kind,
        at=summary.at,
        agency=summary.agency,
        warning_id=strawberry.ID(str(summary.warning_id)),
        warning_kind=summary.warning_kind,
        status=summary.status,
        finding=summary.finding,
        hardship_type=(
            HardshipType(summary.hardship_type) if summary.hardship_type is not None else None
        ),
        severity=Severity(summary.severity),
        due_on=summary.due_on,
        household_id=strawberry.ID(str(summary.household_id)),
    )
