"""A schema per scope set: each client sees a GraphQL schema cut down to what its scopes allow.

A view is a graphql-core schema built from the full one (Query, Mutation and Subscription) by
dropping every field the client's scopes do not cover (auth/policy.py), then every field whose
type has nothing left, until nothing changes. Types no kept field reaches disappear with them.
Parsing, validation, error messages and introspection all run against the view, so a forbidden
field is simply unknown to the client. Views are built once per distinct scope set and cached.

The resolvers are the full schema's, wrapped once (`guard_full_schema`) with a runtime check of
the same policy, in case a view ever kept a field it should not have, and with the masking of
ID numbers and names for clients without `household:pii`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    default_field_resolver,
    get_named_type,
    is_interface_type,
    is_object_type,
    is_union_type,
    validate_schema,
)

from auth import policy
from gateway.errors import Forbidden
from schema.build import build_schema
from schema.writes import route_mutations

Resolver = Callable[..., Any]


@dataclass(frozen=True, slots=True, eq=False)
class SchemaView:
    scopes: frozenset[str]
    schema: GraphQLSchema


def _guarded(resolve: Resolver, coordinate: str, rule: policy.Rule) -> Resolver:
    def resolver(root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        if not rule.allows(info.context.principal.scopes):
            raise Forbidden(f"{coordinate} needs {rule.describe()}")
        return resolve(root, info, **args)

    return resolver


def _masking(resolve: Resolver, scope: str, mask: Callable[[str], str]) -> Resolver:
    async def masked_later(value: Awaitable[Any]) -> Any:
        result = await value
        return None if result is None else mask(result)

    def resolver(root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        value = resolve(root, info, **args)
        if scope in info.context.principal.scopes or value is None:
            return value
        if inspect.isawaitable(value):
            return masked_later(value)
        return mask(value)

    return resolver


def guard_full_schema(full: GraphQLSchema) -> None:
    """Wrap the resolvers of protected and masked fields (once, on the full schema)."""
    roots = [
        t for t in (full.query_type, full.mutation_type, full.subscription_type) if t is not None
    ]
    policy.check_roots(f"{t.name}.{name}" for t in roots for name in t.fields)
    for coordinate, rule in policy.FIELDS.items():
        field = _field(full, coordinate)
        field.resolve = _guarded(field.resolve or default_field_resolver, coordinate, rule)
        if field.subscribe is not None:
            # A subscription's source stream: refused before it starts.
            field.subscribe = _guarded(field.subscribe, coordinate, rule)
    for coordinate, (scope, mask) in policy.MASKED.items():
        field = _field(full, coordinate)
        field.resolve = _masking(field.resolve or default_field_resolver, scope, mask)


def _field(schema: GraphQLSchema, coordinate: str) -> GraphQLField:
    type_name, _, field_name = coordinate.partition(".")
    owner = schema.type_map.get(type_name)
    if not isinstance(owner, GraphQLObjectType) or field_name not in owner.fields:
        raise RuntimeError(f"auth/policy.py names {coordinate}, which the schema does not have")
    field: GraphQLField = owner.fields[field_name]
    return field


def _kept_fields(full: GraphQLSchema, scopes: frozenset[str]) -> dict[str, list[str]]:
    """For each object type, the fields this scope set keeps (empty: the type is gone)."""
    objects = {
        name: t
        for name, t in full.type_map.items()
        if is_object_type(t) and not name.startswith("__")
    }
    for name, t in full.type_map.items():
        if is_interface_type(t) or is_union_type(t):
            # Views rebuild object types only; an interface or union would need its own rules.
            raise RuntimeError(f"schema views do not handle interfaces or unions yet ({name})")
    kept = {
        name: [f for f in t.fields if policy.allows(f"{name}.{f}", scopes)]
        for name, t in objects.items()
    }
    changed = True
    while changed:
        changed = False
        for name, fields in kept.items():
            for f in list(fields):
                target = get_named_type(objects[name].fields[f].type)
                if target.name in kept and not kept[target.name]:
                    fields.remove(f)
                    changed = True
    return kept


def cut(full: GraphQLSchema, scopes: frozenset[str]) -> GraphQLSchema:
    """The view of `full` for a scope set (see the module docstring)."""
    kept = _kept_fields(full, scopes)
    made: dict[str, GraphQLObjectType] = {}

    def remap(t: Any) -> Any:
        if isinstance(t, GraphQLNonNull):
            return GraphQLNonNull(remap(t.of_type))
        if isinstance(t, GraphQLList):
            return GraphQLList(remap(t.of_type))
        if isinstance(t, GraphQLObjectType) and t.name in kept:
            return obj(t)
        return t  # scalars, enums and input types are shared with the full schema

    def obj(t: GraphQLObjectType) -> GraphQLObjectType:
        if t.name not in made:
            names = kept[t.name]
            made[t.name] = GraphQLObjectType(
                t.name,
                # A thunk: types refer to each other (Household ↔ Person).
                fields=lambda: {n: _copy_field(t.fields[n], remap) for n in names},
                description=t.description,
                is_type_of=t.is_type_of,
                extensions=t.extensions,
            )
        return made[t.name]

    query = full.query_type
    mutation = full.mutation_type
    subscription = full.subscription_type
    assert query is not None
    view = GraphQLSchema(
        query=obj(query),
        mutation=obj(mutation) if mutation is not None and kept[mutation.name] else None,
        subscription=(
            obj(subscription) if subscription is not None and kept[subscription.name] else None
        ),
        directives=full.directives,
        extensions=full.extensions,
    )
    # Strawberry's resolvers find their schema through this attribute (strawberry.Info.schema).
    view._strawberry_schema = full._strawberry_schema  # type: ignore[attr-defined]
    errors = validate_schema(view)
    if errors:
        raise RuntimeError(f"invalid schema view for {sorted(scopes)}: {errors}")
    return view


def _copy_field(field: GraphQLField, remap: Callable[[Any], Any]) -> GraphQLField:
    output: GraphQLOutputType = remap(field.type)
    return GraphQLField(
        output,
        args=field.args,
        resolve=field.resolve,
        subscribe=field.subscribe,
        description=field.description,
        deprecation_reason=field.deprecation_reason,
        extensions=field.extensions,
    )


@lru_cache(maxsize=1)
def full_schema() -> GraphQLSchema:
    schema = build_schema()._schema
    # Inside the guards: a mutation the policy refuses notes no WAL position.
    route_mutations(schema)
    guard_full_schema(schema)
    return schema


@lru_cache(maxsize=128)
def view_for(scopes: frozenset[str]) -> SchemaView:
    return SchemaView(scopes=scopes, schema=cut(full_schema(), scopes))
