"""Fuzzing the edges (hypothesis): resident ID numbers, the assessment request, the push bodies.

What every input at the edge must do, whatever it holds (wrong types, missing and unknown keys,
huge, negative and non-finite numbers, NaN and Infinity as strings, deep nesting, long strings,
NUL and other control characters, fullwidth and other non-ASCII digits):

- never crash: no exception other than the documented one, no 500, no INTERNAL_SERVER_ERROR;
- when refused, say which field: `extensions.field` or a message naming the path on GraphQL,
  `errors[].field` in an RFC 9457 problem (or in a rejected item's receipt entry) on REST;
- when refused, store nothing.

Inputs are drawn two ways: arbitrary JSON-like values, and a valid request with one to three
parts replaced, removed or added (which gets past the first check and so reaches the later ones).

Every test uses `derandomize=True`: the examples are the same on every run and every machine, so
a failure in CI is the failure you get at your desk, and the file's run time is predictable. The
price is that no new example is found between runs; raise the example counts locally to search.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import sys
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.assessment import assess_parsed, parse_request
from gateway.commands import assess as assess_command
from gateway.commands.common import fail_with
from gateway.domain import idnumber
from gateway.domain.rules import Standards
from gateway.eligibility.lookup import validate_batch
from gateway.errors import InvalidInput, LigError, LimitExceeded, MissingStandard
from gateway.validation import MAX_NAME
from resolvers.inputs import camel
from tests.conftest import Api
from tests.support.idnumbers import check_character
from tests.support.idnumbers import id_number as make_id_number
from tests.support.sql import sql

# derandomize: see the module docstring. database=None: nothing is kept between runs either.
PURE = settings(max_examples=300, deadline=None, derandomize=True, database=None)
# Through the app: fewer examples (each is a request), the fixtures made once per test.
THROUGH_APP = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CONTRACT_EXAMPLE = json.loads(
    (Path(__file__).parent / "data" / "contract_example.json").read_text(encoding="utf-8")
)
QIDONG = Standards(
    dibao_monthly=Decimal(780),
    disposable_income_prev_year=Decimal(49862),
    housing_area_per_capita=Decimal(30),
    legacy_transition_end=date(2024, 8, 31),
)

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)


def attempt(call: Callable[[], T], refusal: type[E]) -> T | E:
    """What `call` returns, or the documented `refusal` it raises (anything else propagates)."""
    try:
        return call()
    except refusal as error:
        return error


# ---- Strategies ---------------------------------------------------------------------------------

# Digits and letters that look like an ID number's characters and are not ASCII, and whitespace
# and control characters that a copy-paste brings along.
LOOKALIKES = "０１２３４５６７８９Ｘｘ٠١٢٣٤٥٦٧٨٩०१२३²³¹xXⅩ\x00\t\n\r\x0b\x0c\x1c\x1f\u3000\u00a0 "
TRICKY_STRINGS = [
    "",
    " ",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1e309",
    "-1e309",
    "1e-400",
    "-0",
    "0.001",
    "12.345",
    "1_000",
    "0x10",
    " 12 ",
    "１２",
    "٣",
    "²",
    "2023-02-30",
    "2023-2-3",
    "0000-01-01",
    "9999-12-31",
    "２０２３-03-01",
    "320681",
    "３２０６８１",
    "320681198001011230",
    "32068119800101123x",
    "32068119800101123X",
    "\x00",
    "a\x00b",
    "\u202e",
    "😀",
    "DIBAO",
    "TEKUN",
    "SELF",
    "FULL",
    "x" * 300,
    "9" * 5000,
]
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=24)
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 10**12, 10**12 + 1, 0.005, 0.01, 1e-300, 1e300, 2**63, -(2**63)]),
)
LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT, st.sampled_from(TRICKY_STRINGS))


def nested(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def nested_text(depth: int) -> bytes:
    """JSON nested `depth` levels, as text: deeper than Python's own JSON code (or this file's
    recursive helpers) can write."""
    return b'{"a":[' * (depth // 2) + b"1" + b"]}" * (depth // 2)


# JSON values as a JSON parser hands them over (no NaN: that is not JSON; "NaN" the string is in
# the leaves). Deep nesting is drawn on its own: `recursive` stays shallow; deeper values than
# these are sent as text (nested_text).
JSONISH: st.SearchStrategy[Any] = st.one_of(
    st.recursive(
        LEAVES,
        lambda kids: st.one_of(
            st.lists(kids, max_size=4),
            st.dictionaries(
                st.one_of(TEXT, st.sampled_from(["value", "x" * 200])), kids, max_size=4
            ),
        ),
        max_leaves=10,
    ),
    st.sampled_from([5, 40, 150]).map(nested),
)


def _slots(doc: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document: the path of each key and each list item."""
    found = [here]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _slots(value, (*here, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += _slots(value, (*here, i))
    return found


@st.composite
def mutations(draw: st.DrawFn, base: Any) -> Any:
    """`base` with one to three parts replaced by any JSON value, removed, or given an unknown
    sibling."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(_slots(doc)))
        value = draw(JSONISH)
        if not where:
            doc = value
            continue
        parent = doc
        for part in where[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "replace":
            parent[where[-1]] = value
        elif action == "remove" and isinstance(parent, dict):
            del parent[where[-1]]
        elif isinstance(parent, dict):
            parent[draw(TEXT)] = value
        else:
            parent.append(value)
    return doc


# ---- Resident ID numbers -----------------------------------------------------------------------

VALID_NUMBERS = st.builds(
    make_id_number,
    st.dates(date(1900, 1, 1), date(2030, 12, 31)),
    st.integers(0, 999),
    st.sampled_from(["320681", "110105", "440524", "650102"]),
)


@st.composite
def near_id_numbers(draw: st.DrawFn) -> str:
    """A valid number with characters replaced, inserted or cut, or padded with whitespace."""
    chars = list(draw(VALID_NUMBERS))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(chars)))
        c = draw(st.sampled_from(LOOKALIKES) | st.characters(codec="utf-8"))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        if action == "insert" or i == len(chars):
            chars.insert(i, c)
        elif action == "replace":
            chars[i] = c
        else:
            del chars[i]
    pad = st.sampled_from(["", " ", "\t", "\u3000", "\n", "\x00"])
    return draw(pad) + "".join(chars) + draw(pad)


ID_TEXTS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("0123456789Xx" + LOOKALIKES), min_size=16, max_size=20),
    near_id_numbers(),
    VALID_NUMBERS,
    VALID_NUMBERS.map(str.lower),
    st.sampled_from(["x" * 100_000, "1" * 100_000, "\x00" * 18, "3" * 17 + "\x00"]),
)


def assert_a_valid_id_number(number: str) -> None:
    assert len(number) == 18
    assert re.fullmatch(r"[0-9]{17}[0-9X]", number), number
    assert number[17] == check_character(number[:17])
    date(int(number[6:10]), int(number[10:12]), int(number[12:14]))  # a real day


@PURE
@given(ID_TEXTS)
def test_an_id_number_is_valid_and_normalised_or_refused_saying_why(text: str) -> None:
    number = attempt(lambda: idnumber.validate(text), idnumber.IdNumberError)
    if isinstance(number, idnumber.IdNumberError):
        assert str(number)
        return
    assert_a_valid_id_number(number)
    assert number == text.strip().upper()
    assert idnumber.validate(number) == number  # normalised once and for all


@PURE
@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
def test_an_id_number_that_is_not_text_is_refused(value: Any) -> None:
    with pytest.raises(idnumber.IdNumberError):
        idnumber.validate(value)


@PURE
@given(st.lists(ID_TEXTS, max_size=12))
def test_an_eligibility_batch_is_valid_or_names_its_first_bad_number(texts: list[str]) -> None:
    numbers = attempt(lambda: validate_batch(texts, limit=10), LigError)
    if isinstance(numbers, LimitExceeded):
        assert len(texts) > 10
        assert numbers.field == "idNumbers"
    elif isinstance(numbers, InvalidInput):
        bad = [f"idNumbers[{i}]" for i, t in enumerate(texts) if not idnumber.is_valid(t)]
        assert numbers.field == (bad[0] if texts else "idNumbers"), numbers.message
    else:
        assert not isinstance(numbers, LigError), numbers
        assert len(numbers) == len(texts) > 0
        for number in numbers:
            assert_a_valid_id_number(number)


ELIGIBILITY = "query($n: [String!]!) { eligibility(idNumbers: $n) { idNumber found category } }"
PERSON = "query($n: String!) { person(idNumber: $n) { name } }"


@THROUGH_APP
@given(st.lists(ID_TEXTS.filter(lambda t: len(t) < 1000), min_size=1, max_size=5))
async def test_eligibility_and_person_refuse_bad_numbers_naming_them(
    api: Api, texts: list[str]
) -> None:
    body = await graphql_ok(api, ELIGIBILITY, {"n": texts})
    if all(idnumber.is_valid(t) for t in texts):
        assert "errors" not in body, body
        assert [e["idNumber"] for e in body["data"]["eligibility"]] == texts
    else:
        first_bad = next(i for i, t in enumerate(texts) if not idnumber.is_valid(t))
        assert_user_errors(
            body, lambda e: e["extensions"].get("field") == f"idNumbers[{first_bad}]"
        )
    body = await graphql_ok(api, PERSON, {"n": texts[0]})
    if not idnumber.is_valid(texts[0]):
        assert_user_errors(body, lambda e: e["extensions"].get("field") == "idNumber")


# ---- The assessment request ---------------------------------------------------------------------

TOP_LEVEL = set(CONTRACT_EXAMPLE) | {"request"}
ASSESSMENTS = st.one_of(mutations(CONTRACT_EXAMPLE), JSONISH)


def assert_names_a_field(problems: list[tuple[str, str]], payload: Any) -> None:
    assert problems
    # A field of the contract, or one the caller sent (an unknown field is named as sent, its
    # name cut short when long).
    names = TOP_LEVEL | (set(map(str, payload)) if isinstance(payload, dict) else set())
    for field, reason in problems:
        assert reason, field
        assert any(field.startswith(name[: MAX_NAME - 1]) for name in names), field


@PURE
@given(ASSESSMENTS)
def test_an_assessment_request_is_assessed_or_refused_naming_each_bad_field(payload: Any) -> None:
    request = attempt(lambda: parse_request(payload), InvalidInput)
    if isinstance(request, InvalidInput):
        assert_names_a_field(request.problems, payload)
        assert request.field == request.problems[0][0]
        return
    result = attempt(lambda: assess_parsed(request, QIDONG), MissingStandard)
    if isinstance(result, MissingStandard):
        assert result.field
        return
    assert result.category.value in {"DIBAO", "TEKUN", "MARGINAL", "EXPENDITURE", "NONE",
                                      "LEGACY_LOW_INCOME"}  # fmt: skip
    assert result.eligible == (result.category.value != "NONE")
    assert result.reasons


def _as_cli_reads(text: str) -> Any:
    """What `lig assess -` does with `text` up to the assessment: the payload, or the exit."""
    saved, sys.stdin = sys.stdin, io.StringIO(text)
    try:
        return assess_command._read("-")
    finally:
        sys.stdin = saved


CLI_TEXTS = st.one_of(
    TEXT,
    st.sampled_from(
        ["NaN", "[Infinity]", "1" * 5000, "[" * 5000, '{"as_of": 1e999999}', "\ufeff{}"]
    ),
    ASSESSMENTS.map(lambda p: json.dumps(p, allow_nan=True)),
)


@PURE
@given(CLI_TEXTS)
def test_lig_assess_reads_any_text_or_exits_2_naming_the_problem(text: str) -> None:
    payload = attempt(lambda: _as_cli_reads(text), typer.Exit)
    if isinstance(payload, typer.Exit):
        assert payload.exit_code == 2
        return
    error = attempt(lambda: parse_request(payload), InvalidInput)
    if isinstance(error, InvalidInput):
        assert_names_a_field(error.problems, payload)
        assert fail_with(error).exit_code == 2


ASSESS = """query($input: AssessmentInput!) {
  assess(input: $input) { category eligible perCapitaMonthlyIncome reasons { rule passed } }
}"""
ENUM_KEYS = {"currentCategory", "channel", "relation", "laborCapacity", "disabilityType"}


def camel_keys(value: Any) -> Any:
    """A request as GraphQL takes it: keys in camelCase (unknown keys too)."""
    if isinstance(value, dict):
        return {camel(str(k)): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def literal(value: Any, key: str = "") -> str:
    """A JSON-like value written as a GraphQL literal (enum-looking strings of enum fields
    bare, other strings quoted)."""
    if isinstance(value, dict):
        name = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
        fields = [f"{k}: {literal(v, k)}" for k, v in value.items() if name.fullmatch(k)]
        return "{" + ", ".join(fields) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, key) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and key in ENUM_KEYS and re.fullmatch(r"[A-Z_]+", value):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(str(value))


# What a caller may be told when the request itself is wrong (the generic operation limits'
# LIMIT_EXCEEDED too: they name the variable's path).
USER_CODES = {
    "BAD_USER_INPUT",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
    "MISSING_STANDARD",
    "LIMIT_EXCEEDED",
}


# graphql-core (3.3) reports a list or object literal written where a built-in scalar or an
# enum goes without the literal's line and column: its message names the type expected and
# repeats the value, and that is all (a fix belongs in the validation step,
# gateway/http/operations.py).
_UNPLACED_LITERAL = re.compile(r"(Enum '\w+'|String|Int|Float|Boolean|ID) cannot represent")


def names_where(error: dict[str, Any]) -> bool:
    """An error says where the bad value is: its field, the variable's path in its message, or
    (a literal in the document) its line and column."""
    ext = error.get("extensions", {})
    return bool(
        ext.get("field")
        or error["message"].startswith(("Variable '$", "$"))
        or error.get("locations")
        or (
            ext.get("code") == "GRAPHQL_VALIDATION_FAILED"
            and _UNPLACED_LITERAL.match(error["message"])
        )
    )


def assert_user_errors(body: dict[str, Any], check: Callable[[dict[str, Any]], bool]) -> None:
    assert body.get("errors"), body
    for error in body["errors"]:
        code = error.get("extensions", {}).get("code")
        assert code in USER_CODES, error
        assert check(error), error


async def graphql_ok(api: Api, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
    """The answer to a request that must not fail the server: 200, or a 400 of the generic
    limits; never an internal error."""
    response = await api.post(query, variables)
    assert response.status_code in (200, 400), response.text
    body: dict[str, Any] = response.json()
    for error in body.get("errors", ()):
        assert error.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR", error
    return body


@THROUGH_APP
@given(mutations(CONTRACT_EXAMPLE))
async def test_graphql_assess_answers_or_names_the_bad_field(api: Api, payload: Any) -> None:
    body = await graphql_ok(api, ASSESS, {"input": camel_keys(payload)})
    if body.get("errors"):
        assert_user_errors(body, names_where)
    else:
        assert body["data"]["assess"]["category"]


@THROUGH_APP
@given(mutations(CONTRACT_EXAMPLE))
async def test_graphql_assess_with_a_literal_input_answers_or_names_the_bad_field(
    api: Api, payload: Any
) -> None:
    query = f"query {{ assess(input: {literal(camel_keys(payload))}) {{ category }} }}"
    body = await graphql_ok(api, query, None)
    if body.get("errors"):
        assert_user_errors(body, names_where)


# ---- REST push bodies ---------------------------------------------------------------------------

RECORDS = "/api/v1/assistance-records"
EVENTS = "/api/v1/events"
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
NUMBER = make_id_number(date(1975, 5, 17), 991)
RECORD = {
    "agency_record_id": "YB-1",
    "kind": "MEDICAL",
    "id_number": NUMBER,
    "amount": 1250.5,
    "date": YESTERDAY,
    "notes": "inpatient",
}
EVENT = {
    "agency_event_id": "EV-1",
    "kind": "REGISTRATION_CHANGED",
    "id_number": NUMBER,
    "occurred_on": YESTERDAY,
    "details": {"region_code": "320681100000"},
}
ITEMS = st.one_of(mutations(RECORD), mutations(EVENT), JSONISH)


def json_text(value: Any) -> bytes:
    # json, not orjson: integers past 64 bits are written as sent (orjson refuses to).
    return json.dumps(value, ensure_ascii=False).encode()


async def stored(url: str) -> tuple[int, ...]:
    counts = []
    for table in ("push_receipts", "assistance_records", "monitoring_events"):
        counts.append((await sql(url, f"SELECT count(*) FROM {table}"))[0][0])
    return tuple(counts)


async def push_raw(
    client: Api, path: str, body: bytes, media: str, key: str | None, all_or_nothing: bool
) -> Any:
    headers = {**client.headers, "content-type": media}
    if key is not None:
        headers["idempotency-key"] = key
    params = {"all_or_nothing": "true"} if all_or_nothing else {}
    return await client.client.post(path, content=body, headers=headers, params=params)


def assert_receipt_names_fields(receipt: dict[str, Any], received: int) -> None:
    assert receipt["counts"]["received"] == received
    for item in receipt["items"]:
        if item["outcome"] == "REJECTED":
            assert item["errors"], item
            for error in item["errors"]:
                assert error["field"], item
                assert error["reason"], item


def assert_problem_names_fields(response: Any) -> None:
    assert response.headers["content-type"] == "application/problem+json", response.text
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["errors"], problem
    for error in problem["errors"]:
        # A field of the request, or (an all-or-nothing refusal) a rejected item with its own.
        if "field" in error:
            assert error["field"], problem
            assert error["reason"], problem
        else:
            assert error["errors"], problem
            for inner in error["errors"]:
                assert inner["field"], problem
                assert inner["reason"], problem


@pytest.fixture
async def agency(api: Api) -> Api:
    return await api.as_client(agency="medical-security", profile="medical-security")


@THROUGH_APP
@given(
    path=st.sampled_from([RECORDS, EVENTS]),
    items=st.lists(ITEMS, max_size=4),
    keyed=st.booleans(),
    all_or_nothing=st.booleans(),
)
async def test_a_json_push_stores_what_is_valid_and_names_every_rejected_field(
    agency: Api,
    database_url: str,
    path: str,
    items: list[Any],
    keyed: bool,
    all_or_nothing: bool,
) -> None:
    key = uuid.uuid4().hex if keyed else None  # a new batch each time: not a replay
    before = await stored(database_url)
    response = await push_raw(
        agency, path, json_text(items), "application/json", key, all_or_nothing
    )
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        assert_receipt_names_fields(response.json(), len(items))
    else:
        assert all_or_nothing
        assert_problem_names_fields(response)
        assert await stored(database_url) == before


NDJSON_LINES = st.one_of(
    ITEMS.map(json_text),
    st.binary(max_size=40),
    TEXT.map(str.encode),
    st.sampled_from([b"", b"   ", b"{", b"[1,", b"\xff\xfe", b"null", b'"\\ud800"', b"\x00"]),
    st.sampled_from([300, 1000, 2000]).map(nested_text),
)


@THROUGH_APP
@given(
    path=st.sampled_from([RECORDS, EVENTS]),
    lines=st.lists(NDJSON_LINES.map(lambda b: b.replace(b"\n", b" ")), max_size=5),
    keyed=st.booleans(),
)
async def test_an_ndjson_push_judges_every_line_on_its_own(
    agency: Api, path: str, lines: list[bytes], keyed: bool
) -> None:
    key = uuid.uuid4().hex if keyed else None
    response = await push_raw(
        agency, path, b"\n".join(lines), "application/x-ndjson", key, all_or_nothing=False
    )
    assert response.status_code == 201, response.text
    assert_receipt_names_fields(response.json(), sum(1 for line in lines if line.strip()))


BODIES = st.one_of(
    st.binary(max_size=60),
    JSONISH.filter(lambda v: not isinstance(v, list)).map(json_text),
    st.sampled_from(
        [b"", b"[", b"[1e400]", b'["\\ud800"]', b"\xef\xbb\xbf[]", b"[" * 2000 + b"]" * 2000]
    ),
)


@THROUGH_APP
@given(path=st.sampled_from([RECORDS, EVENTS]), body=BODIES)
async def test_a_body_that_is_not_a_json_array_is_refused_naming_it_and_stores_nothing(
    agency: Api, database_url: str, path: str, body: bytes
) -> None:
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError:
        items = None
    before = await stored(database_url)
    response = await push_raw(agency, path, body, "application/json", None, False)
    if isinstance(items, list):
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 400, response.text
    assert_problem_names_fields(response)
    assert response.json()["errors"][0]["field"] == "body"
    assert await stored(database_url) == before


@THROUGH_APP
@given(items=st.lists(st.one_of(mutations(RECORD), mutations(EVENT)), min_size=1, max_size=3))
async def test_a_deep_or_odd_item_sent_twice_with_one_key_is_a_replay(
    agency: Api, items: list[Any]
) -> None:
    """The batch digest (for Idempotency-Key) reads any item, however deep or odd."""
    path = RECORDS if "agency_record_id" in json.dumps(items) else EVENTS
    body = b"[" + b",".join([*map(json_text, items), nested_text(900)]) + b"]"
    key = hashlib.sha256(body).hexdigest()
    first = await push_raw(agency, path, body, "application/json", key, False)
    assert first.status_code in (200, 201), first.text  # 200: an example drawn twice
    again = await push_raw(agency, path, body, "application/json", key, False)
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


PUSH_EVENTS = """mutation($items: [EventInput!]!, $key: String, $all: Boolean!) {
  pushEvents(items: $items, idempotencyKey: $key, allOrNothing: $all) {
    counts { received } items { outcome errors { field reason } } } }"""


def event_input(item: Any) -> Any:
    """An event as GraphQL takes it: camelCase keys, `details` as sent (snake_case JSON)."""
    if not isinstance(item, dict):
        return item
    return {camel(str(k)): v if k == "details" else camel_keys(v) for k, v in item.items()}


@THROUGH_APP
@given(
    items=st.lists(st.one_of(mutations(EVENT), JSONISH), min_size=1, max_size=3),
    keyed=st.booleans(),
    all_or_nothing=st.booleans(),
)
async def test_a_graphql_push_stores_what_is_valid_and_names_every_rejected_field(
    agency: Api, database_url: str, items: list[Any], keyed: bool, all_or_nothing: bool
) -> None:
    """The same items over GraphQL (the same checks; the transport's own on top)."""
    before = await stored(database_url)
    key = uuid.uuid4().hex if keyed else None
    variables = {"items": [event_input(i) for i in items], "key": key, "all": all_or_nothing}
    body = await graphql_ok(agency, PUSH_EVENTS, variables)
    if body.get("errors"):
        assert_user_errors(body, names_where)
        assert await stored(database_url) == before
        return
    receipt = body["data"]["pushEvents"]
    assert receipt["counts"]["received"] == len(items)
    for item in receipt["items"]:
        if item["outcome"] == "REJECTED":
            assert item["errors"], item
            assert all(e["field"] and e["reason"] for e in item["errors"]), item
