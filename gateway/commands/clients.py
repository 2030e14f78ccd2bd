"""`lig clients add|list|revoke|rotate-secret`: the OAuth client registry.

A secret is printed once, on stdout as JSON, and never again: only its hash is stored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from auth.clients import add_client, list_clients, revoke_client, rotate_secret
from gateway.commands.common import err, in_unit_of_work
from gateway.models import OAuthClient

clients_app = typer.Typer(help="OAuth clients of departments.", no_args_is_help=True)


def _when(client: OAuthClient, name: str) -> str | None:
    value = getattr(client, name)
    return value.isoformat(timespec="seconds") if value is not None else None


def _row(client: OAuthClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "agency": client.agency_code,
        "profile": client.profile,
        "scopes": sorted(client.scopes),
        "region": client.region_code,
        "created_at": _when(client, "created_at"),
        "secret_rotated_at": _when(client, "secret_rotated_at"),
        "revoked_at": _when(client, "revoked_at"),
        "trusted_documents_only": client.trusted_documents_only,
    }


def _credentials(client: OAuthClient, secret: str) -> None:
    typer.echo(json.dumps({"client_id": client.client_id, "client_secret": secret}))


@clients_app.command("add")
def add_command(
    name: Annotated[str, typer.Option("--name", help="What the client is, for people.")],
    agency: Annotated[str, typer.Option("--agency", help="The department, e.g. medical-security.")],
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="A department profile (its scopes); must be the agency."),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="More scopes (repeatable; space-separated allowed)."),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Bind to a region: 6-, 9- or 12-digit code (town needs it)."),
    ] = None,
) -> None:
    """Register a client; prints {"client_id", "client_secret"} (the secret is shown only now)."""
    client, secret = in_unit_of_work(
        lambda session: add_client(session, name, agency, profile, scope or [], region)
    )
    _credentials(client, secret)


@clients_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
) -> None:
    """Every registered client (never a secret)."""
    rows = [_row(c) for c in in_unit_of_work(list_clients)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(
        Column("client_id", no_wrap=True), "name", "agency", "profile", "scopes", "region",
        "created", "revoked", "documents only",
    )  # fmt: skip
    for row in rows:
        table.add_row(
            row["client_id"],
            row["name"],
            row["agency"],
            row["profile"] or "",
            "\n".join(row["scopes"]),
            row["region"] or "",
            row["created_at"],
            row["revoked_at"] or "",
            "yes" if row["trusted_documents_only"] else "",
        )
    err.print(table)


@clients_app.command("revoke")
def revoke_command(client_id: Annotated[str, typer.Argument(help="The client to revoke.")]) -> None:
    """Revoke a client: no more tokens, and the tokens it holds are refused at once."""
    client = in_unit_of_work(lambda session: revoke_client(session, client_id))
    typer.echo(
        json.dumps({"client_id": client.client_id, "revoked_at": _when(client, "revoked_at")})
    )


@clients_app.command("rotate-secret")
def rotate_secret_command(
    client_id: Annotated[str, typer.Argument(help="The client whose secret to replace.")],
) -> None:
    """A new secret (printed once); the old one and every token issued before stop working."""
    client, secret = in_unit_of_work(lambda session: rotate_secret(session, client_id))
    _credentials(client, secret)
