"""Applications for assistance (issue 7, point 5) through GraphQL over HTTP, on the demo county:
apply → accept → town review with its public notice → county decision by the rules engine, timed
in working days from the seeded procedure limits and calendar."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from typing import Any

from gateway.applications import procedure, start_application
from gateway.applications.service import start_applications
from gateway.domain.enums import ApplicationStatus, Severity, WarningKind, WarningStatus
from gateway.domain.workdays import WorkCalendar
from gateway.models import Application, WarningRecord
from gateway.principal import LOCAL_OPERATOR
from tests.conftest import Api
from tests.support.sql import sql

HUILONG = "320681100000"  # 汇龙镇
BEIXIN = "320681101000"  # 北新镇

FIELDS = """id status appliedOn acceptedOn reviewedOn townOpinion noticeFrom noticeUntil
  decidedOn dueOn overdue note version warningId household { id status category }
  determination { category decidedOn reasons }"""
START = f"""mutation($h: ID!, $on: Date) {{
  startApplication(householdId: $h, appliedOn: $on) {{ {FIELDS} }} }}"""
ACCEPT = f"""mutation($id: ID!, $on: Date, $v: Int) {{
  acceptApplication(id: $id, acceptedOn: $on, expectedVersion: $v) {{ {FIELDS} }} }}"""
REVIEW = f"""mutation($id: ID!, $on: Date, $opinion: String!) {{
  recordTownReview(id: $id, reviewedOn: $on, opinion: $opinion) {{ {FIELDS} }} }}"""
DECIDE = f"""mutation($id: ID!, $on: Date) {{
  decideApplication(id: $id, decidedOn: $on) {{ {FIELDS} }} }}"""
WITHDRAW = f"""mutation($id: ID!, $reason: String!) {{
  withdrawApplication(id: $id, reason: $reason) {{ {FIELDS} }} }}"""
ONE = f"query($id: ID!) {{ application(id: $id) {{ {FIELDS} }} }}"
LIST = """query($status: ApplicationStatus, $overdue: Boolean, $h: ID) {
  applications(status: $status, overdue: $overdue, householdId: $h, first: 100) {
    nodes { id status overdue } } }"""
NOT_COVERED = """{ households(filter: {status: NOT_COVERED}, first: 20) { nodes { id } } }"""
SET_STANDARD = """mutation($input: SetStandardInput!) { setStandard(input: $input) { figure } }"""


async def set_operator_figures(api: Api) -> None:
    """The figures nobody has published, set as an operator would (as test_determinations)."""
    for figure, since, value in (
        ("DISPOSABLE_INCOME", "2025-01-01", "55000"),
        ("HOUSING_AREA_PER_CAPITA", "2020-01-01", "30"),
    ):
        await api.data(SET_STANDARD, {"input": {
            "regionCode": "320681", "figure": figure, "effectiveFrom": since, "value": value,
            "source": "test operator figure"}})  # fmt: skip


async def not_covered(api: Api) -> list[str]:
    ids = [n["id"] for n in (await api.data(NOT_COVERED))["households"]["nodes"]]
    assert ids, "the client's region has NOT_COVERED households in the demo county"
    return ids


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


async def change_events(url: str, application_id: str) -> list[tuple[str, str]]:
    """(action, client) of the CHANGE audit events about one application, in order."""
    found = []
    for action, client, subjects in await sql(
        url,
        "SELECT action, client_id, subjects FROM audit_events "
        "WHERE kind = 'CHANGE' AND action LIKE 'application.%' ORDER BY id",
    ):
        subjects = json.loads(subjects) if isinstance(subjects, str) else subjects
        if str(subjects["application"]) == application_id:
            found.append((action, client))
    return found


def test_deadlines_count_working_days_only() -> None:
    """The pure rules, with a calendar given by hand: weekends and a holiday are skipped."""
    calendar = WorkCalendar({date(2026, 10, 1): False, date(2026, 10, 10): True})
    limits = procedure.Limits(town_review=3, public_notice=5, county_confirmation=2)
    # Accepted on a Wednesday: Thu 1 October is a holiday, the weekend does not count.
    assert procedure.review_due(calendar, limits, date(2026, 9, 30)) == date(2026, 10, 6)
    # Reviewed on a Friday: the notice starts on Monday and runs its five working days.
    notice = procedure.notice(calendar, limits, date(2026, 10, 16))
    assert (notice.start, notice.until) == (date(2026, 10, 19), date(2026, 10, 23))
    assert notice.confirmation_due == date(2026, 10, 27)
    assert procedure.first_decision_day(notice.until) == date(2026, 10, 24)
    assert procedure.is_overdue(ApplicationStatus.ACCEPTED, date(2026, 10, 6), date(2026, 10, 7))
    assert not procedure.is_overdue(ApplicationStatus.DECIDED, None, date(2026, 10, 7))
    assert [a for a in procedure.MOVES if procedure.allowed(a, ApplicationStatus.APPLIED)] == [
        "accept",
        "withdraw",
    ]


async def test_an_application_runs_to_a_determination(demo_api: Api, demo_url: str) -> None:
    await set_operator_figures(demo_api)
    town = await demo_api.as_client(agency="town", profile="town", region=HUILONG)
    household = (await not_covered(town))[0]

    started = (await town.data(START, {"h": household, "on": "2026-09-28"}))["startApplication"]
    app_id = started["id"]
    assert started["status"] == "APPLIED"
    assert started["dueOn"] is None
    assert started["household"]["status"] == "APPLYING"
    again = (await town.data(START, {"h": household, "on": "2026-09-29"}))["startApplication"]
    assert again["id"] == app_id
    assert again["appliedOn"] == "2026-09-28"

    # Not before the application, not in the future; nothing changes when refused.
    early = await town.graphql(ACCEPT, {"id": app_id, "on": "2026-09-27"})
    assert error_of(early)["extensions"] == {"code": "BAD_USER_INPUT", "field": "acceptedOn"}
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    future = await town.graphql(ACCEPT, {"id": app_id, "on": tomorrow})
    assert error_of(future)["extensions"]["field"] == "acceptedOn"
    stale = await town.graphql(ACCEPT, {"id": app_id, "on": "2026-09-30", "v": 99})
    assert error_of(stale)["extensions"] == {"code": "CONFLICT", "field": "expectedVersion"}

    # Accepted on Wednesday 30 September 2026: the 15 working days of the town's review skip
    # the National Day holidays (1, 2, 5–7 October), the weekends, and count Saturday
    # 10 October, worked in lieu (调休).
    accepted = await town.data(ACCEPT, {"id": app_id, "on": "2026-09-30", "v": 1})
    accepted = accepted["acceptApplication"]
    assert (accepted["status"], accepted["dueOn"]) == ("ACCEPTED", "2026-10-27")
    assert accepted["overdue"] is (date.today() > date(2026, 10, 27))

    # The opinion, written on Friday 16 October: noticed from Monday 19 for 5 working days.
    reviewed = await town.data(
        REVIEW, {"id": app_id, "on": "2026-10-16", "opinion": "家庭收入低于低保标准，同意"}
    )
    reviewed = reviewed["recordTownReview"]
    assert reviewed["status"] == "IN_NOTICE"
    assert (reviewed["noticeFrom"], reviewed["noticeUntil"]) == ("2026-10-19", "2026-10-23")
    assert reviewed["dueOn"] == "2026-11-06"  # 10 working days after the notice

    # Deciding is the county's: the town's schema does not even have it.
    refused = await town.graphql(DECIDE, {"id": app_id, "on": "2026-10-26"})
    assert error_of(refused)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    # On the notice's last day it is too early: refused, naming the field, and nothing stored.
    (determinations_before,) = await sql(
        demo_url, "SELECT count(*) FROM determinations WHERE household_id = :h", h=int(household)
    )
    too_early = await demo_api.graphql(DECIDE, {"id": app_id, "on": "2026-10-23"})
    error = error_of(too_early)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "decidedOn"}
    assert "2026-10-23" in error["message"]
    assert "2026-10-24" in error["message"]
    assert await sql(
        demo_url, "SELECT count(*) FROM determinations WHERE household_id = :h", h=int(household)
    ) == [determinations_before]
    unchanged = (await demo_api.data(ONE, {"id": app_id}))["application"]
    assert unchanged["status"] == "IN_NOTICE"
    assert unchanged["version"] == reviewed["version"]
    assert unchanged["townOpinion"] == "家庭收入低于低保标准，同意"

    decided = await demo_api.data(DECIDE, {"id": app_id, "on": "2026-10-26"})
    decided = decided["decideApplication"]
    assert (decided["status"], decided["decidedOn"], decided["dueOn"]) == (
        "DECIDED",
        "2026-10-26",
        None,
    )
    determination = decided["determination"]
    assert determination["decidedOn"] == "2026-10-26"
    assert determination["reasons"]
    assert all("rule" in r for r in determination["reasons"])
    assert decided["household"]["category"] == determination["category"]
    assert decided["household"]["status"] == (
        "NOT_COVERED" if determination["category"] == "NONE" else "ACTIVE"
    )
    (stored,) = await sql(
        demo_url,
        "SELECT a.status, d.category FROM applications a "
        "JOIN determinations d ON d.id = a.determination_id WHERE a.id = :a",
        a=int(app_id),
    )
    assert tuple(stored) == ("DECIDED", determination["category"])

    town_id = (await town.data("{ me { clientId } }"))["me"]["clientId"]
    civil_id = (await demo_api.data("{ me { clientId } }"))["me"]["clientId"]
    assert await change_events(demo_url, app_id) == [
        ("application.start", town_id),
        ("application.accept", town_id),
        ("application.review", town_id),
        ("application.decide", civil_id),
    ]
    (determined,) = await sql(
        demo_url,
        "SELECT count(*) FROM audit_events WHERE action = 'household.determine' AND client_id = :c",
        c=civil_id,
    )
    assert determined[0] == 1
    # Each step's answer names the household: a read of personal data, audited with purpose.
    reads = await sql(
        demo_url,
        "SELECT action, purpose FROM audit_events WHERE kind <> 'CHANGE' AND client_id = :c "
        "AND action LIKE '%Application%'",
        c=town_id,
    )
    assert reads
    assert all(purpose == "automated test" for _, purpose in reads)


async def test_a_town_acts_only_on_its_own_households(demo_api: Api) -> None:
    elsewhere = await demo_api.as_client(agency="town", profile="town", region=BEIXIN)
    theirs = (await not_covered(elsewhere))[0]
    app_id = (await elsewhere.data(START, {"h": theirs, "on": "2026-11-02"}))["startApplication"]
    app_id = app_id["id"]

    town = await demo_api.as_client(agency="town", profile="town", region=HUILONG)
    for query, variables in (
        (ACCEPT, {"id": app_id, "on": "2026-11-03"}),
        (WITHDRAW, {"id": app_id, "reason": "not ours"}),
        (START, {"h": theirs, "on": "2026-11-03"}),
    ):
        body = await town.graphql(query, variables)
        assert error_of(body)["extensions"]["code"] == "NOT_FOUND", body
    assert (await town.data(ONE, {"id": app_id}))["application"] is None
    listed = (await town.data(LIST, {"h": theirs}))["applications"]["nodes"]
    assert listed == []
    # Their own town (and civil affairs) still see it, untouched.
    mine = (await elsewhere.data(ONE, {"id": app_id}))["application"]
    assert (mine["status"], mine["version"]) == ("APPLIED", 1)

    # An agency that handles warnings but does not read households has no applications at all.
    medical = await demo_api.as_client(agency="medical-security", profile="medical-security")
    body = await medical.graphql(LIST, {})
    assert error_of(body)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_overdue_withdrawal_and_a_new_start(demo_api: Api) -> None:
    town = await demo_api.as_client(agency="town", profile="town", region=HUILONG)
    old, recent = (await not_covered(town))[:2]
    today = date.today().isoformat()

    late = (await town.data(START, {"h": old, "on": "2026-09-01"}))["startApplication"]
    late = (await town.data(ACCEPT, {"id": late["id"], "on": "2026-09-02"}))["acceptApplication"]
    # Sunday 20 September 2026 is worked in lieu: it counts among the 15 working days.
    assert late["dueOn"] == "2026-09-22"
    assert late["overdue"] is True
    fresh = (await town.data(START, {"h": recent, "on": today}))["startApplication"]
    fresh = (await town.data(ACCEPT, {"id": fresh["id"], "on": today}))["acceptApplication"]
    assert fresh["overdue"] is False

    overdue = {n["id"] for n in (await town.data(LIST, {"overdue": True}))["applications"]["nodes"]}
    on_time = {
        n["id"] for n in (await town.data(LIST, {"overdue": False}))["applications"]["nodes"]
    }
    assert late["id"] in overdue
    assert fresh["id"] not in overdue
    assert fresh["id"] in on_time
    assert late["id"] not in on_time
    accepted = await town.data(LIST, {"status": "ACCEPTED", "h": old})
    assert [n["id"] for n in accepted["applications"]["nodes"]] == [late["id"]]

    blank = await town.graphql(WITHDRAW, {"id": late["id"], "reason": "  "})
    assert error_of(blank)["extensions"] == {"code": "BAD_USER_INPUT", "field": "reason"}
    withdrawn = await town.data(WITHDRAW, {"id": late["id"], "reason": "户主撤回申请"})
    withdrawn = withdrawn["withdrawApplication"]
    assert (withdrawn["status"], withdrawn["note"], withdrawn["overdue"]) == (
        "WITHDRAWN",
        "户主撤回申请",
        False,
    )
    assert withdrawn["household"]["status"] == "NOT_COVERED"
    again = await town.graphql(WITHDRAW, {"id": late["id"], "reason": "twice"})
    assert error_of(again)["extensions"] == {"code": "CONFLICT", "field": "id"}

    # A withdrawn application no longer holds the household: a new one can start.
    restarted = (await town.data(START, {"h": old, "on": today}))["startApplication"]
    assert restarted["id"] != late["id"]
    assert restarted["status"] == "APPLIED"


async def test_the_comparison_starts_applications_in_its_own_transaction(demo_api: Api) -> None:
    """What the comparison engine calls when a NOT_COVERED warning opens: idempotent, and left
    to the caller's transaction (rolled back here, nothing stays)."""
    household = int((await not_covered(demo_api))[0])
    db = demo_api.app.state.db
    async with db.sessions() as session:
        first = await start_application(
            session, LOCAL_OPERATOR, household, applied_on=date.today(), warning_id=None,
            request_id="compare",
        )  # fmt: skip
        second = await start_application(
            session, LOCAL_OPERATOR, household, applied_on=date.today(), warning_id=None,
            request_id="compare",
        )  # fmt: skip
        assert first is second
        assert first.status is ApplicationStatus.APPLIED
        await session.rollback()
    async with db.sessions() as session:
        assert await session.get(Application, first.id) is None


