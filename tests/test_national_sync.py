"""`lig sync national` against the national simulator served on 127.0.0.1, on both engines.

The expected database is the simulator's own fold of its change stream (adapters/national/
dataset.py), never the sync's output: after a sync with any fault switched on, the households,
people, current memberships and category decisions equal it exactly — nothing lost, nothing
twice — and the changes the simulator broke are recorded as rejections, one each.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.faults import Faults
from adapters.national.dataset import FinalState, NationalDataset
from adapters.national.simulator import DEFAULT_APP_KEY, DEFAULT_SECRET, create_app
from tests.conftest import lig
from tests.support.servers import serving
from tests.support.sql import sql

SEED = 11
HOUSEHOLDS = 40
UPDATES = 40  # enough that members move, categories change and addresses are corrected
PAGE = 15


def _env(base: str, **more: str) -> dict[str, str]:
    return {
        "LIG_NATIONAL_URL": base,
        "LIG_NATIONAL_APP_KEY": DEFAULT_APP_KEY,
        "LIG_NATIONAL_APP_SECRET": DEFAULT_SECRET.decode(),
        "LIG_UPSTREAM_READ_TIMEOUT": "0.4",
        "LIG_UPSTREAM_BACKOFF_SECONDS": "0.01",
        "LIG_UPSTREAM_BACKOFF_MAX_SECONDS": "0.05",
        "LIG_NATIONAL_PAGE_SIZE": str(PAGE),
        "LIG_NATIONAL_RECEIPT_POLL_SECONDS": "0.1",
        **more,
    }


@pytest.fixture
def national(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """The simulator with the faults the test names (`@pytest.mark.parametrize("spec", …)`)."""
    spec = getattr(request, "param", "")
    faults = Faults.parse(spec, SEED)
    faults.hang_seconds = 1.0
    app = create_app(SEED, faults, HOUSEHOLDS, updates=UPDATES, receipt_delay=0.2)
    with serving(app) as base:
        yield base, app.state.simulator


async def _sync_here(url: str, base: str) -> dict[str, Any]:
    """The sync in this process (the fault matrix would spend most of its time starting
    `lig`; the command line itself is exercised by the other tests)."""
    from adapters.national.client import NationalClient
    from gateway.commands.common import database
    from gateway.settings import Settings
    from gateway.sync.national import sync_national

    settings = Settings(database_url=url, **{k[4:].lower(): v for k, v in _env(base).items()})
    client = NationalClient(settings)
    try:
        async with database(settings) as db:
            report = await sync_national(
                db, client, page_size=settings.national_page_size, today=date.today()
            )
            return report.as_dict()
    finally:
        await client.aclose()


def _sync(url: str, base: str, *args: str, **env: str) -> dict[str, Any]:
    done = lig("sync", "national", "--json", *args, url=url, env=_env(base, **env))
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def _database(url: str) -> FinalState:
    """What the database holds, in the simulator's terms."""
    state = FinalState()
    for row in await sql(
        url,
        "SELECT national_id, code, region_code, address, phone, urban_rural, "
        "former_registered_poor, category, status, channel, valid_from, valid_until "
        "FROM households WHERE national_id IS NOT NULL",
    ):
        state.households[row[0]] = {
            "household": {
                "household_code": row[1],
                "region_code": row[2],
                "address": row[3],
                "phone": row[4],
                "urban_rural": row[5],
                "former_registered_poor": bool(row[6]),
            },
            "category": {
                "category": row[7],
                "status": row[8],
                "channel": row[9],
                "valid_from": _day(row[10]),
                "valid_until": _day(row[11]),
            },
        }
    members = {
        person: (household, relation)
        for person, household, relation in await sql(
            url,
            "SELECT p.national_person_id, h.national_id, m.relation FROM memberships m "
            "JOIN persons p ON p.id = m.person_id JOIN households h ON h.id = m.household_id "
            "WHERE m.left_on IS NULL",
        )
    }
    for row in await sql(
        url,
        "SELECT national_person_id, id_number, name, phone, labor_capacity, disability_type, "
        "disability_grade, illness, deceased_on FROM persons WHERE national_person_id IS NOT NULL",
    ):
        household, relation = members.get(row[0], (None, None))
        state.persons[row[0]] = {
            "id_number": row[1],
            "name": row[2],
            "phone": row[3],
            "household_id": household,
            "relation": relation,
            "labor_capacity": row[4],
            "disability_type": row[5],
            "disability_grade": row[6],
            "illness": row[7],
            "deceased_on": _day(row[8]),
        }
    return state


