"""The stratified random draw (gateway/fieldwork/sampling.py): pure, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.errors import InvalidInput
from gateway.fieldwork import sampling

STRATA = {
    "DIBAO": list(range(1, 301)),
    "TEKUN": list(range(1000, 1091)),
    "MARGINAL": [5003, 5001, 5002],  # given out of order: drawn in id order all the same
    "EXPENDITURE": [],
}


def test_the_same_seed_draws_the_same_households_and_another_seed_others() -> None:
    first = sampling.draw(STRATA, Decimal("0.1"), seed=7)
    assert first == sampling.draw(STRATA, Decimal("0.1"), seed=7)
    assert first == sampling.draw(
        {k: list(reversed(v)) for k, v in reversed(STRATA.items())}, Decimal("0.1"), seed=7
    )
    assert first != sampling.draw(STRATA, Decimal("0.1"), seed=8)


def test_each_stratum_draws_its_share_rounded_half_up_and_at_least_one() -> None:
    drawn = sampling.draw(STRATA, Decimal("0.05"), seed=1)
    assert len(drawn["DIBAO"]) == 15  # 300 × 0.05
    assert len(drawn["TEKUN"]) == 5  # 91 × 0.05 = 4.55 → 5
    assert len(drawn["MARGINAL"]) == 1  # 0.15 → at least one of a non-empty stratum
    assert "EXPENDITURE" not in drawn
    for stratum, ids in drawn.items():
        assert ids == sorted(set(ids))
        assert set(ids) <= set(STRATA[stratum])
    assert sampling.sample_size(10, Decimal("0.25")) == 3  # 2.5 → 3, not banker's 2
    assert sampling.sample_size(10, Decimal("0.35")) == 4  # 3.5 → 4
    assert sampling.sample_size(7, Decimal(1)) == 7
    assert sampling.sample_size(0, Decimal("0.5")) == 0


def test_a_change_in_one_stratum_leaves_the_others_drawn_as_they_were() -> None:
    before = sampling.draw(STRATA, Decimal("0.2"), seed=3)
    after = sampling.draw({**STRATA, "TEKUN": [*STRATA["TEKUN"], 2000]}, Decimal("0.2"), seed=3)
    assert after["DIBAO"] == before["DIBAO"]
    assert after["MARGINAL"] == before["MARGINAL"]


def test_positions_pick_what_drawing_from_the_ids_picks() -> None:
    ids = STRATA["TEKUN"]
    picked = sampling.positions("TEKUN", len(ids), Decimal("0.3"), 11)
    assert [ids[i] for i in picked] == sampling.draw({"TEKUN": ids}, Decimal("0.3"), 11)["TEKUN"]


@pytest.mark.parametrize("text", ["0", "-0.1", "1.01", "abc", "NaN", "inf", ""])
def test_a_ratio_outside_zero_to_one_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        sampling.parse_ratio(text, "--ratio")
    assert refused.value.field == "--ratio"


def test_a_ratio_is_kept_exactly_as_written() -> None:
    assert sampling.parse_ratio("0.1") == Decimal("0.1")
    assert sampling.parse_ratio("1") == Decimal(1)
