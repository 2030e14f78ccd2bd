"""GraphQL types of the audit trail (`auditEvents`, scope `audit:read`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import strawberry
from strawberry.scalars import JSON


@strawberry.enum(description="What an audit event records.")
class AuditEventKind(StrEnum):
    READ = "READ"  # a request for personal data, answered or refused
    CHANGE = "CHANGE"  # a change to the database


@strawberry.type(
    description=(
        "One entry of the append-only audit trail. `seq` and `hash` are its place in the hash "
        "chain; they are null for the few seconds until the event is sealed."
    )
)
class AuditEvent:
    db_id: strawberry.Private[int]
    at: datetime
    request_id: str
    client_id: str
    agency: str
    kind: AuditEventKind
    action: str = strawberry.field(description="The GraphQL operation or CLI command.")
    purpose: str | None
    households: list[strawberry.ID] = strawberry.field(
        description="The households the answer or change concerned."
    )
    persons: list[strawberry.ID] = strawberry.field(
        description="The people the answer or change concerned."
    )
    fields: list[str] = strawberry.field(description='The fields returned, as "Type.field".')
    subjects: JSON = strawberry.field(
        description="Everything the event names, households and persons included, as stored."
    )
    result_count: int
    outcome: str
    seq: int | None
    hash: str | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.db_id))


@strawberry.input(description="Filters for `auditEvents`; all given filters must hold.")
class AuditEventFilter:
    client_id: str | None = None
    agency: str | None = None
    kind: AuditEventKind | None = None
    action: str | None = None
    outcome: str | None = None
    from_: datetime | None = strawberry.field(
        name="from", default=None, description="Events at or after this time."
    )
    to: datetime | None = strawberry.field(default=None, description="Events before this time.")
    household_id: strawberry.ID | None = strawberry.field(
        default=None, description="Events naming this household."
    )
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Events naming this person."
    )
