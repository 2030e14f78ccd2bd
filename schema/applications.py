"""GraphQL types of applications for assistance (gateway/applications)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from gateway.domain.enums import ApplicationStatus
from schema import types as t

strawberry.enum(
    ApplicationStatus,
    description=(
        "Where an application stands: APPLIED (申请) → ACCEPTED (受理) → IN_NOTICE (the town's "
        "opinion written and publicly noticed, 公示) → DECIDED (确认, by the rules engine); or "
        "WITHDRAWN."
    ),
)


@strawberry.type(
    description=(
        "An application for assistance: apply → accept (town) → town review with a public "
        "notice → county confirmation, timed in working days (the procedure limits and the "
        "working-day calendar are data). It ends in a determination by the rules engine."
    )
)
class Application:
    db_id: strawberry.Private[int]
    warning_db_id: strawberry.Private[int | None]
    status: ApplicationStatus
    applied_on: date
    accepted_on: date | None
    reviewed_on: date | None = strawberry.field(
        description="The day the town wrote its opinion (审核)."
    )
    town_opinion: str | None
    notice_from: date | None = strawberry.field(
        description="The first working day of the public notice: the one after the review."
    )
    notice_until: date | None = strawberry.field(
        description=(
            "The last working day of the minimum public notice; the county decides after it."
        )
    )
    decided_on: date | None
    due_on: date | None = strawberry.field(
        description=(
            "The deadline of the step under way: the town's opinion (after acceptance), the "
            "county's decision (during and after the notice); null when none runs."
        )
    )
    overdue: bool = strawberry.field(description="Under way and past `dueOn`.")
    note: str | None = strawberry.field(description="Why the application was withdrawn.")
    version: int = strawberry.field(
        description="Counts changes; pass it as `expectedVersion` to act only on what you read."
    )
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    household: t.Household
    determination: t.Determination | None = strawberry.field(
        description="The county's decision, with its reasons, once DECIDED."
    )

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.db_id))

    @strawberry.field(description="The NOT_COVERED warning that started it, if any.")
    def warning_id(self) -> strawberry.ID | None:
        return None if self.warning_db_id is None else strawberry.ID(str(self.warning_db_id))
