"""Console actions over HTTP (no browser): each carried out only after its confirmation, by the
role that may, on a warning as the person last saw it, and audited as the person."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from gateway.models import AuditEvent, Determination, Household, WarningRecord
from tests.conftest import Api, _api
from tests.test_console_signin import PASSWORD, add, hidden_fields, sign_in_form

pytestmark = pytest.mark.usefixtures("engine")

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
async def demo(demo_url: str) -> AsyncIterator[Api]:
    async for a in _api(demo_url):
        yield a


async def signed_in(api: Api, username: str, role: str, region: str | None = None) -> None:
    """Make the account and sign the test's client in to the console as it."""
    await add(api, username, role, region)
    login = await api.client.get("/console/login")
    answer = await sign_in_form(api.client, login.headers["location"], username, PASSWORD)
    assert answer.status_code == 303, answer.text
    assert (await api.client.get(answer.headers["location"])).status_code == 303


async def csrf_of(api: Api, path: str) -> str:
    page = await api.client.get(path)
    assert page.status_code == 200, page.text
    return hidden_fields(page.text)["csrf"]


async def scalar(api: Api, statement: object) -> int:
    async with api.app.state.db.reader.connect() as conn:
        return int((await conn.execute(statement)).scalar_one())  # type: ignore[call-overload]


async def test_reassessing_a_household_needs_the_confirmation(demo: Api) -> None:
    await signed_in(demo, "he.jun", "civil-affairs")
    household_id = await scalar(
        demo, select(func.min(Household.id)).where(Household.category != "NONE")
    )
    path = f"/console/households/{household_id}"
    page = await demo.client.get(path)
    assert 'data-testid="reassess"' in page.text
    csrf = hidden_fields(page.text)["csrf"]
    before = await scalar(
        demo,
        select(func.count()).where(Determination.household_id == household_id),
    )
    review = await demo.client.post(
        f"{path}/reassess", data={"csrf": csrf, "step": "review"}, headers=ORIGIN
    )
    assert review.status_code == 200
    assert 'data-testid="confirm-text"' in review.text
    count = select(func.count()).where(Determination.household_id == household_id)
    assert await scalar(demo, count) == before  # nothing done yet
    done = await demo.client.post(
        f"{path}/reassess", data={"csrf": csrf, "step": "confirm"}, headers=ORIGIN
    )
    assert done.status_code == 303, done.text
    category = parse_qs(urlsplit(done.headers["location"]).query)["reassessed"][0]
    assert await scalar(demo, count) == before + 1
    stored = await scalar(
        demo,
        select(func.count()).where(Household.id == household_id, Household.category == category),
    )
    assert stored == 1
    audited = await scalar(
        demo,
        select(func.count()).where(
            AuditEvent.action == "household.determine", AuditEvent.client_id == "user:he.jun"
        ),
    )
    assert audited == 1


async def test_a_town_neither_reassesses_nor_dispatches(demo: Api) -> None:
    await signed_in(demo, "xu.min", "town", "320681100")
    household_id = await scalar(
        demo,
        select(func.min(Household.id)).where(Household.region_code.like("320681100%")),
    )
    path = f"/console/households/{household_id}"
    page = await demo.client.get(path)
    assert page.status_code == 200
    assert 'data-testid="reassess"' not in page.text
    csrf = hidden_fields(page.text)["csrf"]
    refused = await demo.client.post(
        f"{path}/reassess", data={"csrf": csrf, "step": "confirm"}, headers=ORIGIN
    )
    assert refused.status_code == 403

    warning_id = await scalar(
        demo,
        select(func.min(WarningRecord.id))
        .join(Household, Household.id == WarningRecord.household_id)
        .where(Household.region_code.like("320681100%"), WarningRecord.status == "DISPATCHED"),
    )
    version = select(WarningRecord.version).where(WarningRecord.id == warning_id)
    before = await scalar(demo, version)
    warning = await demo.client.get(f"/console/warnings/{warning_id}")
    assert 'data-testid="form-resolve"' in warning.text
    assert 'data-testid="form-dispatch"' not in warning.text  # civil affairs' call
    forged = await demo.client.post(
        f"/console/warnings/{warning_id}/act",
        data={"csrf": csrf, "action": "dispatch", "agencies": "education", "step": "confirm"},
        headers=ORIGIN,
    )
    assert forged.status_code == 403
    assert await scalar(demo, version) == before  # the warning is untouched
    assert (
        await scalar(
            demo,
            select(func.count()).where(
                AuditEvent.action == "warning.dispatch", AuditEvent.client_id == "user:xu.min"
            ),
        )
        == 0
    )


async def test_dispatch_acts_on_the_warning_as_seen_and_refuses_a_stale_one(demo: Api) -> None:
    await signed_in(demo, "ma.li", "civil-affairs")
    warning_id = await scalar(
        demo, select(func.min(WarningRecord.id)).where(WarningRecord.status == "DISPATCHED")
    )
    path = f"/console/warnings/{warning_id}"
    page = await demo.client.get(path)
    csrf = hidden_fields(page.text)["csrf"]
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    form = {
        "csrf": csrf,
        "action": "dispatch",
        "agencies": ["education", "health"],
        "note": "请教育、卫健部门核实",
        "version": version.group(1),
    }
    review = await demo.client.post(f"{path}/act", data={**form, "step": "review"}, headers=ORIGIN)
    assert review.status_code == 200
    assert "请教育、卫健部门核实" in review.text
    done = await demo.client.post(f"{path}/act", data={**form, "step": "confirm"}, headers=ORIGIN)
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}?done=dispatch"
    shown = await demo.client.get(done.headers["location"])
    assert 'data-testid="done"' in shown.text
    # The same form again carries the version from before the dispatch: refused, not applied.
    stale = await demo.client.post(f"{path}/act", data={**form, "step": "confirm"}, headers=ORIGIN)
    assert stale.status_code == 409
    audited = await scalar(
        demo,
        select(func.count()).where(
            AuditEvent.action == "warning.dispatch", AuditEvent.client_id == "user:ma.li"
        ),
    )
    assert audited == 1
