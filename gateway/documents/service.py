"""Registering the documents a client may send by id, and requiring it to send only those.

Functions take the caller's session and never commit (the CLI command or the GraphQL request
does). Every change is recorded in the audit trail; a call that changes nothing records nothing.

Errors name the field in neutral terms (`client`, `document`, `name`, `document_id`); the CLI
and the GraphQL API rename them to their own options and arguments (`renamed`).

A document is checked against the schema view of the client's scopes as registered. A token
asking for fewer scopes, or a client that loses scopes later, sees the document refused at
request time by the usual validation, which still runs on every resolved document.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import record_change
from gateway.documents.ids import MAX_BODY_BYTES, check_document_id, document_id
from gateway.errors import InvalidInput
from gateway.models import OAuthClient, TrustedDocument
from gateway.models.base import utcnow
from gateway.principal import LOCAL_OPERATOR, Principal
from gateway.settings import Settings

MAX_NAME = 200


def renamed(error: InvalidInput, names: Mapping[str, str]) -> InvalidInput:
    """The same error with each neutral field name replaced by the caller's own."""
    return InvalidInput.many(
        [(names.get(field, field), reason) for field, reason in error.problems]
    )


def _audit(
    session: AsyncSession,
    by: Principal,
    action: str,
    request_id: str | None,
    **subjects: Any,
) -> None:
    record_change(
        session,
        by,
        action=action,
        subjects=subjects,
        request_id=request_id or uuid.uuid4().hex,
    )


async def _client(session: AsyncSession, client_id: str, *, lock: bool = False) -> OAuthClient:
    """The registered client, or InvalidInput naming `client`."""
    client = None
    if len(client_id) <= 64:
        query = select(OAuthClient).where(OAuthClient.client_id == client_id)
        # Serialises registrations for one client (PostgreSQL), so that two adds of the same
        # text cannot both find it missing and collide on the primary key.
        client = await session.scalar(query.with_for_update() if lock else query)
    if client is None:
        raise InvalidInput("client", f"no client {client_id!r}")
    return client


def _line(error: GraphQLError) -> str:
    where = error.locations[0] if error.locations else None
    return f"{error.message} (line {where.line}, column {where.column})" if where else error.message


def _checked(
    client: OAuthClient, body: str, settings: Settings | None
) -> tuple[list[str], list[str]]:
    """The document's operations' names (or their root fields) and the root fields it selects,
    or InvalidInput naming `document`."""
    # Imported here: schema.views builds the schema, whose resolvers import this module.
    from gateway.http.limits import Limits, check_document
    from gateway.http.operations import analyse, parse_document, validate_document
    from schema.views import view_for

    if not body.strip():
        raise InvalidInput("document", "must not be empty")
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise InvalidInput("document", f"is {size} bytes; at most {MAX_BODY_BYTES} are allowed")
    try:
        parsed = (
            parse_document(body)
            if settings is None
            else parse_document(body, settings.graphql_max_tokens)
        )
    except GraphQLError as error:
        raise InvalidInput("document", f"does not parse: {_line(error)}") from None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if any(o.operation is OperationType.SUBSCRIPTION for o in operations):
        raise InvalidInput(
            "document",
            "holds a subscription; trusted documents are sent to POST /graphql, and "
            "subscriptions run over the websocket",
        )
    view = view_for(frozenset(client.scopes))
    invalid = validate_document(view, parsed)
    if invalid:
        raise InvalidInput.many(
            [("document", f"not valid for the client's schema: {_line(e)}") for e in invalid]
        )
    # A document the request path would refuse as too large or too costly (gateway/http/
    # limits.py) is no use to the client: say so now rather than at each request.
    over = None if settings is None else check_document(parsed, Limits.of(settings))
    if over is not None:
        raise InvalidInput("document", f"is over a limit: {_line(over)}")
    names: list[str] = []
    roots: set[str] = set()
    for definition in operations:
        analysed = analyse(view, parsed, definition.name.value if definition.name else None)
        if analysed is not None:
            names.append(analysed.name)
            roots.update(analysed.roots)
    return names, sorted(roots)


