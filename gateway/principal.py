"""Who is asking: the client, its agency, its scopes and the region it is bound to."""

from __future__ import annotations

from dataclasses import dataclass

ALL_SCOPES = frozenset(
    {
        "eligibility:read",
        "household:read",
        "household:pii",
        "household:finance",
        "assistance:read",
        "assistance:write",
        "feed:push",
        "warning:read",
        "warning:handle",
        "warning:manage",
        "audit:read",
        "admin",
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: str
    agency: str
    scopes: frozenset[str]
    region_code: str | None = None  # a 12-digit code; None means every region

    def has(self, scope: str) -> bool:
        return scope in self.scopes


# Until departments sign in (OAuth, issue 4) the gateway serves the machine it runs on only,
# and whoever reaches it there acts as the local civil-affairs operator.
LOCAL_OPERATOR = Principal(client_id="local", agency="civil-affairs", scopes=ALL_SCOPES)
