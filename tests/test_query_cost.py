"""Query cost does not grow with result size: a page costs a constant number of statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.conftest import Api

PAGE = """query($first: Int) { households(first: $first) { edges { node {
  code region { name }
  members(first: 10) { nodes { relation person { idNumber name household { code } } } }
  assistanceRecords(first: 10) { nodes { kind amount } }
  events(first: 10) { nodes { kind } }
  warnings(first: 5) { nodes { kind status } }
  determinations(first: 5) { nodes { category } }
} } } }"""


async def count_statements(api: Api, query: str, variables: dict[str, Any]) -> tuple[int, Any]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    db = api.app.state.db
    engines = {db.engine.sync_engine, db.reader.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        data = await api.data(query, variables)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    return len(statements), data


async def test_page_of_100_households_costs_a_constant_number_of_statements(demo_api: Api) -> None:
    # A client's first request also takes a slice of its rate-limit bucket and reads whether it
    # is bound to trusted documents (each then held by the process): not what a page costs.
    await demo_api.data("{ __typename }")
    small, small_data = await count_statements(demo_api, PAGE, {"first": 5})
    large, large_data = await count_statements(demo_api, PAGE, {"first": 100})
    assert len(small_data["households"]["edges"]) == 5
    edges = large_data["households"]["edges"]
    assert len(edges) == 100
    assert sum(len(e["node"]["members"]["nodes"]) for e in edges) > 100
    assert sum(len(e["node"]["assistanceRecords"]["nodes"]) for e in edges) > 50
    # households, regions, members, person→household, records, events, warnings, determinations;
    # then the token check (the client and revocation, one statement) and the read's audit record.
    assert large == small
    assert 0 < large <= 10
