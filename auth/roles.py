"""The roles of people who sign in to the console, and the scopes of CONTRACT.md each gives.

A person's token carries its role's scopes, bounded by the console client's; the agency and region
rules that apply to a department's client apply to the person the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.scopes import CIVIL_AFFAIRS, PROFILES


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    agency: str
    scopes: frozenset[str]
    needs_region: bool = False


# Caseworkers at the civil-affairs bureau: the civil-affairs profile, less what only machines use
# (`admin` for client registration, `feed:push` for bulk feeds).
_CASEWORKER = PROFILES[CIVIL_AFFAIRS].scopes - {"admin", "feed:push"}

ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role("civil-affairs", CIVIL_AFFAIRS, _CASEWORKER),
        # A town's caseworkers: the town profile, bound to the town's region.
        Role("town", "town", PROFILES["town"].scopes, needs_region=True),
        # Read-only: the audit trail, and the warnings and households it names (masked).
        Role(
            "auditor",
            CIVIL_AFFAIRS,
            frozenset({"audit:read", "warning:read", "household:read"}),
        ),
    )
}

# A person's access token names them `user:NAME` (its `sub`), and so does every record of what
# they did; a client's token names the client by its id.
USER_PREFIX = "user:"


def person_subject(username: str) -> str:
    return USER_PREFIX + username


# The console's OAuth client (public, made by migration 0008): the only client whose tokens name a
# person (`sub: user:NAME`).
CONSOLE_CLIENT_ID = "lig-console"

# The scopes the console client may hold: every role's (a person's token gets the role's).
CONSOLE_SCOPES: frozenset[str] = frozenset().union(*(r.scopes for r in ROLES.values()))
