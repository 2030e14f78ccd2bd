"""Who sees which warnings and who may move them: the one place that decides.

Civil affairs sees and acts on every warning; a town (镇/街道) on those of the households in its
region (civil affairs' work done locally); any other agency only on the warnings assigned to it,
within its region if it is bound to one. Dispatching decides who works a warning: civil affairs'
call (`warning:manage`). The same rule is written twice on purpose, as SQL for lists and as
Python for one warning in hand; tests hold them together.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists

from auth.scopes import CIVIL_AFFAIRS
from gateway.households.queries import in_region
from gateway.models import WarningAssignment, WarningRecord
from gateway.principal import Principal

TOWN = "town"
MANAGE_ONLY = frozenset({"dispatch"})


def sees_region(principal: Principal) -> bool:
    """Civil affairs and towns see every warning of their region, not only assigned ones."""
    return principal.agency in (CIVIL_AFFAIRS, TOWN)


def assigned_filter(principal: Principal) -> str | None:
    """The agency whose assignments limit the warnings listed (None: no such limit)."""
    return None if sees_region(principal) else principal.agency


def notice_agency(principal: Principal) -> str:
    """Whose notices a subscriber receives: its agency's; a town, civil affairs' (of its region,
    which the subscription filters), since it acts on them locally."""
    return CIVIL_AFFAIRS if principal.agency == TOWN else principal.agency


def visible(principal: Principal) -> list[ColumnElement[bool]]:
    """The conditions on `warnings` (joined to `households`) that keep a list to what the
    principal may see."""
    conditions = in_region(principal.region_code)
    agency = assigned_filter(principal)
    if agency is not None:
        conditions.append(
            exists().where(
                WarningAssignment.warning_id == WarningRecord.id,
                WarningAssignment.agency_code == agency,
            )
        )
    return conditions


def may_read(principal: Principal, agencies: Iterable[str], household_region: str) -> bool:
    if not principal.covers_region(household_region):
        return False
    return sees_region(principal) or principal.agency in set(agencies)


def may_act(principal: Principal, action: str, agencies: Iterable[str], region: str) -> bool:
    if not may_read(principal, agencies, region):
        return False
    if action in MANAGE_ONLY or "warning:handle" not in principal.scopes:
        return "warning:manage" in principal.scopes
    return True
