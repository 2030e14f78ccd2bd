"""Recording the households' verification authorisations (核对授权书), and who lacks a valid one.

An answer is appended, never overwritten: a renewal is a new row, a refusal (`granted` false) is
a row too (the conduct exclusion "refused_authorisation" of DOMAIN.md, which the rules apply from
then on: gateway/determinations/cases.py), and a withdrawal only sets `withdrawn_on`. Each change
is audited and queues the household for the comparison rules, whose economic comparisons run
only under a valid authorisation (gateway/domain/authorisations.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.audit import record_change
from gateway.database import AnySelect
from gateway.domain.authorisations import AuthorisationFacts, latest, valid_on
from gateway.domain.enums import RUNNING, Category
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.households.queries import in_region, region_prefix_condition
from gateway.models import Household, VerificationAuthorisation
from gateway.monitoring import queue as comparison_queue
from gateway.principal import Principal

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MissingReason(StrEnum):
    """Why a covered household has no valid authorisation on a day."""

    NONE_ON_RECORD = "NONE_ON_RECORD"  # no answer signed on or before the day
    REFUSED = "REFUSED"  # its latest answer was a refusal
    EXPIRED = "EXPIRED"  # its latest authorisation ran out
    WITHDRAWN = "WITHDRAWN"  # its latest authorisation was withdrawn


def facts(row: Any) -> AuthorisationFacts:
    """The facts of a stored answer (an ORM row or a row of `of_households`)."""
    return AuthorisationFacts(row.granted, row.signed_on, row.valid_until, row.withdrawn_on, row.id)


def missing_reason(records: Iterable[AuthorisationFacts], day: date) -> MissingReason | None:
    """None when an authorisation is valid on `day`; otherwise why not (pure)."""
    records = list(records)
    if valid_on(records, day):
        return None
    answer = latest(records, day)
    if answer is None:
        return MissingReason.NONE_ON_RECORD
    if not answer.granted:
        return MissingReason.REFUSED
    if answer.withdrawn_on is not None and answer.withdrawn_on <= day:
        return MissingReason.WITHDRAWN
    return MissingReason.EXPIRED


@dataclass(frozen=True, slots=True)
class AuthorisationIn:
    household_id: int
    granted: bool
    signed_on: date
    signed_by: str
    document_ref: str | None
    valid_until: date | None


def _check(answer: AuthorisationIn, today: date, prefix: str) -> None:
    problems: list[tuple[str, str]] = []
    if answer.signed_on > today:
        problems.append((f"{prefix}signedOn", "is in the future"))
    signer = answer.signed_by.strip()
    if not signer:
        problems.append((f"{prefix}signedBy", "must not be empty"))
    elif len(signer) > 64 or _CONTROL.search(signer):
        problems.append((f"{prefix}signedBy", "at most 64 characters, no control characters"))
    ref = answer.document_ref
    if ref is not None and (not ref.strip() or len(ref) > 128 or _CONTROL.search(ref)):
        problems.append(
            (f"{prefix}documentRef", "1 to 128 characters, no control characters, or null")
        )
    if answer.valid_until is not None:
        if not answer.granted:
            problems.append((f"{prefix}validUntil", "a refusal has no validity: send null"))
        elif answer.valid_until < answer.signed_on:
            problems.append((f"{prefix}validUntil", "is before signedOn"))
    if problems:
        raise InvalidInput.many(problems)


async def _household(
    session: AsyncSession, principal: Principal, household_id: int, field: str
) -> Household:
    household = await session.get(Household, household_id)
    if household is None or not principal.covers_region(household.region_code):
        raise NotFound(f"household {household_id} not found", field=field)
    return household


async def record_authorisation(
    session: AsyncSession,
    principal: Principal,
    answer: AuthorisationIn,
    *,
    today: date,
    request_id: str,
    prefix: str = "input.",
) -> VerificationAuthorisation:
    _check(answer, today, prefix)
    household = await _household(session, principal, answer.household_id, f"{prefix}householdId")
    row = VerificationAuthorisation(
        household_id=household.id,
        granted=answer.granted,
        signed_on=answer.signed_on,
        signed_by=answer.signed_by.strip(),
        document_ref=answer.document_ref.strip() if answer.document_ref else None,
        valid_until=answer.valid_until,
        withdrawn_on=None,
        created_by=principal.client_id,
    )
    session.add(row)
    await session.flush()
    await comparison_queue.enqueue(session, [household.id])
    record_change(
        session,
        principal,
        action="household.authorisation" if answer.granted else "household.authorisation_refused",
        request_id=request_id,
        subjects={"households": [household.id], "authorisation": row.id},
    )
    return row


async def withdraw_authorisation(
    session: AsyncSession,
    principal: Principal,
    authorisation_id: int,
    on: date,
    *,
    today: date,
    request_id: str,
) -> VerificationAuthorisation:
    row = await session.get(VerificationAuthorisation, authorisation_id)
    if row is None:
        raise NotFound(f"authorisation {authorisation_id} not found", field="id")
    await _household(session, principal, row.household_id, "id")
    if not row.granted:
        raise InvalidInput("id", "is a refusal: there is nothing to withdraw")
    if row.withdrawn_on is not None:
        raise Conflict(
            f"authorisation {authorisation_id} was withdrawn on {row.withdrawn_on.isoformat()}",
            field="id",
        )
    if on > today:
        raise InvalidInput("on", "is in the future")
    if on < row.signed_on:
        raise InvalidInput("on", f"is before the authorisation was signed ({row.signed_on})")
    row.withdrawn_on = on
    await session.flush()
    await comparison_queue.enqueue(session, [row.household_id])
    record_change(
        session,
        principal,
        action="household.authorisation_withdrawn",
        request_id=request_id,
        subjects={
            "households": [row.household_id],
            "authorisation": row.id,
            "withdrawn_on": on.isoformat(),
        },
    )
    return row


def valid_authorisation(on: date) -> ColumnElement[bool]:
    """The condition "the household's answer in force on `on` is a valid grant" (as `valid_on`):
    a grant valid on the day, with no later answer (a refusal, a renewal) signed by then."""
    grant = aliased(VerificationAuthorisation)
    later = aliased(VerificationAuthorisation)
    return (
        select(grant.id)
        .where(
            grant.household_id == Household.id,
            grant.granted.is_(True),
            grant.signed_on <= on,
            grant.valid_until.is_(None) | (grant.valid_until >= on),
            grant.withdrawn_on.is_(None) | (grant.withdrawn_on > on),
            ~select(later.id)
            .where(
                later.household_id == grant.household_id,
                later.signed_on <= on,
                (later.signed_on > grant.signed_on)
                | ((later.signed_on == grant.signed_on) & (later.id > grant.id)),
            )
            .exists(),
        )
        .exists()
    )


def missing_page(
    region_prefix: str,
    on: date,
    *,
    after_id: int | None,
    limit: int,
    region: str | None = None,
    field: str = "regionCode",
) -> AnySelect:
    """Covered households (assistance running) of the region without a valid authorisation on
    `on`, in id order."""
    conditions = [
        region_prefix_condition(region_prefix, field),
        *in_region(region),
        Household.category != Category.NONE,
        Household.status.in_(RUNNING),
        ~valid_authorisation(on),
    ]
    if after_id is not None:
        conditions.append(Household.id > after_id)
    return select(Household).where(*conditions).order_by(Household.id).limit(limit)


def of_households(household_ids: Iterable[int]) -> AnySelect:
    """Every answer of the households (for a page: one statement)."""
    return (
        select(VerificationAuthorisation)
        .where(VerificationAuthorisation.household_id.in_(list(household_ids)))
        .order_by(VerificationAuthorisation.household_id, VerificationAuthorisation.id)
    )
