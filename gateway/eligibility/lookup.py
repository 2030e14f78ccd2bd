"""The eligibility lookup, the hot path of medical-aid and education desks.

One statement per call whatever the batch size: the ID numbers go in as one array parameter on
PostgreSQL (one prepared statement for every batch size), as an IN list on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import CHAR, and_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import operators

from gateway.database import AnySelect
from gateway.domain import idnumber
from gateway.domain.enums import Category, HouseholdStatus
from gateway.domain.regions import within
from gateway.errors import InvalidInput, LimitExceeded
from gateway.models import Household, Membership, Person

# Household statuses under which the household's category is in force for other departments.
_IN_FORCE = {HouseholdStatus.ACTIVE, HouseholdStatus.SUSPENDED}


@dataclass(frozen=True, slots=True)
class EligibilityAnswer:
    id_number: str
    found: bool
    category: Category
    status: str
    valid_until: date | None


def validate_batch(id_numbers: Sequence[str], limit: int, field: str = "idNumbers") -> list[str]:
    if not id_numbers:
        raise InvalidInput(field, "give at least one ID number")
    if len(id_numbers) > limit:
        raise LimitExceeded(
            f"{field}: at most {limit} ID numbers per call, got {len(id_numbers)}", field=field
        )
    cleaned = []
    for i, raw in enumerate(id_numbers):
        try:
            cleaned.append(idnumber.validate(raw))
        except idnumber.IdNumberError as exc:
            raise InvalidInput(f"{field}[{i}]", str(exc)) from None
    return cleaned


def statement(id_numbers: Sequence[str], dialect: str) -> AnySelect:
    columns = (
        Person.id.label("person_id"),
        Person.id_number,
        Person.deceased_on,
        Household.id.label("household_id"),
        Household.region_code,
        Household.category,
        Household.status,
        Household.valid_until,
    )
    if dialect == "postgresql":
        match = operators.eq(
            Person.id_number,
            bindparam("ids", value=list(id_numbers), type_=ARRAY(CHAR(18))).any_(),
        )
    else:
        match = Person.id_number.in_(list(id_numbers))
    return (
        select(*columns)
        .select_from(Person)
        .outerjoin(
            Membership, and_(Membership.person_id == Person.id, Membership.left_on.is_(None))
        )
        .outerjoin(Household, Household.id == Membership.household_id)
        .where(match)
    )


def visible(rows: Sequence[Any], region: str | None) -> list[Any]:
    """The rows a client bound to `region` may know of: people of households in its region.

    Anyone else is answered as not found, which tells the client nothing about them.
    """
    if region is None:
        return list(rows)
    return [r for r in rows if r.region_code is not None and within(r.region_code, region)]


def answers(
    asked: Sequence[str], normalised: Sequence[str], rows: Sequence[Any]
) -> list[EligibilityAnswer]:
    """One answer per asked number, in the order asked, echoing the number as it was sent."""
    by_number = {row.id_number: row for row in rows}
    return [
        _answer(sent, by_number.get(number)) for sent, number in zip(asked, normalised, strict=True)
    ]


def _answer(number: str, row: Any) -> EligibilityAnswer:
    if row is None:
        return EligibilityAnswer(number, False, Category.NONE, "UNKNOWN", None)
    if row.deceased_on is not None:
        return EligibilityAnswer(number, True, Category.NONE, "DECEASED", None)
    if row.status is None:
        return EligibilityAnswer(number, True, Category.NONE, "NO_HOUSEHOLD", None)
    status = HouseholdStatus(row.status)
    if status in _IN_FORCE and row.category != Category.NONE:
        return EligibilityAnswer(
            number, True, Category(row.category), status.value, row.valid_until
        )
    return EligibilityAnswer(number, True, Category.NONE, status.value, None)


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))


# The same answer as `_answer`, as SQL over a row `f` of `statement`'s columns (all NULL when the
# number is unknown), for the compiled eligibility statement (gateway/eligibility/compiled.py).
# Kept beside `_answer` so the two change together; tests check they agree for every status.
_FOUND = "f.person_id IS NOT NULL"
_IN_FORCE_SQL = (
    f"({_FOUND} AND f.deceased_on IS NULL AND f.status IN ({_sql_list(_IN_FORCE)})"
    f" AND f.category <> '{Category.NONE}')"
)
SQL_ANSWER = {
    "found": _FOUND,
    "category": f"CASE WHEN {_IN_FORCE_SQL} THEN f.category ELSE '{Category.NONE}' END",
    "status": (
        f"CASE WHEN NOT {_FOUND} THEN 'UNKNOWN' WHEN f.deceased_on IS NOT NULL THEN 'DECEASED'"
        " WHEN f.status IS NULL THEN 'NO_HOUSEHOLD' ELSE f.status END"
    ),
    "validUntil": f"CASE WHEN {_IN_FORCE_SQL} THEN f.valid_until END",
}
