"""Agencies push assistance records and monitoring events (issue 5), through the public surface:
REST /api/v1 (JSON arrays and NDJSON) and the GraphQL mutations, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import Api, _api, lig
from tests.support.idnumbers import id_number
from tests.support.sql import sql

RECORDS = "/api/v1/assistance-records"
EVENTS = "/api/v1/events"
TODAY = date.today()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()
# Nobody in an empty database, nor in the demo county (which uses other sequences).
STRANGER = id_number(date(1975, 5, 17), 991)
OTHER = id_number(date(2009, 9, 1), 992)


def record(rid: str, number: str = STRANGER, **fields: Any) -> dict[str, Any]:
    return {
        "agency_record_id": rid,
        "kind": "MEDICAL",
        "id_number": number,
        "amount": 1250.5,
        "date": YESTERDAY,
        **fields,
    }


def event(eid: str, number: str = STRANGER, **fields: Any) -> dict[str, Any]:
    item = {
        "agency_event_id": eid,
        "kind": "HOSPITAL_SETTLEMENT",
        "id_number": number,
        "occurred_on": YESTERDAY,
        "details": {"out_of_pocket": 18250, "total_cost": 60200, "days": 12},
    }
    item.update(fields)
    return item


async def push(
    client: Api,
    path: str,
    items: list[Any],
    *,
    key: str | None = None,
    ndjson: bool = False,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    if ndjson:
        body = b"".join(orjson.dumps(i) + b"\n" for i in items)
        media = "application/x-ndjson"
    else:
        body, media = orjson.dumps(items), "application/json"
    headers = {**client.headers, "content-type": media}
    if key is not None:
        headers["idempotency-key"] = key
    return await client.client.post(path, content=body, headers=headers, params=params)


def outcomes(receipt: dict[str, Any]) -> list[str]:
    return [i["outcome"] for i in receipt["items"]]


@pytest.fixture
async def med(api: Api) -> Api:
    return await api.as_client(agency="medical-security", profile="medical-security")


# ---- Validation: each item judged on its own, the field named -----------------------------


BAD_RECORDS = [
    ({"id_number": STRANGER[:-1] + ("0" if STRANGER[-1] != "0" else "1")}, "id_number"),
    ({"kind": "LOTTERY_WIN"}, "kind"),
    ({"amount": -1}, "amount"),
    ({"amount": 10.005}, "amount"),
    ({"amount": "12"}, "amount"),
    ({"date": TOMORROW}, "date"),
    ({"date": None, "period_start": YESTERDAY, "period_end": "2000-01-01"}, "period_end"),
    ({"period_start": YESTERDAY}, "period_start"),  # both a date and a period
    ({"colour": "red"}, "colour"),
    ({"notes": "x" * 501}, "notes"),
    ({"agency_record_id": "has space"}, "agency_record_id"),
    ({"revision": 0}, "revision"),
]


@pytest.mark.parametrize(("change", "field"), BAD_RECORDS)
async def test_an_invalid_record_is_rejected_naming_its_field_and_stores_nothing(
    med: Api, database_url: str, change: dict[str, Any], field: str
) -> None:
    bad = {k: v for k, v in record("BAD-1", **change).items() if v is not None}
    response = await push(med, RECORDS, [record("GOOD-1"), bad])
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert outcomes(receipt) == ["ACCEPTED", "REJECTED"]
    assert field in [e["field"] for e in receipt["items"][1]["errors"]]
    assert receipt["counts"] == {"received": 2, "accepted": 1, "duplicate": 0, "rejected": 1}
    stored = await sql(database_url, "SELECT agency_record_id FROM assistance_records")
    assert [r[0] for r in stored] == ["GOOD-1"]


BAD_EVENTS = [
    ({"kind": "ALIEN_ABDUCTION"}, "kind"),
    ({"occurred_on": TOMORROW}, "occurred_on"),
    ({"details": {"out_of_pocket": 100, "total_cost": 50}}, "details.out_of_pocket"),
    ({"details": {"total_cost": 50}}, "details.out_of_pocket"),
    ({"details": {"out_of_pocket": 1, "ward": "3B"}}, "details.ward"),
    (
        {
            "kind": "DISABILITY_CERTIFIED",
            "details": {"disability_type": "PHYSICAL", "disability_grade": 5},
        },
        "details.disability_grade",
    ),
    ({"kind": "VEHICLE_REGISTERED", "details": {"value": 1.234}}, "details.value"),
    ({"kind": "REGISTRATION_CHANGED", "details": {"region_code": "32"}}, "details.region_code"),
    ({"kind": "DECEASED", "details": {"cause": "x"}}, "details.cause"),
]


@pytest.mark.parametrize(("change", "field"), BAD_EVENTS)
async def test_an_invalid_event_is_rejected_naming_its_field(
    med: Api, change: dict[str, Any], field: str
) -> None:
    response = await push(med, EVENTS, [event("E-BAD", **change), event("E-GOOD")])
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert outcomes(receipt) == ["REJECTED", "ACCEPTED"]
    assert field in [e["field"] for e in receipt["items"][0]["errors"]]


async def test_every_event_kind_of_the_vocabulary_is_accepted(med: Api, database_url: str) -> None:
    details = {
        "DECEASED": {},
        "HOSPITAL_SETTLEMENT": {"out_of_pocket": 18250.5},
        "OUTPATIENT_SETTLEMENT": {"out_of_pocket": 320, "total_cost": 900},
        "ILLNESS_CERTIFIED": {"illness": "SEVERE", "diagnosis": "uraemia"},
        "DISABILITY_CERTIFIED": {"disability_type": "VISUAL", "disability_grade": 1},
        "SCHOOL_ENROLMENT": {"stage": "SENIOR_SECONDARY", "fees": 4200},
        "UNEMPLOYMENT_REGISTERED": {},
        "EMPLOYMENT_STARTED": {"monthly_wage": 3800},
        "VEHICLE_REGISTERED": {"value": 126000},
        "PROPERTY_REGISTERED": {"property_kind": "SHOP", "area": 42.5, "residential": False},
        "CAPITAL_SUBSCRIBED": {"amount": 500000, "entity_credit_code": "91320681MA1XYC1234"},
        "FIRE_INCIDENT": {"loss": 30000},
        "DISASTER_LOSS": {"amount": 52000, "cause": "NATURAL_DISASTER"},
        "REGISTRATION_CHANGED": {"region_code": "320682"},
    }
    items = [event(f"K-{k}", kind=k, details=d) for k, d in details.items()]
    response = await push(med, EVENTS, items)
    assert response.status_code == 201, response.text
    assert set(outcomes(response.json())) == {"ACCEPTED"}, response.text
    rows = await sql(database_url, "SELECT kind, details FROM monitoring_events ORDER BY id")
    stored = {kind: d if isinstance(d, dict) else orjson.loads(d) for kind, d in rows}
    assert stored["DISASTER_LOSS"] == {"amount": "52000.00", "cause": "NATURAL_DISASTER"}
    assert stored["PROPERTY_REGISTERED"]["area"] == "42.50"
    assert stored["REGISTRATION_CHANGED"] == {"region_code": "320682000000"}


async def test_events_about_unknown_people_are_kept_for_matching_and_matched_later(
    med: Api, database_url: str
) -> None:
    response = await push(
        med, EVENTS, [event("E-1"), event("E-2", OTHER, kind="DECEASED", details={})]
    )
    assert outcomes(response.json()) == ["ACCEPTED", "ACCEPTED"]
    waiting = await sql(
        database_url, "SELECT count(*) FROM monitoring_events WHERE person_id IS NULL"
    )
    assert waiting[0][0] == 2

    household_record = record("H-1", applies_to="HOUSEHOLD")
    await push(med, RECORDS, [household_record, record("P-1", OTHER)])

    # The person arrives with a household (as the national sync or an application adds them),
    # then matching runs.
    from gateway.database import Database
    from gateway.models import Household, Membership, Person
    from gateway.settings import Settings

    db = Database(Settings(database_url=database_url))
    try:
        async with db.unit_of_work() as session:
            person = Person(
                id_number=STRANGER, name="测试", labor_capacity="FULL", employment_status="EMPLOYED"
            )
            household = Household(
                code="MATCH-1", region_code="320681000000", category="NONE",
                status="NOT_COVERED", channel="MONITORING", urban_rural="RURAL",
                address="", phone=None,
            )  # fmt: skip
            session.add_all([person, household])
            await session.flush()
            session.add(
                Membership(
                    household_id=household.id, person_id=person.id, relation="SELF",
                    joined_on=TODAY,
                )
            )  # fmt: skip
    finally:
        await db.dispose()
    result = lig("pushes", "match", url=database_url)
    assert result.returncode == 0, result.stderr
    counts = orjson.loads(result.stdout)
    assert counts == {"events": 1, "assistance_records": 1}
    rows = await sql(
        database_url,
        "SELECT e.agency_event_id FROM monitoring_events e JOIN persons p ON p.id = e.person_id "
        "WHERE e.household_id IS NOT NULL",
    )
    assert [r[0] for r in rows] == ["E-1"]
    matched = await sql(
        database_url,
        "SELECT agency_record_id, person_id IS NULL, household_id IS NOT NULL "
        "FROM assistance_records ORDER BY agency_record_id",
    )
    # The household's record is linked to the household, not to the person; P-1 still waits.
    assert [tuple(r) for r in matched] == [("H-1", True, True), ("P-1", True, False)]
    again = lig("pushes", "match", url=database_url)
    assert orjson.loads(again.stdout) == {"events": 0, "assistance_records": 0}


async def test_a_full_graphql_batch_of_ten_thousand_items_is_stored(
    med: Api, database_url: str
) -> None:
    items = [graphql_item(record(f"G-{i:05d}", amount=i % 500)) for i in range(10_000)]
    body = await med.data(
        RECORDS_MUTATION.replace("items { index", "i: items(first: 1) { index"), {"items": items}
    )
    assert body["pushAssistanceRecords"]["counts"]["accepted"] == 10_000
    assert await sql(database_url, "SELECT count(*) FROM assistance_records") == [(10_000,)]


# ---- Transport-level errors: problem details, nothing stored -------------------------------


async def test_rest_errors_are_problem_details_naming_the_field(
    med: Api, database_url: str
) -> None:
    bad_type = await med.client.post(
        RECORDS, content=b"[]", headers={**med.headers, "content-type": "text/csv"}
    )
    assert bad_type.status_code == 415
    assert bad_type.headers["content-type"] == "application/problem+json"

    not_json = await med.client.post(
        RECORDS, content=b"[{", headers={**med.headers, "content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["errors"][0]["field"] == "body"

    not_array = await push(med, RECORDS, {"agency_record_id": "X"})  # type: ignore[arg-type]
    assert not_array.status_code == 400

    bad_key = await push(med, RECORDS, [record("R")], key="has spaces in it")
    assert bad_key.status_code == 400
    assert bad_key.json()["errors"][0]["field"] == "Idempotency-Key"

    bad_param = await push(med, RECORDS, [record("R")], params={"all_or_nothing": "maybe"})
    assert bad_param.status_code == 400
    assert bad_param.json()["errors"][0]["field"] == "all_or_nothing"

    unknown_param = await push(med, RECORDS, [record("R")], params={"dry_run": "true"})
    assert unknown_param.status_code == 400

    anonymous = await med.client.post(
        RECORDS, content=b"[]", headers={"content-type": "application/json"}
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert await sql(database_url, "SELECT count(*) FROM assistance_records") == [(0,)]
    assert await sql(database_url, "SELECT count(*) FROM push_receipts") == [(0,)]


@pytest.fixture
async def small_api(database_url: str) -> AsyncIterator[Api]:
    async for a in _api(database_url, push_max_items=3, push_max_json_bytes=4096):
        yield a


async def test_a_body_over_the_limit_is_413(small_api: Api, database_url: str) -> None:
    med = await small_api.as_client(agency="medical-security", profile="medical-security")
    four = [record(f"R{i}") for i in range(4)]
    too_many = await push(med, RECORDS, four)
    assert too_many.status_code == 413
    assert "NDJSON" in too_many.json()["detail"]
    too_big = await push(med, RECORDS, [record("R", notes="x" * 400)] * 3 + [{"pad": "y" * 5000}])
    assert too_big.status_code == 413
    # The same four items as NDJSON are fine: NDJSON has no item limit of its own here.
    as_ndjson = await push(med, RECORDS, four, ndjson=True)
    assert as_ndjson.status_code == 201
    assert as_ndjson.json()["counts"]["accepted"] == 4
    response = await med.post(RECORDS_MUTATION, {"items": [graphql_item(r) for r in four]})
    assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"


# ---- Scopes and agencies -------------------------------------------------------------------


async def test_pushes_need_their_scope_and_store_as_the_callers_agency(
    api: Api, med: Api, database_url: str
) -> None:
    police = await api.as_client(agency="public-security", profile="public-security")
    refused = await push(police, RECORDS, [record("R-1")])
    assert refused.status_code == 403
    assert "insufficient_scope" in refused.headers["www-authenticate"]
    deaths = await push(police, EVENTS, [event("P-1", kind="DECEASED", details={})])
    assert deaths.status_code == 201
    # Over GraphQL the mutation is not in the police's schema at all.
    body = (await police.post("mutation { pushAssistanceRecords(items: []) { id } }")).json()
    assert "pushAssistanceRecords" in body["errors"][0]["message"]

    await push(med, RECORDS, [record("M-1")])
    rows = await sql(database_url, "SELECT agency_code, received_by FROM assistance_records")
    assert [r[0] for r in rows] == ["medical-security"]
    audit = await sql(
        database_url,
        "SELECT agency, action, result_count FROM audit_events WHERE kind = 'CHANGE' "
        "AND action LIKE 'push%' ORDER BY id",
    )
    assert [tuple(r) for r in audit] == [
        ("public-security", "pushEvents", 1),
        ("medical-security", "pushAssistanceRecords", 1),
    ]


async def test_an_agency_reads_only_its_own_receipts(api: Api, med: Api) -> None:
    education = await api.as_client(agency="education", profile="education")
    receipt = (await push(med, RECORDS, [record("M-1")])).json()
    own = await med.client.get(f"/api/v1/receipts/{receipt['id']}", headers=med.headers)
    assert own.status_code == 200
    assert own.json() == receipt
    theirs = await education.client.get(
        f"/api/v1/receipts/{receipt['id']}", headers=education.headers
    )
    assert theirs.status_code == 404
    query = "query($id: ID!) { pushReceipt(id: $id) { id counts { accepted } } }"
    assert (await education.data(query, {"id": receipt["id"]}))["pushReceipt"] is None
    civil = await api.data(query, {"id": receipt["id"]})
    assert civil["pushReceipt"]["counts"]["accepted"] == 1
    rejected_only = await med.client.get(
        f"/api/v1/receipts/{receipt['id']}", headers=med.headers, params={"outcome": "REJECTED"}
    )
    assert rejected_only.json()["items"] == []


# ---- Exactly once ----------------------------------------------------------------------------


async def test_a_retried_batch_returns_the_first_receipt_and_stores_nothing_new(
    med: Api, database_url: str
) -> None:
    items = [record("R-1"), record("R-2", amount=-5), event_like_garbage()]
    first = await push(med, RECORDS, items, key="batch-2026-11-23-001")
    assert first.status_code == 201
    again = await push(med, RECORDS, items, key="batch-2026-11-23-001", ndjson=True)
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await sql(database_url, "SELECT count(*) FROM assistance_records") == [(1,)]
    assert await sql(database_url, "SELECT count(*) FROM push_receipts") == [(1,)]

    # Over GraphQL too: the same key and items answer the same receipt.
    replay = await med.data(
        RECORDS_MUTATION,
        {"items": [graphql_item(i) for i in items[:2]], "key": "batch-2026-11-23-002"},
    )
    replay2 = await med.data(
        RECORDS_MUTATION,
        {"items": [graphql_item(i) for i in items[:2]], "key": "batch-2026-11-23-002"},
    )
    assert replay2["pushAssistanceRecords"]["replayed"] is True
    assert replay2["pushAssistanceRecords"]["id"] == replay["pushAssistanceRecords"]["id"]

    # The same key with other items is refused, not replayed.
    other = await push(med, RECORDS, [record("R-9")], key="batch-2026-11-23-001")
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    body = await med.graphql(
        RECORDS_MUTATION, {"items": [graphql_item(record("R-9"))], "key": "batch-2026-11-23-002"}
    )
    assert body["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await sql(
        database_url, "SELECT count(*) FROM assistance_records WHERE agency_record_id = 'R-9'"
    ) == [(0,)]


def event_like_garbage() -> dict[str, Any]:
    return {"what": "not a record"}


async def test_duplicates_conflicts_and_revisions(med: Api, database_url: str) -> None:
    first = await push(med, RECORDS, [record("R-1"), record("R-1")])
    assert outcomes(first.json()) == ["ACCEPTED", "DUPLICATE"]
    # The same revision again is a duplicate; with other content it is a conflict.
    again = await push(med, RECORDS, [record("R-1"), record("R-1", amount=99)])
    assert outcomes(again.json()) == ["DUPLICATE", "REJECTED"]
    assert again.json()["items"][1]["errors"][0]["field"] == "revision"
    # Corrections: revision 3 arrives before revision 2; 3 stays current, history is kept.
    later = await push(
        med, RECORDS, [record("R-1", revision=3, amount=300), record("R-1", revision=2, amount=200)]
    )
    assert outcomes(later.json()) == ["ACCEPTED", "ACCEPTED"]
    rows = await sql(
        database_url,
        "SELECT revision, amount, is_current FROM assistance_records "
        "WHERE agency_record_id = 'R-1' ORDER BY revision",
    )
    assert [(r[0], r[1], bool(r[2])) for r in rows] == [
        (1, 125050, False), (2, 20000, False), (3, 30000, True),
    ]  # fmt: skip


async def test_an_ndjson_batch_across_chunks_supersedes_and_reports_every_line(
    database_url: str,
) -> None:
    async for api in _api(database_url, push_chunk_size=7):
        med = await api.as_client(agency="medical-security", profile="medical-security")
        items: list[Any] = [record(f"N-{i % 10}", revision=i // 10 + 1) for i in range(30)]
        body = b"".join(orjson.dumps(i) + b"\n" for i in items[:20])
        body += b"\n   \n{not json}\n" + b"".join(orjson.dumps(i) + b"\n" for i in items[20:])
        response = await med.client.post(
            RECORDS, content=body, headers={**med.headers, "content-type": "application/x-ndjson"}
        )
        receipt = response.json()
        assert receipt["counts"] == {"received": 31, "accepted": 30, "duplicate": 0, "rejected": 1}
        assert [i["index"] for i in receipt["items"]] == list(range(31))
        assert receipt["items"][20]["errors"][0]["field"] == "item"
        current = await sql(
            database_url,
            "SELECT agency_record_id, revision FROM assistance_records WHERE is_current "
            "ORDER BY agency_record_id",
        )
        assert [tuple(r) for r in current] == [(f"N-{i}", 3) for i in range(10)]


async def test_all_or_nothing_stores_nothing_when_one_item_fails(
    med: Api, database_url: str
) -> None:
    items = [record("A-1"), record("A-2", amount=1.001), record("A-3")]
    refused = await push(med, RECORDS, items, params={"all_or_nothing": "true"}, key="aon-1")
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "urn:lig:problem:batch-refused"
    assert problem["errors"] == [
        {"index": 1, "agency_record_id": "A-2", "revision": 1,
         "errors": [{"field": "amount", "reason": "at most two decimal places"}]}
    ]  # fmt: skip
    body = await med.graphql(
        RECORDS_MUTATION,
        {"items": [graphql_item(i) for i in items], "key": None, "allOrNothing": True},
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["rejections"][0]["agencyRecordId"] == "A-2"
    assert await sql(database_url, "SELECT count(*) FROM assistance_records") == [(0,)]
    assert await sql(database_url, "SELECT count(*) FROM push_receipts") == [(0,)]
    # The key was not used up: the corrected batch goes through under it.
    fixed = await push(
        med, RECORDS, [record("A-1"), record("A-2"), record("A-3")],
        params={"all_or_nothing": "true"}, key="aon-1",
    )  # fmt: skip
    assert fixed.status_code == 201
    assert fixed.json()["counts"]["accepted"] == 3


# ---- Two transports, one behaviour -------------------------------------------------------


RECORDS_MUTATION = """
mutation($items: [AssistanceRecordInput!]!, $key: String, $allOrNothing: Boolean! = false) {
  pushAssistanceRecords(items: $items, idempotencyKey: $key, allOrNothing: $allOrNothing) {
    id kind agency transport idempotencyKey allOrNothing replayed
    counts { received accepted duplicate rejected }
    items { index outcome agencyRecordId agencyEventId revision errors { field reason } }
  }
}"""

EVENTS_MUTATION = """
mutation($items: [EventInput!]!, $key: String) {
  pushEvents(items: $items, idempotencyKey: $key) {
    id kind agency counts { received accepted duplicate rejected }
    items { index outcome agencyRecordId agencyEventId revision errors { field reason } }
  }
}"""


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def graphql_item(item: dict[str, Any]) -> dict[str, Any]:
    return {_camel(k): v for k, v in item.items()}


def _normalised(receipt: dict[str, Any]) -> list[dict[str, Any]]:
    """A receipt's items in one spelling (GraphQL's camelCase and REST's snake_case)."""
    out = []
    for item in receipt["items"]:
        key = item.get("agency_record_id") or item.get("agencyRecordId")
        key = key or item.get("agency_event_id") or item.get("agencyEventId")
        errors = [(_camel(e["field"]), e["reason"]) for e in item.get("errors") or ()]
        out.append(
            {"index": item["index"], "outcome": item["outcome"], "key": key,
             "revision": item["revision"], "errors": errors}
        )  # fmt: skip
    return out


