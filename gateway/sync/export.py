"""`lig export national --month YYYY-MM`: the monthly upload of the low-income population.

Every household of the region in one of the five categories (the four, and the legacy status)
whose assistance is running or under verification goes, with its current members, as one
NDJSON line. The file is written to a temporary spool as the database is read in keyset pages
(memory stays flat however large the region), hashed, and uploaded as one stream under an
Idempotency-Key made of the region, the month and the content hash: a retried or rerun upload
of the same content is the same upload on the national side. The export row is committed
before the upload and after it, so a crash at any point is recovered by a rerun:
- before the upload: the row says UPLOADING and the rerun uploads again under the same key;
- after it: the row says SUBMITTED with the national upload id, and the rerun only waits for
  the receipt;
- while the rejections are stored: they are stored again from scratch, in one transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.national.client import NationalClient
from adapters.national.wire import UploadRejection
from gateway.audit import record_change
from gateway.database import Database
from gateway.domain.enums import Category, ExportStatus, HouseholdStatus
from gateway.domain.regions import significant_prefix
from gateway.errors import InvalidInput, LigError
from gateway.models import (
    Household,
    Membership,
    NationalExport,
    NationalExportRejection,
    Person,
)
from gateway.models.base import utcnow
from gateway.principal import LOCAL_OPERATOR
from gateway.sync import Progress

MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
PAGE = 1000
# The report lists this many rejections; all of them are stored.
LISTED = 20
EXPORTED_STATUSES = (HouseholdStatus.ACTIVE, HouseholdStatus.SUSPENDED)


@dataclass
class ExportReport:
    export_id: str
    month: str
    region_code: str
    status: ExportStatus
    upload_id: str | None = None
    households: int = 0
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    by_code: dict[str, int] = field(default_factory=dict)
    resumed: bool = False
    seconds: float = 0.0
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            "month": self.month,
            "region_code": self.region_code,
            "status": self.status.value,
            "upload_id": self.upload_id,
            "households": self.households,
            "records": self.records,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejections_by_code": self.by_code,
            "rejections": self.rejections,
            "resumed": self.resumed,
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }


def check_month(month: str, today: date) -> str:
    match = MONTH.fullmatch(month)
    if match is None:
        raise InvalidInput("month", f"YYYY-MM, e.g. {today:%Y-%m}; got {month!r}")
    if (int(match[1]), int(match[2])) > (today.year, today.month):
        raise InvalidInput("month", f"{month} has not begun (today is {today.isoformat()})")
    return month


async def export_national(
    db: Database,
    client: NationalClient,
    *,
    month: str,
    region_code: str,
    today: date,
    wait_seconds: float,
    poll_seconds: float,
    progress: Progress | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ExportReport:
    check_month(month, today)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lig-export-") as folder:
        spool = Path(folder) / f"{region_code}-{month}.ndjson"
        households, records, digest = await _spool(db, region_code, spool, progress)
        export = await _pending(db, month, region_code, digest, households, records)
        report = ExportReport(export.id, month, region_code, export.status, export.upload_id)
        # What was (or is being) uploaded: a resumed export reports its own upload.
        report.households, report.records = export.households, export.records
        report.resumed = export.status == ExportStatus.SUBMITTED
        if report.resumed and export.content_hash != digest:
            report.message = (
                "collected the receipt of this month's earlier upload; the data changed since, "
                "so run the command again to upload the current content"
            )
        if export.status == ExportStatus.DONE:
            return await _done(db, export, report, started, "already exported: same content")
        if export.upload_id is None:
            key = f"lig-{region_code}-{month}-{digest[:32]}"
            try:
                accepted = await client.upload(month, region_code, spool, key)
            except LigError as error:
                async with db.unit_of_work() as session:
                    row = await session.get(NationalExport, export.id)
                    assert row is not None
                    row.error = error.message[:1000]
                raise
            async with db.unit_of_work() as session:
                row = await session.get(NationalExport, export.id)
                assert row is not None
                row.upload_id = accepted.upload_id
                row.status = ExportStatus.SUBMITTED
            report.upload_id = accepted.upload_id
            report.status = ExportStatus.SUBMITTED
    assert report.upload_id is not None
    deadline = time.monotonic() + wait_seconds
    while True:
        receipt = await client.receipt(report.upload_id)
        if receipt.status == "DONE":
            break
        if time.monotonic() >= deadline:
            report.seconds = time.monotonic() - started
            report.message = (
                "the national system is still checking the upload; run the same command again "
                "later to collect its receipt (nothing will be uploaded twice)"
            )
            return report
        await sleep(poll_seconds)
    async with db.unit_of_work() as session:
        row = await session.get(NationalExport, export.id, with_for_update=True)
        assert row is not None
        # Stored again from scratch: a rerun after a crash here leaves one copy.
        await session.execute(
            delete(NationalExportRejection).where(NationalExportRejection.export_id == row.id)
        )
        chunk: list[dict[str, Any]] = []
        number = 0
        async for rejection in client.rejections(report.upload_id):
            number += 1
            chunk.append(_rejection_row(row.id, number, rejection))
            report.by_code[rejection.code] = report.by_code.get(rejection.code, 0) + 1
            if len(report.rejections) < LISTED:
                report.rejections.append(rejection.model_dump(exclude_none=True))
            if len(chunk) == PAGE:
                await session.execute(insert(NationalExportRejection), chunk)
                chunk = []
        if chunk:
            await session.execute(insert(NationalExportRejection), chunk)
        row.status = ExportStatus.DONE
        row.accepted = receipt.accepted
        row.rejected = receipt.rejected
        row.finished_at = utcnow()
        record_change(
            session,
            LOCAL_OPERATOR,
            action="export national",
            subjects={
                "export": row.id,
                "month": month,
                "upload": report.upload_id,
                "households": households,
                "accepted": receipt.accepted,
                "rejected": receipt.rejected,
            },
            request_id="cli",
            result_count=households,
        )
    report.status = ExportStatus.DONE
    report.accepted, report.rejected = receipt.accepted, receipt.rejected
    report.seconds = time.monotonic() - started
    return report


def _rejection_row(export_id: str, number: int, rejection: UploadRejection) -> dict[str, Any]:
    return {
        "export_id": export_id,
        "number": number,
        "line": rejection.line,
        "household_code": rejection.household_code,
        "id_number": rejection.id_number,
        "code": rejection.code,
        "reason": rejection.reason[:500],
    }


async def _pending(
    db: Database, month: str, region_code: str, digest: str, households: int, records: int
) -> NationalExport:
    """The export a rerun should continue: one of this month whose receipt has not come back
    (whatever changed since: that upload stands and must be collected first), else one of this
    very content; or a new one."""
    async with db.unit_of_work() as session:
        of_month = (
            select(NationalExport)
            .where(NationalExport.month == month, NationalExport.region_code == region_code)
            .order_by(NationalExport.started_at.desc())
            .limit(1)
        )
        found = await session.scalar(
            of_month.where(NationalExport.status == ExportStatus.SUBMITTED)
        ) or await session.scalar(of_month.where(NationalExport.content_hash == digest))
        if found is not None:
            return found
        export = NationalExport(
            id=uuid.uuid4().hex,
            month=month,
            region_code=region_code,
            status=ExportStatus.UPLOADING,
            content_hash=digest,
            households=households,
            records=records,
            started_by=LOCAL_OPERATOR.client_id,
        )
        session.add(export)
        return export


async def _done(
    db: Database, export: NationalExport, report: ExportReport, started: float, message: str
) -> ExportReport:
    async with db.unit_of_work() as session:
        rejections = list(
            await session.scalars(
                select(NationalExportRejection)
                .where(NationalExportRejection.export_id == export.id)
                .order_by(NationalExportRejection.number)
            )
        )
    report.status = ExportStatus.DONE
    report.accepted, report.rejected = export.accepted, export.rejected
    for r in rejections:
        report.by_code[r.code] = report.by_code.get(r.code, 0) + 1
    report.rejections = [
        {
            k: v
            for k, v in {
                "line": r.line,
                "household_code": r.household_code,
                "id_number": r.id_number,
                "code": r.code,
                "reason": r.reason,
            }.items()
            if v is not None
        }
        for r in rejections[:LISTED]
    ]
    report.message = message
    report.seconds = time.monotonic() - started
    return report


async def _spool(
    db: Database, region_code: str, spool: Path, progress: Progress | None
) -> tuple[int, int, str]:
    """Write the upload, one covered household per line; answer households, people, hash."""
    digest = hashlib.sha256()
    households = records = 0
    last_id = 0
    prefix = significant_prefix(region_code)
    # One read transaction for the whole file, so that it is one snapshot: a member moving
    # between two pages is listed once, not twice or never.
    async with db.reader.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            with spool.open("wb") as out:
                while page := await _page(conn, prefix, last_id):
                    chunk = b"".join(orjson.dumps(record) + b"\n" for _, record in page)
                    digest.update(chunk)
                    out.write(chunk)
                    households += len(page)
                    records += sum(len(record["members"]) for _, record in page)
                    last_id = page[-1][0]
                    if progress is not None:
                        progress(len(page), None)
    return households, records, digest.hexdigest()


async def _page(conn: AsyncConnection, prefix: str, after: int) -> list[tuple[int, dict[str, Any]]]:
    """The next keyset page of covered households: (id, upload record with its members)."""
    households = (
        await conn.execute(
            select(
                Household.id,
                Household.code,
                Household.national_id,
                Household.region_code,
                Household.category,
                Household.status,
                Household.valid_from,
                Household.valid_until,
            )
            .where(
                Household.id > after,
                Household.category != Category.NONE,
                Household.status.in_(EXPORTED_STATUSES),
                Household.region_code.startswith(prefix),
            )
            .order_by(Household.id)
            .limit(PAGE)
        )
    ).all()
    if not households:
        return []
    members: dict[int, list[dict[str, str]]] = {}
    for household_id, number, name, relation in await conn.execute(
        select(Membership.household_id, Person.id_number, Person.name, Membership.relation)
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.household_id.in_([row[0] for row in households]),
            Membership.left_on.is_(None),
            Person.deceased_on.is_(None),
        )
        .order_by(Membership.household_id, Membership.id)
    ):
        members.setdefault(household_id, []).append(
            {"id_number": number, "name": name, "relation": str(relation)}
        )
    return [
        (
            row[0],
            {
                "household_code": row[1],
                "national_id": row[2],
                "region_code": row[3],
                "category": str(row[4]),
                "status": str(row[5]),
                "valid_from": row[6].isoformat() if row[6] else None,
                "valid_until": row[7].isoformat() if row[7] else None,
                "members": members.get(row[0], []),
            },
        )
        for row in households
    ]
