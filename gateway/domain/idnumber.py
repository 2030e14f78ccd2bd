"""Resident identity numbers (GB 11643-1999): 18 characters, ISO 7064 MOD 11-2 check character.

Layout: 6-digit area code, 8-digit birth date (YYYYMMDD), 3-digit sequence (odd for men, even for
women), check character. Birth date and sex are always derived from the number, never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# ASCII digits only: `\d` alone also matches other scripts' digits (fullwidth ３, Arabic-Indic ٣).
_SHAPE = re.compile(r"\d{17}[\dX]", re.ASCII)

Sex = Literal["MALE", "FEMALE"]


class IdNumberError(ValueError):
    """The reason an ID number is not valid, phrased for the person who sent it."""


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    # The weights are 2^17 … 2^1 mod 11, so the weighted sum is 2 × (the digits read in base 2)
    # mod 11; and since 13 ≡ 2 (mod 11), reading them in base 13 gives the same remainder, in
    # one C call. This runs for every number of every eligibility batch (measured: 100 numbers
    # validated 3 times faster than with an int() per digit). Same answer as
    # `sum(map(mul, map(int, first17), _WEIGHTS)) % 11`, which a test checks.
    return _CHECK[2 * int(first17, 13) % 11]


def validate(value: str) -> str:
    """Return the ID number normalised (upper-case X), or raise IdNumberError saying why."""
    if not isinstance(value, str):
        raise IdNumberError("must be a string of 18 characters")
    number = value.strip().upper()
    if len(number) != 18:
        raise IdNumberError(f"must be 18 characters, got {len(number)}")
    if not _SHAPE.fullmatch(number):
        raise IdNumberError("must be 17 digits followed by a digit or X")
    expected = check_character(number[:17])
    if number[17] != expected:
        raise IdNumberError(f"check character is {number[17]}, expected {expected}")
    if not _is_date(number[6:14]):
        raise IdNumberError(f"birth date {number[6:14]} is not a valid date")
    return number


@lru_cache(maxsize=65536)
def _is_date(yyyymmdd: str) -> bool:
    # Cached: a century holds under 37,000 dates, and a batch repeats years and days.
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return True


def is_valid(value: str) -> bool:
    try:
        validate(value)
    except IdNumberError:
        return False
    return True


def birth_date(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def sex(number: str) -> Sex:
    return "MALE" if int(number[16]) % 2 == 1 else "FEMALE"


def age_on(number: str, on: date) -> int:
    born = birth_date(number)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def mask(number: str) -> str:
    """First 6 and last 4 characters kept, the rest hidden (CONTRACT.md's masking rule)."""
    return number[:6] + "*" * 8 + number[-4:]


@dataclass(frozen=True, slots=True)
class IdParts:
    area_code: str
    birth_date: date
    sequence: int
    sex: Sex


def parts(number: str) -> IdParts:
    return IdParts(number[:6], birth_date(number), int(number[14:17]), sex(number))


def compose(area_code: str, born: date, sequence: int) -> str:
    """Build a valid ID number (used by the demo generator and tests)."""
    first17 = f"{area_code}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
