"""Applications for assistance (申请 → 受理 → 审核 with 公示 → 确认), ending in a determination.

procedure.py   the pure rules: which step follows which, and the working-day deadlines
service.py     the steps, applied within the caller's session (never committed), audited
queries.py     the statements that list and read applications
"""

from gateway.applications.service import (
    accept_application,
    decide_application,
    record_town_review,
    start_application,
    withdraw_application,
)

__all__ = [
    "accept_application",
    "decide_application",
    "record_town_review",
    "start_application",
    "withdraw_application",
]
