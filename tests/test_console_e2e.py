"""The console end to end, in a real headless Chromium (tests/support/browser.py), on both engines.

A caseworker signs in through the real form, filters the queue, opens a warning and resolves it
through the confirm step, and finds the audit entry; a town's caseworker cannot reach another
town's households or warnings, however the address is come by; signing out ends the session for
good; failed sign-ins lock the account; a form posted without its CSRF token changes nothing; an
auditor sees masked names and no actions; the language, the keyboard and a tablet's screen work.
Screenshots of the queue, a warning, a household and the dashboard are kept as artefacts.

Expected figures come from the database the page reads, never from constants.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page
from sqlalchemy.ext.asyncio import AsyncSession

from auth.masking import mask_id_number, mask_name
from auth.users import unlock_user
from gateway.console import queue
from gateway.console.messages import MESSAGES
from gateway.console.sessions import COOKIE
from gateway.domain.enums import WarningStatus
from tests.support.browser import (
    Console,
    Problems,
    browser,
    console,
    context,
    fill_sign_in,
    goto,
    new_context,
    number,
    page,
    path_of,
    screenshot,
    sign_in,
    submit,
)

# The fixtures, imported into this module only: the rest of the suite neither needs Playwright
# nor starts a browser.
__all__ = ["browser", "console", "context", "page"]

pytestmark = pytest.mark.slow

HUILONG = "320681100000"  # 汇龙镇, the demo's largest town
STATUSES = tuple(s.value for s in WarningStatus)
# What the queue lists when no status is chosen.
ACTIVE = tuple(s.value for s in queue.ACTIVE)
# In the queue's table: the columns holding the household's code and town, and the people named.
HOUSEHOLD_COLUMN = 6
SUBJECTS_COLUMN = 7


def zh(key: str) -> str:
    return MESSAGES[key][0]


def en(key: str) -> str:
    return MESSAGES[key][1]


def town_prefix(code: str) -> str:
    return code[:9]


async def status_counts(
    console: Console, kind: str | None = None, town: str | None = None
) -> dict[str, int]:
    """Warnings by status, from the rows: of one kind and one town when given."""
    rows = await console.sql(
        "SELECT w.status, count(*) FROM warnings w JOIN households h ON h.id = w.household_id "
        f"WHERE h.region_code LIKE :prefix {'AND w.kind = :kind' if kind else ''} "
        "GROUP BY w.status",
        prefix=(town_prefix(town) if town else "") + "%",
        **({"kind": kind} if kind else {}),
    )
    return {status: int(count) for status, count in rows}


async def shown_counts(page: Page) -> tuple[dict[str, int], int]:
    counts = {}
    for status in STATUSES:
        item = page.locator(f"[data-testid=counts] li[data-status={status}] strong")
        counts[status] = number(await item.inner_text())
    return counts, number(await page.get_by_test_id("total").inner_text())


async def warning_of_town(console: Console, town: str, *, inside: bool) -> int:
    """A warning whose household is (or is not) in the town."""
    rows = await console.sql(
        "SELECT w.id FROM warnings w JOIN households h ON h.id = w.household_id "
        f"WHERE h.region_code {'' if inside else 'NOT '}LIKE :prefix ORDER BY w.id LIMIT 1",
        prefix=town_prefix(town) + "%",
    )
    return int(rows[0][0])


@dataclass(frozen=True, slots=True)
class Household:
    id: int
    code: str
    # Its code, address and phone, and its members' names and ID numbers (whole and masked).
    identifying: list[str]


async def household_of_town(console: Console, town: str, *, inside: bool) -> Household:
    """A household (with members) in, or outside, the town."""
    rows = await console.sql(
        "SELECT h.id, h.code, h.address, h.phone FROM households h "
        f"WHERE h.region_code {'' if inside else 'NOT '}LIKE :prefix "
        "AND EXISTS (SELECT 1 FROM memberships m WHERE m.household_id = h.id) "
        "ORDER BY h.id LIMIT 1",
        prefix=town_prefix(town) + "%",
    )
    household_id, code, address, phone = rows[0]
    people = await console.sql(
        "SELECT p.name, p.id_number FROM persons p JOIN memberships m ON m.person_id = p.id "
        "WHERE m.household_id = :id",
        id=household_id,
    )
    identifying = [code, address, *([phone] if phone else [])]
    for name, id_number in people:
        identifying += [name, id_number, mask_id_number(id_number)]
    return Household(int(household_id), code, identifying)


async def test_caseworker_filters_resolves_and_finds_the_audit_entry(
    console: Console, page: Page
) -> None:
    """Sign in, filter the queue (rows and counts as the database says), open a warning and its
    household, resolve the warning through the confirm step, see the dashboard and the audit
    entry of the resolution."""
    civil = await console.add_user("civil-affairs")
    await sign_in(page, console, civil)

    # Unfiltered, the counts are every warning's, by status.
    everything = await status_counts(console)
    counts, total = await shown_counts(page)
    assert counts == {s: everything.get(s, 0) for s in STATUSES}
    assert total == sum(everything.values())

    # The kind and town with the most warnings, chosen in the filter form.
    kind, prefix = (
        await console.sql(
            "SELECT w.kind, substr(h.region_code, 1, 9) AS town, count(*) AS n "
            "FROM warnings w JOIN households h ON h.id = w.household_id "
            "GROUP BY w.kind, substr(h.region_code, 1, 9) ORDER BY n DESC, w.kind, town LIMIT 1"
        )
    )[0][:2]
    town = prefix + "000"
    ((town_name,),) = await console.sql("SELECT name FROM regions WHERE code = :c", c=town)
    filters = page.get_by_test_id("filters")
    await filters.locator("#f-kind").select_option(kind)
    await filters.locator("#f-region").select_option(town)
    response = await submit(page, page.get_by_test_id("apply-filters"))
    assert response.status == 200
    query = parse_qs(urlsplit(page.url).query)
    assert (query["kind"], query["region"]) == ([kind], [town]), page.url

    expected = await status_counts(console, kind, town)
    counts, filtered_total = await shown_counts(page)
    assert counts == {s: expected.get(s, 0) for s in STATUSES}
    assert filtered_total == sum(expected.values()) < total
    rows = page.locator("table[data-testid=queue] tbody tr")
    active = sum(expected.get(s, 0) for s in ACTIVE)
    assert 0 < active <= 50  # one page
    assert await rows.count() == active
    for row in await rows.all():
        assert await row.get_attribute("data-kind") == kind
        assert await row.get_attribute("data-status") in ACTIVE
        assert town_name in await row.locator("td").nth(HOUSEHOLD_COLUMN).inner_text()
    await screenshot(page, console.engine, "queue")

    # Open the first warning, and its household from it.
    link = rows.first.locator("a").first
    warning_id = int((await link.get_attribute("href") or "").rsplit("/", 1)[1])
    response = await submit(page, link)
    assert response.status == 200
    assert path_of(page) == f"/console/warnings/{warning_id}"
    ((before,),) = await console.sql("SELECT status FROM warnings WHERE id = :i", i=warning_id)
    assert await page.get_by_test_id("status").get_attribute("data-status") == before
    await page.get_by_test_id("evidence").wait_for()
    await page.get_by_test_id("history").wait_for()
    await screenshot(page, console.engine, "warning")

    response = await submit(page, page.get_by_test_id("open-household"))
    assert response.status == 200, f"household page answered {response.status}"
    for section in ("members", "determinations", "assistance", "events", "household-warnings"):
        await page.get_by_test_id(section).wait_for()
    await page.get_by_test_id("visits").wait_for()
    await screenshot(page, console.engine, "household")
    await page.go_back()
    assert path_of(page) == f"/console/warnings/{warning_id}"

    # Resolve it: choose, review, confirm.
    note = f"E2E：已联系户主并落实救助 {uuid.uuid4().hex[:8]}"
    form = page.get_by_test_id("form-resolve")
    await form.locator("#resolution").select_option("DELIVERED")
    await form.locator("#note-resolve").fill(note)
    response = await submit(page, form.locator("button[type=submit]"))
    assert response.status == 200
    assert str(warning_id) in await page.get_by_test_id("confirm-text").inner_text()
    ((unchanged,),) = await console.sql("SELECT status FROM warnings WHERE id = :i", i=warning_id)
    assert unchanged == before  # reviewing changes nothing
    response = await submit(page, page.get_by_test_id("confirm"))
    assert response.status == 200
    assert path_of(page) == f"/console/warnings/{warning_id}"
    assert parse_qs(urlsplit(page.url).query) == {"done": ["resolve"]}
    await page.get_by_test_id("done").wait_for()
    assert await page.get_by_test_id("status").get_attribute("data-status") == "RESOLVED"
    assert note in await page.get_by_test_id("history").inner_text()
    stored = await console.sql(
        "SELECT status, resolution, resolution_note FROM warnings WHERE id = :i", i=warning_id
    )
    assert tuple(stored[0]) == ("RESOLVED", "DELIVERED", note)

    # The dashboard's charts.
    response = await goto(page, console.url("/console/dashboard"))
    assert response.status == 200, f"dashboard answered {response.status}"
    for chart in ("chart-categories", "chart-towns", "chart-warning-age", "chart-overdue-agencies"):
        await page.get_by_test_id(chart).locator("svg").first.wait_for()
    await screenshot(page, console.engine, "dashboard")

    # The resolution in the audit trail: stored, and shown on the audit page.
    recorded = await console.sql(
        "SELECT count(*) FROM audit_events WHERE action = 'warning.resolve' AND client_id = :who",
        who=civil.subject,
    )
    assert recorded[0][0] == 1
    await page.locator('header a[href="/console/audit"]').wait_for()
    response = await goto(page, console.url("/console/audit?action=warning.resolve"))
    assert response.status == 200, f"audit page answered {response.status}"
    entries = (
        page.locator("table[data-testid=audit] tbody tr")
        .filter(has_text="warning.resolve")
        .filter(has_text=civil.subject)
    )
    assert await entries.count() >= 1


async def test_town_caseworker_sees_only_their_town(console: Console, page: Page) -> None:
    """Another town's household answers the same 404 page as a household that does not exist,
    with nothing of it in the page; the town's own opens; the queue holds the town's warnings
    only, and another town's warning is not found."""
    town = await console.add_user("town", region=HUILONG)
    ((town_name,),) = await console.sql("SELECT name FROM regions WHERE code = :c", c=HUILONG)
    await sign_in(page, console, town)

    # The queue: only the town's warnings, and only the town to filter by.
    response = await goto(page, console.url("/console/warnings?status=ALL"))
    assert response.status == 200
    rows = page.locator("table[data-testid=queue] tbody tr")
    own = await status_counts(console, town=HUILONG)
    assert 0 < await rows.count() == sum(own.values()) <= 50
    for row in await rows.all():
        assert town_name in await row.locator("td").nth(HOUSEHOLD_COLUMN).inner_text()
    _, total = await shown_counts(page)
    assert total == sum(own.values())
    regions = await page.locator("#f-region option").evaluate_all("os => os.map(o => o.value)")
    assert sorted(regions) == ["", HUILONG]

    # Another town's household, by its address: not found, and nothing of it shown.
    other = await household_of_town(console, HUILONG, inside=False)
    response = await goto(page, console.url(f"/console/households/{other.id}"))
    assert response.status == 404
    await page.get_by_test_id("message").wait_for()
    shown = await page.content()
    leaked = [value for value in other.identifying if value and value in shown]
    assert not leaked, f"another town's household showed {leaked}"
    assert await page.get_by_test_id("members").count() == 0
    not_yours = await page.locator("main").inner_text()

    # A guessed id past the last household: the very same page.
    ((last,),) = await console.sql("SELECT max(id) FROM households")
    response = await goto(page, console.url(f"/console/households/{int(last) + 1000}"))
    assert response.status == 404
    assert await page.locator("main").inner_text() == not_yours
    response = await goto(page, console.url("/console/households/0"))
    assert response.status == 404
    assert await page.locator("main").inner_text() == not_yours

    # Another town's warning: not found either.
    elsewhere = await warning_of_town(console, HUILONG, inside=False)
    response = await goto(page, console.url(f"/console/warnings/{elsewhere}"))
    assert response.status == 404
    assert await page.locator("main").inner_text() == not_yours

    # The town's own household and warning open.
    mine = await household_of_town(console, HUILONG, inside=True)
    response = await goto(page, console.url(f"/console/households/{mine.id}"))
    assert response.status == 200
    await page.get_by_test_id("members").wait_for()
    assert mine.code in await page.locator("main").inner_text()
    own_warning = await warning_of_town(console, HUILONG, inside=True)
    response = await goto(page, console.url(f"/console/warnings/{own_warning}"))
    assert response.status == 200

    # No audit trail for a town.
    assert await page.locator('header a[href="/console/audit"]').count() == 0
    response = await goto(page, console.url("/console/audit"))
    assert response.status in (403, 404)
    assert await page.locator("table[data-testid=audit]").count() == 0


