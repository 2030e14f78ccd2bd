"""Resident ID numbers: the MOD 11-2 check character and what is derived from the number."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import idnumber

# Published GB 11643 examples and numbers computed by hand from the weights.
VALID = ["11010519491231002X", "440524188001010014", "320681198001011230"]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers_pass(number: str) -> None:
    assert idnumber.validate(number) == number


def test_lower_case_x_is_normalised() -> None:
    assert idnumber.validate("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("320681198001011231", "check character is 1, expected 0"),
        ("32068119800101123", "must be 18 characters, got 17"),
        ("3206811980010112300", "must be 18 characters, got 19"),
        ("32068119800101123A", "must be 17 digits followed by a digit or X"),
        ("3206811980X101123X", "must be 17 digits followed by a digit or X"),
        ("320681198002301236", "birth date 19800230 is not a valid date"),
    ],
)
def test_invalid_numbers_say_why(number: str, reason: str) -> None:
    if "birth date" in reason:
        number = number[:17] + idnumber.check_character(number[:17])
    with pytest.raises(idnumber.IdNumberError, match=reason):
        idnumber.validate(number)


def test_derived_fields() -> None:
    number = "320681198001011230"
    assert idnumber.birth_date(number) == date(1980, 1, 1)
    assert idnumber.sex(number) == "MALE"  # sequence 123: odd
    assert idnumber.sex("11010519491231002X") == "FEMALE"  # sequence 002: even
    assert idnumber.age_on(number, date(2023, 3, 1)) == 43
    assert idnumber.age_on(number, date(2020, 12, 31)) == 40
    assert idnumber.age_on(number, date(2021, 1, 1)) == 41
    assert idnumber.mask(number) == "320681********1230"


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_error_is_caught(
    born: date, sequence: int, position: int, delta: int
) -> None:
    number = idnumber.compose("320681", born, sequence)
    assert idnumber.is_valid(number)
    digits = list(number)
    digits[position] = str((int(digits[position]) + delta) % 10)
    # MOD 11-2 detects every single-character substitution.
    assert idnumber.check_character("".join(digits[:17])) != number[17]


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_character_is_the_weighted_sum(first17: str) -> None:
    # check_character reads the digits in base 13 (13 ≡ 2 mod 11); the standard's definition:
    weighted = sum(int(d) * w for d, w in zip(first17, idnumber._WEIGHTS, strict=True))
    assert idnumber.check_character(first17) == "10X98765432"[weighted % 11]


@pytest.mark.parametrize(
    "number",
    [
        # Digits of other scripts are digits to Python, never to an ID number.
        "３２０６８１１９８００１０１１２３０",  # fullwidth
        "320681198001011٢30",  # an Arabic-Indic two
        "32068_1198001011230",
    ],
)
def test_only_ascii_digits(number: str) -> None:
    with pytest.raises(idnumber.IdNumberError):
        idnumber.validate(number)
