"""The claim: one statement that refills a client's shared bucket and takes a slice from it.

    INSERT INTO rate_buckets (client_id, tokens, updated_at)
    VALUES (:client_id, :burst - :size, :now)
    ON CONFLICT (client_id) DO UPDATE SET
      tokens = least(:burst, tokens + greatest(0, :now - updated_at) * :rate) - :size,
      updated_at = greatest(updated_at, :now)
    RETURNING tokens, updated_at

A new client starts with a full bucket. The row is locked by the update, so concurrent claims
from any number of processes queue on it and each sees the one before. `updated_at` never goes
back, so a host whose clock is behind adds no refill for time already counted. The same
statement on PostgreSQL and SQLite (3.35+), but for the names of the scalar minimum and maximum.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Table, bindparam, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import functions
from sqlalchemy.sql.dml import ReturningInsert

from gateway.models.limits import RateBucket

Claim = ReturningInsert[float, float]

_BUCKETS: Table = RateBucket.__table__  # type: ignore[assignment]


def _least_greatest(dialect: str) -> tuple[Any, Any]:
    # PostgreSQL's min/max are aggregates only; SQLite's take several arguments as scalars and
    # has no least/greatest.
    if dialect == "postgresql":
        return functions.func.least, functions.func.greatest
    if dialect == "sqlite":
        return functions.func.min, functions.func.max
    raise ValueError(f"rate limits: no claim statement for the {dialect} dialect")


def claim_statement(dialect: str) -> Claim:
    """The claim for `dialect`; made once and executed with `claim_parameters`, so that it is
    compiled (and, on PostgreSQL, prepared) once per connection."""
    least, greatest = _least_greatest(dialect)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = bindparam("now", type_=Float)
    rate = bindparam("rate", type_=Float)
    burst = bindparam("burst", type_=Float)
    size = bindparam("size", type_=Float)
    tokens, updated_at = _BUCKETS.c.tokens, _BUCKETS.c.updated_at
    refilled = least(burst, tokens + greatest(literal(0.0, Float), now - updated_at) * rate)
    statement = insert(_BUCKETS).values(
        client_id=bindparam("client_id"), tokens=burst - size, updated_at=now
    )
    return statement.on_conflict_do_update(
        index_elements=[_BUCKETS.c.client_id],
        set_={"tokens": refilled - size, "updated_at": greatest(updated_at, now)},
    ).returning(tokens, updated_at)


def claim_parameters(
    client_id: str, now: float, rate: float, burst: int, size: int
) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "now": now,
        "rate": rate,
        "burst": float(burst),
        "size": float(size),
    }


async def claim(
    conn: AsyncConnection,
    statement: Claim,
    client_id: str,
    now: float,
    rate: float,
    burst: int,
    size: int,
) -> tuple[float, float]:
    """Take `size` tokens from the client's bucket: the row as the claim left it, (tokens,
    updated_at). The caller commits."""
    result = await conn.execute(statement, claim_parameters(client_id, now, rate, burst, size))
    row: Row[float, float] = result.one()
    return float(row[0]), float(row[1])
