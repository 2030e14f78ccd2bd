"""Every mutation reads on the primary, and leaves its client's WAL position behind.

The GraphQL half of read-your-writes across processes (gateway/replicas.py): a mutation reads
to then write, and reads back what it wrote, so its reads must not go to a standby; and once it
has run, the client's next requests, on any process or host, must see what it changed. The
console's actions are mutations run in process, so they come through here too; REST pushes
note their writes at their own edge (gateway/http/api_v1.py).

Wrapped once, on the full schema's Mutation fields, so that no mutation can forget it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema, default_field_resolver

from gateway.context import Context

Resolver = Callable[..., Any]


def _writing(resolve: Resolver) -> Resolver:
    async def resolver(root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        ctx: Context = info.context
        await ctx.read_from_primary()
        try:
            value = resolve(root, info, **args)
            return await value if inspect.isawaitable(value) else value
        finally:
            # Also after an error: a mutation may have committed a unit of work before it
            # failed. Noting a position for a mutation that changed nothing costs one small
            # upsert and at worst sends the client's next reads to the primary for a moment.
            await ctx.db.replicas.note_write(ctx.principal.client_id)

    return resolver


def route_mutations(full: GraphQLSchema) -> None:
    """Wrap every Mutation field's resolver (once, on the full schema)."""
    if full.mutation_type is None:
        return
    for field in full.mutation_type.fields.values():
        field.resolve = _writing(field.resolve or default_field_resolver)
