"""Receipt numbers: office + YYMMDD + daily sequence + ISO 7064 mod 97-10 check digits."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clerk.domain.receipts import (
    check_receipt_number,
    looks_like_receipt_number,
    make_receipt_number,
)
from clerk.errors import UsageError

numbers = st.builds(
    make_receipt_number,
    st.integers(0, 99).map(lambda n: f"{n:02d}"),
    st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    st.integers(1, 9999),
)


def test_layout_of_a_number():
    number = make_receipt_number("01", date(2026, 11, 20), 42)
    assert len(number) == 14 and number.isdigit()
    assert number.startswith("012611200042")
    assert int(number) % 97 == 1  # ISO 7064 mod 97-10
    found = check_receipt_number(number)
    assert (found.office_code, found.day, found.sequence) == ("01", date(2026, 11, 20), 42)


@pytest.mark.parametrize(
    ("office", "sequence"), [("1", 1), ("AB", 1), ("01", 0), ("01", 10000), ("01", True)]
)
def test_bad_parts_are_refused(office, sequence):
    with pytest.raises(UsageError):
        make_receipt_number(office, date(2026, 1, 1), sequence)


def test_scanner_and_ime_input_is_normalised():
    number = make_receipt_number("03", date(2026, 2, 9), 7)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert check_receipt_number(full_width).number == number
    spaced = f" {number[:2]} {number[2:8]}-{number[8:12]} {number[12:]}\n"
    assert check_receipt_number(spaced).number == number
    assert looks_like_receipt_number(full_width)
    # a scanner's misread: a digit or two dropped or doubled still goes to the check
    assert not looks_like_receipt_number(number[:13])
    assert looks_like_receipt_number(number[:13], misread=True)
    assert looks_like_receipt_number(number + "12", misread=True)
    assert not looks_like_receipt_number(number[:11], misread=True)
    assert not looks_like_receipt_number("52133770", misread=True)  # an ID card's number


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "no receipt number"),
        ("0126112000AB12", "only digits"),
        ("0126112000421", "14 digits"),
        ("012611200004211", "14 digits"),
        ("01261120004299", "check digits"),
    ],
)
def test_clear_messages(code, message):
    with pytest.raises(UsageError, match=message):
        check_receipt_number(code)


def test_a_date_that_does_not_exist_is_refused():
    body = "012613400001"  # month 13
    from stdnum.iso7064 import mod_97_10

    with pytest.raises(UsageError, match="not a date"):
        check_receipt_number(body + mod_97_10.calc_check_digits(body))


@given(numbers, st.data())
def test_every_single_digit_error_is_caught(number, data):
    position = data.draw(st.integers(0, 13))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    typo = number[:position] + wrong + number[position + 1 :]
    with pytest.raises(UsageError):
        check_receipt_number(typo)


@given(numbers, st.integers(0, 12))
def test_every_adjacent_swap_is_caught(number, position):
    a, b = number[position], number[position + 1]
    swapped = number[:position] + b + a + number[position + 2 :]
    if a == b:
        assert check_receipt_number(swapped).number == number
        return
    with pytest.raises(UsageError):
        check_receipt_number(swapped)


def test_exhaustively_for_one_number():
    """Every position, every other digit, every neighbour swap of one real number."""
    number = make_receipt_number("01", date(2026, 11, 20), 1)
    for i in range(14):
        for d in "0123456789":
            if d != number[i]:
                with pytest.raises(UsageError):
                    check_receipt_number(number[:i] + d + number[i + 1 :])
        if i < 13 and number[i] != number[i + 1]:
            with pytest.raises(UsageError):
                check_receipt_number(number[:i] + number[i + 1] + number[i] + number[i + 2 :])
