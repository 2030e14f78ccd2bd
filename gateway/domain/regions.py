"""Region codes (统计用区划代码): 12 digits, of which a region's level uses the first 2 (province),
4 (city), 6 (county), 9 (town) or 12 (village); the rest is zero padding. Pure functions."""

from __future__ import annotations

LEVEL_DIGITS = (2, 4, 6, 9, 12)


def significant_prefix(code: str) -> str:
    """The digits that name a region: every code inside it starts with them.

    "320681000000" (a county) → "320681"; "320681100000" (a town) → "320681100".
    """
    stripped = len(code.rstrip("0"))
    return code[: next(n for n in LEVEL_DIGITS if n >= stripped)]


def within(code: str, region: str) -> bool:
    """Whether the region `code` lies in `region` (both 12-digit codes)."""
    return code.startswith(significant_prefix(region))
