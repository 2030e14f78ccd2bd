"""`lig export national --month`: the monthly upload, its asynchronous receipt and rejections,
against the national simulator on 127.0.0.1, on both engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.faults import Faults
from adapters.national.simulator import create_app
from tests.conftest import lig
from tests.support.servers import serving
from tests.support.sql import sql
from tests.test_national_sync import _env, _sync_here

SEED = 23
MONTH = "2026-10"


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    spec, delay = getattr(request, "param", ("", 0.2))
    faults = Faults.parse(spec, SEED)
    faults.hang_seconds = 1.0
    app = create_app(SEED, faults, 30, updates=10, receipt_delay=delay)
    with serving(app) as base:
        yield base, app.state.simulator


def _export(url: str, base: str, *args: str) -> tuple[int, dict[str, Any], str]:
    done = lig("export", "national", "--month", MONTH, "--json", *args, url=url, env=_env(base))
    return done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr


async def _covered(url: str) -> tuple[int, int]:
    """Households in a category with assistance running, and their living current members,
    counted here by hand."""
    rows = await sql(
        url,
        "SELECT count(DISTINCT h.id), count(p.id) FROM households h "
        "LEFT JOIN memberships m ON m.household_id = h.id AND m.left_on IS NULL "
        "LEFT JOIN persons p ON p.id = m.person_id AND p.deceased_on IS NULL "
        "WHERE h.category <> 'NONE' AND h.status IN ('ACTIVE', 'SUSPENDED')",
    )
    return rows[0][0], rows[0][1]


@pytest.mark.parametrize("simulator", [("", 0.2), ("error=0.5,timeout=0.2", 0.2)], indirect=True)
async def test_the_monthly_export_uploads_once_and_records_the_rejections(
    database_url: str, simulator: tuple[str, Any]
) -> None:
    base, sim = simulator
    await _sync_here(database_url, base)
    # One household moved to a village code the national division list does not know, and one
    # person the national system has registered in another province.
    await sql(
        database_url,
        "INSERT INTO regions (code, name, level, parent_code) VALUES "
        "('320681100201', '测试村', 'VILLAGE', '320681100000')",
    )
    (moved,) = (
        await sql(
            database_url,
            "SELECT code FROM households WHERE category <> 'NONE' AND status = 'ACTIVE' "
            "ORDER BY id LIMIT 1",
        )
    )[0]
    await sql(
        database_url, "UPDATE households SET region_code = '320681100201' WHERE code = :c", c=moved
    )
    (elsewhere,) = (
        await sql(
            database_url,
            "SELECT p.id_number FROM persons p JOIN memberships m ON m.person_id = p.id "
            "JOIN households h ON h.id = m.household_id WHERE m.left_on IS NULL "
            "AND h.category <> 'NONE' AND h.status = 'ACTIVE' AND h.code <> :c "
            "ORDER BY p.id LIMIT 1",
            c=moved,
        )
    )[0]
    sim.elsewhere = frozenset({elsewhere})
    households, people = await _covered(database_url)
    assert households > 5

    code, report, stderr = _export(database_url, base)
    assert code == 0, stderr
    assert report["status"] == "DONE"
    assert (report["households"], report["records"]) == (households, people)
    assert report["rejected"] == 2
    assert report["accepted"] == households - 2
    assert report["rejections_by_code"] == {"REGION_UNKNOWN": 1, "ID_REGISTERED_ELSEWHERE": 1}
    codes = {r["code"]: r for r in report["rejections"]}
    assert codes["REGION_UNKNOWN"]["household_code"] == moved
    assert codes["ID_REGISTERED_ELSEWHERE"]["id_number"] == elsewhere
    # The national side holds exactly one upload of every covered household, whatever the
    # faults made the client retry.
    assert len(sim.uploads) == 1
    (upload,) = sim.uploads.values()
    assert upload.records == households
    stored = await sql(
        database_url,
        "SELECT r.code, r.household_code, r.id_number FROM national_export_rejections r "
        "JOIN national_exports e ON e.id = r.export_id WHERE e.month = :m ORDER BY r.number",
        m=MONTH,
    )
    assert sorted(row[0] for row in stored) == ["ID_REGISTERED_ELSEWHERE", "REGION_UNKNOWN"]
    # Rerun: the same content is not uploaded again; the stored receipt is reported.
    code, again, _ = _export(database_url, base)
    assert code == 0
    assert again["export_id"] == report["export_id"]
    assert again["rejected"] == 2
    assert len(sim.uploads) == 1


@pytest.mark.parametrize("simulator", [("", 3.0)], indirect=True)
async def test_an_export_whose_receipt_is_late_is_collected_by_a_rerun(
    database_url: str, simulator: tuple[str, Any]
) -> None:
    base, sim = simulator
    await _sync_here(database_url, base)
    code, first, _ = _export(database_url, base, "--wait", "0")
    assert code == 3  # not done yet: the operator is told to run again
    assert first["status"] == "SUBMITTED"
    assert "run the same command again" in first["message"]
    import asyncio

    await asyncio.sleep(3.2)
    code, second, stderr = _export(database_url, base)
    assert code == 0, stderr
    assert second["status"] == "DONE"
    assert second["resumed"] is True
    assert second["upload_id"] == first["upload_id"]
    assert len(sim.uploads) == 1


async def test_a_bad_month_is_refused_naming_the_field(database_url: str) -> None:
    for month in ("2026-13", "26-10", "2999-01"):
        done = lig(
            "export", "national", "--month", month, url=database_url, env=_env("http://127.0.0.1:9")
        )
        assert done.returncode == 2
        assert "month" in done.stderr
