"""Masking personal data for clients without `household:pii` (pure functions).

An ID number keeps its first 6 characters (the issuing county) and its last 4 (sequence and
check character); the 8 in between are the birth date, which would identify the person. A name
keeps the family name only.
"""

from __future__ import annotations

# Two-character family names (复姓) common enough to matter; any other name keeps its first
# character. Masking a rare compound surname to its first character hides more, never less.
_COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 "
    "独孤 南宫 西门 百里 呼延 东郭 闻人 澹台 公羊 太史 申屠 钟离 宗政 濮阳 淳于 单于".split()
)


def mask_id_number(value: str) -> str:
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(value: str) -> str:
    name = value.strip()
    if not name:
        return name
    keep = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
    # A fixed number of stars: the length of the given name would narrow the search.
    return name[:keep] + "**"