async def _not_covered_warnings(db: Any, pairs: list[tuple[int, str]]) -> list[int]:
    """NOT_COVERED warnings as the comparison opens them, committed; their ids."""
    async with db.unit_of_work() as session:
        made = [
            WarningRecord(
                kind=WarningKind.NOT_COVERED,
                household_id=household,
                finding=finding,
                subjects=[],
                severity=Severity.HIGH,
                status=WarningStatus.DISPATCHED,
                due_on=date.today(),
                evidence=[],
                last_found_on=date.today(),
                created_by="system",
                updated_by="system",
            )  # fmt: skip
            for household, finding in pairs
        ]
        session.add_all(made)
        await session.flush()
        return [w.id for w in made]


async def test_the_comparison_starts_many_applications_as_one_by_one_would(
    demo_api: Api,
) -> None:
    """`start_applications` (a pass's NOT_COVERED warnings, in a few statements): a household's
    first warning starts its application, its later ones change nothing, and an application
    already under way without a warning is linked to it. Households become APPLYING; each start
    and link is audited."""
    h1, h2, h3 = (int(h) for h in (await not_covered(demo_api))[:3])
    db = demo_api.app.state.db
    w1, w1_later, w2, w3 = await _not_covered_warnings(
        db,
        [(h1, "not_covered.medical"), (h1, "not_covered.disaster"),
         (h2, "not_covered.medical"), (h3, "not_covered.medical")],
    )  # fmt: skip
    async with db.unit_of_work() as session:  # h3 applied by itself, before any warning
        before = await start_application(
            session, LOCAL_OPERATOR, h3, applied_on=date.today(), warning_id=None,
            request_id="town",
        )  # fmt: skip
    async with db.unit_of_work() as session:
        await start_applications(
            session, LOCAL_OPERATOR, [(h1, w1), (h1, w1_later), (h2, w2), (h3, w3)],
            applied_on=date.today(), request_id="batch-of-starts",
        )  # fmt: skip

    url = str(db.engine.url.render_as_string(hide_password=False))
    rows = await sql(
        url,
        "SELECT a.id, a.household_id, a.warning_id, a.status, h.status AS household_status "
        "FROM applications a JOIN households h ON h.id = a.household_id "
        "WHERE a.household_id IN (:a, :b, :c) ORDER BY a.household_id",
        a=h1, b=h2, c=h3,
    )  # fmt: skip
    assert [(r.household_id, r.warning_id, r.status, r.household_status) for r in rows] == [
        (h1, w1, "APPLIED", "APPLYING"),
        (h2, w2, "APPLIED", "APPLYING"),
        (h3, w3, "APPLIED", "APPLYING"),
    ]
    assert rows[2].id == before.id
    audited = await sql(
        url,
        "SELECT action, subjects FROM audit_events WHERE request_id = 'batch-of-starts'",
    )
    seen = sorted(
        (r.action, (json.loads(r.subjects) if isinstance(r.subjects, str) else r.subjects)[
            "households"][0]) for r in audited
    )  # fmt: skip
    assert seen == sorted(
        [("application.start", h1), ("application.start", h2), ("application.link_warning", h3)]
    )

    # Again (the same warnings found by the next pass): nothing changes.
    async with db.unit_of_work() as session:
        await start_applications(
            session, LOCAL_OPERATOR, [(h1, w1), (h2, w2), (h3, w3)],
            applied_on=date.today(), request_id="compare-again",
        )  # fmt: skip
    again = await sql(
        url,
        "SELECT id, warning_id FROM applications WHERE household_id IN (:a, :b, :c) ORDER BY id",
        a=h1, b=h2, c=h3,
    )  # fmt: skip
    assert [(r.id, r.warning_id) for r in again] == sorted((r.id, r.warning_id) for r in rows)
    assert not await sql(url, "SELECT id FROM audit_events WHERE request_id = 'compare-again'")


