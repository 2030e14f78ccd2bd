"""A mutation's unit of work, as resolvers open it: the request's edge commits it, and a
database busy past its wait becomes `Busy` (503, nothing changed, try again)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.context import Context
from gateway.database import is_busy
from gateway.errors import Busy


@asynccontextmanager
async def unit_of_work(ctx: Context) -> AsyncIterator[AsyncSession]:
    try:
        async with ctx.db.unit_of_work() as session:
            yield session
    except DBAPIError as error:
        if not is_busy(error):
            raise
        raise Busy("the database is busy; nothing was changed: try again") from None
