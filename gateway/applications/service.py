"""Applying the procedure within a session: start, accept, town review, decide, withdraw.

Every function takes the caller's session and never commits (the request, or the comparison run
that opened a NOT_COVERED warning, owns the transaction). Each step is checked against the
principal's region and scopes, the application's status and the days of the steps before it,
then recorded with an audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.applications import procedure
from gateway.applications.procedure import UNDER_WAY, Limits
from gateway.audit import record_change
from gateway.determinations.service import determine
from gateway.domain.enums import ApplicationStatus, HouseholdStatus
from gateway.domain.workdays import WorkCalendar
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound
from gateway.models import Application, Household, ProcedureLimit, WarningRecord
from gateway.monitoring import queue as comparison_queue
from gateway.monitoring.calendar import load_calendar
from gateway.principal import Principal
from gateway.validation import written

A = ApplicationStatus
# A household in none of these is not running any assistance: applying changes its status.
_NOT_RUNNING = frozenset({HouseholdStatus.NOT_COVERED, HouseholdStatus.ENDED})


async def load_limits(session: AsyncSession) -> Limits:
    rows = (await session.execute(select(ProcedureLimit.step, ProcedureLimit.working_days))).all()
    return Limits.from_rows({row.step: row.working_days for row in rows})


async def _timing(session: AsyncSession) -> tuple[WorkCalendar, Limits]:
    return await load_calendar(session), await load_limits(session)


def _require(principal: Principal, action: str) -> None:
    scope = procedure.SCOPE_OF[action]
    if scope not in principal.scopes:
        raise Forbidden(f"{action} an application needs {scope}")


async def open_application(session: AsyncSession, household_id: int) -> Application | None:
    """The household's application under way, if any (there is at most one)."""
    found: Application | None = await session.scalar(
        select(Application).where(
            Application.household_id == household_id, Application.status.in_(UNDER_WAY)
        )
    )
    return found


def _applied(
    principal: Principal, household_id: int, warning_id: int | None, applied_on: date
) -> Application:
    """A new application, as its first step (申请) leaves it."""
    return Application(
        household_id=household_id,
        warning_id=warning_id,
        status=A.APPLIED,
        applied_on=applied_on,
        created_by=principal.client_id,
        updated_by=principal.client_id,
    )


async def start_application(
    session: AsyncSession,
    principal: Principal,
    household_id: int,
    *,
    applied_on: date,
    warning_id: int | None,
    request_id: str,
) -> Application:
    """Start an application for a household (申请), or answer the one already under way.

    Idempotent per household: a second start (the same NOT_COVERED warning found again, a town
    recording an application the comparison already started) answers the open application,
    linking the warning to it if it had none. A household outside assistance (NOT_COVERED,
    ENDED) becomes APPLYING. Not committed.
    """
    _require(principal, "start")
    household = await session.get(Household, household_id)
    if household is None or not principal.covers_region(household.region_code):
        raise NotFound(f"household {household_id} not found", field="householdId")
    if warning_id is not None:
        warning = await session.get(WarningRecord, warning_id)
        if warning is None or warning.household_id != household_id:
            raise InvalidInput("warningId", f"is not a warning about household {household_id}")
    existing = await open_application(session, household_id)
    if existing is None:
        procedure.check_day("appliedOn", applied_on, today=date.today(), after=None)
        # Flush the caller's pending changes first: only the new row is inside the savepoint,
        # so losing a race to another start rolls back nothing of the caller's.
        await session.flush()
        application = _applied(principal, household_id, warning_id, applied_on)
        try:
            async with session.begin_nested():
                session.add(application)
                await session.flush()
        except IntegrityError:
            # Another transaction started one meanwhile (uq_applications_household_open).
            existing = await open_application(session, household_id)
            if existing is None:
                raise
        else:
            if household.status in _NOT_RUNNING:
                household.status = HouseholdStatus.APPLYING
                household.updated_by = principal.client_id
                await session.flush()
            _audit(session, principal, "start", application, None, request_id)
            return application
    if warning_id is not None and existing.warning_id is None:
        existing.warning_id = warning_id
        existing.updated_by = principal.client_id
        await session.flush()
        _audit(session, principal, "link_warning", existing, existing.status, request_id)
    return existing


