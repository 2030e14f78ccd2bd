"""A reproducible random sample of households for home visits (随机抽查), stratified by category.

Pure. Each stratum (a category) is drawn on its own:
- its households are taken in id order;
- its size is ratio × the stratum's size, rounded half up, and at least 1 for a non-empty
  stratum (a ratio is always above 0);
- the positions drawn come from `random.Random` seeded with "<seed>:<stratum>" (a string seed
  is hashed with SHA-512, so the draw is the same in every process and Python version that
  keeps `random`'s version-2 seeding and `sample` algorithm).

So the same seed and the same households give the same sample, and a change in one stratum
(a household more or less) leaves the draw of every other stratum as it was.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from gateway.errors import InvalidInput


def parse_ratio(text: str, field: str = "ratio") -> Decimal:
    """A ratio above 0 and at most 1, exactly as written ("0.1", "1", "0.025")."""
    try:
        ratio = Decimal(text.strip())
    except (InvalidOperation, ValueError, AttributeError):
        raise InvalidInput(field, "must be a number above 0 and at most 1") from None
    if not ratio.is_finite() or not Decimal(0) < ratio <= Decimal(1):
        raise InvalidInput(field, "must be a number above 0 and at most 1")
    return ratio


def sample_size(population: int, ratio: Decimal) -> int:
    """How many of a stratum of `population` households are drawn."""
    if population <= 0:
        return 0
    size = int((ratio * population).to_integral_value(rounding=ROUND_HALF_UP))
    return min(population, max(1, size))


def positions(stratum: str, population: int, ratio: Decimal, seed: int) -> list[int]:
    """The 0-based positions, in the stratum's id order, of the households drawn (ascending)."""
    size = sample_size(population, ratio)
    if size == 0:
        return []
    rng = random.Random(f"{seed}:{stratum}")
    # `sample` picks by index: drawing from range(n) picks the same positions as drawing from
    # the n ids themselves, so the ids need not all be in memory at once.
    return sorted(rng.sample(range(population), size))


def draw(strata: Mapping[str, Sequence[int]], ratio: Decimal, seed: int) -> dict[str, list[int]]:
    """The ids drawn from each stratum (ascending); strata with nobody drawn are left out."""
    drawn: dict[str, list[int]] = {}
    for stratum, ids in strata.items():
        ordered = sorted(ids)
        picked = [ordered[i] for i in positions(stratum, len(ordered), ratio, seed)]
        if picked:
            drawn[stratum] = picked
    return drawn
