"""The scopes of CONTRACT.md and the department profiles that bundle them.

CONTRACT.md fixes these names: departments write code against them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ALL_SCOPES: frozenset[str] = frozenset(
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

# The profile of a person's token (the console's sign-in): its own rate limit, apart from
# the departments' clients (gateway/ratelimit).
CONSOLE_PROFILE = "console"

# The agency whose clients see every agency's assistance records (CONTRACT.md).
CIVIL_AFFAIRS = "civil-affairs"

_SERVICE_AGENCY = frozenset(
    {
        "eligibility:read",
        "assistance:read",
        "assistance:write",
        "feed:push",
        "warning:read",
        "warning:handle",
    }
)
_FEED_ONLY = frozenset({"feed:push"})


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    scopes: frozenset[str]
    needs_region: bool = False


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("civil-affairs", ALL_SCOPES),
        *(
            Profile(name, _SERVICE_AGENCY)
            for name in (
                "medical-security",
                "education",
                "hr-social-security",
                "housing",
                "disabled-federation",
                "emergency",
                "health",
            )
        ),
        *(Profile(name, _FEED_ONLY) for name in ("public-security", "fire", "market-regulation")),
        Profile(
            "rural-revitalisation",
            frozenset({"eligibility:read", "household:read", "warning:read"}),
        ),
        Profile(
            "town",
            frozenset(
                {
                    "household:read",
                    "household:pii",
                    "household:finance",
                    "warning:read",
                    "warning:handle",
                }
            ),
            needs_region=True,
        ),
    )
}


class UnknownScope(ValueError):
    pass


def parse(text: str | Iterable[str]) -> frozenset[str]:
    """Scopes from a space-separated string (RFC 6749 §3.3) or a list; unknown ones refused."""
    items = text.split() if isinstance(text, str) else [s for part in text for s in part.split()]
    unknown = sorted(set(items) - ALL_SCOPES)
    if unknown:
        raise UnknownScope(
            f"unknown scope {', '.join(unknown)}; known: {' '.join(sorted(ALL_SCOPES))}"
        )
    return frozenset(items)


def as_text(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))
