"""What goes over the wire to and from the national system: one set of models that the client
validates with, the simulator answers with, and openapi/national-system.yaml is exported from.

Changes are whole snapshots of one entity at one version (never deltas), so a change that is
repeated, arrives out of order or is skipped cannot corrupt the state: the highest version wins.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway.domain.enums import (
    Category,
    Channel,
    DisabilityType,
    HouseholdStatus,
    Illness,
    LaborCapacity,
    Relation,
    SyncEntity,
    UrbanRural,
)
from gateway.validation import IdNumber, RegionCode

API = "/api/v1"
NationalId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HouseholdData(_Wire):
    """A household as the national system holds it (户)."""

    household_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{1,32}$")]
    region_code: RegionCode
    address: Text
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9-]{5,20}$")] | None = None
    urban_rural: UrbanRural
    former_registered_poor: bool = False


class PersonData(_Wire):
    """A person and the household they belong to now (`household_id` null: none)."""

    id_number: IdNumber
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9-]{5,20}$")] | None = None
    household_id: NationalId | None = None
    relation: Relation | None = None
    joined_on: date | None = None
    labor_capacity: LaborCapacity
    disability_type: DisabilityType | None = None
    disability_grade: Annotated[int, Field(ge=1, le=4)] | None = None
    illness: Illness = Illness.NONE
    deceased_on: date | None = None


class CategoryData(_Wire):
    """A household's standing: category, status, validity, and the decision behind it."""

    category: Category
    status: HouseholdStatus
    channel: Channel
    decided_on: date
    valid_from: date | None = None
    valid_until: date | None = None


DATA_MODELS: dict[SyncEntity, type[_Wire]] = {
    SyncEntity.HOUSEHOLD: HouseholdData,
    SyncEntity.PERSON: PersonData,
    SyncEntity.CATEGORY: CategoryData,
}


class Change(BaseModel):
    """One change: the entity's whole state at `version`. `data` is checked per entity."""

    model_config = ConfigDict(extra="forbid")

    seq: Annotated[int, Field(ge=1)]
    entity: SyncEntity
    national_id: NationalId
    version: Annotated[int, Field(ge=1)]
    changed_at: datetime
    data: dict[str, Any]


class ChangesPage(_Wire):
    """`GET /api/v1/changes?cursor=…&limit=…`: changes in `seq` order after the cursor."""

    changes: list[dict[str, Any]]
    next_cursor: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    has_more: bool
    remaining: int | None = None  # changes after this page, when the server knows


class UploadMember(_Wire):
    id_number: IdNumber
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    relation: Relation


class UploadRecord(_Wire):
    """One line of the monthly upload (NDJSON): a covered household with its members."""

    household_code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    national_id: NationalId | None = None
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    category: Category
    status: HouseholdStatus
    valid_from: date | None = None
    valid_until: date | None = None
    members: list[UploadMember]


class UploadAccepted(_Wire):
    """`POST /api/v1/uploads` answers 202 at once; the receipt comes later."""

    upload_id: str
    status: Literal["PROCESSING", "DONE"]
    records: int


class UploadReceipt(_Wire):
    """`GET /api/v1/uploads/{id}`: PROCESSING until every record has been checked."""

    upload_id: str
    month: str
    region_code: str
    status: Literal["PROCESSING", "DONE"]
    records: int
    accepted: int
    rejected: int


class UploadRejection(_Wire):
    line: int  # 1-based line of the upload
    household_code: str | None = None
    id_number: str | None = None
    code: Literal[
        "REGION_UNKNOWN", "ID_REGISTERED_ELSEWHERE", "ID_NUMBER_INVALID", "RECORD_INVALID"
    ]
    reason: str


class RejectionsPage(_Wire):
    rejections: list[UploadRejection]
    next_cursor: str | None = None


class Problem(_Wire):
    """Every error answer: a stable code and a message a person can act on."""

    code: str
    message: str
