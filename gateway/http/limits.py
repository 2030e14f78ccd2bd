"""Operation limits: a GraphQL document that asks too much is refused before it is validated or run.

Checked on the syntax tree, with fragments expanded, so that the refusal costs less than the
work it prevents: depth, aliases, root fields, selected fields (500 `__typename` are 500 fields),
directives (a directive repeated at one place is one error, not one per repetition), literal
strings, introspection that nests the schema in itself, and then, with the variables, the list
sizes asked for (`first` and list arguments) and the cost they add up to. The token count is
bounded by the parser itself (gateway/http/operations.py). Every refusal is one GraphQLError
with `extensions.code` LIMIT_EXCEEDED naming the limit, its figure and its setting.

The static checks depend on the document only, so they are cached by its text; the cost depends
on the variables and is counted for each request (a walk of the tree with the view's types).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_list_type,
    visit,
)

from gateway.http.doccache import by_document_text
from gateway.settings import Settings

# Introspection fields that lead back to types: one of them inside itself on one path is a
# query that walks the schema in circles (the standard introspection query never does).
_CIRCULAR = frozenset({"types", "fields", "inputFields", "interfaces", "possibleTypes"})
# No argument takes a number of more digits than this (money has 15 and two decimals); longer
# ones are refused before anything converts them (Python's int() refuses past 4,300 digits).
_MAX_NUMBER_DIGITS = 40
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# The page-size arguments of connections; a list argument (idNumbers) sizes its list too.
_PAGE_ARGUMENTS = ("first", "last")


@dataclass(frozen=True, slots=True)
class Limits:
    depth: int
    aliases: int
    root_fields: int
    fields: int
    directives: int
    string_length: int
    list_length: int
    default_page_size: int
    cost: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            depth=settings.graphql_max_depth,
            aliases=settings.graphql_max_aliases,
            root_fields=settings.graphql_max_root_fields,
            fields=settings.graphql_max_fields,
            directives=settings.graphql_max_directives,
            string_length=settings.graphql_max_string_length,
            list_length=settings.graphql_max_list_length,
            default_page_size=settings.default_page_size,
            cost=settings.graphql_max_cost,
        )


def refusal(message: str, setting: str) -> GraphQLError:
    return GraphQLError(
        message, extensions={"code": "LIMIT_EXCEEDED", "setting": f"LIG_{setting.upper()}"}
    )


@by_document_text(maxsize=1024)
def check_document(document: DocumentNode, limits: Limits) -> GraphQLError | None:
    """The first static limit the document exceeds, or None."""
    return _check(document, limits)


def check_request(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limits: Limits,
) -> GraphQLError | None:
    """The variables' bounds and the operation's estimated cost, or None when within them."""
    problem = _check_values(variables or {}, limits)
    if problem is not None:
        return problem
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None  # validation or execution says what is missing
    fragments = _fragments(document)
    counter = _Cost(schema, fragments, variables or {}, limits)
    root = schema.get_root_type(operation.operation)
    try:
        cost = counter.of(operation.selection_set, 1, frozenset(), root)
    except _PageTooLarge as error:
        return refusal(
            f"{error.argument}: at most {limits.list_length} items (asked for {error.asked}; "
            "each list has its own, smaller maximum)",
            "graphql_max_list_length",
        )
    if cost > limits.cost:
        return refusal(
            f"the query's estimated cost is {cost}, over the limit of {limits.cost} "
            "(each field counts once per item of the lists around it: ask for smaller pages "
            "or fewer nested lists)",
            "graphql_max_cost",
        )
    return None


# -- static checks ------------------------------------------------------------------------------


def _check(document: DocumentNode, limits: Limits) -> GraphQLError | None:
    counts = _Counts(limits.string_length)
    visit(document, counts)
    if counts.aliases > limits.aliases:
        return refusal(
            f"the document uses {counts.aliases} aliases, over the limit of {limits.aliases}",
            "graphql_max_aliases",
        )
    if counts.directives > limits.directives:
        return refusal(
            f"the document uses {counts.directives} directives, over the limit of "
            f"{limits.directives}",
            "graphql_max_directives",
        )
    if counts.repeated_directive is not None:
        return refusal(
            f"the directive @{counts.repeated_directive} is repeated at one place "
            "(each directive may be used once where it stands)",
            "graphql_max_directives",
        )
    if counts.long_string:
        return refusal(
            f"a string in the document is longer than {limits.string_length} characters",
            "graphql_max_string_length",
        )
    if counts.long_number:
        return refusal(
            f"a number in the document is longer than {_MAX_NUMBER_DIGITS} characters",
            "graphql_max_string_length",
        )
    fragments = _fragments(document)
    shape = _Shape(fragments)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        roots, fields, depth, circular = shape.of(definition.selection_set, ())
        if circular:
            return refusal(
                "the query nests introspection in itself (`fields` within `fields` …)",
                "graphql_max_depth",
            )
        if depth > limits.depth:
            return refusal(
                f"the query is nested {depth} levels deep, over the limit of {limits.depth}",
                "graphql_max_depth",
            )
        if roots > limits.root_fields:
            return refusal(
                f"the operation selects {roots} root fields, over the limit of "
                f"{limits.root_fields}",
                "graphql_max_root_fields",
            )
        if fields > limits.fields:
            return refusal(
                f"the operation selects {fields} fields (fragments expanded), over the limit "
                f"of {limits.fields}",
                "graphql_max_fields",
            )
    return None


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


class _Counts(Visitor):
    """Counted once over the whole text: aliases, directives, directives repeated at one place,
    strings over the limit. Counting the text (not the expanded operation) is what an attacker
    sends; the expansion is bounded by the field and depth checks."""

    def __init__(self, string_length: int) -> None:
        super().__init__()
        self.string_length = string_length
        self.aliases = 0
        self.directives = 0
        self.repeated_directive: str | None = None
        self.long_string = False
        self.long_number = False

    def enter(self, node: Node, *_args: object) -> None:
        directives = getattr(node, "directives", None)
        if directives:
            self.directives += len(directives)
            names = [d.name.value for d in directives]
            if self.repeated_directive is None and len(set(names)) < len(names):
                self.repeated_directive = next(n for n in names if names.count(n) > 1)
        if isinstance(node, FieldNode) and node.alias is not None:
            self.aliases += 1

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        self.long_string = self.long_string or len(node.value) > self.string_length

    def enter_int_value(self, node: IntValueNode, *_args: object) -> None:
        self.long_number = self.long_number or len(node.value) > _MAX_NUMBER_DIGITS

    def enter_float_value(self, node: FloatValueNode, *_args: object) -> None:
        self.long_number = self.long_number or len(node.value) > _MAX_NUMBER_DIGITS


class _Shape:
    """Root fields, selected fields and depth of a selection set, fragments expanded (each
    fragment's figures computed once: a fragment spread a thousand times is not walked a
    thousand times). A fragment that spreads itself is left to validation (counted as empty)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[tuple[str, tuple[str, ...]], tuple[int, int, int, bool]] = {}
        self.active: set[str] = set()

    def of(
        self, selection_set: SelectionSetNode | None, path: tuple[str, ...]
    ) -> tuple[int, int, int, bool]:
        """(fields directly selected, fields in all, depth, circular introspection)."""
        if selection_set is None:
            return 0, 0, 0, False
        direct = total = depth = 0
        circular = False
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                inner_path = _introspection_path(path, name)
                circular = circular or inner_path is None
                _, fields, inner, circ = self.of(selection.selection_set, inner_path or ())
                direct += 1
                total += 1 + fields
                # Introspection nests type references (ofType …) deeper than any data does;
                # its circles are refused apart, and its fields are counted as any others.
                depth = max(depth, 1 if name in _INTROSPECTION_ROOTS else 1 + inner)
                circular = circular or circ
            else:
                d, t, dp, c = self._fragment(selection, path)
                direct += d
                total += t
                depth = max(depth, dp)
                circular = circular or c
        return direct, total, depth, circular

    def _fragment(self, node: Node, path: tuple[str, ...]) -> tuple[int, int, int, bool]:
        if isinstance(node, InlineFragmentNode):
            return self.of(node.selection_set, path)
        assert isinstance(node, FragmentSpreadNode)
        name = node.name.value
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            return 0, 0, 0, False
        key = (name, path)
        if key not in self.memo:
            self.active.add(name)
            try:
                self.memo[key] = self.of(definition.selection_set, path)
            finally:
                self.active.discard(name)
        return self.memo[key]


