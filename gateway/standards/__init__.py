"""Regional standards: the effective-dated figures the rules read, and their management."""

from gateway.standards.service import (
    FIGURE_OF,
    StandardRow,
    figure_text,
    in_force,
    list_rows,
    pick_in_force,
    region_code_of,
    set_standard,
)

__all__ = [
    "FIGURE_OF",
    "StandardRow",
    "figure_text",
    "in_force",
    "list_rows",
    "pick_in_force",
    "region_code_of",
    "set_standard",
]