async def test_two_batches_of_starts_at_once_make_one_application_each(demo_api: Api) -> None:
    """Two passes starting the same households' applications at once: the second waits for the
    first (PostgreSQL: on the unique index, then it takes the one-by-one path; SQLite: on the
    write lock) and ends with the applications the first made."""
    households = [int(h) for h in (await not_covered(demo_api))[:3]]
    db = demo_api.app.state.db
    warnings = await _not_covered_warnings(db, [(h, "not_covered.medical") for h in households])
    pairs = list(zip(households, warnings, strict=True))
    first_started = asyncio.Event()

    async def run(hold: bool) -> None:
        async with db.unit_of_work() as session:
            await start_applications(
                session, LOCAL_OPERATOR, pairs, applied_on=date.today(), request_id="race"
            )
            if hold:
                first_started.set()
                await asyncio.sleep(0.3)

    async def second() -> None:
        await first_started.wait()
        await run(hold=False)

    await asyncio.gather(run(hold=True), second())
    url = str(db.engine.url.render_as_string(hide_password=False))
    rows = await sql(
        url,
        "SELECT household_id, warning_id FROM applications WHERE household_id IN (:a, :b, :c) "
        "ORDER BY household_id",
        a=households[0], b=households[1], c=households[2],
    )  # fmt: skip
    assert [(r.household_id, r.warning_id) for r in rows] == sorted(pairs)


async def test_two_starts_at_once_make_one_application(demo_api: Api) -> None:
    """The second of two racing starts waits for the first (PostgreSQL: on the unique index;
    SQLite: on the write lock) and answers the application the first made."""
    household = int((await not_covered(demo_api))[0])
    db = demo_api.app.state.db
    first_started = asyncio.Event()

    async def start(wait_for_other: bool) -> int:
        async with db.unit_of_work() as session:
            made = await start_application(
                session, LOCAL_OPERATOR, household, applied_on=date.today(), warning_id=None,
                request_id="race",
            )  # fmt: skip
            if wait_for_other:
                first_started.set()
                await asyncio.sleep(0.3)  # hold the transaction while the other one tries
            return made.id

    async def second() -> int:
        await first_started.wait()
        return await start(wait_for_other=False)

    ids = await asyncio.gather(start(wait_for_other=True), second())
    assert ids[0] == ids[1]
    (count,) = await sql(
        str(db.engine.url.render_as_string(hide_password=False)),
        "SELECT count(*) FROM applications WHERE household_id = :h",
        h=household,
    )
    assert count[0] == 1
