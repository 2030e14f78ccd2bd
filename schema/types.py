"""GraphQL object types. They hold plain values; nested lists resolve through the request's
dataloaders (`info.context.loaders`), so a page costs a constant number of statements."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Generic, TypeVar

import strawberry
from strawberry.scalars import JSON

from gateway.domain import idnumber
from gateway.domain.enums import (
    AssistanceKind,
    AssistanceSubject,
    Category,
    Channel,
    DisabilityType,
    EmploymentStatus,
    EventKind,
    HardshipType,
    HouseholdStatus,
    Illness,
    LaborCapacity,
    RecordSource,
    RegionLevel,
    Relation,
    Resolution,
    Severity,
    StudentStage,
    UrbanRural,
    WarningKind,
    WarningStatus,
)
from schema.enums import EligibilityStatus, Sex
from schema.scalars import Money

if TYPE_CHECKING:
    from gateway.context import Context
    from schema.fieldwork import Authorisation, Visit

N = TypeVar("N")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type(description="A page of results; pass `pageInfo.endCursor` as `after` for more.")
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[N]:
        return [edge.node for edge in self.edges]


def _ctx(info: strawberry.Info) -> Context:
    return info.context  # type: ignore[no-any-return]


@strawberry.type(description="An administrative region by its 12-digit statistical division code.")
class Region:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


@strawberry.type(description="A person, by resident ID number. Birth date and sex come from it.")
class Person:
    db_id: strawberry.Private[int]
    id_number: str
    name: str
    phone: str | None
    labor_capacity: LaborCapacity
    disability_type: DisabilityType | None
    disability_grade: int | None
    illness: Illness
    student_stage: StudentStage
    employment_status: EmploymentStatus
    deceased_on: date | None
    national_person_id: str | None

    @strawberry.field
    def birth_date(self) -> date:
        return idnumber.birth_date(self.id_number)

    @strawberry.field
    def sex(self) -> Sex:
        return Sex(idnumber.sex(self.id_number))

    @strawberry.field(description="Age in whole years today.")
    def age(self) -> int:
        return idnumber.age_on(self.id_number, date.today())

    @strawberry.field(
        description=(
            "Age in whole years on a given date. (A client without `household:pii` has only "
            "`age`: ages on chosen days would give away the birth date.)"
        )
    )
    def age_on(self, on: date) -> int:
        return idnumber.age_on(self.id_number, on)

    @strawberry.field(description="The household the person currently belongs to, if any.")
    async def household(self, info: strawberry.Info) -> Household | None:
        return await _ctx(info).loaders.household_of_person.load(self.db_id)  # type: ignore[no-any-return]


@strawberry.type(description="A person's membership of a household, with dates.")
class Member:
    db_id: strawberry.Private[int]
    relation: Relation
    joined_on: date
    left_on: date | None
    person: Person


@strawberry.type(description="A category decision on a household, with its rule-by-rule reasons.")
class Determination:
    db_id: strawberry.Private[int]
    category: Category
    channel: Channel
    decided_on: date
    decided_by: str
    valid_from: date | None
    valid_until: date | None
    reasons: JSON
    standards: JSON


@strawberry.type(description="Specific assistance delivered by an agency (one revision of it).")
class AssistanceRecord:
    db_id: strawberry.Private[int]
    agency: str
    agency_record_id: str
    revision: int
    current: bool = strawberry.field(description="Whether this is the record's latest revision.")
    kind: AssistanceKind
    applies_to: AssistanceSubject
    amount: Money
    period_start: date
    period_end: date | None
    id_number: str = strawberry.field(
        description="The person the record names (for a household's record, its applicant)."
    )
    person_id_number: str | None = strawberry.field(
        description="The member the record is for; null for a household's record."
    )
    notes: str | None
    source: RecordSource
    received_at: datetime


@strawberry.type(description="Something an agency observed about a person.")
class MonitoringEvent:
    db_id: strawberry.Private[int]
    kind: EventKind
    agency: str
    agency_event_id: str
    revision: int
    current: bool = strawberry.field(description="Whether this is the event's latest revision.")
    id_number: str
    occurred_on: date
    details: JSON
    source: RecordSource
    received_at: datetime


@strawberry.type(description="A warning from data comparison, routed to the agencies responsible.")
class Warning:
    db_id: strawberry.Private[int]
    household_id: strawberry.Private[int]
    subject_ids: strawberry.Private[list[int]]
    kind: WarningKind
    finding: str = strawberry.field(
        description="What was found: the id of the comparison rule that found it."
    )
    hardship_type: HardshipType | None
    severity: Severity
    status: WarningStatus
    due_on: date
    evidence: JSON
    resolution: Resolution | None
    resolution_note: str | None
    last_found_on: date | None = strawberry.field(
        description="The day of the latest comparison that still found it."
    )
    version: int = strawberry.field(
        description="Counts changes; give it back to act on the warning as you saw it."
    )
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.db_id))

    @strawberry.field(description="Past the due date while still open.")
    def overdue(self) -> bool:
        from gateway.domain.enums import OPEN_WARNING_STATUSES

        return self.status in OPEN_WARNING_STATUSES and self.due_on < date.today()

    @strawberry.field(description="The comparison rule: what it checks and the clause it cites.")
    def rule(self) -> WarningRule | None:
        from resolvers.warnings import rule_of

        return rule_of(self.finding)

    @strawberry.field(description="The agencies the warning is assigned to.")
    async def agencies(self, info: strawberry.Info) -> list[str]:
        from resolvers.warnings import agencies_of

        return await agencies_of(info, self.db_id)

    @strawberry.field(
        description=(
            "The people the finding names. Shown whole to the agencies the warning is assigned "
            "to while it is open (they cannot act otherwise), and to clients with "
            "household:pii in the household's region; masked to anyone else."
        )
    )
    async def subjects(self, info: strawberry.Info) -> list[WarningSubject]:
        from resolvers.warnings import subjects_of

        return await subjects_of(info, self)

    @strawberry.field(description="The household, as far as your scopes and region allow.")
    async def household(self, info: strawberry.Info) -> Household | None:
        from resolvers.warnings import household_of

        return await household_of(info, self.household_id)

    @strawberry.field(description="Every status change, oldest first.")
    async def history(self, info: strawberry.Info) -> list[WarningTransition]:
        from resolvers.warnings import history_of

        return await history_of(info, self.db_id)


@strawberry.type(description="A comparison rule (比对规则), as implemented.")
class WarningRule:
    id: str
    kind: WarningKind
    clause: str = strawberry.field(description="The policy clause it implements.")
    summary: str
    needs_authorisation: bool = strawberry.field(
        description="Compares economic data: runs only under a valid verification authorisation."
    )


@strawberry.type(description="A person a warning names.")
class WarningSubject:
    name: str
    id_number: str
    phone: str | None
    address: str | None
    masked: bool = strawberry.field(description="True when shown masked (no right to see whole).")


@strawberry.type(description="One status change of a warning.")
class WarningTransition:
    from_status: WarningStatus | None
    to_status: WarningStatus
    at: datetime
    by: str
    note: str | None


@strawberry.type(description="The state of a household after one change.")
class HouseholdVersion:
    version: int
    changed_at: datetime
    changed_by: str
    state: JSON


@strawberry.type(description="A household (户) in the low-income population database.")
class Household:
    db_id: strawberry.Private[int]
    region_code_value: strawberry.Private[str]
    code: str
    address: str
    phone: str | None
    urban_rural: UrbanRural
    former_registered_poor: bool
    category: Category
    status: HouseholdStatus
    valid_from: date | None
    valid_until: date | None
    next_review_on: date | None
    channel: Channel
    version: int
    updated_at: datetime
    updated_by: str

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.db_id))

    @strawberry.field
    async def region(self, info: strawberry.Info) -> Region:
        return await _ctx(info).loaders.region.load(self.region_code_value)  # type: ignore[no-any-return]

    @strawberry.field(description="Members, current ones only unless `includeFormer`.")
    async def members(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        include_former: bool = False,
    ) -> Connection[Member]:
        loaders = _ctx(info).loaders
        return await loaders.page("members", self.db_id, first, after, include_former)  # type: ignore[no-any-return]

    @strawberry.field(description="Category decisions, newest first.")
    async def determinations(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Determination]:
        return await _ctx(info).loaders.page("determinations", self.db_id, first, after)  # type: ignore[no-any-return]

    @strawberry.field(
        description=(
            "Assistance records, newest first; latest revisions only unless `includeRevisions`."
        )
    )
    async def assistance_records(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        include_revisions: bool = False,
    ) -> Connection[AssistanceRecord]:
        loaders = _ctx(info).loaders
        return await loaders.page("records", self.db_id, first, after, include_revisions)  # type: ignore[no-any-return]

    @strawberry.field(
        description=(
            "Monitoring events about members, newest first; latest revisions only unless "
            "`includeRevisions`."
        )
    )
    async def events(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        include_revisions: bool = False,
    ) -> Connection[MonitoringEvent]:
        loaders = _ctx(info).loaders
        return await loaders.page("events", self.db_id, first, after, include_revisions)  # type: ignore[no-any-return]

    @strawberry.field(description="Warnings about the household, newest first.")
    async def warnings(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Warning]:
        return await _ctx(info).loaders.page("warnings", self.db_id, first, after)  # type: ignore[no-any-return]

    @strawberry.field(description="Every past state of the household, newest first.")
    async def history(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[HouseholdVersion]:
        return await _ctx(info).loaders.page("history", self.db_id, first, after)  # type: ignore[no-any-return]

    @strawberry.field(description="Home visits to the household, newest first.")
    async def visits(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Visit, strawberry.lazy("schema.fieldwork")]]:
        return await _ctx(info).loaders.page("visits", self.db_id, first, after)  # type: ignore[no-any-return]

    @strawberry.field(
        description="Answers on the verification authorisation (核对授权书), newest first."
    )
    async def authorisations(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Authorisation, strawberry.lazy("schema.fieldwork")]]:
        return await _ctx(info).loaders.page("authorisations", self.db_id, first, after)  # type: ignore[no-any-return]


@strawberry.type(
    description="Whether a person is in a low-income household, and in which category."
)
class Eligibility:
    id_number: str
    found: bool
    category: Category
    status: EligibilityStatus
    valid_until: date | None


@strawberry.input(description="Filters for `households`; all given filters must hold.")
class HouseholdFilter:
    region_prefix: str | None = strawberry.field(
        default=None, description="Leading digits of the 12-digit region code, e.g. 320681."
    )
    category: Category | None = None
    status: HouseholdStatus | None = None
    review_due_before: date | None = None
    former_registered_poor: bool | None = None


@strawberry.type(description="The client making this request, as the gateway sees it.")
class Caller:
    client_id: str
    agency: str
    scopes: list[str] = strawberry.field(description="The scopes of this token, sorted.")
    region_code: str | None = strawberry.field(
        description="The region the client is bound to (12 digits); null for every region."
    )
