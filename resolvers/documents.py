"""Trusted documents: thin resolvers over gateway/documents. Each mutation is its own unit of
work (the request's edge); the policy (auth/policy.py) keeps them to `admin` clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.context import Context
from gateway.documents import (
    add_document,
    count_documents,
    list_documents,
    remove_document,
    renamed,
    set_trusted_only,
)
from gateway.errors import InvalidInput
from resolvers.work import unit_of_work
from schema import documents as d

# The service's neutral field names, as the arguments spell them.
ARGUMENTS = {"client": "clientId", "document": "document", "document_id": "documentId"}


@asynccontextmanager
async def _unit_of_work(ctx: Context) -> AsyncIterator[AsyncSession]:
    try:
        async with unit_of_work(ctx) as session:
            yield session
    except InvalidInput as error:
        raise renamed(error, ARGUMENTS) from None


async def trusted_documents(
    info: strawberry.Info, client_id: str | None = None
) -> list[d.TrustedDocument]:
    ctx: Context = info.context
    try:
        async with ctx.db.sessions() as session:
            rows = await list_documents(session, client_id)
    except InvalidInput as error:
        raise renamed(error, ARGUMENTS) from None
    return [d.document(row) for row in rows]


async def register_trusted_document(
    info: strawberry.Info, client_id: str, document: str, name: str | None = None
) -> d.TrustedDocument:
    ctx: Context = info.context
    async with _unit_of_work(ctx) as session:
        row = await add_document(
            session,
            client_id,
            document,
            name,
            by=ctx.principal,
            request_id=ctx.request_id,
            settings=ctx.db.settings,
        )
    return d.document(row)


async def remove_trusted_document(info: strawberry.Info, client_id: str, document_id: str) -> bool:
    ctx: Context = info.context
    async with _unit_of_work(ctx) as session:
        return await remove_document(
            session, client_id, document_id, by=ctx.principal, request_id=ctx.request_id
        )


async def require_trusted_documents(
    info: strawberry.Info, client_id: str, required: bool
) -> d.TrustedDocumentsRequirement:
    ctx: Context = info.context
    async with _unit_of_work(ctx) as session:
        client = await set_trusted_only(
            session, client_id, required, by=ctx.principal, request_id=ctx.request_id
        )
        count = await count_documents(session, client_id)
    return d.TrustedDocumentsRequirement(
        client_id=client.client_id, required=client.trusted_documents_only, document_count=count
    )
