"""Where each kind of push is stored, what the agency's id for an item is called, and which
scope pushes it (and reads its receipts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from gateway.domain.enums import PushKind
from gateway.models import AssistanceRecord, MonitoringEvent


@dataclass(frozen=True, slots=True)
class Target:
    table: Table
    key_field: str  # the agency's own id for an item
    action: str  # the operation's name in the audit trail, whichever the transport
    scope: str  # what it takes to push this kind, and to read its receipts

    @property
    def key_column(self) -> Any:
        return self.table.c[self.key_field]


TARGETS = {
    PushKind.ASSISTANCE_RECORDS: Target(
        AssistanceRecord.__table__,  # type: ignore[arg-type]
        "agency_record_id",
        "pushAssistanceRecords",
        "assistance:write",
    ),
    PushKind.EVENTS: Target(
        MonitoringEvent.__table__,  # type: ignore[arg-type]
        "agency_event_id",
        "pushEvents",
        "feed:push",
    ),
}
