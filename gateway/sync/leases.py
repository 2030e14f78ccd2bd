"""Named leases on a job ("national", "feed:medical-security"), shared by every host through the
database: a conditional UPDATE takes a free or expired lease, so of several processes trying at
once exactly one gets it. Each call commits on its own connection: a lease must be visible to
the other hosts while the job's own transactions come and go."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import Conflict
from gateway.models import JobLease
from gateway.models.base import utcnow


def _pid_namespace() -> str:
    """The process's pid namespace: containers on one host may share its name but not pids."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "-"


def holder_name() -> str:
    """Who holds a lease: the host, the process (with its pid namespace), a nonce for this run."""
    host = socket.gethostname()
    return f"{host}:{os.getpid()}:{_pid_namespace()}:{uuid.uuid4().hex[:8]}"[:128]


def _dead_here(holder: str) -> bool:
    host, pid, namespace, *_ = (*holder.split(":"), "", "", "")
    if host != socket.gethostname() or namespace != _pid_namespace():
        return False
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


class LeaseHeld(Conflict):
    """Another process holds the job's lease."""


class Lease:
    def __init__(self, engine: AsyncEngine, name: str, seconds: float, holder: str | None = None):
        self.engine = engine
        self.name = name
        self.seconds = seconds
        self.holder = holder or holder_name()

    async def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours; False if another holds it."""
        now = utcnow()
        until = now + timedelta(seconds=self.seconds)
        async with self.engine.begin() as conn:
            taken = await conn.execute(
                update(JobLease)
                .where(
                    JobLease.name == self.name,
                    or_(JobLease.expires_at < now, JobLease.holder == self.holder),
                )
                .values(holder=self.holder, expires_at=until, acquired_at=now)
            )
            if taken.rowcount:
                return True
        if await self._take_from_dead(now, until):
            return True
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(JobLease).values(
                        name=self.name, holder=self.holder, expires_at=until, acquired_at=now
                    )
                )
            return True
        except IntegrityError:
            return False  # someone else's, and not expired

    async def _take_from_dead(self, now: datetime, until: datetime) -> bool:
        """A lease held by a process of this host that no longer exists (killed, crashed) is
        taken over at once rather than after it expires."""
        async with self.engine.begin() as conn:
            holder = await conn.scalar(select(JobLease.holder).where(JobLease.name == self.name))
            if holder is None or not _dead_here(holder):
                return False
            taken = await conn.execute(
                update(JobLease)
                .where(JobLease.name == self.name, JobLease.holder == holder)
                .values(holder=self.holder, expires_at=until, acquired_at=now)
            )
            return bool(taken.rowcount)

    async def renew(self) -> None:
        """Extend the lease; raise LeaseHeld if it was lost (expired and taken by another)."""
        async with self.engine.begin() as conn:
            kept = await conn.execute(
                update(JobLease)
                .where(JobLease.name == self.name, JobLease.holder == self.holder)
                .values(expires_at=utcnow() + timedelta(seconds=self.seconds))
            )
        if not kept.rowcount:
            raise LeaseHeld(f"lost the lease on {self.name!r} to another process")

    async def release(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(JobLease).where(JobLease.name == self.name, JobLease.holder == self.holder)
            )