async def test_the_same_batch_over_graphql_and_rest_stores_the_same_rows_and_receipt(
    api: Api, database_url: str
) -> None:
    # Two agencies with the same scopes, so each batch is new to the agency that sends it.
    rest = await api.as_client(agency="medical-security", profile="medical-security")
    graphql = await api.as_client(agency="health", profile="health")
    records = [
        record("S-1"),
        record("S-2", OTHER, applies_to="HOUSEHOLD", amount=300, date=None,
               period_start=YESTERDAY, period_end=TOMORROW, notes="winter"),
        record("S-3", amount=-1),
        record("S-1"),
        record("S-1", revision=2, amount=1300),
        record("S-4", date=TOMORROW),
    ]  # fmt: skip
    records = [{k: v for k, v in r.items() if v is not None} for r in records]
    events = [
        event("V-1"),
        event("V-2", OTHER, kind="DISABILITY_CERTIFIED",
              details={"disability_type": "MENTAL", "disability_grade": 2}),
        event("V-3", details={"out_of_pocket": 5, "total_cost": 1}),
        event("V-1"),
    ]  # fmt: skip
    by_rest = [
        (await push(rest, RECORDS, records)).json(),
        (await push(rest, EVENTS, events, ndjson=True)).json(),
    ]
    by_graphql = [
        (await graphql.data(RECORDS_MUTATION, {"items": [graphql_item(r) for r in records]}))[
            "pushAssistanceRecords"
        ],
        (await graphql.data(EVENTS_MUTATION, {"items": [graphql_item(e) for e in events]}))[
            "pushEvents"
        ],
    ]
    for a, b in zip(by_rest, by_graphql, strict=True):
        assert _normalised(a) == _normalised(b)
        assert a["counts"] == b["counts"]
    assert by_rest[0]["counts"] == {"received": 6, "accepted": 3, "duplicate": 1, "rejected": 2}

    columns = {
        "assistance_records": "agency_record_id, revision, is_current, kind, id_number, "
        "applies_to, household_id, person_id, amount, period_start, period_end, notes, source, "
        "content_hash, receipt_index",
        "monitoring_events": "agency_event_id, revision, is_current, kind, id_number, person_id, "
        "household_id, occurred_on, details, source, content_hash, receipt_index",
    }
    for table, cols in columns.items():
        rows = {}
        for agency in ("medical-security", "health"):
            found = await sql(
                database_url,
                f"SELECT {cols} FROM {table} WHERE agency_code = :a ORDER BY receipt_index",
                a=agency,
            )
            rows[agency] = [tuple(r) for r in found]
        assert rows["medical-security"] == rows["health"]
        assert rows["health"]