async def test_sign_out_ends_the_session(console: Console, browser: Browser, page: Page) -> None:
    """After signing out the console asks to sign in again, and the old cookie, replayed from
    another browser, is worth nothing."""
    civil = await console.add_user("civil-affairs")
    await sign_in(page, console, civil)
    (cookie,) = [c for c in await page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert not cookie["secure"]

    response = await submit(page, page.get_by_test_id("sign-out"))
    assert response.status == 200
    assert path_of(page) == "/console/signed-out"
    await goto(page, console.url("/console/warnings"))
    assert path_of(page) == "/oauth/authorize"
    await page.locator("#username").wait_for()

    replayed = await new_context(browser)
    try:
        await replayed.add_cookies(
            [{"name": COOKIE, "value": cookie["value"], "url": console.base}]
        )
        tab = await replayed.new_page()
        response = await goto(tab, console.url("/console/warnings"))
        assert path_of(tab) == "/oauth/authorize"
        assert response.status == 200
        await tab.locator("#username").wait_for()
        assert await tab.get_by_test_id("sign-out").count() == 0
    finally:
        await replayed.close()
    ((ended,),) = await console.sql(
        "SELECT count(*) FROM console_sessions WHERE username = :u AND ended_at IS NOT NULL",
        u=civil.username,
    )
    assert ended == 1
    ((revoked,),) = await console.sql(
        "SELECT count(*) FROM revoked_tokens WHERE client_id = 'lig-console'"
    )
    assert revoked == 1


async def test_failed_sign_ins_lock_the_account_until_unlocked(
    console: Console, page: Page
) -> None:
    """Five wrong passwords lock the account: the right one is then refused with the same
    message, until `unlock` (auth.users.unlock_user, as `lig users unlock` runs it)."""
    civil = await console.add_user("civil-affairs")
    await goto(page, console.url("/console/warnings"))
    for attempt in range(5):
        response = await fill_sign_in(page, civil, password=f"wrong password {attempt}")
        assert response.status == 401
        await page.get_by_test_id("signin-error").wait_for()
    refused = await page.get_by_test_id("signin-error").inner_text()

    response = await fill_sign_in(page, civil)
    assert response.status == 401, "a locked account signed in"
    assert await page.get_by_test_id("signin-error").inner_text() == refused
    assert await page.get_by_test_id("sign-out").count() == 0
    ((locked_until,),) = await console.sql(
        "SELECT locked_until FROM staff_users WHERE username = :u", u=civil.username
    )
    assert locked_until is not None

    async def unlock(session: AsyncSession) -> None:
        await unlock_user(session, civil.username)

    await console.in_unit_of_work(unlock)
    response = await fill_sign_in(page, civil)
    assert response.status == 200
    assert path_of(page) == "/console/warnings"
    await page.get_by_test_id("sign-out").wait_for()


async def test_a_post_without_the_csrf_token_changes_nothing(console: Console, page: Page) -> None:
    """The session cookie alone (as another site's form would send it) cannot act: 403, and the
    warning is as it was. The right token from another origin is refused too."""
    civil = await console.add_user("civil-affairs")
    warning_id = await warning_of_town(console, HUILONG, inside=True)
    await sign_in(page, console, civil, f"/console/warnings/{warning_id}")
    token = await page.get_by_test_id("form-resolve").locator("input[name=csrf]").input_value()
    (cookie,) = [c for c in await page.context.cookies() if c["name"] == COOKIE]
    before = await console.sql("SELECT status, version FROM warnings WHERE id = :i", i=warning_id)
    form = {
        "action": "resolve",
        "step": "confirm",
        "resolution": "NO_ACTION",
        "note": "forged",
        "version": str(before[0][1]),
    }
    async with httpx.AsyncClient(base_url=console.base, cookies={COOKIE: cookie["value"]}) as http:
        act = f"/console/warnings/{warning_id}/act"
        refused = await http.post(act, data=form)
        assert refused.status_code == 403
        assert 'data-testid="message"' in refused.text
        foreign = await http.post(
            act, data={**form, "csrf": token}, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        # With its token and from its own origin the same session may (the review step only).
        review = await http.post(act, data={**form, "csrf": token, "step": "review"})
        assert review.status_code == 200
        assert 'data-testid="confirm"' in review.text
    after = await console.sql("SELECT status, version FROM warnings WHERE id = :i", i=warning_id)
    assert after == before
    forged = await console.sql(
        "SELECT count(*) FROM warning_transitions WHERE warning_id = :i AND note = 'forged'",
        i=warning_id,
    )
    assert forged[0][0] == 0


async def test_auditor_sees_masked_people_and_no_actions(console: Console, page: Page) -> None:
    """The auditor reads warnings with names and ID numbers masked, may not act on them, and
    has the audit trail."""
    auditor = await console.add_user("auditor")
    warning_id = await warning_of_town(console, HUILONG, inside=True)
    ((subjects,),) = await console.sql("SELECT subjects FROM warnings WHERE id = :i", i=warning_id)
    ids = subjects if isinstance(subjects, list) else json.loads(subjects)
    people = await console.sql(
        f"SELECT name, id_number FROM persons WHERE id IN ({', '.join(str(int(i)) for i in ids)})"
    )
    assert people, "the demo warning names nobody"
    await sign_in(page, console, auditor, f"/console/warnings/{warning_id}")

    shown = await page.get_by_test_id("subjects").inner_text()
    assert "*" in shown
    for name, id_number in people:
        assert mask_name(name) in shown
        assert mask_id_number(id_number) in shown
    source = await page.content()
    assert not [v for person in people for v in person if v in source], "unmasked on the page"
    assert await page.locator("form[data-testid^=form-]").count() == 0
    await page.get_by_test_id("actions").wait_for()

    # The queue masks them too.
    await goto(page, console.url("/console/warnings?status=ALL"))
    first_row = page.locator("table[data-testid=queue] tbody tr").first
    assert "**" in await first_row.locator("td").nth(SUBJECTS_COLUMN).inner_text()

    response = await goto(page, console.url("/console/audit"))
    assert response.status == 200, f"audit page answered {response.status}"
    await page.locator("table[data-testid=audit]").wait_for()


async def test_language_and_keyboard(console: Console, page: Page) -> None:
    """English replaces Chinese on every page (the html lang too); Tab from the top of a page
    reaches the skip link first, and it leads to the content."""
    town = await console.add_user("town", region=HUILONG)
    await sign_in(page, console, town)
    assert await page.locator("html").get_attribute("lang") == "zh-CN"
    assert await page.locator("main h1").inner_text() == zh("queue.title")

    async with page.expect_navigation():
        await page.locator("#lang-select").select_option("en")
    assert path_of(page) == "/console/warnings"
    assert await page.locator("html").get_attribute("lang") == "en"
    assert await page.locator("main h1").inner_text() == en("queue.title")
    await goto(page, console.url("/console/dashboard"))
    assert await page.locator("html").get_attribute("lang") == "en"
    assert en("nav.sign_out") in await page.get_by_test_id("sign-out").inner_text()

    await goto(page, console.url("/console/warnings"))
    await page.keyboard.press("Tab")
    focused = await page.evaluate(
        "() => [document.activeElement.className, document.activeElement.textContent]"
    )
    assert focused == ["skip", en("nav.skip")]
    await page.keyboard.press("Enter")
    assert urlsplit(page.url).fragment == "main"
    assert await page.evaluate("() => document.activeElement.id") == "main"


async def test_queue_fits_a_tablet(console: Console, browser: Browser) -> None:
    """On a tablet (820×1180) the queue page does not scroll sideways: only the table's own
    wrapper may."""
    civil = await console.add_user("civil-affairs")
    tablet = await new_context(
        browser, viewport={"width": 820, "height": 1180}, has_touch=True, is_mobile=True
    )
    problems = Problems()
    try:
        tab = await tablet.new_page()
        problems.watch(tab)
        await sign_in(tab, console, civil, "/console/warnings?status=ALL")
        await tab.locator("table[data-testid=queue]").wait_for()
        widths = await tab.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
        wrapper = tab.locator(".table-wrap").filter(has=tab.locator("table[data-testid=queue]"))
        assert await wrapper.evaluate("e => getComputedStyle(e).overflowX") in ("auto", "scroll")
        await screenshot(tab, console.engine, "queue-tablet")
    finally:
        await tablet.close()
    assert not problems.seen
