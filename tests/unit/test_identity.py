"""ID card numbers and name search keys: every typed form, every wrong one with its message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clerk.domain.identity import (
    fold_name,
    is_id_number_attempt,
    name_words,
    normalise_latin_name,
    parse_document_number,
    parse_id_number,
)
from clerk.errors import UsageError

FULL_WIDTH = str.maketrans("0123456789()", "０１２３４５６７８９（）")

bodies = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("157"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
)
checks = st.text(alphabet="0123456789", min_size=1, max_size=1)


@given(bodies, checks, st.sampled_from(["{b}({c})", "{b}{c}", "{b} {c}", "{b}[{c}]", " {b}({c}) "]))
def test_every_typed_form_reads_as_the_canonical_one(body, check, shape):
    assert parse_id_number(shape.format(b=body, c=check)) == f"{body}({check})"


@given(bodies, checks)
def test_full_width_digits_from_an_ime_are_read(body, check):
    typed = f"{body}({check})".translate(FULL_WIDTH)
    assert typed != f"{body}({check})"
    assert parse_id_number(typed) == f"{body}({check})"


@given(bodies, checks)
def test_the_canonical_form_is_a_fixed_point(body, check):
    once = parse_id_number(f"{body}{check}")
    assert parse_id_number(once) == once
    assert len(once) == 10 and once[7] == "(" and once[9] == ")"


@given(st.sampled_from("0234689"), st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_a_number_outside_the_1_5_7_series_is_refused(first, rest):
    with pytest.raises(UsageError, match="the first digit is 1, 5 or 7"):
        parse_id_number(first + rest)


@given(st.text(alphabet="0123456789", min_size=1, max_size=12).filter(lambda t: len(t) != 8))
def test_a_wrong_count_of_digits_says_how_many(digits):
    with pytest.raises(UsageError, match=f"has {len(digits)} digits; .* has 8"):
        parse_id_number(digits)


@given(st.text(min_size=1, max_size=20))
def test_any_text_either_parses_or_gives_one_clear_line(text):
    try:
        number = parse_id_number(text)
    except UsageError as exc:
        assert exc.message and "\n" not in exc.message
    else:
        assert number[0] in "157" and len(number) == 10


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type the ID card number"),
        ("   ", "Type the ID card number"),
        ("12a4567(8)", "only digits and brackets"),
        ("1234567(8", "the check digit goes in brackets"),
        ("1234567)8(", "the check digit goes in brackets"),
        ("1234567(8]", "the check digit goes in brackets"),
        ("(1234567)8", "the check digit goes in brackets"),
    ],
)
def test_wrong_shapes_have_their_own_message(typed, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        parse_id_number(typed)


def test_an_id_attempt_is_anything_with_a_digit():
    assert is_id_number_attempt("１２３")
    assert is_id_number_attempt("1234567(8)")
    assert not is_id_number_attempt("陳大文")
    assert not is_id_number_attempt("chan tai man")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("1234567(8)", "1234567(8)"),
        ("a123456(7)", "A123456(7)"),  # Hong Kong
        ("E12345678", "E12345678"),  # a passport
        ("440301199001011234", "440301199001011234"),  # a mainland card
    ],
)
def test_a_guardian_may_hold_another_document(typed, canonical):
    assert parse_document_number(typed) == canonical


@pytest.mark.parametrize("typed", ["1234567", "7654321(", "AB", "no number", ""])
def test_a_wrong_document_number_is_refused(typed):
    with pytest.raises(UsageError):
        parse_document_number(typed)


def test_names_fold_for_search():
    assert fold_name("陳大文", "CHAN Tai-man") == "陳大文 chan tai man"
    assert fold_name("", "SOUSA, JOÃO MIGUEL DE") == "sousa joao miguel de"
    assert fold_name("ＣＨＡＮ") == "chan"  # full width from an IME
    assert name_words("  João   Sousa ") == ["joao", "sousa"]
    assert normalise_latin_name(" ferreira  da silva, maria josé ") == (
        "FERREIRA DA SILVA, MARIA JOSÉ"
    )


@given(st.text(max_size=30), st.text(max_size=30))
def test_every_word_of_a_name_is_found_in_its_key(zh, latin):
    key = fold_name(zh, latin)
    assert key == key.strip() and "  " not in key
    for word in name_words(latin):
        assert word in key
