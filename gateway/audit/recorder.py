"""Recording who changed what, and who read what, in the audit trail.

A change's event is added to the caller's session, so it commits or rolls back with the change
it describes: there is never a change without its record, or a record of a change that did not
happen. A read's event is stored by the endpoint before the answer is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.database import Database
from gateway.models import AuditEvent
from gateway.models.base import utcnow
from gateway.principal import Principal


def record_change(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    subjects: dict[str, Any],
    request_id: str,
    purpose: str | None = None,
    result_count: int = 1,
) -> AuditEvent:
    event = AuditEvent(
        request_id=request_id,
        client_id=principal.client_id,
        agency=principal.agency,
        kind="CHANGE",
        action=action,
        purpose=purpose,
        subjects=subjects,
        fields=[],
        result_count=result_count,
        outcome="OK",
    )
    session.add(event)
    return event


# The client id recorded for a request that presented no valid token.
ANONYMOUS = "anonymous"


async def record_request(
    db: Database,
    *,
    request_id: str,
    principal: Principal | None,
    action: str,
    purpose: str | None,
    households: Iterable[int] = (),
    persons: Iterable[int] = (),
    fields: Iterable[str] = (),
    result_count: int = 0,
    outcome: str,
) -> None:
    """Store the audit event of one request for personal data (answered or refused).

    It is written, and committed, before the answer leaves: if it cannot be stored the caller
    answers with an error instead of the data, so no read goes unrecorded.
    """
    values = {
        "at": utcnow(),
        "request_id": request_id,
        "client_id": principal.client_id if principal else ANONYMOUS,
        "agency": principal.agency if principal else "",
        "kind": "READ",
        "action": action[:64],
        "purpose": purpose,
        "subjects": {
            "households": sorted(households),
            "persons": sorted(persons),
            # Which token: a client may hold several at once, and one may be revoked.
            "token": principal.token_id if principal else None,
        },
        "fields": sorted(fields),
        "result_count": result_count,
        "outcome": outcome,
    }
    # One INSERT through the autocommit pool: no BEGIN/COMMIT round trips (commit() is a no-op
    # there; on SQLite, where both pools are one engine, it commits the insert).
    async with db.reader.connect() as conn:
        await conn.execute(insert(AuditEvent).values(**values))
        await conn.commit()
