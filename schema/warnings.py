"""GraphQL types of the warning queue: filters, counts, the routing table and comparison runs.

The `Warning` type itself lives in schema/types.py beside `Household`, which lists them.
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from gateway.domain.enums import (
    ComparisonMode,
    HardshipType,
    Resolution,
    Severity,
    WarningKind,
    WarningStatus,
)


@strawberry.input(description="Which warnings: every condition given must hold.")
class WarningFilterInput:
    kinds: list[WarningKind] | None = None
    statuses: list[WarningStatus] | None = None
    agency: str | None = strawberry.field(default=None, description="Assigned to this agency.")
    region_code: str | None = strawberry.field(
        default=None, description="Households in this region (6- or 12-digit code)."
    )
    severities: list[Severity] | None = None
    hardship_types: list[HardshipType] | None = None
    overdue: bool | None = strawberry.field(
        default=None, description="True: open and past the due date; false: not."
    )
    household_id: strawberry.ID | None = None
    finding: str | None = strawberry.field(default=None, description="A comparison rule's id.")


@strawberry.type(description="How many warnings are in a status (under the same filter).")
class WarningCount:
    status: WarningStatus
    count: int


@strawberry.type(
    description=(
        'A route: warnings of this kind and hardship type ("*": any without its own route) '
        "go to these agencies, due in this many working days, with this severity."
    )
)
class WarningRoute:
    kind: WarningKind
    hardship_type: str
    agencies: list[str]
    due_working_days: int
    severity: Severity
    updated_at: datetime
    updated_by: str


@strawberry.input
class WarningRouteInput:
    kind: WarningKind
    hardship_type: HardshipType | None = strawberry.field(
        default=None, description="Empty: the kind's route for any hardship type."
    )
    agencies: list[str]
    due_working_days: int
    severity: Severity


@strawberry.type(description="One comparison pass (full or incremental) and what it found.")
class ComparisonRun:
    db_id: strawberry.Private[int]
    mode: ComparisonMode
    as_of: date
    started_at: datetime
    finished_at: datetime | None
    started_by: str
    households: int
    findings: int
    opened: int
    joined: int
    cleared: int
    by_rule: JSON
    skipped: JSON

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.db_id))


__all__ = [
    "ComparisonRun",
    "Resolution",
    "WarningCount",
    "WarningFilterInput",
    "WarningRoute",
    "WarningRouteInput",
]
