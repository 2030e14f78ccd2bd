"""People, by resident ID number. Birth date and sex are derived from the number, never stored."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CHAR, Boolean, CheckConstraint, Date, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, validates

from gateway.domain import idnumber
from gateway.domain.enums import (
    DisabilityType,
    EmploymentStatus,
    Illness,
    LaborCapacity,
    StudentStage,
)
from gateway.models.base import Base, BigId, Tracked, enum_column


class Person(Tracked, Base):
    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("length(id_number) = 18", name="id_number_length"),
        CheckConstraint(
            "disability_grade IS NULL OR disability_grade BETWEEN 1 AND 4", name="disability_grade"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # char(18): asyncpg binds strings as varchar, which still uses this index (STACK-NOTES).
    id_number: Mapped[str] = mapped_column(CHAR(18), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    labor_capacity: Mapped[LaborCapacity] = mapped_column(enum_column(LaborCapacity))
    disability_type: Mapped[DisabilityType | None] = mapped_column(enum_column(DisabilityType))
    disability_grade: Mapped[int | None] = mapped_column(Integer)
    illness: Mapped[Illness] = mapped_column(enum_column(Illness), default=Illness.NONE)
    student_stage: Mapped[StudentStage] = mapped_column(
        enum_column(StudentStage), default=StudentStage.NONE
    )
    employment_status: Mapped[EmploymentStatus] = mapped_column(enum_column(EmploymentStatus))
    deceased_on: Mapped[date | None] = mapped_column(Date)
    # 单人保: dibao paid to this person alone (the DIRECT channel's severely disabled or ill).
    single_person_dibao: Mapped[bool] = mapped_column(Boolean, default=False)
    # A legal supporter (赡养/抚养/扶养人) able to support this person; TEKUN needs none.
    has_capable_supporter: Mapped[bool] = mapped_column(Boolean, default=True)
    # The person's ID in the national social-assistance system (金民工程人员ID), once synced.
    national_person_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Incremented on every change (as for households). `synced_version` is `version` right after
    # the last national change was applied: a higher `version` is a local change since, which a
    # national change must not silently overwrite. `national_version`: the national record's
    # version last applied.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    synced_version: Mapped[int | None] = mapped_column(Integer)
    national_version: Mapped[int | None] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}

    @validates("id_number")
    def _validate_id_number(self, _key: str, value: str) -> str:
        # Every ORM write goes through here; bulk loaders call idnumber.validate themselves.
        return idnumber.validate(value)
