"""`lig documents add|list|remove|require|allow-free-form`: trusted documents of clients.

A client required to use trusted documents sends `{"documentId": "sha256:…", "variables": …}`
instead of a query: only documents registered for it here (or through the GraphQL API) run.
The id is `sha256:` and the hex SHA-256 of the file's bytes, as `sha256sum FILE` prints it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.commands.common import err, fail, fail_with, in_unit_of_work
from gateway.documents import (
    add_document,
    count_documents,
    list_documents,
    remove_document,
    renamed,
    set_trusted_only,
)
from gateway.errors import InvalidInput
from gateway.models import TrustedDocument
from gateway.settings import get_settings

documents_app = typer.Typer(
    help="Trusted documents: the operations a client may send by id.", no_args_is_help=True
)

# The service's neutral field names, as this command line spells them.
FIELDS = {"client": "--client", "document": "FILE", "name": "--name", "document_id": "DOCUMENT_ID"}

Client = Annotated[str, typer.Option("--client", help="The client's id (lig_…).")]


def _read(source: str) -> str:
    # Bytes, decoded as they are: text mode would turn CRLF into LF, and the id would then not
    # be the hash of the file.
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as error:
        raise fail(f"FILE: {source}: {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise fail_with(InvalidInput("FILE", "is not UTF-8 text")) from None


def _row(document: TrustedDocument) -> dict[str, Any]:
    return {
        "client_id": document.client_id,
        "document_id": document.document_id,
        "name": document.name,
        "added_at": document.added_at.isoformat(timespec="seconds"),
        "added_by": document.added_by,
        "document": document.body,
    }


@documents_app.command("add")
def add_command(
    client: Client,
    source: Annotated[
        str, typer.Argument(metavar="FILE", help="The GraphQL document (.graphql); - reads stdin.")
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="What it is for (default: its operation names).")
    ] = None,
) -> None:
    """Register a document for a client (audited); prints its id.

    The same file again is the same document (renamed if --name is given).
    """
    body = _read(source)

    async def work(session: AsyncSession) -> TrustedDocument:
        try:
            return await add_document(session, client, body, name, settings=get_settings())
        except InvalidInput as error:
            raise renamed(error, FIELDS) from None

    document = in_unit_of_work(work)
    typer.echo(document.document_id)


@documents_app.command("list")
def list_command(
    client: Annotated[
        str | None, typer.Option("--client", help="Only this client's (default: every client's).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON for machines, with each document's text.")
    ] = False,
) -> None:
    """Registered documents, by client and name."""

    async def work(session: AsyncSession) -> list[TrustedDocument]:
        try:
            return await list_documents(session, client)
        except InvalidInput as error:
            raise renamed(error, FIELDS) from None

    rows = [_row(d) for d in in_unit_of_work(work)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(
        Column("client_id", no_wrap=True), Column("document_id", no_wrap=True), "name",
        "added", "by",
    )  # fmt: skip
    for row in rows:
        table.add_row(
            row["client_id"], row["document_id"], row["name"], row["added_at"], row["added_by"]
        )
    # Never cut an id short (it is what `remove` takes): print as wide as the table needs, as
    # rich would otherwise fit it to 80 columns when stderr is not a terminal.
    needed = err.measure(table, options=err.options.update_width(1000)).maximum
    Console(stderr=True, width=max(err.width, needed)).print(table)


@documents_app.command("remove")
def remove_command(
    client: Client,
    document_id: Annotated[
        str, typer.Argument(metavar="DOCUMENT_ID", help="sha256:… as `add` printed it.")
    ],
) -> None:
    """Remove a client's document (audited).

    Running gateways stop answering it within LIG_TRUSTED_DOCUMENTS_CACHE_SECONDS (10 s).
    """

    async def work(session: AsyncSession) -> bool:
        try:
            removed = await remove_document(session, client, document_id)
        except InvalidInput as error:
            raise renamed(error, FIELDS) from None
        if not removed:
            raise InvalidInput("DOCUMENT_ID", f"not a document of client {client}")
        return removed

    in_unit_of_work(work)
    typer.echo(json.dumps({"client_id": client, "document_id": document_id, "removed": True}))


def _set(client: str, required: bool) -> None:
    async def work(session: AsyncSession) -> int:
        try:
            await set_trusted_only(session, client, required)
        except InvalidInput as error:
            raise renamed(error, FIELDS) from None
        return await count_documents(session, client)

    count = in_unit_of_work(work)
    if required and count == 0:
        err.print(
            "[yellow]warning:[/yellow] no documents are registered for this client: every "
            "request it sends is refused until one is",
            highlight=False,
            soft_wrap=True,
        )
    typer.echo(
        json.dumps({"client_id": client, "trusted_documents_only": required, "documents": count})
    )


@documents_app.command("require")
def require_command(client: Client) -> None:
    """Let the client send registered documents only, by id (audited).

    Running gateways apply it within LIG_TRUSTED_DOCUMENTS_CACHE_SECONDS (10 s).
    """
    _set(client, True)


@documents_app.command("allow-free-form")
def allow_free_form_command(client: Client) -> None:
    """Let the client send free-form queries again (audited)."""
    _set(client, False)
