"""Whether a household's economic data may be compared: its signed verification authorisation
(家庭经济状况核对授权书) must be valid on the day. Pure: the records are handed in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class AuthorisationFacts:
    granted: bool  # False: the household refused to sign
    signed_on: date
    valid_until: date | None  # None: no end date
    withdrawn_on: date | None


def valid_on(records: Iterable[AuthorisationFacts], day: date) -> bool:
    """A granted authorisation signed on or before `day`, not expired and not withdrawn by then.

    `valid_until` is the last valid day; a withdrawal takes effect on the day it is recorded.
    """
    return any(
        r.granted
        and r.signed_on <= day
        and (r.valid_until is None or day <= r.valid_until)
        and (r.withdrawn_on is None or day < r.withdrawn_on)
        for r in records
    )


def refused(records: Iterable[AuthorisationFacts], day: date) -> bool:
    """The latest answer on or before `day` was a refusal: the conduct exclusion of DOMAIN.md."""
    answered = [r for r in records if r.signed_on <= day]
    if not answered:
        return False
    latest = max(answered, key=lambda r: r.signed_on)
    return not latest.granted
