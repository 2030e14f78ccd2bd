"""Agency feeds pulled by the gateway (issue 6): each agency's simulator served for real, every
fault switched on in turn, and what is stored compared with the simulator's own data set: the
latest good version of every record, each good version once, every broken one rejected with a
reason. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from adapters.disabled_federation import simulator as disabled_federation
from adapters.education import simulator as education
from adapters.education.feed import normalise as normalise_row
from adapters.faults import Faults
from adapters.feeds import FEEDS
from adapters.feeds.paged_simulator import Entry
from adapters.hr_social_security import simulator as hr_social_security
from adapters.medical_security import simulator as medical_security
from adapters.public_security import simulator as public_security
from gateway.cli import app as cli
from gateway.database import Database
from gateway.pushes.ingest import Unreadable
from gateway.settings import Settings, get_settings
from gateway.sync.feeds import pull, run_due
from gateway.sync.leases import Lease
from tests.support.servers import serving
from tests.support.sql import sql

PAGED: dict[str, ModuleType] = {
    "medical-security": medical_security,
    "public-security": public_security,
    "disabled-federation": disabled_federation,
    "hr-social-security": hr_social_security,
}
SIZE, PAGE = 120, 25
SEED = 2026
TODAY = date.today()
MONEY = {"out_of_pocket", "total_cost", "value", "fees"}
# Fast enough for tests: a hung answer (0.6 s) outlasts the read timeout (0.3 s).
FAST = {
    "feed_page_size": PAGE,
    "upstream_read_timeout": 0.3,
    "upstream_connect_timeout": 0.5,
    "upstream_backoff_seconds": 0.01,
    "upstream_backoff_max_seconds": 0.05,
}


@dataclass
class Counted(Faults):
    """Faults that count how often each struck, so a test knows its fault did happen."""

    hits: Counter[str] = field(default_factory=Counter)

    def chance(self, fault: str, key: str) -> bool:
        hit = super().chance(fault, key)
        self.hits[fault] += hit
        return hit

    def strike(self, fault: str, key: str) -> bool:
        hit = super().strike(fault, key)
        self.hits[fault] += hit
        return hit


def faults(spec: str = "", seed: int = 7) -> Counted:
    made = Counted.parse(spec, seed)
    made.hang_seconds = 0.6
    made.slow_seconds = 0.1
    return made


def settings(url: str, **overrides: Any) -> Settings:
    return Settings(database_url=url, audit_seal_interval=3600, **{**FAST, **overrides})


def by_prefix(apps: dict[str, Any]) -> Any:
    """One ASGI app serving each app under `/<name>` (the path it sees has the prefix taken
    off, so the simulators' fault middleware applies as it would on its own server): one
    server for the four simulators, started and stopped once."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the simulators need no startup or shutdown
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        name, _, rest = scope["path"].lstrip("/").partition("/")
        path = "/" + rest
        await apps[name]({**scope, "path": path, "raw_path": path.encode()}, receive, send)

    return app


@dataclass
class Served:
    urls: dict[str, str]  # agency → the base URL of its simulator
    data: dict[str, list[Entry]]  # agency → the data set its simulator serves
    faults: dict[str, Counted]  # agency → its simulator's faults (each upstream its own)

    def hits(self, fault: str) -> int:
        return sum(f.hits[fault] for f in self.faults.values())


@contextmanager
def simulators(spec: str = "", size: int = SIZE) -> Iterator[Served]:
    """Every paged agency's simulator, with the faults of `spec`, served on one server."""
    made = {agency: faults(spec) for agency in PAGED}
    apps = {agency: module.create_app(SEED, made[agency], size) for agency, module in PAGED.items()}
    with serving(by_prefix(apps)) as url:
        yield Served(
            {agency: f"{url}/{agency}" for agency in PAGED},
            {agency: module.dataset(SEED, size, faults(spec)) for agency, module in PAGED.items()},
            made,
        )


# ---- What the simulator's data set says must be stored ----------------------------------------


def _money(details: dict[str, Any]) -> str:
    return json.dumps(
        {k: f"{Decimal(v):.2f}" if k in MONEY else v for k, v in details.items()}, sort_keys=True
    )


def _event(item: Any) -> tuple[Any, ...]:
    assert isinstance(item, dict), getattr(item, "reason", item)
    return (
        item["agency_event_id"],
        item["revision"],
        item["kind"],
        item["id_number"],
        item["occurred_on"],
        _money(item["details"]),
    )


def current_expected(agency: str, log: Sequence[Entry]) -> set[tuple[Any, ...]]:
    """The latest good version of every record, as an event."""
    latest: dict[str, Entry] = {}
    for entry in log:
        if entry.broken is None and entry.version > getattr(latest.get(entry.key), "version", 0):
            latest[entry.key] = entry
    return {_event(FEEDS[agency].normalise(entry.record)) for entry in latest.values()}


def versions_expected(log: Sequence[Entry]) -> set[tuple[str, int]]:
    return {(entry.key, entry.version) for entry in log if entry.broken is None}


async def query(db: Database, statement: str, **params: Any) -> list[Any]:
    async with db.reader.connect() as conn:
        return list((await conn.execute(text(statement), params)).all())


async def current_stored(db: Database, agency: str) -> set[tuple[Any, ...]]:
    rows = await query(
        db,
        "SELECT agency_event_id, revision, kind, id_number, occurred_on, details "
        "FROM monitoring_events WHERE agency_code = :agency AND is_current",
        agency=agency,
    )
    return {
        (key, rev, kind, number, str(day), _money(json.loads(d) if isinstance(d, str) else d))
        for key, rev, kind, number, day, d in rows
    }


async def versions_stored(db: Database, agency: str) -> list[tuple[str, int]]:
    rows = await query(
        db,
        "SELECT agency_event_id, revision FROM monitoring_events WHERE agency_code = :agency",
        agency=agency,
    )
    return [(key, revision) for key, revision in rows]


async def rejections(db: Database, agency: str) -> list[tuple[str | None, int | None, Any]]:
    rows = await query(
        db,
        "SELECT i.item_key, i.revision, i.errors FROM push_receipt_items i "
        "JOIN push_receipts r ON r.id = i.receipt_id "
        "WHERE r.agency_code = :agency AND i.outcome = 'REJECTED'",
        agency=agency,
    )
    return [(key, rev, json.loads(e) if isinstance(e, str) else e) for key, rev, e in rows]


async def assert_stored_exactly(db: Database, agency: str, log: Sequence[Entry]) -> None:
    """No loss, no duplicates: the current events are the data set's latest good versions, and
    every good version is stored once."""
    assert await current_stored(db, agency) == current_expected(agency, log)
    stored = await versions_stored(db, agency)
    assert len(stored) == len(set(stored))
    assert set(stored) == versions_expected(log)


# ---- Paged feeds, fault by fault ---------------------------------------------------------------

FAULTS = [
    "error=0.4",
    "timeout=0.25",
    "slow=0.5",
    "malformed=0.4",
    "duplicate=0.6",
    "disorder=0.6",
    "bad_record=0.08",
]


@pytest.mark.parametrize("spec", FAULTS)
async def test_every_paged_feed_stores_exactly_its_data_set_whatever_the_fault(
    database_url: str, spec: str
) -> None:
    with simulators(spec) as served:
        config = settings(database_url, feed_urls=served.urls)
        db = Database(config)
        try:
            reports = await asyncio.gather(*(pull(db, config, a, today=TODAY) for a in PAGED))
            assert served.hits(spec.partition("=")[0]) > 0, "the fault never struck"
            for report in reports:
                assert report.status == "ok", report
                log = served.data[report.agency]
                await assert_stored_exactly(db, report.agency, log)
                broken = [e for e in log if e.broken]
                if spec.startswith("bad_record"):
                    assert broken
                # Each broken version rejected once (no page repeats here), with a reason.
                assert report.rejected == len(broken)
                rejected = await rejections(db, report.agency)
                assert len(rejected) == len(broken)
                assert all(errors and errors[0]["reason"] for _, _, errors in rejected)
                # Even a record that does not map is named in the receipt by its id and version.
                assert sorted((k, v) for k, v, _ in rejected) == sorted(
                    (e.key, e.version) for e in broken
                )
                if spec.startswith("duplicate"):
                    assert report.duplicate > 0
                assert report.received == report.accepted + report.duplicate + report.rejected
                assert report.position == report.received
        finally:
            await db.dispose()


async def test_a_pull_resumes_after_a_crash_and_picks_up_what_the_agency_added(
    database_url: str,
) -> None:
    agency = "medical-security"
    fault = faults("duplicate=0.5,disorder=0.5,bad_record=0.05")
    with serving(medical_security.create_app(SEED, fault, 100)) as url:
        config = settings(database_url, feed_urls={agency: url})
        db = Database(config)
        try:
            pages = 0

            def crash(records: int, remaining: int | None) -> None:
                nonlocal pages
                pages += 1
                if pages == 2:  # after the second page committed
                    raise RuntimeError("the host died")

            with pytest.raises(RuntimeError, match="the host died"):
                await pull(db, config, agency, today=TODAY, progress=crash)
            [(position, error)] = await query(
                db,
                "SELECT position, last_error FROM sync_checkpoints WHERE name = :n",
                n=f"feed:{agency}",
            )
            assert 2 * PAGE <= position < 100 + 2 * PAGE  # two pages (with repeats) kept
            assert "the host died" in error
            resumed = await pull(db, config, agency, today=TODAY)
            assert resumed.status == "ok"
            log = medical_security.dataset(SEED, 100, fault)
            await assert_stored_exactly(db, agency, log)

            # A rerun finds nothing new, and stores nothing.
            before = await query(db, "SELECT count(*) FROM monitoring_events")
            again = await pull(db, config, agency, today=TODAY)
            assert (again.status, again.pages, again.received) == ("ok", 0, 0)
            assert await query(db, "SELECT count(*) FROM monitoring_events") == before
        finally:
            await db.dispose()

    # The agency's log grows; the next pull reads only what was added.
    with serving(medical_security.create_app(SEED, fault, 130)) as url:
        config = settings(database_url, feed_urls={agency: url})
        db = Database(config)
        try:
            grown = await pull(db, config, agency, today=TODAY)
            assert grown.status == "ok"
            assert 30 <= grown.received < 30 + PAGE  # (a repeated page may add a few)
            await assert_stored_exactly(db, agency, medical_security.dataset(SEED, 130, fault))
        finally:
            await db.dispose()


async def test_events_about_people_of_the_county_are_linked_to_them(demo_url: str) -> None:
    people = [r[0] for r in await sql(demo_url, "SELECT id_number FROM persons LIMIT 40")]
    agency = "hr-social-security"
    with serving(hr_social_security.create_app(SEED, faults(), 60, id_numbers=people)) as url:
        config = settings(demo_url, feed_urls={agency: url})
        db = Database(config)
        try:
            report = await pull(db, config, agency, today=TODAY)
        finally:
            await db.dispose()
    assert report.status == "ok"
    assert report.accepted > 0
    unlinked = await sql(
        demo_url,
        "SELECT count(*) FROM monitoring_events WHERE agency_code = :a "
        "AND (person_id IS NULL OR household_id IS NULL)",
        a=agency,
    )
    assert unlinked == [(0,)]


async def test_two_hosts_pulling_one_feed_at_once_pull_it_once(database_url: str) -> None:
    agency = "public-security"
    fault = faults("slow=1")  # every page takes a while: the two pulls overlap
    fault.slow_seconds = 0.2
    with serving(public_security.create_app(SEED, fault, 75)) as url:
        config = settings(database_url, feed_urls={agency: url})
        first, second = Database(config), Database(config)  # two hosts, one database
        try:
            reports = await asyncio.gather(
                pull(first, config, agency, today=TODAY), pull(second, config, agency, today=TODAY)
            )
            statuses = sorted((r.status, r.reason or "") for r in reports)
            assert statuses == [("ok", ""), ("skipped", "another host is pulling this feed")]
            assert sum(r.received for r in reports) == 75
            await assert_stored_exactly(first, agency, public_security.dataset(SEED, 75))
            assert await query(first, "SELECT count(*) FROM job_leases") == [(0,)]  # released
        finally:
            await first.dispose()
            await second.dispose()


async def test_the_schedule_pulls_each_feed_at_its_interval(
    database_url: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    education.write_drop(inbox, seed=SEED, index=1, rows=10)
    with simulators(size=30) as served:
        config = settings(
            database_url,
            feed_urls={a: served.urls[a] for a in ("medical-security", "disabled-federation")},
            feed_drop_folder=str(inbox),
            feed_intervals={"medical-security": 60},
            feed_default_interval=900,
        )
        db = Database(config)
        try:
            t0 = datetime.now(UTC)
            first = await run_due(db, config, t0)
            assert sorted((r.agency, r.status) for r in first) == [
                ("disabled-federation", "ok"),  # its own default: hourly
                ("education", "ok"),  # every minute
                ("medical-security", "ok"),  # LIG_FEED_INTERVALS: every minute
            ]
            assert await run_due(db, config, t0 + timedelta(seconds=59)) == []
            due = await run_due(db, config, t0 + timedelta(seconds=61))
            assert sorted(r.agency for r in due) == ["education", "medical-security"]
            assert [r.received for r in due] == [0, 0]

            # A host that saw the feed due but got the lease after another host had pulled it
            # does not pull it again.
            late = await pull(
                db, config, "disabled-federation", today=TODAY, not_run_since=t0 - timedelta(1)
            )
            assert (late.status, late.reason) == (
                "skipped",
                "not due: another host pulled it since",
            )
        finally:
            await db.dispose()


async def test_a_feed_held_by_another_host_is_skipped(database_url: str) -> None:
    agency = "medical-security"
    config = settings(database_url, feed_urls={agency: "http://127.0.0.1:9"})
    db = Database(config)
    try:
        other = Lease(db.engine, f"feed:{agency}", 600, holder="elsewhere:1:x")
        assert await other.acquire()
        report = await pull(db, config, agency, today=TODAY)
        assert (report.status, report.reason) == ("skipped", "another host is pulling this feed")
    finally:
        await db.dispose()


# ---- The education drop folder -----------------------------------------------------------------


def _rows_expected(drops: Sequence[education.Drop]) -> set[tuple[Any, ...]]:
    latest: dict[str, education.Row] = {}
    for drop in drops:
        for row in drop.rows:
            if row.broken is None and row.version > getattr(latest.get(row.key), "version", 0):
                latest[row.key] = row
    return {_event(normalise_row(row.values)) for row in latest.values()}


async def test_drop_folder_files_are_stored_once_archived_and_bad_rows_reported(
    database_url: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    clean = education.write_drop(inbox, seed=SEED, index=1, rows=40)
    spoilt = education.write_drop(
        inbox, seed=SEED, index=2, rows=40, faults=faults("bad_record=0.15,truncate=1")
    )
    (inbox / "enrolment-0003.csv.part").write_text("zcjlh,bbh\n")  # still being written
    config = settings(database_url, feed_drop_folder=str(inbox))
    db = Database(config)
    try:
        report = await pull(db, config, "education", today=TODAY)
        assert (report.status, report.files, report.files_seen) == ("ok", 2, 0)
        assert await current_stored(db, "education") == _rows_expected([clean, spoilt])

        broken = [row for row in spoilt.rows if row.broken]
        assert spoilt.truncated
        assert broken[-1].line == 41  # the last row, cut short
        files = await query(
            db,
            "SELECT name, rows, accepted, rejected, problems, receipt_id FROM feed_files "
            "ORDER BY processed_at",
        )
        assert [(f[0], f[1], f[2], f[3]) for f in files] == [
            (clean.path.name, 40, 40, 0),
            (spoilt.path.name, 40, 40 - len(broken), len(broken)),
        ]
        problems = files[1][4]
        problems = json.loads(problems) if isinstance(problems, str) else problems
        assert sorted({p["line"] for p in problems}) == [row.line for row in broken]
        assert any("cut short" in p["reason"] for p in problems if p["line"] == 41)
        assert all(p["reason"] for p in problems)

        archived = tmp_path / "inbox" / "archive" / TODAY.isoformat()
        assert sorted(p.name for p in archived.iterdir()) == [clean.path.name, spoilt.path.name]
        assert [p.name for p in inbox.iterdir() if p.is_file()] == ["enrolment-0003.csv.part"]

        # The same content again, under another name: archived, not stored again.
        shutil.copy(archived / clean.path.name, inbox / "resent.csv")
        receipts = await query(db, "SELECT count(*) FROM push_receipts")
        again = await pull(db, config, "education", today=TODAY)
        assert (again.files, again.files_seen, again.received) == (0, 1, 0)
        assert (archived / "resent.csv").exists()
        assert not (inbox / "resent.csv").exists()
        assert await query(db, "SELECT count(*) FROM push_receipts") == receipts

        # A file without the columns it needs is reported and archived, its rows not guessed at.
        (inbox / "wrong.csv").write_text("name,amount\nx,1\n", encoding="utf-8")
        bad = await pull(db, config, "education", today=TODAY)
        assert (bad.status, bad.bad_files, bad.received) == ("ok", 1, 0)
        [(problems,)] = await query(db, "SELECT problems FROM feed_files WHERE name = 'wrong.csv'")
        assert "lacks the columns" in str(problems)
        assert not (inbox / "wrong.csv").exists()
    finally:
        await db.dispose()


async def test_the_education_simulator_drops_files_over_http(tmp_path: Path) -> None:
    app = education.create_app(SEED, faults("bad_record=0.2"), 25, drop_folder=tmp_path)
    with serving(app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            first = (await client.post("/api/drops")).json()
            second = (await client.post("/api/drops", params={"rows": 5})).json()
    assert (first["rows"], second["rows"]) == (25, 5)
    assert first["bad_lines"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [first["name"], second["name"]]
    expected = education.render(*education.drop_rows(SEED, 1, 25, faults("bad_record=0.2")))
    assert (tmp_path / first["name"]).read_bytes() == expected


# ---- Normalisers: the agencies' fields into ours ------------------------------------------------


def test_each_normaliser_maps_the_agency_fields_into_a_push_event() -> None:
    number = "320681195802140012"
    assert FEEDS["medical-security"].normalise(
        {
            "setl_id": "YB1",
            "rec_ver": 2,
            "certno": number,
            "med_type": "21",
            "setl_time": "2026-03-04 10:00:00",
            "begndate": "2026-02-20",
            "enddate": "2026-03-04",
            "medfee_sumamt": "60200.00",
            "psn_part_amt": "18250.50",
        }
    ) == {
        "agency_event_id": "YB1",
        "revision": 2,
        "id_number": number,
        "kind": "HOSPITAL_SETTLEMENT",
        "occurred_on": "2026-03-04",
        "details": {
            "out_of_pocket": Decimal("18250.50"),
            "total_cost": Decimal("60200.00"),
            "days": 12,
        },
    }
    vehicle = FEEDS["public-security"].normalise(
        {"ywlsh": "GA1", "bbh": 1, "ywlx": "JDCZCDJ", "gmsfhm": number, "ccdjrq": "20260105",
         "gcjg": 128000, "hphm": "苏F12345"}
    )  # fmt: skip
    assert vehicle == {
        "agency_event_id": "GA1",
        "revision": 1,
        "id_number": number,
        "kind": "VEHICLE_REGISTERED",
        "occurred_on": "2026-01-05",
        "details": {"value": 128000},
    }
    certificate = FEEDS["disabled-federation"].normalise(
        {"fzjlid": "CL1", "bbh": 1, "sfzh": number, "cjlb": "5", "cjdj": "2", "fzrq": "2025-06-01"}
    )
    assert certificate["details"] == {"disability_type": "INTELLECTUAL", "disability_grade": 2}
    registration = FEEDS["hr-social-security"].normalise(
        {"sydjbh": "SY1", "bbh": "3", "aac002": number, "aae030": "20260110", "aac003": "王伟"}
    )
    assert (registration["revision"], registration["occurred_on"]) == (3, "2026-01-10")
    enrolment = normalise_row(
        {"zcjlh": "ZC1", "bbh": "1", "sfzjh": number, "xddm": "3", "rxrq": "20250901",
         "xfje": "2400.00", "zsfje": "800.00", "xm": "王伟", "xjh": "G1"}
    )  # fmt: skip
    assert enrolment["details"] == {"stage": "SENIOR_SECONDARY", "fees": Decimal("3200.00")}
    assert enrolment["occurred_on"] == "2025-09-01"

    # A code nobody knows has no place in an item: rejected, naming the record and the field.
    unknown = FEEDS["medical-security"].normalise(
        {"setl_id": "YB9", "rec_ver": 1, "med_type": "99"}
    )
    assert isinstance(unknown, Unreadable)
    assert unknown.reason.startswith("YB9 (rec_ver 1): med_type: '99' is not a known code")
    # A value that does not convert is passed on, for the push API's checks to name our field.
    odd = FEEDS["hr-social-security"].normalise({"sydjbh": "SY2", "aae030": "2026-13-01"})
    assert isinstance(odd, dict)
    assert odd["occurred_on"] == "2026-13-01"
    assert "id_number" not in odd


# ---- The command line ---------------------------------------------------------------------------


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`lig …` in this process (typer's runner), with the given LIG_* settings."""
    runner = CliRunner()

    def run(*args: str, **env: str) -> Any:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return runner.invoke(cli, list(args))

    yield run
    get_settings.cache_clear()


def _env(url: str, **feeds: str) -> dict[str, str]:
    return {
        "LIG_DATABASE_URL": url,
        "LIG_FEED_URLS": json.dumps(feeds),
        "LIG_FEED_PAGE_SIZE": str(PAGE),
        "LIG_UPSTREAM_READ_TIMEOUT": "0.3",
        "LIG_UPSTREAM_ATTEMPTS": "2",
        "LIG_UPSTREAM_BACKOFF_SECONDS": "0.01",
        "LIG_UPSTREAM_BACKOFF_MAX_SECONDS": "0.05",
        "LIG_AUDIT_SEAL_INTERVAL": "3600",
    }


def test_lig_feeds_pull_prints_its_counts_as_json(invoke: Any, database_url: str) -> None:
    agency = "disabled-federation"
    fault = faults("bad_record=0.1")
    with serving(disabled_federation.create_app(SEED, fault, 60, api_key="k-1")) as url:
        env = _env(database_url, **{agency: url})
        result = invoke(
            "feeds", "pull", agency, "--json", **env, LIG_FEED_API_KEYS=json.dumps({agency: "k-1"})
        )
    assert result.exit_code == 0, result.stderr
    counts = json.loads(result.stdout)
    broken = sum(1 for e in disabled_federation.dataset(SEED, 60, fault) if e.broken)
    assert counts == {
        "agency": agency,
        "status": "ok",
        "pages": 3,
        "received": 60,
        "accepted": 60 - broken,
        "duplicate": 0,
        "rejected": broken,
        "position": 60,
        "seconds": counts["seconds"],
    }
    audit = asyncio.run(
        sql(database_url, "SELECT action, client_id FROM audit_events WHERE action = 'feeds pull'")
    )
    assert audit == [("feeds pull", f"feed:{agency}")]


def test_lig_feeds_says_what_is_wrong_and_exits_accordingly(invoke: Any, database_url: str) -> None:
    unknown = invoke("feeds", "pull", "tax-bureau", **_env(database_url))
    assert unknown.exit_code == 2
    assert "no feed is defined for 'tax-bureau'" in unknown.stderr

    unset = invoke("feeds", "pull", "medical-security", **_env(database_url))
    assert unset.exit_code == 2
    assert "LIG_FEED_URLS" in unset.stderr
    no_folder = invoke("feeds", "pull", "education", **_env(database_url))
    assert no_folder.exit_code == 2
    assert "LIG_FEED_DROP_FOLDER" in no_folder.stderr

    # Nobody listens on port 9: the upstream fails after its retries; exit 1 with why.
    down = invoke("feeds", "pull", "medical-security", **_env(database_url, **{
        "medical-security": "http://127.0.0.1:9"}))  # fmt: skip
    assert down.exit_code == 1
    assert "connection failed" in down.stderr
    assert "gave up after 2 attempts" in down.stderr

    # A refused key is not retried: the upstream's own words.
    with serving(medical_security.create_app(SEED, faults(), 10, api_key="right")) as url:
        env = {**_env(database_url, **{"medical-security": url})}
        refused = invoke(
            "feeds",
            "pull",
            "medical-security",
            **env,
            LIG_FEED_API_KEYS='{"medical-security": "x"}',
        )
    assert refused.exit_code == 1
    assert "refused the request (401)" in refused.stderr
    assert "missing or unknown X-Api-Key" in refused.stderr

    status = invoke("feeds", "status", "--json", **_env(database_url))
    assert status.exit_code == 0, status.stderr
    rows = {row["agency"]: row for row in json.loads(status.stdout)}
    assert "X-Api-Key" in rows["medical-security"]["last_error"]
    assert rows["medical-security"]["last_success_at"] is None
    assert rows["education"]["configured"] is False


def test_lig_feeds_run_once_pulls_what_is_due(invoke: Any, database_url: str) -> None:
    with simulators(size=20) as served:
        env = _env(database_url, **served.urls)
        first = invoke("feeds", "run", "--once", **env)
        assert first.exit_code == 0, first.stderr
        lines = [json.loads(line) for line in first.stdout.splitlines()]
        assert sorted((r["agency"], r["status"], r["received"]) for r in lines) == [
            (agency, "ok", 20) for agency in sorted(PAGED)
        ]
        second = invoke("feeds", "run", "--once", **env)  # nothing due yet
        assert (second.exit_code, second.stdout) == (0, "")

        status = invoke("feeds", "status", "--json", **env)
        rows = {row["agency"]: row for row in json.loads(status.stdout)}
        assert rows["hr-social-security"]["totals"]["accepted"] == 20
        assert rows["hr-social-security"]["last_success_at"] is not None


async def test_the_schedule_keeps_one_client_per_feed_and_its_breaker_across_rounds(
    database_url: str,
) -> None:
    from adapters.http import Upstreams

    config = settings(
        database_url,
        feed_urls={"hr-social-security": "http://127.0.0.1:9"},  # nothing listens there
        feed_intervals={"hr-social-security": 1},
        upstream_attempts=2,
        upstream_breaker_failures=2,
        upstream_breaker_reset_seconds=3600,
    )
    db = Database(config)
    upstreams = Upstreams()
    try:
        t0 = datetime.now(UTC)
        (first,) = await run_due(db, config, t0, upstreams=upstreams)
        assert first.status == "failed"
        (client,) = upstreams._clients.values()
        tried = client.attempts_made
        assert tried == 2
        (second,) = await run_due(db, config, t0 + timedelta(seconds=5), upstreams=upstreams)
        # The breaker opened in the first round: the second does not even call.
        assert second.status == "failed"
        assert "not called" in (second.reason or "")
        assert client.attempts_made == tried
        assert list(upstreams._clients.values()) == [client]
    finally:
        await upstreams.aclose()
        await db.dispose()


async def test_a_drop_file_replaced_after_it_was_hashed_waits_for_the_next_pull(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.sync import feed_drops

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop = education.write_drop(inbox, seed=SEED, index=1, rows=10)
    config = settings(database_url, feed_drop_folder=str(inbox))
    db = Database(config)
    try:
        # The listing hashed another content than the file now under that name holds.
        monkeypatch.setattr(feed_drops, "sha256", lambda _path: "0" * 64)
        first = await pull(db, config, "education", today=TODAY)
        assert (first.status, first.files) == ("ok", 0)
        assert await current_stored(db, "education") == set()
        assert [p.name for p in inbox.glob("*.csv")] == [drop.path.name]  # left in place
        monkeypatch.undo()
        second = await pull(db, config, "education", today=TODAY)
        assert second.files == 1
        assert await current_stored(db, "education") == _rows_expected([drop])
    finally:
        await db.dispose()
