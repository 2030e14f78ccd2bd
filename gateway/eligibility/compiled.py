"""Eligibility documents compiled to one SQL statement (PostgreSQL): the hot path.

Medical-aid and education desks send the same eligibility document all day. A document whose
only operation is a query of `eligibility(idNumbers: …)` with plain scalar fields is compiled,
once, into one statement that, in a single round trip:

- checks the token's client as `auth.tokens.standing` does (not revoked, secret not rotated
  since the token was issued, the token not revoked, every scope of the token still granted);
- looks the numbers up as `lookup.statement` does, keeping only what the client's region may see;
- stores the read's audit event, with the people and households it saw (`record_request`'s row);
- returns the answer as the JSON the client gets, in the order asked.

If the client is refused, the statement stores nothing and returns no row; the caller then
answers through the general path, which says why and audits the refusal. Anything the compiler
does not recognise (fragments, directives, other fields, a person's token) also takes the
general path: the hot path is an optimisation, never a second set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    DocumentNode,
    FieldNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
)

from gateway.domain.regions import LEVEL_DIGITS
from gateway.eligibility.lookup import SQL_ANSWER
from gateway.http.doccache import by_document_text
from gateway.http.operations import Operation, analyse
from schema.views import SchemaView

# The fields of `Eligibility` a compiled document may select, as SQL over a row `f` of `found`:
# the number as sent and the row found for it, all NULL when none (lookup.SQL_ANSWER).
_FIELDS = {
    "idNumber": "f.sent",
    **SQL_ANSWER,
    "__typename": "'Eligibility'::text",
}


@dataclass(frozen=True, slots=True)
class Plan:
    """A recognised eligibility document, ready to run."""

    response_key: str  # the root field's alias, or "eligibility"
    sql: str
    operation: Operation  # its name and fields, for the audit event
    variable: str | None  # where the ID numbers come from: a variable ...
    literal: tuple[str, ...] | None  # ... or the document itself


def plan_for(view: SchemaView, document: DocumentNode, operation_name: str | None) -> Plan | None:
    """The plan of a document already validated against `view`, or None to take the general path."""
    return _plan(view, document, operation_name)


# Plans are cached by the document's text; a large one-off document is compiled each time
# rather than pinned in the cache.
@by_document_text(maxsize=256)
def _plan(view: SchemaView, document: DocumentNode, operation_name: str | None) -> Plan | None:
    if len(document.definitions) != 1:
        return None
    operation = document.definitions[0]
    if not isinstance(operation, OperationDefinitionNode):
        return None
    if operation.operation is not OperationType.QUERY or operation.directives:
        return None
    named = operation.name.value if operation.name else None
    if operation_name is not None and named != operation_name:
        return None
    root = _only_field(operation.selection_set.selections)
    if root is None or root.name.value != "eligibility" or root.directives:
        return None
    ids = _ids_argument(root)
    if ids is None or root.selection_set is None:
        return None
    selected: dict[str, str] = {}
    for node in root.selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives or node.arguments:
            return None
        name = node.name.value
        if name not in _FIELDS:
            return None
        key = node.alias.value if node.alias else name
        if selected.setdefault(key, name) != name:
            return None  # validation refuses this; never guess
    analysed = analyse(view, document, operation_name)
    if analysed is None or analysed.roots != ("Query.eligibility",):
        return None
    variable, literal = ids
    return Plan(
        response_key=root.alias.value if root.alias else "eligibility",
        sql=statement_sql(tuple(selected.items())),
        operation=analysed,
        variable=variable,
        literal=literal,
    )


def _only_field(selections: object) -> FieldNode | None:
    if not isinstance(selections, tuple | list) or len(selections) != 1:
        return None
    node = selections[0]
    return node if isinstance(node, FieldNode) else None


def _ids_argument(field: FieldNode) -> tuple[str | None, tuple[str, ...] | None] | None:
    arguments = field.arguments or ()
    if len(arguments) != 1 or arguments[0].name.value != "idNumbers":
        return None
    value = arguments[0].value
    if isinstance(value, VariableNode):
        return value.name.value, None
    # A single value stands for a list of one (GraphQL input coercion).
    items = value.values if isinstance(value, ListValueNode) else (value,)
    strings = [item for item in items if isinstance(item, StringValueNode)]
    if len(strings) != len(items):
        return None
    return None, tuple(item.value for item in strings)


def _region_prefix(column: str) -> str:
    """SQL for `regions.significant_prefix(column)`: the digits every code inside it starts with."""
    trimmed = f"length(rtrim({column}::text, '0'))"
    cases = " ".join(f"WHEN {trimmed} <= {n} THEN left({column}, {n})" for n in LEVEL_DIGITS[:-1])
    return f"CASE {cases} ELSE {column}::text END"


@lru_cache(maxsize=64)
def statement_sql(selection: tuple[tuple[str, str], ...]) -> str:
    """The one statement for a selection of (response key, field) pairs.

    Parameters: $1 client id, $2 the token's iat (unix seconds), $3 the token's scopes (JSON
    array), $4 the token's jti, $5 the numbers as sent, $6 the same normalised, $7 the audit
    event's time, $8 request id, $9 action, $10 purpose, $11 fields (JSON array).
    """
    # The shape is the measured one (bench/README.md, "Province scale ... three steps"): each
    # number looked up in a LATERAL join, the audit's subjects from one aggregate over arrays,
    # the answer written as text (to_json quotes and escapes each value) took PostgreSQL 1.7 ms
    # a batch of 100 where an `= ANY` join matched back to the numbers, json_agg(DISTINCT ...)
    # twice and json_build_object per row took 2.2 ms.
    members = " || ',' || ".join(
        f"'\"{key}\":' || coalesce(to_json({_FIELDS[name]})::text, 'null')"
        for key, name in selection
    )
    answer = f"'{{' || {members} || '}}'"
    return f"""
