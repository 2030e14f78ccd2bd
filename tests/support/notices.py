"""Warnings and their notices made directly in the database, for the delivery tests.

The warning lifecycle (gateway/monitoring) writes notices through `notify()`; these helpers do
the same in one transaction, so the delivery tests do not depend on the comparison rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date

from gateway.database import Database
from gateway.domain.enums import (
    Category,
    Channel,
    HardshipType,
    HouseholdStatus,
    NoticeKind,
    Severity,
    UrbanRural,
    WarningKind,
    WarningStatus,
)
from gateway.models import Household, WarningAssignment, WarningRecord
from gateway.monitoring.notices import notify

HUILONG = "320681100000"  # 汇龙镇
BEIXIN = "320681101000"  # 北新镇

_codes = itertools.count(1)


async def household(db: Database, region: str = HUILONG) -> int:
    async with db.unit_of_work() as session:
        made = Household(
            code=f"NOTICE-TEST-{next(_codes)}-{region}",
            region_code=region,
            address="测试路1号",
            urban_rural=UrbanRural.RURAL,
            category=Category.DIBAO,
            status=HouseholdStatus.ACTIVE,
            channel=Channel.APPLICATION,
        )
        session.add(made)
        await session.flush()
        return made.id


async def warn(
    db: Database,
    household_id: int,
    agencies: Iterable[str],
    *,
    kind: NoticeKind = NoticeKind.ASSIGNED,
    status: WarningStatus = WarningStatus.DISPATCHED,
) -> int:
    """A new warning assigned to `agencies`, and its notices (with their deliveries)."""
    agencies = sorted(set(agencies))
    async with db.unit_of_work() as session:
        warning = WarningRecord(
            kind=WarningKind.POLICY_NOT_DELIVERED,
            household_id=household_id,
            finding=f"test.finding.{next(_codes)}",
            hardship_type=HardshipType.MEDICAL,
            severity=Severity.MEDIUM,
            status=status,
            due_on=date(2026, 12, 31),
            evidence=[],
            subjects=[],
        )
        session.add(warning)
        await session.flush()
        for agency in agencies:
            session.add(WarningAssignment(warning_id=warning.id, agency_code=agency))
        await session.flush()
        await notify(session, warning.id, agencies, kind, status)
        return warning.id
