"""What an agency is told about a notice: the notice and a summary of its warning.

No personal data: no names, ID numbers or addresses, not even the region. The agency reads the
people concerned through GraphQL (`Household.warnings`, audited like every read). The webhook
body and the subscription's `WarningNotice` carry the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, select

from gateway.database import AnySelect
from gateway.domain.enums import NoticeKind, WarningKind, WarningStatus
from gateway.models import Household, WarningNotice, WarningRecord


@dataclass(frozen=True, slots=True)
class NoticeSummary:
    notice_id: int
    notice_kind: NoticeKind
    at: datetime
    agency: str
    warning_id: int
    warning_kind: WarningKind
    status: WarningStatus  # the warning's status when the notice was written
    finding: str
    hardship_type: str | None
    severity: str
    due_on: date
    household_id: int
    region_code: str  # for the subscription's region filter; never sent

    @classmethod
    def of(cls, row: Any) -> NoticeSummary:
        return cls(
            notice_id=row.notice_id,
            notice_kind=NoticeKind(row.notice_kind),
            at=row.at,
            agency=row.agency,
            warning_id=row.warning_id,
            warning_kind=WarningKind(row.warning_kind),
            status=WarningStatus(row.status),
            finding=row.finding,
            hardship_type=None if row.hardship_type is None else str(row.hardship_type),
            severity=str(row.severity),
            due_on=row.due_on,
            household_id=row.household_id,
            region_code=row.region_code,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "notice": {
                "id": str(self.notice_id),
                "kind": self.notice_kind.value,
                "at": self.at.isoformat(),
                "agency": self.agency,
            },
            "warning": {
                "id": str(self.warning_id),
                "kind": self.warning_kind.value,
                "status": self.status.value,
                "finding": self.finding,
                "hardshipType": self.hardship_type,
                "severity": self.severity,
                "dueOn": self.due_on.isoformat(),
                "householdId": str(self.household_id),
            },
        }


def summaries(*where: ColumnElement[bool]) -> AnySelect:
    """The notices (with their warnings' summaries) that satisfy `where`, in id order."""
    return (
        select(
            WarningNotice.id.label("notice_id"),
            WarningNotice.kind.label("notice_kind"),
            WarningNotice.at,
            WarningNotice.agency_code.label("agency"),
            WarningNotice.warning_id,
            WarningRecord.kind.label("warning_kind"),
            WarningNotice.status,
            WarningRecord.finding,
            WarningRecord.hardship_type,
            WarningRecord.severity,
            WarningRecord.due_on,
            WarningRecord.household_id,
            Household.region_code,
        )
        .join(WarningRecord, WarningRecord.id == WarningNotice.warning_id)
        .join(Household, Household.id == WarningRecord.household_id)
        .where(*where)
        .order_by(WarningNotice.id)
    )


def body(summary: NoticeSummary, *, delivery_id: int, generation: int) -> bytes:
    """The webhook body: the same bytes on every attempt of a delivery."""
    document = summary.as_json()
    document["delivery"] = {"id": str(delivery_id), "generation": generation}
    return orjson.dumps(document)
