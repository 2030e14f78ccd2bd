"""What the simulators' data sets are made of: seeded random draws that give the same values on
every machine and every run (a `random.Random` seeded with a string hashes it with SHA-512,
whatever PYTHONHASHSEED), Qidong resident ID numbers, days in a fixed window.

Days are fixed, not relative to today, so a data set never drifts; the window ends before the
demo county's date (gateway/demo), so no event lies in the future.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta

from gateway.domain.idnumber import check_character

QIDONG = "320681"
FIRST_DAY = date(2025, 1, 1)
LAST_DAY = date(2026, 10, 31)


def rng(*parts: object) -> random.Random:
    """A generator for one thing, named by its parts (feed, seed, index …)."""
    return random.Random(":".join(str(p) for p in parts))


def id_number(draw: random.Random, born_from: int = 1940, born_to: int = 2010) -> str:
    """A valid 18-character Qidong resident ID number (GB 11643, MOD 11-2 check character)."""
    start = date(born_from, 1, 1)
    born = start + timedelta(days=draw.randrange((date(born_to, 12, 31) - start).days))
    first17 = f"{QIDONG}{born:%Y%m%d}{draw.randrange(1000):03d}"
    return first17 + check_character(first17)


def person(draw: random.Random, id_numbers: Sequence[str] | None) -> str:
    """One of the given people (e.g. a demo county's), or a made-up Qidong resident."""
    return draw.choice(id_numbers) if id_numbers else id_number(draw)


def day(draw: random.Random, first: date = FIRST_DAY, last: date = LAST_DAY) -> date:
    return first + timedelta(days=draw.randrange((last - first).days + 1))


def wrong_check(number: str) -> str:
    """The ID number with a check character that does not match (a typing slip)."""
    right = number[17]
    return number[:17] + ("1" if right != "1" else "2")


NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def name(draw: random.Random) -> str:
    return draw.choice(NAMES) + "".join(draw.choice(GIVEN) for _ in range(draw.randint(1, 2)))
