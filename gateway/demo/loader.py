"""Writing the demo county: COPY on PostgreSQL, batched INSERTs on SQLite, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import JSON, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.database import Database
from gateway.demo.generator import QIDONG_HOUSEHOLDS, TABLE_ORDER, DemoCounty, Town
from gateway.errors import Conflict
from gateway.models import Base, Household, Person, Region
from gateway.models.base import Fixed2

# Share of households per town: the county seat is the largest; parks and zones are small.
_TOWN_WEIGHT = {
    "汇龙镇": 2.0,
    "吕四港镇": 1.6,
    "南阳镇": 1.2,
    "北新镇": 1.1,
    "惠萍镇": 1.0,
    "东海镇": 1.0,
    "海复镇": 1.0,
    "合作镇": 0.9,
    "王鲍镇": 0.9,
}
_TOWN_URBAN = {"汇龙镇": 0.7, "吕四港镇": 0.3}


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=dict)


async def towns(conn: AsyncConnection, county: str = "320681000000") -> list[Town]:
    result = await conn.execute(
        select(Region.code, Region.name).where(Region.parent_code == county).order_by(Region.code)
    )
    return [
        Town(code, name, _TOWN_WEIGHT.get(name, 0.15), _TOWN_URBAN.get(name, 0.15))
        for code, name in result.all()
    ]


def _copy_value(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, Fixed2):
        return column_type.process_bind_param(value, None)  # type: ignore[arg-type]
    if isinstance(column_type, JSON):
        return orjson.dumps(value).decode()
    if isinstance(value, Enum):
        return value.value
    return value


async def _write_postgres(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    names = [c.name for c in table.columns]
    types = [c.type for c in table.columns]
    records = [
        tuple(_copy_value(t, row.get(n)) for n, t in zip(names, types, strict=True)) for row in rows
    ]
    await driver.copy_records_to_table(table.name, records=records, columns=names)


async def load(
    conn: AsyncConnection,
    households: int = QIDONG_HOUSEHOLDS,
    seed: int = 2021,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Load the demo county into an empty database, on the caller's transaction."""
    existing = (await conn.execute(select(func.count()).select_from(Household))).scalar_one()
    existing += (await conn.execute(select(func.count()).select_from(Person))).scalar_one()
    if existing:
        raise Conflict(
            "the database already holds households or people; demo data goes into an "
            "empty database only"
        )
    county = DemoCounty(await towns(conn), households, seed)
    report = LoadReport()
    postgres = conn.dialect.name == "postgresql"
    tables = Base.metadata.tables
    for chunk in county.chunks():
        for name in TABLE_ORDER:
            rows = chunk.tables.get(name)
            if not rows:
                continue
            if postgres:
                await _write_postgres(conn, tables[name], rows)
            else:
                await conn.execute(insert(tables[name]), rows)
            report.rows[name] = report.rows.get(name, 0) + len(rows)
        if progress is not None:
            progress(chunk.count("households"))
    if postgres:
        # Ids were assigned here, so move each identity sequence past them.
        for name in TABLE_ORDER:
            if "id" in tables[name].c:
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)"
                    )
                )
    return report


async def compare(db: Database) -> int:
    """Run the full comparison over the loaded county; answer how many warnings it opened."""
    from gateway.monitoring.compare import run_full

    _, tally = await run_full(db, date.today(), by="demo")
    return tally.opened