async def start_applications(
    session: AsyncSession,
    principal: Principal,
    warnings: Sequence[tuple[int, int]],
    *,
    applied_on: date,
    request_id: str,
) -> None:
    """`start_application` for many (household id, warning id) pairs at once: the comparison's
    NOT_COVERED warnings, thousands in a province pass, in a few statements instead of six each.

    The same outcome as starting them one by one in this order: a household's first warning
    starts its application (or is linked to the one under way, if that has none); its later
    ones change nothing. A start that races another (the unique index on the household's
    application under way) falls back to the one-by-one path, which settles it. Not committed.
    The warnings are the caller's own, just opened for these households: unlike
    `start_application`, which takes a warning id from outside, their ids are not read back.
    """
    if not warnings:
        return
    _require(principal, "start")
    first: dict[int, int] = {}
    for household_id, warning_id in warnings:
        first.setdefault(household_id, warning_id)
    households = {
        h.id: h
        for h in await session.scalars(select(Household).where(Household.id.in_(list(first))))
    }
    for household_id in first:
        household = households.get(household_id)
        if household is None or not principal.covers_region(household.region_code):
            raise NotFound(f"household {household_id} not found", field="householdId")
    under_way = {
        a.household_id: a
        for a in await session.scalars(
            select(Application).where(
                Application.household_id.in_(list(first)), Application.status.in_(UNDER_WAY)
            )
        )
    }
    procedure.check_day("appliedOn", applied_on, today=date.today(), after=None)
    # As in start_application: the caller's changes are flushed outside the savepoint.
    await session.flush()
    fresh = [
        _applied(principal, household_id, warning_id, applied_on)
        for household_id, warning_id in first.items()
        if household_id not in under_way
    ]
    try:
        async with session.begin_nested():
            session.add_all(fresh)
            await session.flush()
    except IntegrityError:
        # Someone started one of them meanwhile; the rows above were rolled back with the
        # savepoint, and the one-by-one path finds what is under way now.
        for household_id, warning_id in first.items():
            await start_application(
                session,
                principal,
                household_id,
                applied_on=applied_on,
                warning_id=warning_id,
                request_id=request_id,
            )
        return
    for application in fresh:
        household = households[application.household_id]
        if household.status in _NOT_RUNNING:
            household.status = HouseholdStatus.APPLYING
            household.updated_by = principal.client_id
        _audit(session, principal, "start", application, None, request_id)
    for household_id, warning_id in first.items():
        existing = under_way.get(household_id)
        if existing is not None and existing.warning_id is None:
            existing.warning_id = warning_id
            existing.updated_by = principal.client_id
            _audit(session, principal, "link_warning", existing, existing.status, request_id)
    await session.flush()


async def _for_action(
    session: AsyncSession,
    principal: Principal,
    application_id: int,
    action: str,
    expected_version: int | None,
) -> tuple[Application, Household]:
    application = await session.get(Application, application_id, with_for_update=True)
    household = await session.get(Household, application.household_id) if application else None
    if (
        application is None
        or household is None
        or not principal.covers_region(household.region_code)
    ):
        # The same answer as for an application that does not exist: ids are not to be probed.
        raise NotFound(f"application {application_id} not found", field="id")
    _require(principal, action)
    if expected_version is not None and expected_version != application.version:
        raise Conflict(
            f"application {application_id} changed since you read it (version "
            f"{application.version}, you had {expected_version}); reload it and try again",
            field="expectedVersion",
        )
    if not procedure.allowed(action, application.status):
        raise Conflict(
            f"application {application_id} is {application.status.value}: it cannot be "
            f"{action}ed from there",
            field="id",
        )
    return application, household


def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    application: Application,
    before: ApplicationStatus | None,
    request_id: str,
    **more: object,
) -> None:
    record_change(
        session,
        principal,
        action=f"application.{action}",
        request_id=request_id,
        subjects={
            "application": application.id,
            "households": [application.household_id],
            "warning": application.warning_id,
            "from": before.value if before else None,
            "to": application.status.value,
            "due_on": application.due_on.isoformat() if application.due_on else None,
            **more,
        },
    )


async def accept_application(
    session: AsyncSession,
    principal: Principal,
    application_id: int,
    *,
    accepted_on: date,
    request_id: str,
    expected_version: int | None = None,
) -> Application:
    """受理: the town accepts the application; its written opinion is now due."""
    application, _ = await _for_action(
        session, principal, application_id, "accept", expected_version
    )
    procedure.check_day(
        "acceptedOn",
        accepted_on,
        today=date.today(),
        after=("application", application.applied_on),
    )
    calendar, limits = await _timing(session)
    before = application.status
    application.status = A.ACCEPTED
    application.accepted_on = accepted_on
    application.due_on = procedure.review_due(calendar, limits, accepted_on)
    application.updated_by = principal.client_id
    await session.flush()
    _audit(session, principal, "accept", application, before, request_id)
    return application


