"""`lig users add|list|password|disable|enable|unlock`: the people who sign in to the console.

A generated password is printed once, on stdout as JSON, and never again: only its Argon2id hash
is stored. `--password-stdin` reads one instead (a line on standard input).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from auth import users
from auth.roles import ROLES
from gateway.commands.common import err, in_unit_of_work
from gateway.models import StaffUser

users_app = typer.Typer(help="Staff accounts for the console.", no_args_is_help=True)


def _password(from_stdin: bool) -> str | None:
    return sys.stdin.readline().rstrip("\r\n") if from_stdin else None


def _row(user: StaffUser) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return value.isoformat(timespec="seconds") if value is not None else None

    return {
        "username": user.username,
        "name": user.display_name,
        "role": user.role,
        "agency": user.agency_code,
        "region": user.region_code,
        "locked_until": when(user.locked_until),
        "disabled_at": when(user.disabled_at),
        "last_sign_in_at": when(user.last_sign_in_at),
    }


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


@users_app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="Sign-in name: a-z, 0-9, '.', '_', '-'.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[str | None, typer.Option("--name", help="The person's name.")] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Bind to a region: 6-, 9- or 12-digit code (town needs it)."),
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account; prints {"username", "password"} (the password only when generated)."""
    given = _password(password_stdin)

    async def work(session: AsyncSession) -> tuple[StaffUser, str]:
        return await users.add_user(session, username, name or username, role, region, given)

    user, password = in_unit_of_work(work)
    out = {"username": user.username, "role": user.role, "region": user.region_code}
    if given is None:
        out["password"] = password
    typer.echo(json.dumps(out, ensure_ascii=False))


@users_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    rows = [_row(u) for u in in_unit_of_work(users.list_users)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("username", "name", "role", "region", "locked until", "disabled", "last sign-in")
    for r in rows:
        table.add_row(
            r["username"],
            r["name"],
            r["role"],
            r["region"] or "",
            r["locked_until"] or "",
            r["disabled_at"] or "",
            r["last_sign_in_at"] or "",
        )
    err.print(table)


@users_app.command("password")
def password_command(
    username: Annotated[str, typer.Argument()],
    password_stdin: PasswordStdin = False,
) -> None:
    """A new password (generated unless given); sessions signed in before are ended."""
    given = _password(password_stdin)

    async def work(session: AsyncSession) -> str:
        return await users.set_password(session, username, given)

    password = in_unit_of_work(work)
    out = {"username": username}
    if given is None:
        out["password"] = password
    typer.echo(json.dumps(out, ensure_ascii=False))


def _simple(action: Callable[[AsyncSession, str], Awaitable[StaffUser]], username: str) -> None:
    async def work(session: AsyncSession) -> dict[str, Any]:
        return _row(await action(session, username))

    typer.echo(json.dumps(in_unit_of_work(work), ensure_ascii=False))


@users_app.command("disable")
def disable_command(username: Annotated[str, typer.Argument()]) -> None:
    """No more sign-ins; the account's sessions end at once."""
    _simple(users.disable_user, username)


@users_app.command("enable")
def enable_command(username: Annotated[str, typer.Argument()]) -> None:
    _simple(users.enable_user, username)


@users_app.command("unlock")
def unlock_command(username: Annotated[str, typer.Argument()]) -> None:
    """Lift a lock-out after repeated failed sign-ins."""
    _simple(users.unlock_user, username)
