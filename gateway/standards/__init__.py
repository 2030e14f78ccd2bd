"""Regional standards: the effective-dated figures the rules read, and their management."""

from gateway.standards.service import (
    FIGURE_OF,
    StandardRow,
    in_force,
    list_rows,
    set_standard,
)

__all__ = ["FIGURE_OF", "StandardRow", "in_force", "list_rows", "set_standard"]
