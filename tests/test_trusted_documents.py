"""Trusted documents (gateway/documents): registered from the command line and by civil affairs
over GraphQL, checked against the client's schema view, audited, and read by the request path
through a short per-process cache."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from auth.clients import add_client, revoke_client
from auth.scopes import ALL_SCOPES
from gateway.database import Database
from gateway.documents import (
    DocumentStore,
    add_document,
    check_document_id,
    document_id,
    is_document_id,
    list_documents,
    remove_document,
    set_trusted_only,
)
from gateway.errors import InvalidInput
from gateway.models import AuditEvent, OAuthClient, TrustedDocument
from gateway.settings import Settings
from tests.conftest import Api, lig

ELIGIBILITY = (
    "query Check($ids: [String!]!) {\r\n"
    "  eligibility(idNumbers: $ids) { idNumber found category status validUntil }\r\n"
    "}\r\n"
)
# household:read: not in a medical-security client's schema.
HOUSEHOLDS = "{ households(first: 5) { nodes { id } } }"
MEDICAL = {"agency": "medical-security", "profile": "medical-security"}


def test_a_document_id_is_the_sha256_of_its_utf8_text() -> None:
    text = "{ me { clientId } } # 民政\n"
    made = document_id(text)
    assert made == "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert document_id(text.replace("\n", "\r\n")) != made  # the text as given, byte for byte
    assert is_document_id(made)
    assert check_document_id(made) == made
    for wrong in ("", made.upper(), made[:-1], made + "0", made + "\n", "sha1:" + made[7:47]):
        assert not is_document_id(wrong), wrong
    with pytest.raises(InvalidInput) as refused:
        check_document_id("md5:abc", "documentId")
    assert refused.value.field == "documentId"


# ---------------------------------------------------------------- the service and the store


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(Settings(database_url=database_url))
    try:
        yield database
    finally:
        await database.dispose()


async def _client(db: Database, **kwargs: Any) -> str:
    async with db.unit_of_work() as session:
        client, _ = await add_client(
            session,
            "test client",
            kwargs["agency"],
            kwargs.get("profile"),
            kwargs.get("scopes", ()),
            kwargs.get("region"),
        )
    return client.client_id


async def _stored(db: Database) -> list[tuple[str, str, str]]:
    async with db.reader.connect() as conn:
        rows = await conn.execute(
            select(TrustedDocument.client_id, TrustedDocument.document_id, TrustedDocument.name)
        )
        return [(client, doc_id, name) for client, doc_id, name in rows.all()]


async def _actions(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
    async with db.reader.connect() as conn:
        rows = await conn.execute(
            select(AuditEvent.action, AuditEvent.client_id, AuditEvent.subjects)
            .where(AuditEvent.action.startswith("documents."))
            .order_by(AuditEvent.id)
        )
        return [(action, by, subjects) for action, by, subjects in rows.all()]


async def _refusal(db: Database, client_id: str, body: str, name: str | None = None) -> Any:
    with pytest.raises(InvalidInput) as refused:
        async with db.unit_of_work() as session:
            await add_document(session, client_id, body, name)
    return refused.value


async def test_registration_rules(db: Database) -> None:
    medical = await _client(db, **MEDICAL)
    assert (await _refusal(db, "lig_nobody", ELIGIBILITY)).field == "client"
    for body, reason in [
        ("", "must not be empty"),
        ("  \n ", "must not be empty"),
        ("{ eligibility(idNumbers: [", "does not parse"),
        ("#" + "x" * 64 * 1024, "at most 65536"),
        (HOUSEHOLDS, "Cannot query field 'households' on type 'Query'"),
        ("subscription { warningNotices { id } }", "subscription"),
        ("query A { me { clientId } } query A { me { agency } }", "only one operation named"),
    ]:
        error = await _refusal(db, medical, body)
        assert error.field == "document", body
        assert reason in error.message, (body, error.message)
    # Given the settings, a document the request path would refuse as over a limit.
    strict = Settings(graphql_max_aliases=2, graphql_max_tokens=100)
    aliased = "{ a: me { clientId } b: me { agency } c: me { scopes } }"
    with pytest.raises(InvalidInput) as over:
        async with db.unit_of_work() as session:
            await add_document(session, medical, aliased, settings=strict)
    assert (over.value.field, "is over a limit") == ("document", over.value.reason[:15])
    with pytest.raises(InvalidInput) as long:
        async with db.unit_of_work() as session:
            await add_document(
                session, medical, "{ me { clientId } }" + "\n#" * 200, settings=strict
            )
    assert long.value.field == "document"
    async with db.unit_of_work() as session:
        assert (await add_document(session, medical, aliased)).name == "me"
        assert (await remove_document(session, medical, document_id(aliased))) is True
    assert (await _refusal(db, medical, ELIGIBILITY, name=" ")).field == "name"
    assert (await _refusal(db, medical, ELIGIBILITY, name="x" * 201)).field == "name"
    # Every validation message is listed, each with where it is.
    error = await _refusal(db, medical, "{ households { id } person(idNumber: 1) { id } }")
    assert [field for field, _ in error.problems] == ["document", "document"]
    assert "line 1, column 3" in error.message
    async with db.unit_of_work() as session:
        await revoke_client(session, medical)
    revoked = await _refusal(db, medical, ELIGIBILITY)
    assert (revoked.field, revoked.reason) == ("client", f"client {medical} is revoked")
    assert await _stored(db) == []
    assert [action for action, _, _ in await _actions(db)] == ["documents.add", "documents.remove"]


async def test_add_is_idempotent_and_audited(db: Database) -> None:
    medical = await _client(db, **MEDICAL)
    async with db.unit_of_work() as session:
        first = await add_document(session, medical, ELIGIBILITY)
    assert first.document_id == document_id(ELIGIBILITY)
    assert (first.name, first.body, first.added_by) == ("Check", ELIGIBILITY, "local")
    async with db.unit_of_work() as session:
        again = await add_document(session, medical, ELIGIBILITY)
        renamed = await add_document(session, medical, ELIGIBILITY, "住院结算核验")
        anonymous = await add_document(session, medical, "{ me { clientId agency } }")
    assert again.document_id == renamed.document_id == first.document_id
    assert anonymous.name == "me"  # no operation name: its root fields
    assert sorted(await _stored(db)) == sorted(
        [
            (medical, first.document_id, "住院结算核验"),
            (medical, anonymous.document_id, "me"),
        ]
    )
    assert await _actions(db) == [
        (
            "documents.add",
            "local",
            {
                "client_id": medical,
                "document_id": first.document_id,
                "name": "Check",
                "operations": ["Query.eligibility"],
            },
        ),
        (
            "documents.rename",
            "local",
            {
                "client_id": medical,
                "document_id": first.document_id,
                "name": "住院结算核验",
                "before": "Check",
            },
        ),
        (
            "documents.add",
            "local",
            {
                "client_id": medical,
                "document_id": anonymous.document_id,
                "name": "me",
                "operations": ["Query.me"],
            },
        ),
    ]


async def test_remove_list_and_the_flag(db: Database) -> None:
    medical = await _client(db, **MEDICAL)
    education = await _client(db, agency="education", profile="education")
    async with db.unit_of_work() as session:
        mine = await add_document(session, medical, ELIGIBILITY)
        theirs = await add_document(session, education, ELIGIBILITY)
    assert mine.document_id == theirs.document_id  # one text, registered for each client
    async with db.unit_of_work() as session:
        assert {d.client_id for d in await list_documents(session, None)} == {medical, education}
        assert [d.client_id for d in await list_documents(session, medical)] == [medical]
        with pytest.raises(InvalidInput) as unknown:
            await list_documents(session, "lig_nobody")
        assert unknown.value.field == "client"
        with pytest.raises(InvalidInput) as malformed:
            await remove_document(session, medical, "sha256:abc")
        assert malformed.value.field == "document_id"
        assert await remove_document(session, medical, mine.document_id) is True
        assert await remove_document(session, medical, mine.document_id) is False
        client = await set_trusted_only(session, medical, True)
        assert client.trusted_documents_only is True
        await set_trusted_only(session, medical, True)  # no change: no audit event
    assert await _stored(db) == [(education, theirs.document_id, "Check")]
    async with db.reader.connect() as conn:
        found = await conn.execute(
            select(OAuthClient.client_id, OAuthClient.trusted_documents_only)
        )
        flags = {client: flag for client, flag in found.all()}
    assert flags[medical] is True
    assert flags[education] is False
    actions = [(action, subjects["client_id"]) for action, _, subjects in await _actions(db)]
    assert actions[2:] == [("documents.remove", medical), ("documents.require", medical)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_store_caches_for_the_configured_seconds(database_url: str) -> None:
    clock = Clock()
    cached = Database(Settings(database_url=database_url, trusted_documents_cache_seconds=10))
    fresh = Database(Settings(database_url=database_url, trusted_documents_cache_seconds=0))
    try:
        store = DocumentStore(cached, clock=clock)
        at_once = DocumentStore(fresh)
        medical = await _client(cached, **MEDICAL)
        doc_id = document_id(ELIGIBILITY)
        assert await store.body(medical, doc_id) is None  # remembered as missing, too
        assert await store.required(medical) is False
        assert await store.body(medical, "not an id") is None
        assert await store.body("x" * 65, doc_id) is None
        async with cached.unit_of_work() as session:
            await add_document(session, medical, ELIGIBILITY)
            await set_trusted_only(session, medical, True)
        assert await at_once.body(medical, doc_id) == ELIGIBILITY
        assert await at_once.required(medical) is True
        assert await store.body(medical, doc_id) is None
        assert await store.required(medical) is False
        clock.now += 10
        assert await store.body(medical, doc_id) == ELIGIBILITY
        assert await store.required(medical) is True
        async with cached.unit_of_work() as session:
            await remove_document(session, medical, doc_id)
            await set_trusted_only(session, medical, False)
        assert await at_once.body(medical, doc_id) is None
        assert await at_once.required(medical) is False
        clock.now += 9.9
        assert await store.body(medical, doc_id) == ELIGIBILITY
        assert await store.required(medical) is True
        clock.now += 0.1
        assert await store.body(medical, doc_id) is None
        assert await store.required(medical) is False
        assert await store.required("lig_nobody") is False
    finally:
        await cached.dispose()
        await fresh.dispose()


# ---------------------------------------------------------------- the command line


def sqlite_only(database_url: str) -> None:
    """The command line is the same code on both engines, and its service is tested on both
    (through GraphQL, above); each `lig` costs a second to start, so it runs on one."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the command line's own tests run on SQLite")


