"""The category rules: pure functions of a household's situation and the figures in force.

    assess(case, standards) -> Assessment

No I/O and no ORM objects: the request parser (`gateway.assessment`), the stored-household
service (`gateway.determinations`) and the annual review all build a `HouseholdCase` and call
`assess`. Each rule lives with its kin: `income`, `assets`, `conduct`, `tekun`; the precedence
between categories in `engine`.
"""

from gateway.domain.rules.case import (
    FIGURE_NAMES,
    Assets,
    Conduct,
    HouseholdCase,
    Member,
    RigidExpenditure,
    Standards,
)
from gateway.domain.rules.engine import assess
from gateway.domain.rules.outcome import Assessment, Reason

__all__ = [
    "FIGURE_NAMES",
    "Assessment",
    "Assets",
    "Conduct",
    "HouseholdCase",
    "Member",
    "Reason",
    "RigidExpenditure",
    "Standards",
    "assess",
]