# ---- Reading back through GraphQL: own records only, history kept ------------------------


async def test_pushed_records_show_on_the_household_to_their_agency_only(
    demo_api: Api, demo_url: str
) -> None:
    member = await sql(
        demo_url,
        "SELECT p.id_number, m.household_id FROM persons p JOIN memberships m "
        "ON m.person_id = p.id AND m.left_on IS NULL ORDER BY p.id LIMIT 1",
    )
    number, household = member[0]
    med = await demo_api.as_client(agency="medical-security", profile="medical-security")
    education = await demo_api.as_client(agency="education", profile="education")
    await push(med, RECORDS, [record("MINE-1", number)])
    await push(med, RECORDS, [record("MINE-1", number, revision=2, amount=99)])
    await push(education, RECORDS, [record("THEIRS-1", number, kind="EDUCATION")])
    own = """query($n: String!) { assistanceRecords(idNumber: $n, includeRevisions: true) {
        nodes { agency agencyRecordId revision current amount idNumber appliesTo } } }"""
    mine = (await med.data(own, {"n": number}))["assistanceRecords"]["nodes"]
    assert {n["agency"] for n in mine} == {"medical-security"}
    pushed = sorted(
        (n["revision"], n["current"], n["amount"]) for n in mine if n["agencyRecordId"] == "MINE-1"
    )
    assert pushed == [(1, False, "1250.50"), (2, True, "99.00")]
    # Without household:pii the ID number is masked.
    assert all("*" in n["idNumber"] for n in mine)
    # Civil affairs sees every agency's, on the household too.
    query = """query($id: ID!) { household(id: $id) {
        assistanceRecords(first: 50) { nodes { agency agencyRecordId idNumber } } } }"""
    civil = await demo_api.data(query, {"id": str(household)})
    nodes = civil["household"]["assistanceRecords"]["nodes"]
    assert {"MINE-1", "THEIRS-1"} <= {n["agencyRecordId"] for n in nodes}
    assert number in {n["idNumber"] for n in nodes}
    # Asking for another agency's records is refused, not silently narrowed.
    theirs = await med.graphql(
        'query { assistanceRecords(agency: "education") { nodes { agencyRecordId } } }'
    )
    assert theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# ---- Hostile and odd input: answered, never a server error -----------------------------