def run_all(*commands: tuple[str, ...], url: str) -> list[subprocess.CompletedProcess[str]]:
    """Independent commands side by side: each `lig` spends a second or so starting up."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: lig(*args, url=url), commands))


def _files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "eligibility": ELIGIBILITY,
        "households": HOUSEHOLDS,
        "broken": "query { eligibility(idNumbers: [\n",
    }
    made = {}
    for name, text in files.items():
        made[name] = tmp_path / f"{name}.graphql"
        made[name].write_bytes(text.encode("utf-8"))  # CRLF kept, as a department's file
    return made


async def test_cli_add_list_remove(db: Database, database_url: str, tmp_path: Path) -> None:
    sqlite_only(database_url)
    medical = await _client(db, **MEDICAL)
    files = _files(tmp_path)
    url = database_url
    added = lig("documents", "add", "--client", medical, str(files["eligibility"]), url=url)
    assert added.returncode == 0, added.stderr
    doc_id = added.stdout.strip()
    assert doc_id == "sha256:" + hashlib.sha256(files["eligibility"].read_bytes()).hexdigest()

    again, listed_table = run_all(
        ("documents", "add", "--client", medical, str(files["eligibility"]), "--name", "结算核验"),
        ("documents", "list"),
        url=url,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == doc_id
    assert listed_table.returncode == 0, listed_table.stderr
    assert doc_id in listed_table.stderr

    listed, everyone = run_all(
        ("documents", "list", "--client", medical, "--json"),
        ("documents", "list", "--json"),
        url=url,
    )
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row == row | {
        "client_id": medical,
        "document_id": doc_id,
        "name": "结算核验",
        "added_by": "local",
        "document": ELIGIBILITY,
    }
    assert json.loads(everyone.stdout) == [row]

    removed = lig("documents", "remove", "--client", medical, doc_id, url=url)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout) == {
        "client_id": medical,
        "document_id": doc_id,
        "removed": True,
    }
    gone, malformed = run_all(
        ("documents", "remove", "--client", medical, doc_id),
        ("documents", "remove", "--client", medical, "sha256:0"),
        url=url,
    )
    assert gone.returncode == 2
    assert "DOCUMENT_ID: not a document of client" in gone.stderr
    assert malformed.returncode == 2
    assert "DOCUMENT_ID: is not a document id" in malformed.stderr
    assert await _stored(db) == []
    assert [action for action, _, _ in await _actions(db)] == [
        "documents.add",
        "documents.rename",
        "documents.remove",
    ]


async def test_cli_refuses_bad_files_naming_the_field(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    sqlite_only(database_url)
    medical = await _client(db, **MEDICAL)
    files = _files(tmp_path)
    broken, hidden, unknown, missing, empty_name = run_all(
        ("documents", "add", "--client", medical, str(files["broken"])),
        ("documents", "add", "--client", medical, str(files["households"])),
        ("documents", "add", "--client", "lig_nobody", str(files["eligibility"])),
        ("documents", "add", "--client", medical, str(tmp_path / "none.graphql")),
        ("documents", "add", "--client", medical, str(files["eligibility"]), "--name", ""),
        url=database_url,
    )
    assert broken.returncode == 2
    assert "FILE: does not parse: Syntax Error" in broken.stderr
    assert hidden.returncode == 2
    assert "FILE: not valid for the client's schema" in hidden.stderr
    assert "Cannot query field 'households'" in hidden.stderr
    assert unknown.returncode == 2
    assert "--client: no client 'lig_nobody'" in unknown.stderr
    assert missing.returncode == 2
    assert "FILE:" in missing.stderr
    assert empty_name.returncode == 2
    assert "--name: must not be empty" in empty_name.stderr
    for result in (broken, hidden, unknown, missing, empty_name):
        assert result.stdout == ""
    assert await _stored(db) == []
    assert await _actions(db) == []


async def test_cli_require_and_allow_free_form(db: Database, database_url: str) -> None:
    sqlite_only(database_url)
    medical = await _client(db, **MEDICAL)
    url = database_url
    required = lig("documents", "require", "--client", medical, url=url)
    assert required.returncode == 0, required.stderr
    assert json.loads(required.stdout) == {
        "client_id": medical,
        "trusted_documents_only": True,
        "documents": 0,
    }
    assert "every request it sends is refused" in required.stderr
    shown, unknown = run_all(
        ("clients", "list", "--json"),
        ("documents", "require", "--client", "lig_nobody"),
        url=url,
    )
    by_id = {c["client_id"]: c for c in json.loads(shown.stdout)}
    assert by_id[medical]["trusted_documents_only"] is True
    assert unknown.returncode == 2
    assert "--client: no client" in unknown.stderr
    allowed = lig("documents", "allow-free-form", "--client", medical, url=url)
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["trusted_documents_only"] is False
    assert [action for action, _, _ in await _actions(db)] == [
        "documents.require",
        "documents.allow-free-form",
    ]


# ---------------------------------------------------------------- the GraphQL API

REGISTER = """
mutation Register($client: String!, $document: String!, $name: String) {
  registerTrustedDocument(clientId: $client, document: $document, name: $name) {
    clientId documentId name document addedAt addedBy
  }
}
"""
REMOVE = """
mutation Remove($client: String!, $id: String!) {
  removeTrustedDocument(clientId: $client, documentId: $id)
}
"""
REQUIRE = """
mutation Require($client: String!, $required: Boolean!) {
  requireTrustedDocuments(clientId: $client, required: $required) {
    clientId required documentCount
  }
}
"""
LIST = """
query List($client: String) {
  trustedDocuments(clientId: $client) { clientId documentId name }
}
"""


async def test_civil_affairs_registers_over_graphql(api: Api) -> None:
    medical, _ = await api.register(**MEDICAL)
    me = (await api.data("{ me { clientId } }"))["me"]["clientId"]
    made = await api.data(
        REGISTER, {"client": medical, "document": ELIGIBILITY, "name": "住院结算核验"}
    )
    document = made["registerTrustedDocument"]
    doc_id = document_id(ELIGIBILITY)
    assert document == document | {
        "clientId": medical,
        "documentId": doc_id,
        "name": "住院结算核验",
        "document": ELIGIBILITY,
        "addedBy": me,
    }
    again = await api.data(REGISTER, {"client": medical, "document": ELIGIBILITY})
    assert again["registerTrustedDocument"] == document
    listed = await api.data(LIST, {"client": medical})
    assert listed["trustedDocuments"] == [
        {"clientId": medical, "documentId": doc_id, "name": "住院结算核验"}
    ]
    required = await api.data(REQUIRE, {"client": medical, "required": True})
    assert required["requireTrustedDocuments"] == {
        "clientId": medical,
        "required": True,
        "documentCount": 1,
    }

    db: Database = api.app.state.db
    (added, require) = await _actions(db)
    assert added == (
        "documents.add",
        me,
        {
            "client_id": medical,
            "document_id": doc_id,
            "name": "住院结算核验",
            "operations": ["Query.eligibility"],
        },
    )
    assert require == ("documents.require", me, {"client_id": medical})

    assert (await api.data(REMOVE, {"client": medical, "id": doc_id}))["removeTrustedDocument"]
    assert not (await api.data(REMOVE, {"client": medical, "id": doc_id}))["removeTrustedDocument"]
    assert (await api.data(LIST, {"client": medical}))["trustedDocuments"] == []


async def test_graphql_errors_name_the_argument(api: Api) -> None:
    medical, _ = await api.register(**MEDICAL)
    for variables, field in [
        ({"client": "lig_nobody", "document": ELIGIBILITY}, "clientId"),
        ({"client": medical, "document": HOUSEHOLDS}, "document"),
        ({"client": medical, "document": "{ eligibility("}, "document"),
        ({"client": medical, "document": ELIGIBILITY, "name": ""}, "name"),
    ]:
        body = await api.graphql(REGISTER, variables)
        (error,) = body["errors"][:1]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, variables
    removing = await api.graphql(REMOVE, {"client": medical, "id": "sha256:nope"})
    assert removing["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "documentId"}
    listing = await api.graphql(LIST, {"client": "lig_nobody"})
    assert listing["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "clientId"}
    assert (await api.data(LIST, {}))["trustedDocuments"] == []


async def test_only_admin_clients_see_the_api(api: Api) -> None:
    medical_id, _ = await api.register(**MEDICAL)
    # Every scope but `admin`: the fields are not in the client's schema at all.
    almost = await api.as_client(agency="civil-affairs", scopes=sorted(ALL_SCOPES - {"admin"}))
    attempts: list[tuple[str, dict[str, Any]]] = [
        (REGISTER, {"client": medical_id, "document": ELIGIBILITY}),
        (REMOVE, {"client": medical_id, "id": document_id(ELIGIBILITY)}),
        (REQUIRE, {"client": medical_id, "required": True}),
        (LIST, {}),
    ]
    for query, variables in attempts:
        body = await almost.graphql(query, variables)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", body
        assert "Did you mean" not in error["message"]
    db: Database = api.app.state.db
    assert await _stored(db) == []
    assert await _actions(db) == []
