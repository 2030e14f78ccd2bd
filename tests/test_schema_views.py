"""Each department profile's introspected schema is exactly its checked-in expectation.

The expectations (tests/data/views/<profile>.txt) list every field, with its arguments and type,
that the profile's clients can see. Regenerate them after a deliberate change with
`LIG_UPDATE_VIEWS=1 pytest tests/test_schema_views.py`, and review the diff: it is the change
in what a department may see.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from graphql import get_introspection_query, graphql_sync

from auth.scopes import PROFILES
from schema.views import view_for
from tests.conftest import Api

VIEWS = Path(__file__).parent / "data" / "views"
TOWN = "320681100000"


def _type_ref(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return _type_ref(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + _type_ref(ref["ofType"]) + "]"
    return str(ref["name"])


def surface(schema: dict[str, Any]) -> list[str]:
    """One line per operation, field and input field, sorted; built-in types left out."""
    lines = []
    roots = {
        (schema.get(key) or {}).get("name"): label
        for key, label in (("queryType", "query"), ("mutationType", "mutation"))
    }
    for t in schema["types"]:
        if t["name"].startswith("__"):
            continue
        prefix = roots.get(t["name"], t["kind"].lower())
        for f in t.get("fields") or []:
            args = ", ".join(f"{a['name']}: {_type_ref(a['type'])}" for a in f["args"])
            lines.append(f"{prefix} {t['name']}.{f['name']}({args}): {_type_ref(f['type'])}")
        for f in t.get("inputFields") or []:
            lines.append(f"input {t['name']}.{f['name']}: {_type_ref(f['type'])}")
        for v in t.get("enumValues") or []:
            lines.append(f"enum {t['name']}.{v['name']}")
    return sorted(lines)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_introspection_shows_exactly_the_profiles_expected_schema(profile: str) -> None:
    # In process: over HTTP, introspection is for clients with the admin scope only
    # (LIG_GRAPHQL_INTROSPECTION; tests/test_graphql_cop.py).
    result = graphql_sync(view_for(PROFILES[profile].scopes).schema, get_introspection_query())
    assert result.errors is None, result.errors
    assert result.data is not None
    seen = surface(result.data["__schema"])
    path = VIEWS / f"{profile}.txt"
    if os.environ.get("LIG_UPDATE_VIEWS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(seen) + "\n", encoding="utf-8")
    expected = path.read_text(encoding="utf-8").splitlines()
    assert seen == expected, f"{profile}: the view changed; see the module docstring"


async def test_civil_affairs_sees_the_whole_exported_schema(api: Api) -> None:
    from graphql import build_schema

    from schema.build import SDL_PATH

    exported = graphql_sync(build_schema(SDL_PATH.read_text()), get_introspection_query())
    assert exported.data is not None
    body = await api.graphql(get_introspection_query())
    assert surface(body["data"]["__schema"]) == surface(exported.data["__schema"])


@pytest.mark.parametrize(
    ("profile", "query", "unknown"),
    [
        ("medical-security", "{ households { nodes { id } } }", "households"),
        ("rural-revitalisation", '{ person(idNumber: "x") { phone } }', "phone"),
        ("town", '{ eligibility(idNumbers: ["x"]) { found } }', "eligibility"),
        ("public-security", '{ eligibility(idNumbers: ["x"]) { found } }', "eligibility"),
    ],
)
async def test_a_forbidden_field_is_unknown_without_suggestions(
    profile: str, query: str, unknown: str, api: Api
) -> None:
    client = await api.as_client(
        agency=profile, profile=profile, region=TOWN if PROFILES[profile].needs_region else None
    )
    body = await client.graphql(query)
    assert "data" not in body
    (error,) = body["errors"]
    assert f"Cannot query field '{unknown}'" in error["message"]
    assert "Did you mean" not in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