async def test_hostile_items_are_rejected_one_by_one_never_a_server_error(
    med: Api, database_url: str
) -> None:
    deep: Any = {"a": 1}
    for _ in range(200):
        deep = {"a": deep}
    items = [
        record("H-1", revision=3_000_000_000),
        record("H-2", revision=9_223_372_036_854_775_808),
        {**record("H-3"), "details": deep},
        {**record("H-4"), **{f"f{i}": i for i in range(1000)}},
        record("H-5", notes="a\u0000b"),
        record("H-6", amount=1e308),
        record("H-7"),
    ]
    response = await push(med, RECORDS, items, key="hostile-1")
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert outcomes(receipt) == ["REJECTED"] * 6 + ["ACCEPTED"]
    by_key = {i["agency_record_id"]: i for i in receipt["items"]}
    assert by_key["H-1"]["revision"] is None
    assert by_key["H-1"]["errors"][0]["field"] == "revision"
    assert by_key["H-3"]["errors"] == [
        {"field": "item", "reason": "nested deeper than 4 levels or wider than 32 fields"}
    ]
    assert by_key["H-4"]["errors"] == [{"field": "item", "reason": "more than 32 fields"}]
    assert by_key["H-5"]["errors"][0]["field"] == "notes"
    assert by_key["H-6"]["errors"][0]["field"] == "amount"

    assert (await med.client.get("/api/v1/receipts/%00", headers=med.headers)).status_code == 404
    nul = await med.graphql('query { pushReceipt(id: "\\u0000") { id } }')
    assert nul["data"] == {"pushReceipt": None}
    huge = await med.graphql(
        RECORDS_MUTATION,
        {"items": [graphql_item(record("H-8", amount="1e999999999"))]},
    )
    assert huge["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_key_is_not_replayed_for_items_that_differ_only_in_json_type(med: Api) -> None:
    first = await push(med, RECORDS, [record("T-1", amount="12")], key="typed-1")
    assert outcomes(first.json()) == ["REJECTED"]
    corrected = await push(med, RECORDS, [record("T-1", amount=12)], key="typed-1")
    assert corrected.status_code == 422
    assert corrected.json()["type"] == "urn:lig:problem:idempotency-key-reused"


async def test_a_one_day_payment_and_a_running_period_are_stored_apart(
    med: Api, database_url: str
) -> None:
    running = {k: v for k, v in record("D-2", date=None, period_start=YESTERDAY).items() if v}
    await push(med, RECORDS, [record("D-1"), running])
    rows = await sql(
        database_url,
        "SELECT agency_record_id, period_start, period_end FROM assistance_records "
        "ORDER BY agency_record_id",
    )
    assert [(r[0], str(r[1]), None if r[2] is None else str(r[2])) for r in rows] == [
        ("D-1", YESTERDAY, YESTERDAY),
        ("D-2", YESTERDAY, None),
    ]


async def test_a_push_that_cannot_get_its_turn_is_503_and_stores_nothing(
    database_url: str, engine: str
) -> None:
    import sqlite3
    import zlib

    import asyncpg
    from sqlalchemy.engine import make_url

    async for api in _api(database_url, push_turn_wait_seconds=1, sqlite_busy_timeout_ms=300):
        med = await api.as_client(agency="medical-security", profile="medical-security")
        holder: sqlite3.Connection | asyncpg.Connection
        if engine == "sqlite":
            holder = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, as a long push holds it
        else:
            holder = await asyncpg.connect(database_url.replace("+asyncpg", ""))
            # The agency's push turn, as a long push of the same agency holds it.
            key = zlib.crc32(b"medical-security") & 0x7FFFFFFF
            await holder.execute("SELECT pg_advisory_lock($1, $2)", 0x6C6967, key)
        try:
            busy = await push(med, RECORDS, [record("B-1")], key="busy-1")
            assert busy.status_code == 503, busy.text
            assert busy.headers["retry-after"] == "5"
            body = await med.graphql(RECORDS_MUTATION, {"items": [graphql_item(record("B-2"))]})
            assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        finally:
            if isinstance(holder, sqlite3.Connection):
                holder.close()
            else:
                await holder.close()
        # Turn over: the same request with the same key now goes through, once.
        stored = await push(med, RECORDS, [record("B-1")], key="busy-1")
        assert stored.status_code == 201
    assert await sql(database_url, "SELECT agency_record_id FROM assistance_records") == [("B-1",)]