def _introspection_path(path: tuple[str, ...], name: str) -> tuple[str, ...] | None:
    """The introspection fields that lead back to types, on the way to this field; None when
    the field repeats one of them (a circle)."""
    if name not in _CIRCULAR:
        return path
    if name in path:
        return None
    return (*path, name)


# -- the request's values -----------------------------------------------------------------------


def _check_values(variables: Mapping[str, Any], limits: Limits) -> GraphQLError | None:
    """Every string, list and nesting level of the variables within bounds (before any of them
    reaches a resolver). Depth is bounded too: JSON nested far deeper than any input type is an
    attack on the code that walks it."""
    stack: list[tuple[Any, str, int]] = [(v, f"${k}", 1) for k, v in variables.items()]
    while stack:
        value, where, depth = stack.pop()
        if depth > _MAX_VALUE_DEPTH:
            return refusal(f"{where}: nested deeper than {_MAX_VALUE_DEPTH} levels", "variables")
        if isinstance(value, str):
            if len(value) > limits.string_length:
                return refusal(
                    f"{where}: longer than {limits.string_length} characters",
                    "graphql_max_string_length",
                )
        elif isinstance(value, list):
            if len(value) > limits.list_length:
                return refusal(
                    f"{where}: more than {limits.list_length} items",
                    "graphql_max_list_length",
                )
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((v, f"{where}.{k}", depth + 1) for k, v in value.items())
    return None