WITH caller AS (
    SELECT c.agency_code, {_region_prefix("c.region_code")} AS region_prefix
    FROM oauth_clients c
    WHERE c.client_id = $1
      AND c.revoked_at IS NULL
      AND (c.secret_rotated_at IS NULL OR c.secret_rotated_at <= to_timestamp($2::float8))
      AND c.scopes::jsonb @> $3::jsonb
      AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $4)
),
found AS (
    SELECT a.sent, a.ord, f.*
    FROM caller, unnest($5::text[], $6::char(18)[]) WITH ORDINALITY AS a(sent, number, ord)
    LEFT JOIN LATERAL (
        SELECT p.id AS person_id, p.deceased_on, h.id AS household_id,
               h.category, h.status, h.valid_until
        FROM persons p
        LEFT JOIN memberships m ON m.person_id = p.id AND m.left_on IS NULL
        LEFT JOIN households h ON h.id = m.household_id
        WHERE p.id_number = a.number
          AND (caller.region_prefix IS NULL
               OR left(h.region_code, length(caller.region_prefix)) = caller.region_prefix)
    ) f ON true
),
audit AS (
    INSERT INTO audit_events
        (at, request_id, client_id, agency, kind, action, purpose, subjects, fields,
         result_count, outcome)
    SELECT $7, $8, $1, caller.agency_code, 'READ', $9, $10,
           (SELECT json_build_object(
                'households', coalesce(to_json(array_agg(DISTINCT household_id
                    ORDER BY household_id) FILTER (WHERE household_id IS NOT NULL)), '[]'),
                'persons', coalesce(to_json(array_agg(DISTINCT person_id ORDER BY person_id)
                    FILTER (WHERE person_id IS NOT NULL)), '[]'),
                'token', $4::text) FROM found),
           $11::json, cardinality($5::text[]), 'OK'
    FROM caller
    RETURNING id
)
SELECT (SELECT count(*) FROM audit) AS audited,
       (SELECT '[' || string_agg({answer}, ',' ORDER BY f.ord) || ']' FROM found f) AS answer
FROM caller
"""
