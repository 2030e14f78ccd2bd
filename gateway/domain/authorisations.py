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
    seq: int = 0  # the record's id: of two answers on one day, the later recorded counts


def latest(records: Iterable[AuthorisationFacts], day: date) -> AuthorisationFacts | None:
    """The household's answer in force on `day`: the latest signed on or before it (a renewal
    replaces the one before; a refusal replaces an earlier grant)."""
    answered = [r for r in records if r.signed_on <= day]
    return max(answered, key=lambda r: (r.signed_on, r.seq)) if answered else None


def valid_on(records: Iterable[AuthorisationFacts], day: date) -> bool:
    """The answer in force is a grant, not expired and not withdrawn by `day`.

    `valid_until` is the last valid day; a withdrawal takes effect on the day it is recorded.
    """
    r = latest(records, day)
    return (
        r is not None
        and r.granted
        and (r.valid_until is None or day <= r.valid_until)
        and (r.withdrawn_on is None or day < r.withdrawn_on)
    )


def refused(records: Iterable[AuthorisationFacts], day: date) -> bool:
    """The answer in force was a refusal: the conduct exclusion of DOMAIN.md."""
    r = latest(records, day)
    return r is not None and not r.granted
