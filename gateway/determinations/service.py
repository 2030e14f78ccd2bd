"""Deciding a stored household's category and recording it; the yearly review in batches.

Services take a session and never commit: `lig review` commits after each batch, so a crash
loses at most the batch in flight, and a rerun picks up exactly the households still due
(a reviewed household's next review date has moved on).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import record_change
from gateway.database import AnySelect
from gateway.determinations.cases import StoredCase, stored_cases
from gateway.domain.enums import RUNNING, Category, HouseholdStatus
from gateway.domain.rules import Assessment, Standards, assess
from gateway.errors import InvalidInput, MissingStandard, NotFound
from gateway.households.queries import in_region
from gateway.models import Determination, Household
from gateway.models.base import utcnow
from gateway.monitoring import queue as comparison_queue
from gateway.principal import Principal
from gateway.standards.service import StandardRow, list_rows, pick_in_force

REVIEWED_YEARLY = frozenset({Category.MARGINAL, Category.EXPENDITURE})  # 每年复核一次
DUE_FOR_REVIEW = REVIEWED_YEARLY | {Category.LEGACY_LOW_INCOME}


def one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def due_for_review(
    before: date, *, after_id: int | None = None, limit: int = 500, region: str | None = None
) -> AnySelect:
    """MARGINAL, EXPENDITURE and LEGACY households whose review falls before `before`."""
    statement = select(Household).where(
        Household.category.in_(DUE_FOR_REVIEW),
        Household.status.in_(RUNNING),
        Household.next_review_on < before,
        *in_region(region),
    )
    if after_id is not None:
        statement = statement.where(Household.id > after_id)
    return statement.order_by(Household.id).limit(limit)


class StandardsCache:
    """Stored standards per region, read once per run; picking the figures in force is pure."""

    def __init__(self) -> None:
        self.rows: dict[str, list[StandardRow]] = {}

    async def in_force(self, session: AsyncSession, region_code: str, as_of: date) -> Standards:
        if region_code not in self.rows:
            self.rows[region_code] = await list_rows(session, region_code)
        return pick_in_force(self.rows[region_code], region_code, as_of)


@dataclass(frozen=True, slots=True)
class Decision:
    household_id: int
    before: Category
    after: Category
    outcome: str  # KEPT, CHANGED, ENDED, ADMITTED, REFUSED or CARRIED (see _apply)
    determination: dict[str, Any]  # the determinations row to insert


def _apply(
    household: Household, assessment: Assessment, as_of: date, standards: Standards, actor: str
) -> tuple[str, date | None, date | None]:
    """Update the household for the decision; answer the outcome and the validity recorded.

    Outcomes: KEPT, CHANGED or ENDED for running assistance; ADMITTED or REFUSED for a household
    with nothing running (an application, a surveyed household); CARRIED when the category was
    kept without re-determination (DIBAO, TEKUN), which changes nothing on the household.
    """
    before, after = household.category, assessment.category
    if assessment.reasons and assessment.reasons[0].rule == "precedence.current_category":
        return "CARRIED", household.valid_from, household.valid_until
    running = household.status in RUNNING and before is not Category.NONE
    household.updated_by = actor
    household.category = after
    if not running:
        if after is Category.NONE:
            # Refused: any dates were the application's, not a period of assistance.
            if household.status is HouseholdStatus.APPLYING:
                household.status = HouseholdStatus.NOT_COVERED
            household.valid_from = household.valid_until = household.next_review_on = None
            return "REFUSED", None, None
        outcome = "ADMITTED"
        household.status = HouseholdStatus.ACTIVE
        household.valid_from = as_of
    elif after is Category.NONE:
        household.status = HouseholdStatus.ENDED
        household.valid_until, household.next_review_on = as_of, None
        return "ENDED", household.valid_from, as_of
    else:
        # A suspension (verification under way) is lifted by whoever handles the warning.
        outcome = "KEPT" if after is before else "CHANGED"
        if outcome == "CHANGED" or household.valid_from is None:
            household.valid_from = as_of
    if after in REVIEWED_YEARLY:
        household.next_review_on = one_year_after(as_of)
        household.valid_until = household.next_review_on - timedelta(days=1)
    elif after is Category.LEGACY_LOW_INCOME:
        # Kept only while the transition lasts: review again the day after it ends.
        end = standards.legacy_transition_end
        household.valid_until = end
        household.next_review_on = end + timedelta(days=1) if end else None
    else:  # DIBAO and TEKUN follow their own review cycles, outside these rules.
        household.valid_until = household.next_review_on = None
    return outcome, household.valid_from, household.valid_until


def _decide(
    stored: StoredCase,
    assessment: Assessment,
    standards: Standards,
    as_of: date,
    actor: str,
) -> Decision:
    household = stored.household
    before = household.category
    outcome, valid_from, valid_until = _apply(household, assessment, as_of, standards, actor)
    determination = {
        "household_id": household.id,
        "category": assessment.category,
        "channel": household.channel,
        "decided_on": as_of,
        "decided_by": actor,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "situation_id": stored.situation_id,
        "reasons": [reason.as_json() for reason in assessment.reasons],
        "standards": dict(assessment.standards_used),
        "created_at": utcnow(),
    }
    return Decision(household.id, before, assessment.category, outcome, determination)


async def determine(
    session: AsyncSession,
    principal: Principal,
    household_id: int,
    as_of: date,
    *,
    request_id: str = "cli",
) -> Determination:
    """Assess one stored household on `as_of` from its recorded situation and record it."""
    if as_of > date.today():
        raise InvalidInput("asOf", "is in the future: a decision is taken on a day that has come")
    household = await session.get(Household, household_id)
    if household is None or not principal.covers_region(household.region_code):
        raise NotFound(f"household {household_id} not found", field="householdId")
    latest = await session.scalar(
        select(func.max(Determination.decided_on)).where(Determination.household_id == household_id)
    )
    if latest is not None and as_of < latest:
        raise InvalidInput(
            "asOf", f"is before the household's latest determination ({latest.isoformat()})"
        )
    (stored,) = await stored_cases(session, [household], as_of)
    if stored.case is None:
        reason = (
            "no current members"
            if stored.missing == "NO_MEMBERS"
            else (f"no economic situation recorded on or before {as_of.isoformat()}")
        )
        raise NotFound(f"household {household_id}: {reason}", field="householdId")
    standards = await StandardsCache().in_force(session, household.region_code, as_of)
    assessment = assess(stored.case, standards)
    decision = _decide(stored, assessment, standards, as_of, principal.client_id)
    determination = Determination(**decision.determination)
    session.add(determination)
    await session.flush()
    # A decision can settle (or raise) what the comparison rules find about the household.
    await comparison_queue.enqueue(session, [household_id])
    record_change(
        session,
        principal,
        action="household.determine",
        request_id=request_id,
        subjects={"households": [household_id], "determination": determination.id},
    )
    return determination


@dataclass
class ReviewReport:
    reviewed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    blocked: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, object]:
        return {
            "reviewed": self.reviewed,
            "kept": self.outcomes["KEPT"],
            "changed": self.outcomes["CHANGED"],
            "ended": self.outcomes["ENDED"],
            "blocked": dict(sorted(self.blocked.items())),
        }


async def review_batch(
    session: AsyncSession,
    principal: Principal,
    households: Sequence[Household],
    as_of: date,
    cache: StandardsCache,
    report: ReviewReport,
) -> None:
    """Re-assess a batch of due households and record each decision.

    A household that cannot be decided (no recorded situation, an unset figure) is left as it
    is, still due, and counted under `blocked` with the reason.
    """
    rows: list[dict[str, Any]] = []
    for stored in await stored_cases(session, households, as_of):
        if stored.case is None:
            report.blocked[stored.missing or "UNKNOWN"] += 1
            continue
        standards = await cache.in_force(session, stored.household.region_code, as_of)
        try:
            assessment = assess(stored.case, standards)
        except MissingStandard as missing:
            report.blocked[f"MISSING_STANDARD:{missing.field}"] += 1
            continue
        decision = _decide(stored, assessment, standards, as_of, principal.client_id)
        rows.append(decision.determination)
        report.reviewed += 1
        report.outcomes[decision.outcome] += 1
    await session.flush()  # the households' new states, and their history rows
    if rows:
        # One multi-row INSERT: the ORM would insert one by one to learn each new id.
        await session.execute(insert(Determination), rows)
        await comparison_queue.enqueue(session, [r["household_id"] for r in rows])
    if rows:
        record_change(
            session,
            principal,
            action="households.review",
            request_id="review",
            subjects={"households": [r["household_id"] for r in rows], "as_of": as_of.isoformat()},
            result_count=len(rows),
        )