def _day(value: Any) -> str | None:
    return None if value is None else str(value)[:10]


def _expected(dataset: NationalDataset, skip: frozenset[int]) -> FinalState:
    """The simulator's fold, reduced to what the database keeps (no decision dates, and a
    membership's joining date lives in its membership row)."""
    state = dataset.final_state(skip)
    for slot in state.households.values():
        # A household whose only category change was broken keeps the state it started with.
        standing = slot.get("category") or {
            "category": "NONE",
            "status": "NOT_COVERED",
            "channel": "SURVEY",
            "valid_from": None,
            "valid_until": None,
        }
        slot["category"] = {k: v for k, v in standing.items() if k != "decided_on"}
    for person in state.persons.values():
        person.pop("joined_on", None)
        if person["household_id"] is None:
            person["relation"] = None
    return state


def _category_changes(dataset: NationalDataset, skip: frozenset[int]) -> int:
    return sum(1 for c in dataset.changes() if c["entity"] == "CATEGORY" and c["seq"] not in skip)


FAULTS = [
    "",
    "error=0.5",
    "timeout=0.3",
    "slow=0.5",
    "malformed=0.5",
    "duplicate=0.6",
    "disorder=1",
    "bad_record=0.08",
    "error=0.3,malformed=0.2,duplicate=0.5,disorder=0.5,bad_record=0.05",
]


@pytest.mark.parametrize("national", FAULTS, indirect=True)
async def test_a_sync_under_faults_equals_the_national_data_exactly(
    database_url: str, national: tuple[str, Any]
) -> None:
    base, simulator = national
    dataset: NationalDataset = simulator.dataset
    skip = simulator.bad_seqs()
    first = await _sync_here(database_url, base)
    assert first["position"] == dataset.total
    assert first["rejected"] == len(skip)
    expected = _expected(dataset, skip)
    assert await _database(database_url) == expected
    # Exactly once: one decision per national category change, one rejection per broken change.
    decisions = await sql(
        database_url, "SELECT count(*) FROM determinations WHERE decided_by = 'national-sync'"
    )
    assert decisions[0][0] == _category_changes(dataset, skip)
    rejected = await sql(database_url, "SELECT seq, errors FROM sync_rejections ORDER BY seq")
    assert [seq for seq, _ in rejected] == sorted(skip)
    assert all(
        json.loads(e)[0]["field"].startswith("data.")
        if isinstance(e, str)
        else e[0]["field"].startswith("data.")
        for _, e in rejected
    )
    # The household history holds every state the sync wrote, marked as the sync's.
    history = await sql(
        database_url,
        "SELECT count(*) FROM household_versions WHERE changed_by = 'national-sync'",
    )
    assert history[0][0] >= len(expected.households)
    # A second run finds nothing new and changes nothing.
    again = await _sync_here(database_url, base)
    assert again["applied"] == 0
    assert again["rejected"] == 0
    assert await _database(database_url) == expected


