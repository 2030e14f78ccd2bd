"""Alembic migrations: one history for SQLite and PostgreSQL. Run with `lig db upgrade`."""
