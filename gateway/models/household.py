"""Households, their members over time, and every past state of a household."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    insert,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.domain.enums import Category, Channel, HouseholdStatus, Relation, UrbanRural
from gateway.models.base import Base, BigId, Tracked, UTCDateTime, enum_column, utcnow


class Household(Tracked, Base):
    __tablename__ = "households"
    __table_args__ = (
        # The eligibility and listing paths filter by region prefix and category.
        Index("ix_households_region_category", "region_code", "category"),
        # A town's households by id: the join of a region-bound list (a town's warning queue).
        Index("ix_households_region_id", "region_code", "id"),
        Index("ix_households_next_review_on", "next_review_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    region_code: Mapped[str] = mapped_column(CHAR(12), ForeignKey("regions.code"))
    address: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    urban_rural: Mapped[UrbanRural] = mapped_column(enum_column(UrbanRural))
    former_registered_poor: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[Category] = mapped_column(enum_column(Category), default=Category.NONE)
    status: Mapped[HouseholdStatus] = mapped_column(enum_column(HouseholdStatus))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    # Incremented on every change; the matching row in household_versions holds that state.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The national system's id for the household, and the versions of its household record and
    # of its category that were last applied here (changes arrive at most once, in order).
    national_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    national_version: Mapped[int | None] = mapped_column(Integer)
    national_category_version: Mapped[int | None] = mapped_column(Integer)
    # `version` right after the last national change was applied: a higher `version` means a
    # local change since, which a national change must not silently overwrite.
    synced_version: Mapped[int | None] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


# The columns whose values make up a household's state in its history.
HOUSEHOLD_STATE_COLUMNS = (
    "code",
    "region_code",
    "address",
    "phone",
    "urban_rural",
    "former_registered_poor",
    "category",
    "status",
    "valid_from",
    "valid_until",
    "next_review_on",
    "channel",
)


class HouseholdVersion(Base):
    """Append-only: the state of a household after each change (system-versioned history)."""

    __tablename__ = "household_versions"
    __table_args__ = (UniqueConstraint("household_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(64))


def household_state(household: Household) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for column in HOUSEHOLD_STATE_COLUMNS:
        value = getattr(household, column)
        state[column] = value.isoformat() if isinstance(value, date) else value
    return state


@event.listens_for(Session, "after_flush")
def _record_household_versions(session: Session, _context: Any) -> None:
    # After the flush the version counter holds its new value and new rows have their ids. The
    # history row goes through the same connection, so it commits or rolls back with the change.
    rows = [
        {
            "household_id": obj.id,
            "version": obj.version,
            "state": household_state(obj),
            "changed_at": obj.updated_at or utcnow(),
            "changed_by": obj.updated_by,
        }
        for obj in list(session.new) + list(session.dirty)
        if isinstance(obj, Household) and (obj in session.new or session.is_modified(obj))
    ]
    if rows:
        session.connection().execute(insert(HouseholdVersion), rows)


class Membership(Base):
    """A person's membership of a household, with dates: people move between households."""

    __tablename__ = "memberships"
    __table_args__ = (
        # At most one current household per person.
        Index(
            "uq_memberships_current_person",
            "person_id",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
        Index("ix_memberships_household_current", "household_id", "left_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    relation: Mapped[Relation] = mapped_column(enum_column(Relation))
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="system")
