"""Preparing a GraphQL request against a client's schema view: parse, limit, validate, analyse.

Departments send the same few documents again and again, so each step is cached by the
document's text (gateway/http/doccache.py): parsing, the static limits, validation and analysis
by (view, text). The analysis says which fields the operation selects (for the audit record)
and whether its answer is personal data (it then needs a purpose and an audit event).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
    visit,
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from auth.policy import PERSONAL_OPERATIONS
from gateway.http.doccache import CACHEABLE, by_document_text
from gateway.http.limits import Limits, check_document, check_request
from gateway.settings import Settings
from schema.views import SchemaView

_RULES = (*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule)


@dataclass(frozen=True, slots=True)
class Operation:
    name: str  # operationName, or the root fields it selects ("eligibility")
    kind: str  # query, mutation or subscription
    roots: tuple[str, ...]  # "Query.eligibility", in document order
    fields: tuple[str, ...]  # every "Type.field" selected, sorted
    personal: bool


# The parser stops at this many tokens (LIG_GRAPHQL_MAX_TOKENS) and comments: past them, a
# document costs more to read than any department's operation needs.
TOO_MANY_TOKENS = "Parsing aborted."


def _parse(text: str, max_tokens: int) -> DocumentNode:
    return parse(
        text,
        max_lexical_tokens=max_tokens,
        max_comments=max_tokens,
        allow_empty_selection_sets=False,
    )


_parse_cached = lru_cache(maxsize=512)(_parse)


def parse_document(text: str, max_tokens: int = 5000) -> DocumentNode:
    """Raises GraphQLError on a syntax error, or when the document is over `max_tokens`
    (its message then ends with TOO_MANY_TOKENS)."""
    if len(text) <= CACHEABLE:
        return _parse_cached(text, max_tokens)
    return _parse(text, max_tokens)


_RULES_NO_INTROSPECTION = (*_RULES, NoSchemaIntrospectionCustomRule)


def introspection_allowed(view: SchemaView, settings: Settings) -> bool:
    """LIG_GRAPHQL_INTROSPECTION: `admin` (clients with the admin scope), `everyone`, `nobody`.
    (The schema views themselves are checked in process: tests/test_schema_views.py.)"""
    if settings.graphql_introspection == "admin":
        return "admin" in view.scopes
    return settings.graphql_introspection == "everyone"


@by_document_text(maxsize=1024)
def _validate(
    view: SchemaView, document: DocumentNode, introspection: bool
) -> tuple[GraphQLError, ...]:
    rules = _RULES if introspection else _RULES_NO_INTROSPECTION
    return tuple(validate(view.schema, document, rules, hide_suggestions=True))


def validate_document(
    view: SchemaView, document: DocumentNode, *, introspection: bool = True
) -> list[GraphQLError]:
    return list(_validate(view, document, introspection))


@dataclass(frozen=True, slots=True)
class Refused:
    """A document that will not run: its errors, the audit outcome, the HTTP status."""

    errors: list[GraphQLError]
    outcome: str  # INVALID or LIMIT_EXCEEDED
    status: int


def parse_within_limits(query: str, settings: Settings) -> DocumentNode | Refused:
    """The document, parsed within the token cap and the static operation limits (no schema,
    no variables): what can be refused before anything is read, even who is asking."""
    try:
        document = parse_document(query, settings.graphql_max_tokens)
    except GraphQLError as error:
        if error.message.endswith(TOO_MANY_TOKENS):
            return Refused([error], "LIMIT_EXCEEDED", 400)
        return Refused([error], "INVALID", 200)
    over = check_document(document, Limits.of(settings))
    if over is not None:
        return Refused([over], "LIMIT_EXCEEDED", 400)
    return document


def prepare(
    view: SchemaView,
    settings: Settings,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> DocumentNode | Refused:
    """The document, parsed, within the operation limits (gateway/http/limits.py) and valid
    against the view; or why not. The limits come before validation: validating a document
    that asks too much is itself the work they prevent."""
    document = parse_within_limits(query, settings)
    if isinstance(document, Refused):
        return document
    over = check_request(view.schema, document, operation_name, variables, Limits.of(settings))
    if over is not None:
        return Refused([over], "LIMIT_EXCEEDED", 400)
    invalid = validate_document(view, document, introspection=introspection_allowed(view, settings))
    if invalid:
        return Refused(invalid, "INVALID", 200)
    return document


class _Collector(Visitor):
    def __init__(self, type_info: TypeInfo, root_names: frozenset[str]) -> None:
        super().__init__()
        self.type_info = type_info
        self.root_names = root_names
        self.fields: set[str] = set()
        self.roots: list[str] = []

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        parent = self.type_info.get_parent_type()
        name = node.name.value
        if parent is None or name.startswith("__"):
            return
        coordinate = f"{parent.name}.{name}"
        self.fields.add(coordinate)
        if parent.name in self.root_names and coordinate not in self.roots:
            self.roots.append(coordinate)


def _analyse(
    view: SchemaView, document: DocumentNode, operation_name: str | None
) -> Operation | None:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None  # execution reports the missing or ambiguous operation
    schema = view.schema
    roots = frozenset(
        t.name
        for t in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if t is not None
    )
    type_info = TypeInfo(schema)
    collector = _Collector(type_info, roots)
    # The operation and the fragments it may spread (validation refused unused fragments).
    for definition in document.definitions:
        if definition is operation or not isinstance(definition, OperationDefinitionNode):
            visit(definition, TypeInfoVisitor(type_info, collector))
    kind = operation.operation.value
    root_fields = tuple(collector.roots)
    name = (
        operation.name.value
        if operation.name
        else "+".join(r.partition(".")[2] for r in root_fields) or kind
    )
    return Operation(
        name=name[:64],
        kind=kind,
        roots=root_fields,
        fields=tuple(sorted(collector.fields)),
        personal=any(r in PERSONAL_OPERATIONS for r in root_fields),
    )


analyse = by_document_text(maxsize=1024)(_analyse)
