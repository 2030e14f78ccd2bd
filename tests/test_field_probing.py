"""Schema recovery by probing, as clairvoyance and similar tools do it, recovers nothing hidden.

With introspection off, such tools send buckets of plausible field names and read the errors:
"Cannot query field 'x'" means x does not exist; any other answer (data, a missing argument, a
missing selection) means it does; a suggestion ("Did you mean …?") leaks names outright. Here
the wordlist is every field name of the full schema plus common guesses, sent in buckets as
large as the operation limits allow, and what a restricted department recovers must be exactly
its own view: nothing outside it, nothing suggested.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import GraphQLObjectType, build_schema

from auth.scopes import PROFILES
from schema.views import view_for
from tests.conftest import Api

FULL = build_schema((Path(__file__).parents[1] / "schema" / "schema.graphql").read_text())
GUESSES = (
    "user users admin password secret token tokens apiKey config settings debug internal "
    "people persons person household households idNumber name phone address income bank "
    "salary clients client auditEvents audit standards signingKeys keys export exportAll "
    "deleteHousehold updatePerson createUser login me viewer node nodes search"
).split()
ALL_NAMES = sorted(
    {name for t in FULL.type_map.values() if isinstance(t, GraphQLObjectType) for name in t.fields}
    | set(GUESSES)
)
_ABSENT = re.compile(r"Cannot query field '(\w+)' on type '(\w+)'")
# Root fields per request are limited (LIG_GRAPHQL_MAX_ROOT_FIELDS, 10): the probe's buckets.
BUCKET = 10


async def _probe(client: Api, operation: str, type_name: str, wrap: str = "{}") -> set[str]:
    """The names the answers show to exist on `type_name` (selected inside `wrap`)."""
    found: set[str] = set()
    for start in range(0, len(ALL_NAMES), BUCKET):
        bucket = ALL_NAMES[start : start + BUCKET]
        document = f"{operation} {wrap.replace('{}', '{ ' + ' '.join(bucket) + ' }')}"
        response = await client.post(document)
        body = response.json()
        assert response.status_code in (200, 400), response.text
        errors = body.get("errors", [])
        for error in errors:
            assert "Did you mean" not in error["message"], error
            assert error["extensions"]["code"] != "LIMIT_EXCEEDED", error
        absent = {
            m.group(1)
            for e in errors
            if (m := _ABSENT.search(e["message"])) and m.group(2) == type_name
        }
        found |= set(bucket) - absent
    return found


def _view_fields(profile: str, type_name: str) -> set[str]:
    schema = view_for(PROFILES[profile].scopes).schema
    named = schema.get_type(type_name)
    return set(named.fields) if isinstance(named, GraphQLObjectType) else set()


@pytest.mark.parametrize("profile", ["rural-revitalisation", "public-security"])
async def test_probing_recovers_only_the_departments_own_view(api: Api, profile: str) -> None:
    department = await api.as_client(agency=profile, profile=profile)
    for operation, type_name in (("query", "Query"), ("mutation", "Mutation")):
        recovered = await _probe(department, operation, type_name)
        allowed = _view_fields(profile, type_name)
        assert recovered <= allowed, sorted(recovered - allowed)
        # The probe works: it finds the fields the department may use.
        assert recovered == allowed
        hidden = {n for n in ALL_NAMES if n not in allowed}
        assert not (recovered & hidden)


async def test_probing_inside_a_type_recovers_only_visible_fields(api: Api) -> None:
    profile = "rural-revitalisation"
    department = await api.as_client(agency=profile, profile=profile)
    recovered = await _probe(
        department, "query", "Eligibility", "{ eligibility(idNumbers: []) {} }"
    )
    allowed = _view_fields(profile, "Eligibility")
    assert recovered == allowed
