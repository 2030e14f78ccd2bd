"""No planted personal or financial value ever reaches a client whose scopes do not cover it.

Known values sit in every personal and financial field (tests/support/planted.py). Hypothesis
writes many queries (random selections, aliases, inline and named fragments, nesting, variables)
against the full schema and against each client's own view; every response body and error is
searched for the values that client must not see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth.scopes import CIVIL_AFFAIRS, PROFILES
from gateway.domain.regions import within
from schema.views import full_schema, view_for
from tests.conftest import Api
from tests.support.planted import BEIXIN, HUILONG, PlantedHousehold, plant

EXAMPLES = 40


@dataclass(frozen=True)
class Caller:
    label: str
    agency: str
    scopes: frozenset[str]
    region: str | None = None
    profile: str | None = None


CALLERS = [
    Caller(
        "civil-affairs", "civil-affairs", PROFILES["civil-affairs"].scopes, profile="civil-affairs"
    ),
    Caller(
        "medical",
        "medical-security",
        PROFILES["medical-security"].scopes,
        profile="medical-security",
    ),
    Caller(
        "rural",
        "rural-revitalisation",
        PROFILES["rural-revitalisation"].scopes,
        profile="rural-revitalisation",
    ),
    Caller("town", "town", PROFILES["town"].scopes, HUILONG, profile="town"),
    Caller(
        "police", "public-security", PROFILES["public-security"].scopes, profile="public-security"
    ),
    # Not profiles, but scope sets a registry may hold: households without personal data, and
    # another agency's assistance records.
    Caller(
        "medical+households", "medical-security", frozenset({"household:read", "assistance:read"})
    ),
    Caller(
        "education-in-beixin",
        "education",
        frozenset({"household:read", "household:pii", "assistance:read", "warning:read"}),
        BEIXIN,
    ),
]


def forbidden(caller: Caller, planted: PlantedHousehold) -> set[str]:
    scopes = caller.scopes
    if "household:read" not in scopes or (
        caller.region is not None and not within(planted.region, caller.region)
    ):
        # Nothing of a household the caller may not see, not even its code.
        return planted.everything
    out: set[str] = set()
    if "household:pii" not in scopes:
        out |= planted.pii
    if "household:finance" not in scopes:
        out |= planted.finance
    if not {"household:pii", "household:finance"} <= scopes:
        out |= planted.evidence
    if caller.agency not in (CIVIL_AFFAIRS, "education") or "assistance:read" not in scopes:
        out |= planted.other_agency
    return out


# --- query generation -----------------------------------------------------------------------

_ROOTS = {
    "household": lambda p, v: (
        ("household(id: $hid)", {"hid": ("ID!", str(p.household_id))})
        if v
        else (f'household(id: "{p.household_id}")', {})
    ),
    "households": lambda p, v: ("households(first: 5)", {}),
    "person": lambda p, v: (
        ("person(idNumber: $idn)", {"idn": ("String!", p.id_number.lower())})
        if v
        else (f'person(idNumber: "{p.id_number.lower()}")', {})
    ),
    "eligibility": lambda p, v: (
        ("eligibility(idNumbers: $ids)", {"ids": ("[String!]!", [p.id_number.lower()])})
        if v
        else (f'eligibility(idNumbers: ["{p.id_number.lower()}"])', {})
    ),
    "reviewsDue": lambda p, v: ('reviewsDue(before: "2030-01-01", first: 5)', {}),
    "me": lambda p, v: ("me", {}),
}


def _unwrap(t: Any) -> Any:
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        t = t.of_type
    return t


# Values for the arguments of nested fields: flags that widen a list (`includeFormer`), dates
# (an age on a chosen day), page sizes. None: leave the argument out.
_ARGUMENT_VALUES: dict[str, list[str | None]] = {
    "Boolean": [None, "true", "false"],
    "Date": [None, '"2000-07-06"', '"2000-07-07"'],
    "Int": [None, "1", "3"],
}


@st.composite
def _arguments(draw: st.DrawFn, field: Any) -> str | None:
    """An argument list for `field`, or None when a required argument has no value to give."""
    parts = []
    for name, arg in field.args.items():
        choices = _ARGUMENT_VALUES.get(get_named_type(arg.type).name, [None])
        required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        value = (
            draw(st.sampled_from([c for c in choices if c is not None] if required else choices))
            if choices != [None]
            else None
        )
        if value is None:
            if required:
                return None
            continue
        parts.append(f"{name}: {value}")
    return f"({', '.join(parts)})" if parts else ""


@st.composite
def selection(
    draw: st.DrawFn, schema: GraphQLSchema, type_name: str, depth: int, fragments: list[str]
) -> str:
    owner = schema.type_map[type_name]
    assert isinstance(owner, GraphQLObjectType)
    names = sorted(owner.fields)
    leaves = [n for n in names if is_leaf_type(get_named_type(owner.fields[n].type))]
    choices = names if depth > 0 else (leaves or names[:1])
    picked = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4))
    parts = ["__typename"] if draw(st.booleans()) else []
    for name in picked:
        field = owner.fields[name]
        arguments = draw(_arguments(field))
        if arguments is None:
            continue
        alias = f"a{draw(st.integers(0, 9))}_{name}: " if draw(st.booleans()) else ""
        target = _unwrap(field.type)
        if is_leaf_type(target):
            parts.append(alias + name + arguments)
            continue
        if depth == 0:
            continue
        inner = draw(selection(schema, target.name, depth - 1, fragments))
        how = draw(st.sampled_from(["plain", "inline", "named"]))
        if how == "inline":
            inner = f"... on {target.name} {{ {inner} }}"
        elif how == "named":
            fragment = f"F{len(fragments)}"
            fragments.append(f"fragment {fragment} on {target.name} {{ {inner} }}")
            inner = f"...{fragment}"
        parts.append(f"{alias}{name}{arguments} {{ {inner} }}")
    return " ".join(parts) or "__typename"


@st.composite
def queries(draw: st.DrawFn, schema: GraphQLSchema, planted: PlantedHousehold) -> dict[str, Any]:
    query_type = schema.query_type
    assert query_type is not None
    roots = [r for r in _ROOTS if r in query_type.fields] or ["me"]
    fragments: list[str] = []
    chosen = draw(st.lists(st.sampled_from(roots), min_size=1, max_size=3, unique=True))
    fields, declared, values = [], [], {}
    for root in chosen:
        text, variables = _ROOTS[root](planted, draw(st.booleans()))
        target = _unwrap(query_type.fields[root].type)
        inner = draw(selection(schema, target.name, draw(st.integers(1, 4)), fragments))
        fields.append(f"{text} {{ {inner} }}")
        for name, (graphql_type, value) in variables.items():
            declared.append(f"${name}: {graphql_type}")
            values[name] = value
    head = f"query Leak({', '.join(declared)})" if declared else "query Leak"
    return {"query": " ".join([head, "{", *fields, "}", *fragments]), "variables": values}


def _generate(schema: GraphQLSchema, planted: PlantedHousehold) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(queries(schema, planted))
    def collect(request: dict[str, Any]) -> None:
        made.append(request)

    collect()
    return made


# --- the test -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.label)
async def test_no_value_outside_the_callers_scopes_is_ever_returned(
    caller: Caller, database_url: str, api: Api
) -> None:
    inside, outside = await plant(database_url)
    client = await api.as_client(
        agency=caller.agency, profile=caller.profile, scopes=caller.scopes, region=caller.region
    )
    banned = forbidden(caller, inside) | forbidden(caller, outside)
    view = view_for(caller.scopes).schema
    requests = [
        *_generate(view, inside),
        *_generate(view, outside),
        *_generate(full_schema(), inside)[: EXAMPLES // 2],
    ]
    answered = 0
    for request in requests:
        response = await client.client.post("/graphql", json=request, headers=client.headers)
        text = response.text
        leaked = sorted(v for v in banned if v in text)
        assert not leaked, f"{caller.label} got {leaked} from {request}: {text[:500]}"
        answered += "data" in response.json() and response.json()["data"] is not None
    # The generator must reach data, not only validation errors, for the test to mean anything.
    assert answered >= len(requests) // 3, f"only {answered} of {len(requests)} answered"


async def test_the_planted_values_are_visible_to_civil_affairs(database_url: str, api: Api) -> None:
    """The leak test's markers are really where it looks: civil affairs sees them all."""
    inside, _ = await plant(database_url)
    query = """query($id: ID!) { household(id: $id) { code address phone
        members { nodes { person { idNumber name phone birthDate nationalPersonId } } }
        determinations { nodes { reasons } }
        events { nodes { idNumber details } }
        assistanceRecords { nodes { notes amount } }
        warnings { nodes { evidence resolutionNote } } } }"""
    body = await api.graphql(query, {"id": str(inside.household_id)})
    assert "errors" not in body, body
    text = json.dumps(body, ensure_ascii=False)
    assert not sorted(v for v in inside.everything if v not in text)
