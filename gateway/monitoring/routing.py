"""Routing as data: warning kind × hardship type → the agencies that act, by when, how urgent.

The table (`warning_routes`) is read once per comparison pass and evaluated here, in memory:
never a query per rule or per case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit import record_change
from gateway.domain.enums import HardshipType, Severity, WarningKind
from gateway.errors import Conflict, InvalidInput
from gateway.models import Agency, WarningRoute
from gateway.principal import Principal
from gateway.validation import agency_code

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


MAX_DUE_WORKING_DAYS = 120


# Far more than the county has (about 16); a longer list is a mistake, and each name would be a
# statement parameter.
MAX_AGENCIES = 32


async def check_agencies(session: AsyncSession, codes: Iterable[str], field: str) -> None:
    wanted = sorted(set(codes))
    if len(wanted) > MAX_AGENCIES:
        raise InvalidInput(field, f"at most {MAX_AGENCIES} agencies")
    for code in wanted:
        agency_code(field, code)
    known = set(await session.scalars(select(Agency.code).where(Agency.code.in_(wanted))))
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise InvalidInput(field, f"unknown agency {', '.join(unknown)}")


async def set_route(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: WarningKind,
    hardship: HardshipType | None,
    agencies: Iterable[str],
    due_working_days: int,
    severity: Severity,
    request_id: str,
) -> WarningRoute:
    """Set (or add) the route of a kind and hardship type; audited with before and after."""
    chosen = sorted(set(agencies))
    if not chosen:
        raise InvalidInput(
            "input.agencies", "name at least one agency (a warning nobody is told of helps nobody)"
        )
    if not 1 <= due_working_days <= MAX_DUE_WORKING_DAYS:
        raise InvalidInput("input.dueWorkingDays", f"must be 1 to {MAX_DUE_WORKING_DAYS}")
    await check_agencies(session, chosen, "input.agencies")
    key = hardship.value if hardship is not None else ANY
    row = await session.scalar(
        select(WarningRoute)
        .where(WarningRoute.kind == kind, WarningRoute.hardship_type == key)
        .with_for_update()
    )
    before = None if row is None else route_of(row)
    if row is None:
        row = WarningRoute(kind=kind, hardship_type=key, created_by=principal.client_id)
        session.add(row)
    row.agencies = chosen
    row.due_working_days = due_working_days
    row.severity = severity
    row.updated_by = principal.client_id
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(
            f"the route {kind.value}/{key} was added meanwhile; read the table and try again",
            field="input",
        ) from None
    record_change(
        session,
        principal,
        action="warning_route.set",
        request_id=request_id,
        subjects={
            "route": f"{kind.value}/{key}",
            "before": None if before is None else _audited(before),
            "after": _audited(route_of(row)),
        },
    )
    await session.refresh(row)
    return row


async def delete_route(
    session: AsyncSession,
    principal: Principal,
    kind: WarningKind,
    hardship: HardshipType | None,
    *,
    request_id: str,
) -> bool:
    key = hardship.value if hardship is not None else ANY
    row = await session.scalar(
        select(WarningRoute).where(WarningRoute.kind == kind, WarningRoute.hardship_type == key)
    )
    if row is None:
        return False
    before = _audited(route_of(row))
    await session.delete(row)
    record_change(
        session,
        principal,
        action="warning_route.delete",
        request_id=request_id,
        subjects={"route": f"{kind.value}/{key}", "before": before},
    )
    return True


def _audited(route: Route) -> dict[str, object]:
    return {
        "agencies": list(route.agencies),
        "due_working_days": route.due_working_days,
        "severity": route.severity.value,
    }
