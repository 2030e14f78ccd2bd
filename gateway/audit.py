"""Recording who changed what (and, from issue 4, who read what) in the audit trail.

The recorder adds rows to the caller's session, so an audit event commits or rolls back with
the change it describes: there is never a change without its record, or a record of a change
that did not happen.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import AuditEvent
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
        action=action,
        purpose=purpose,
        subjects=subjects,
        fields=[],
        result_count=result_count,
        outcome="OK",
    )
    session.add(event)
    return event
