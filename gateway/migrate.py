"""Running the Alembic migrations from code (`lig db upgrade`, `lig serve`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key of `upgrade` (any fixed bigint: "ligmigr" in ASCII).
_UPGRADE_LOCK = 0x6C_6967_6D69_6772


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate in one transaction. Hosts restarted together after a release all migrate at
    once: on PostgreSQL they take turns (an advisory lock held until the transaction ends), so
    the first migrates and the others find the database at its head. (SQLite: `Database.engine`
    takes the write lock at BEGIN, which makes them take turns.)"""

    def run(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(_UPGRADE_LOCK)))
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)