_MAX_VALUE_DEPTH = 16


class _PageTooLarge(Exception):
    def __init__(self, argument: str, asked: int) -> None:
        super().__init__(argument)
        self.argument = argument
        self.asked = asked


class _Cost:
    """Each field costs 1 for every item of the lists it is nested in. A field's items: its
    `first`/`last`, else the default of its `first` argument (a page asked for without one), or,
    for a field that returns a list, the length of a list argument (eligibility's `idNumbers`;
    a push's `items` size nothing: it answers one receipt)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits

    def of(
        self,
        selection_set: SelectionSetNode | None,
        factor: int,
        seen: frozenset[str],
        parent: GraphQLNamedType | None,
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += factor
                fields = getattr(parent, "fields", None) or {}
                definition = fields.get(selection.name.value)
                items = self._items(selection, definition)
                inner = get_named_type(definition.type) if definition is not None else None
                total += self.of(selection.selection_set, factor * items, seen, inner)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                within = self.schema.get_type(condition.name.value) if condition else parent
                total += self.of(selection.selection_set, factor, seen, within)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    within = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.of(fragment.selection_set, factor, seen | {name}, within)
        # Counted to the end (the exact figure for the message): the field and depth limits,
        # checked before, bound how much there is to count.
        return total

    def _items(self, field: FieldNode, definition: GraphQLField | None) -> int:
        items = 1
        paged = False
        returns_list = definition is not None and is_list_type(get_nullable_type(definition.type))
        for argument in field.arguments or ():
            value = self._value(argument)
            name = argument.name.value
            if name in _PAGE_ARGUMENTS and isinstance(value, int):
                if value > self.limits.list_length:
                    raise _PageTooLarge(name, value)
                items = max(items, value)
                paged = True
            elif returns_list and isinstance(value, list):
                items = max(items, len(value))
        if not paged and definition is not None and "first" in definition.args:
            default = definition.args["first"].default_value
            page = default if isinstance(default, int) else self.limits.default_page_size
            items = max(items, page)
        return items

    def _value(self, argument: ArgumentNode) -> Any:
        node: ValueNode = argument.value
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        return None