def _name(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if not name:
        raise InvalidInput("name", "must not be empty (leave it out for the operation's name)")
    if len(name) > MAX_NAME:
        raise InvalidInput("name", f"must be at most {MAX_NAME} characters")
    return name


async def add_document(
    session: AsyncSession,
    client_id: str,
    body: str,
    name: str | None = None,
    *,
    by: Principal = LOCAL_OPERATOR,
    request_id: str | None = None,
    settings: Settings | None = None,
) -> TrustedDocument:
    """Register `body` for the client, or InvalidInput naming `client`, `document` or `name`.

    The client must exist and not be revoked; the document must be 1 byte to 64 KiB of UTF-8,
    parse, hold no subscription and validate against the client's schema view, and, given the
    settings, keep within the operation limits (LIG_GRAPHQL_MAX_*). `name` defaults to the
    operations' names. Registering the same text again answers the same document (its
    name changed if another is given).
    """
    name = _name(name)
    client = await _client(session, client_id, lock=True)
    if client.revoked_at is not None:
        raise InvalidInput("client", f"client {client_id} is revoked")
    operation_names, roots = _checked(client, body, settings)
    doc_id = document_id(body)
    existing = await session.get(TrustedDocument, (client_id, doc_id))
    if existing is not None:
        if name is not None and name != existing.name:
            before, existing.name = existing.name, name
            _audit(
                session,
                by,
                "documents.rename",
                request_id,
                client_id=client_id,
                document_id=doc_id,
                name=name,
                before=before,
            )
            await session.flush()
        return existing
    document = TrustedDocument(
        client_id=client_id,
        document_id=doc_id,
        name=name or ", ".join(operation_names)[:MAX_NAME] or doc_id,
        body=body,
        added_at=utcnow(),
        added_by=by.client_id,
    )
    session.add(document)
    # The root fields say what the client may now do; the id names the exact text.
    _audit(
        session,
        by,
        "documents.add",
        request_id,
        client_id=client_id,
        document_id=doc_id,
        name=document.name,
        operations=roots,
    )
    await session.flush()
    return document


async def remove_document(
    session: AsyncSession,
    client_id: str,
    doc_id: str,
    *,
    by: Principal = LOCAL_OPERATOR,
    request_id: str | None = None,
) -> bool:
    """Remove one of the client's documents: whether there was one. Processes that cached it
    keep answering it for up to LIG_TRUSTED_DOCUMENTS_CACHE_SECONDS (DocumentStore)."""
    check_document_id(doc_id, "document_id")
    await _client(session, client_id)
    document = await session.get(TrustedDocument, (client_id, doc_id))
    if document is None:
        return False
    await session.delete(document)
    _audit(
        session,
        by,
        "documents.remove",
        request_id,
        client_id=client_id,
        document_id=doc_id,
        name=document.name,
    )
    await session.flush()
    return True


async def list_documents(session: AsyncSession, client_id: str | None) -> list[TrustedDocument]:
    """The documents of one client (InvalidInput naming `client` if there is no such client),
    or of every client; by client, then name."""
    query = select(TrustedDocument).order_by(
        TrustedDocument.client_id, TrustedDocument.name, TrustedDocument.document_id
    )
    if client_id is not None:
        await _client(session, client_id)
        query = query.where(TrustedDocument.client_id == client_id)
    return list((await session.scalars(query)).all())


async def count_documents(session: AsyncSession, client_id: str) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(TrustedDocument)
        .where(TrustedDocument.client_id == client_id)
    )
    return found or 0


async def set_trusted_only(
    session: AsyncSession,
    client_id: str,
    required: bool,
    *,
    by: Principal = LOCAL_OPERATOR,
    request_id: str | None = None,
) -> OAuthClient:
    """Require the client to send registered documents only (or allow free-form queries again).

    Processes see the change within LIG_TRUSTED_DOCUMENTS_CACHE_SECONDS (DocumentStore).
    Requiring it of a client with no documents yet is allowed: its requests are then all
    refused until one is registered.
    """
    client = await _client(session, client_id)
    if client.trusted_documents_only != required:
        client.trusted_documents_only = required
        _audit(
            session,
            by,
            "documents.require" if required else "documents.allow-free-form",
            request_id,
            client_id=client_id,
        )
        await session.flush()
    return client