async def record_town_review(
    session: AsyncSession,
    principal: Principal,
    application_id: int,
    *,
    opinion: str,
    reviewed_on: date,
    request_id: str,
    expected_version: int | None = None,
) -> Application:
    """审核: the town's written opinion, publicly noticed from the next working day."""
    application, _ = await _for_action(
        session, principal, application_id, "review", expected_version
    )
    text = written("opinion", opinion)
    assert application.accepted_on is not None  # ACCEPTED has its day
    procedure.check_day(
        "reviewedOn", reviewed_on, today=date.today(), after=("acceptance", application.accepted_on)
    )
    calendar, limits = await _timing(session)
    notice = procedure.notice(calendar, limits, reviewed_on)
    before = application.status
    late = application.due_on is not None and reviewed_on > application.due_on
    application.status = A.IN_NOTICE
    application.reviewed_on = reviewed_on
    application.town_opinion = text
    application.notice_from = notice.start
    application.notice_until = notice.until
    application.due_on = notice.confirmation_due
    application.updated_by = principal.client_id
    await session.flush()
    _audit(session, principal, "review", application, before, request_id, late=late)
    return application


async def decide_application(
    session: AsyncSession,
    principal: Principal,
    application_id: int,
    *,
    decided_on: date,
    request_id: str,
    expected_version: int | None = None,
) -> Application:
    """确认: once the notice has run its full minimum, the county decides by the rules engine
    (a determination with its reasons, on the household's recorded economic situation)."""
    application, household = await _for_action(
        session, principal, application_id, "decide", expected_version
    )
    assert application.notice_until is not None  # IN_NOTICE has its notice
    procedure.check_day("decidedOn", decided_on, today=date.today(), after=None)
    first = procedure.first_decision_day(application.notice_until)
    if decided_on < first:
        raise InvalidInput(
            "decidedOn",
            f"the public notice runs until {application.notice_until.isoformat()} (at least "
            f"its minimum of working days): decide on {first.isoformat()} or later",
        )
    try:
        determination = await determine(
            session, principal, household.id, decided_on, request_id=request_id
        )
    except InvalidInput as error:
        if error.field == "asOf":
            raise InvalidInput("decidedOn", error.reason) from None
        raise
    except NotFound as missing:
        # The household is there (checked above): what is missing is its economic situation.
        raise Conflict(
            f"application {application_id} cannot be decided yet: {missing.message}; record "
            "the household's economic situation first",
            field="id",
        ) from None
    before = application.status
    application.status = A.DECIDED
    application.decided_on = decided_on
    application.determination_id = determination.id
    application.due_on = None
    application.updated_by = principal.client_id
    await session.flush()
    _audit(
        session,
        principal,
        "decide",
        application,
        before,
        request_id,
        determination=determination.id,
        category=determination.category.value,
    )
    return application


async def withdraw_application(
    session: AsyncSession,
    principal: Principal,
    application_id: int,
    *,
    reason: str,
    request_id: str,
    expected_version: int | None = None,
) -> Application:
    """Withdrawn by the household, or not accepted by the town: the reason is kept in `note`.

    A household that was APPLYING is no longer: it becomes NOT_COVERED, as a refused
    application leaves it (gateway/determinations/service.py)."""
    application, household = await _for_action(
        session, principal, application_id, "withdraw", expected_version
    )
    text = written("reason", reason)
    before = application.status
    application.status = A.WITHDRAWN
    application.note = text
    application.due_on = None
    application.updated_by = principal.client_id
    if household.status is HouseholdStatus.APPLYING:
        household.status = HouseholdStatus.NOT_COVERED
        household.updated_by = principal.client_id
    await session.flush()
    # Back outside assistance: what the comparison rules find about it may have changed.
    await comparison_queue.enqueue(session, [household.id])
    _audit(session, principal, "withdraw", application, before, request_id)
    return application


__all__ = [
    "accept_application",
    "decide_application",
    "load_limits",
    "open_application",
    "record_town_review",
    "start_application",
    "start_applications",
    "withdraw_application",
]
