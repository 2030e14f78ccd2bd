"""Routing as data: warning kind × hardship type → the agencies that act, by when, how urgent.

The table (`warning_routes`) is read once per comparison pass and evaluated here, in memory:
never a query per rule or per case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain.enums import HardshipType, Severity, WarningKind
from gateway.models import WarningRoute

ANY = "*"  # the route of a kind for a hardship type without a route of its own


@dataclass(frozen=True, slots=True)
class Route:
    kind: WarningKind
    hardship_type: str
    agencies: tuple[str, ...]
    due_working_days: int
    severity: Severity


# When nobody has routed a kind at all: civil affairs looks at it within 10 working days.
FALLBACK_AGENCIES = ("civil-affairs",)
FALLBACK_DAYS = 10


@dataclass(frozen=True, slots=True)
class Routing:
    routes: dict[tuple[WarningKind, str], Route]

    @classmethod
    def of(cls, routes: Iterable[Route]) -> Routing:
        return cls({(r.kind, r.hardship_type): r for r in routes})

    def route(self, kind: WarningKind, hardship: HardshipType | None) -> Route:
        if hardship is not None and (kind, hardship.value) in self.routes:
            return self.routes[(kind, hardship.value)]
        if (kind, ANY) in self.routes:
            return self.routes[(kind, ANY)]
        return Route(kind, ANY, FALLBACK_AGENCIES, FALLBACK_DAYS, Severity.MEDIUM)


def route_of(row: WarningRoute) -> Route:
    return Route(
        row.kind, row.hardship_type, tuple(row.agencies), row.due_working_days, row.severity
    )


async def load_routing(session: AsyncSession) -> Routing:
    rows = await session.scalars(select(WarningRoute))
    return Routing.of(route_of(row) for row in rows)
