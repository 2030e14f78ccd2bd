"""GraphQL types of agency pushes: the items agencies send and the receipts they get back.

The same service stores a batch whichever transport it came by (gateway/pushes); a batch sent
here and the same batch sent to /api/v1 store the same rows and get the same receipt. Structural
errors (an unknown field, a wrong type, an unknown enum value) are GraphQL validation errors for
the whole request, as GraphQL requires; every other check is made item by item.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.scalars import JSON

from gateway.context import Context
from gateway.domain.enums import (
    AssistanceKind,
    AssistanceSubject,
    EventKind,
    PushKind,
    PushOutcome,
    PushTransport,
)
from gateway.errors import LimitExceeded
from gateway.pushes import receipts
from resolvers.inputs import camel
from schema.scalars import Money


@strawberry.input(description="Assistance an agency delivered (专项救助), one revision of it.")
class AssistanceRecordInput:
    agency_record_id: str = strawberry.field(
        description="The agency's own id for the record: 1 to 64 printable ASCII characters."
    )
    kind: AssistanceKind
    id_number: str = strawberry.field(
        description="The person the record is for (or, with appliesTo HOUSEHOLD, whose "
        "household it is for): an 18-character resident ID number."
    )
    amount: Money = strawberry.field(description="Yuan, at least 0, at most two decimals.")
    revision: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="1 for the first version; a correction sends a higher revision. Default 1.",
    )
    applies_to: AssistanceSubject | None = strawberry.field(
        default=strawberry.UNSET, description="PERSON (default) or HOUSEHOLD."
    )
    date: dt.date | None = strawberry.field(
        default=strawberry.UNSET,
        description="A one-day payment's date (not in the future); or give periodStart.",
    )
    period_start: dt.date | None = strawberry.field(
        default=strawberry.UNSET, description="Start of the period assisted (not in the future)."
    )
    period_end: dt.date | None = strawberry.field(
        default=strawberry.UNSET, description="End of the period; not before periodStart."
    )
    notes: str | None = strawberry.field(
        default=strawberry.UNSET, description="At most 500 characters."
    )


@strawberry.input(description="Something an agency observed about a person.")
class EventInput:
    agency_event_id: str = strawberry.field(
        description="The agency's own id for the event: 1 to 64 printable ASCII characters."
    )
    kind: EventKind
    id_number: str = strawberry.field(
        description="Whom it concerns; kept for later matching if nobody has this number yet."
    )
    occurred_on: dt.date = strawberry.field(description="When it happened; not in the future.")
    details: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "What the kind of event needs (snake_case keys, as in the REST `Event` schema of "
            "openapi/openapi.yaml), e.g. HOSPITAL_SETTLEMENT: "
            '{"out_of_pocket": 1820.5, "total_cost": 6020, "days": 12}.'
        ),
    )
    revision: int | None = strawberry.field(
        default=strawberry.UNSET, description="1 for the first version; corrections go higher."
    )


@strawberry.type
class PushCounts:
    received: int
    accepted: int
    duplicate: int
    rejected: int


@strawberry.type(description="What is wrong with one field of an item.")
class FieldProblem:
    field: str
    reason: str


@strawberry.type(description="What became of one item of a batch.")
class PushItem:
    index: int = strawberry.field(description="The item's position in the batch, from 0.")
    outcome: PushOutcome
    agency_record_id: str | None
    agency_event_id: str | None
    revision: int | None
    errors: list[FieldProblem]


# The most item outcomes one `items` page answers.
MAX_ITEMS_PAGE = 10_000


@strawberry.type(description="The receipt of a pushed batch.")
class PushReceipt:
    id: strawberry.ID
    kind: PushKind
    agency: str
    transport: PushTransport
    idempotency_key: str | None
    all_or_nothing: bool
    received_at: dt.datetime
    counts: PushCounts
    replayed: bool = strawberry.field(
        description="True when the batch had been sent before with this idempotency key: "
        "this is its first receipt, and nothing new was stored."
    )
    row: strawberry.Private[Any]

    @strawberry.field(
        description="Item outcomes in index order: `first` (at most 10,000) after index "
        "`after`; `outcome` keeps only those with that outcome."
    )
    async def items(
        self,
        info: strawberry.Info,
        outcome: PushOutcome | None = None,
        after: int = -1,
        first: int = 1000,
    ) -> list[PushItem]:
        if not 0 <= first <= MAX_ITEMS_PAGE:
            raise LimitExceeded(f"first: at most {MAX_ITEMS_PAGE}", field="first")
        context: Context = info.context
        found = await context.fetch(
            receipts.items_query(self.row, after=after, limit=first, outcome=outcome)
        )
        return [_item(receipts.item_json(self.row, r)) for r in found]


def _item(item: dict[str, Any]) -> PushItem:
    return PushItem(
        index=item["index"],
        outcome=PushOutcome(item["outcome"]),
        agency_record_id=item.get("agency_record_id"),
        agency_event_id=item.get("agency_event_id"),
        revision=item["revision"],
        errors=[
            FieldProblem(field=camel(e["field"]), reason=e["reason"])
            for e in item.get("errors") or ()
        ],
    )


def receipt(row: Any, *, replayed: bool = False) -> PushReceipt:
    return PushReceipt(
        id=strawberry.ID(row.id),
        kind=PushKind(row.kind),
        agency=row.agency_code,
        transport=PushTransport(row.transport),
        idempotency_key=row.idempotency_key,
        all_or_nothing=bool(row.all_or_nothing),
        received_at=row.received_at,
        counts=PushCounts(
            received=row.received,
            accepted=row.accepted,
            duplicate=row.duplicate,
            rejected=row.rejected,
        ),
        replayed=replayed,
        row=row,
    )