async def test_a_sync_killed_midway_resumes_from_its_checkpoint(
    database_url: str, tmp_path: Path
) -> None:
    faults = Faults.parse("slow=1", SEED)
    faults.slow_seconds = 0.15
    app = create_app(SEED, faults, HOUSEHOLDS, updates=UPDATES)
    simulator = app.state.simulator
    with serving(app) as base:
        exe = Path(sys.executable).parent / "lig"
        env = dict(
            os.environ, **_env(base, LIG_NATIONAL_PAGE_SIZE="5"), LIG_DATABASE_URL=database_url
        )
        log = tmp_path / "sync.log"
        with log.open("wb") as output:
            proc = subprocess.Popen(
                [str(exe), "sync", "national", "--json"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=output,
            )
        try:
            deadline = time.monotonic() + 60
            position = 0
            while position < 40:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the sync made no progress"
                rows = await sql(
                    database_url, "SELECT position FROM sync_checkpoints WHERE name = 'national'"
                )
                position = rows[0][0] if rows else 0
                await asyncio.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        killed_at = (
            await sql(database_url, "SELECT position FROM sync_checkpoints WHERE name='national'")
        )[0][0]
        assert 0 < killed_at < simulator.dataset.total
        # The killed run's lease is still in the table; its process is gone, so the rerun on
        # this host takes it over at once.
        assert await sql(database_url, "SELECT count(*) FROM job_leases") == [(1,)]
        resumed = _sync(database_url, base)
        assert resumed["position"] == simulator.dataset.total
        assert resumed["changes"] <= simulator.dataset.total - killed_at + 5
        assert await _database(database_url) == _expected(simulator.dataset, frozenset())
        decisions = await sql(
            database_url, "SELECT count(*) FROM determinations WHERE decided_by = 'national-sync'"
        )
        assert decisions[0][0] == _category_changes(simulator.dataset, frozenset())


async def test_a_local_edit_and_a_national_edit_conflict_and_neither_is_lost(
    database_url: str, national: tuple[str, Any]
) -> None:
    base, simulator = national
    await _sync_here(database_url, base)
    national_id = "H0000000003"
    (local_id,) = (
        await sql(database_url, "SELECT id FROM households WHERE national_id = :n", n=national_id)
    )[0]
    # A caseworker corrects the address here, through the ORM as the gateway itself does.
    await _edit_household(database_url, local_id, address="启东市汇龙镇本地更正路1号")
    async with httpx.AsyncClient(base_url=base) as client:
        current = simulator.dataset.final_state().households[national_id]["household"]
        answer = await client.post(
            "/_sim/edit",
            json={
                "entity": "HOUSEHOLD",
                "national_id": national_id,
                "data": {**current, "address": "启东市汇龙镇国家更正路2号"},
            },
        )
        assert answer.status_code == 200
        # An unrelated national edit still applies.
        other = simulator.dataset.final_state().households["H0000000004"]["household"]
        await client.post(
            "/_sim/edit",
            json={
                "entity": "HOUSEHOLD",
                "national_id": "H0000000004",
                "data": {**other, "address": "启东市北新镇新址3号"},
            },
        )
    result = await _sync_here(database_url, base)
    assert result["conflicts"] == 1
    assert result["households_updated"] == 1
    rows = await sql(database_url, "SELECT address FROM households WHERE id = :i", i=local_id)
    assert rows[0][0] == "启东市汇龙镇本地更正路1号"  # the local edit stands
    listed = lig("sync", "conflicts", "--json", url=database_url)
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert shown["open"] == 1
    (conflict,) = shown["conflicts"]
    assert conflict["national_id"] == national_id
    assert conflict["local"]["address"] == "启东市汇龙镇本地更正路1号"
    assert conflict["national"]["address"] == "启东市汇龙镇国家更正路2号"  # kept whole
    # Rerunning records the conflict once, not twice.
    assert (await _sync_here(database_url, base))["conflicts"] == 0
    # Taking the national side applies it; the local state stays in the history.
    taken = lig("sync", "resolve", str(conflict["id"]), "--keep", "national", url=database_url)
    assert taken.returncode == 0, taken.stderr
    rows = await sql(database_url, "SELECT address FROM households WHERE id = :i", i=local_id)
    assert rows[0][0] == "启东市汇龙镇国家更正路2号"
    history = [
        json.loads(state)["address"] if isinstance(state, str) else state["address"]
        for (state,) in await sql(
            database_url,
            "SELECT state FROM household_versions WHERE household_id = :i ORDER BY version",
            i=local_id,
        )
    ]
    assert "启东市汇龙镇本地更正路1号" in history
    assert history[-1] == "启东市汇龙镇国家更正路2号"
    # The household is in step again: the next national change applies without conflict.
    async with httpx.AsyncClient(base_url=base) as client:
        current = simulator.dataset.final_state().households[national_id]["household"]
        await client.post(
            "/_sim/edit",
            json={
                "entity": "HOUSEHOLD",
                "national_id": national_id,
                "data": {**current, "phone": "0513-83123456"},
            },
        )
    after = await _sync_here(database_url, base)
    assert after["conflicts"] == 0
    assert after["households_updated"] == 1


async def _edit_household(url: str, household_id: int, **values: Any) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from gateway.models import Household

    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            household = await session.get(Household, household_id)
            assert household is not None
            for name, value in values.items():
                setattr(household, name, value)
            household.updated_by = "caseworker-1"
    finally:
        await engine.dispose()


async def test_sync_without_settings_names_what_to_set(database_url: str) -> None:
    done = lig("sync", "national", url=database_url, env={"LIG_NATIONAL_URL": ""})
    assert done.returncode == 2
    assert "LIG_NATIONAL_URL" in done.stderr


@pytest.mark.parametrize("national", ["skew=900"], indirect=True)
async def test_a_refused_signature_is_reported_clearly(
    database_url: str, national: tuple[str, Any]
) -> None:
    base, _ = national
    done = lig("sync", "national", url=database_url, env=_env(base))
    assert done.returncode != 0
    assert "SIGNATURE_EXPIRED" in done.stderr
    assert "clock" in done.stderr
    wrong = lig(
        "sync",
        "national",
        url=database_url,
        env=_env(base, LIG_NATIONAL_APP_SECRET="not-the-secret"),
    )
    assert wrong.returncode != 0
    status = lig("sync", "status", "--json", url=database_url)
    assert json.loads(status.stdout)["last_error"]


def test_the_simulator_is_deterministic() -> None:
    one, two = NationalDataset(5, 30, 12), NationalDataset(5, 30, 12)
    assert list(one.changes()) == list(two.changes())
    assert list(NationalDataset(6, 30, 12).changes()) != list(one.changes())
    numbers = [c["data"]["id_number"] for c in one.changes() if c["entity"] == "PERSON"]
    assert len(set(numbers)) == one.people
    assert date.fromisoformat(one.change(1)["changed_at"][:10]).year == 2026


async def test_a_change_without_a_sequence_number_refuses_its_page(database_url: str) -> None:
    from gateway.database import Database
    from gateway.settings import Settings
    from gateway.sync.apply import PageRefused, apply_page

    db = Database(Settings(database_url=database_url))
    good = NationalDataset(3, 2, 0).change(1)

    async def apply() -> None:
        async with db.unit_of_work() as session:
            await apply_page(session, [good, {"entity": "HOUSEHOLD"}], 0, date.today())

    try:
        with pytest.raises(PageRefused, match="sequence number"):
            await apply()
    finally:
        await db.dispose()
    assert await sql(database_url, "SELECT count(*) FROM households") == [(0,)]


def _change(seq: int, entity: str, nid: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": seq,
        "entity": entity,
        "national_id": nid,
        "version": version,
        "changed_at": "2026-11-01T00:00:00+00:00",
        "data": data,
    }


async def test_conflicts_protect_a_household_until_every_one_is_resolved(
    database_url: str,
) -> None:
    """A county database that existed before its first sync: a household known here by its
    code. What the national system says differently waits as a conflict, each later national
    change too, until all of the household's conflicts are resolved."""
    from gateway.database import Database
    from gateway.models import Household
    from gateway.settings import Settings
    from gateway.sync.apply import apply_page
    from gateway.sync.conflicts import resolve

    db = Database(Settings(database_url=database_url))
    today = date.today()
    mine = {
        "household_code": "QD-0001",
        "region_code": "320681100000",
        "address": "启东市汇龙镇人民路1号",
        "phone": None,
        "urban_rural": "URBAN",
        "former_registered_poor": False,
    }
    category = {
        "category": "MARGINAL",
        "status": "ACTIVE",
        "channel": "APPLICATION",
        "decided_on": "2026-01-05",
        "valid_from": "2026-01-05",
        "valid_until": "2027-01-04",
    }

    async def page(*changes: dict[str, Any]) -> dict[str, int]:
        async with db.unit_of_work() as session:
            counts, _ = await apply_page(session, list(changes), 0, today)
            return counts.as_dict()

    async def settle(conflict_id: int, keep: str) -> None:
        async with db.unit_of_work() as session:
            await resolve(session, conflict_id, keep, resolved_by="t", note=None, today=today)

    async def address() -> str:
        rows = await sql(database_url, "SELECT address FROM households WHERE code = 'QD-0001'")
        return str(rows[0][0])

    try:
        async with db.unit_of_work() as session:
            session.add(
                Household(
                    code="QD-0001",
                    region_code="320681100000",
                    address=mine["address"],
                    urban_rural="URBAN",
                    category="DIBAO",
                    status="ACTIVE",
                    channel="APPLICATION",
                )
            )
        # The same household record, another category: the record links, the category waits.
        first = await page(
            _change(1, "HOUSEHOLD", "H1", 1, mine), _change(2, "CATEGORY", "H1", 1, category)
        )
        assert (first["households_updated"], first["conflicts"]) == (1, 1)
        rows = await sql(database_url, "SELECT national_id, category FROM households")
        assert rows == [("H1", "DIBAO")]
        # While that conflict is open, a new national address waits too.
        moved = {**mine, "address": "启东市汇龙镇江海路2号"}
        assert (await page(_change(3, "HOUSEHOLD", "H1", 2, moved)))["conflicts"] == 1
        assert await address() == mine["address"]
        ids = [i for (i,) in await sql(database_url, "SELECT id FROM sync_conflicts ORDER BY id")]
        # Keeping the local category does not yet open the household to national changes.
        await settle(ids[0], "local")
        again = {**mine, "address": "启东市汇龙镇江海路3号"}
        assert (await page(_change(4, "HOUSEHOLD", "H1", 3, again)))["conflicts"] == 1
        ids = [
            i
            for (i,) in await sql(
                database_url, "SELECT id FROM sync_conflicts WHERE status = 'OPEN' ORDER BY id"
            )
        ]
        assert len(ids) == 2
        await settle(ids[1], "national")  # the newest address, over the local one
        assert await address() == again["address"]
        await settle(ids[0], "local")  # the older national address: answered, not applied
        assert await address() == again["address"]
        # All resolved: the next national change applies as usual.
        latest = {**mine, "address": "启东市汇龙镇江海路4号"}
        applied = await page(_change(5, "HOUSEHOLD", "H1", 4, latest))
        assert (applied["households_updated"], applied["conflicts"]) == (1, 0)
        assert await address() == latest["address"]
        # Another national household claiming this code is refused, naming both.
        other = await page(_change(6, "HOUSEHOLD", "H2", 1, {**mine, "address": "别处"}))
        assert other["rejected"] == 1
        reasons = await sql(database_url, "SELECT errors FROM sync_rejections WHERE seq = 6")
        assert "H1" in str(reasons[0][0])
    finally:
        await db.dispose()


async def test_a_local_edit_of_a_person_is_kept_against_a_national_one(database_url: str) -> None:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from gateway.database import Database
    from gateway.models import Person
    from gateway.settings import Settings
    from gateway.sync.apply import apply_page
    from gateway.sync.conflicts import resolve

    dataset = NationalDataset(5, 1, 0)
    stream = list(dataset.changes())
    person = next(c for c in stream if c["entity"] == "PERSON")
    db = Database(Settings(database_url=database_url))
    today = date.today()

    async def page(*changes: dict[str, Any]) -> dict[str, int]:
        async with db.unit_of_work() as session:
            counts, _ = await apply_page(session, list(changes), 0, today)
            return counts.as_dict()

    try:
        assert (await page(*stream))["persons_created"] == dataset.people
        # A caseworker corrects the name here (any ORM write raises the person's version).
        engine = create_async_engine(database_url)
        async with async_sessionmaker(engine)() as session, session.begin():
            row = await session.scalar(
                select(Person).where(Person.national_person_id == person["national_id"])
            )
            assert row is not None
            row.name = "本地更正"
        await engine.dispose()
        national = {**person["data"], "labor_capacity": "NONE"}
        seq = len(stream) + 1
        assert (await page(_change(seq, "PERSON", person["national_id"], 2, national)))[
            "conflicts"
        ] == 1
        rows = await sql(
            database_url,
            "SELECT name, labor_capacity FROM persons WHERE national_person_id = :n",
            n=person["national_id"],
        )
        assert rows == [("本地更正", person["data"]["labor_capacity"])]
        (conflict_id,) = (await sql(database_url, "SELECT id FROM sync_conflicts"))[0]
        async with db.unit_of_work() as session:
            await resolve(session, conflict_id, "local", resolved_by="t", note=None, today=today)
        later = {**national, "name": "本地更正", "illness": "SEVERE"}
        applied = await page(_change(seq + 1, "PERSON", person["national_id"], 3, later))
        assert (applied["persons_updated"], applied["conflicts"]) == (1, 0)
    finally:
        await db.dispose()
