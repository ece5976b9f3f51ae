"""Hostile input at every pure parser: random text, full-width digits from an IME, other scripts'
digits, CJK Extension B, combining marks, control characters, bidi overrides, huge numbers.

Each parser either gives back a clean value (ASCII where the value is a code or a number, within
its range) or raises `UsageError` with a message; never another exception. The strategies here
are shared by the other `test_hostile_*` modules.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clerk.domain import cashier, identity, intake, queue, receipts
from clerk.errors import UsageError

FULL_WIDTH = str.maketrans("0123456789()[]-/.:, ", "０１２３４５６７８９（）［］－／．：，　")
OTHER_DIGITS = "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴߀०१২੩௪൫๖໗༨၉៩᠑²³¹⁰₉①⑴⒈𝟎𝟙𝟚𐩀𐩁𐩂\u0f33"
CONTROLS = (
    "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\t\n\r\u200b\u200c\u200d\u2028\u2029\u202e\u2066\ufeff"
)
MARKUP = "[]/\\{}<>&%$'\"`*#@!|~^"

hostile_chars = st.one_of(
    st.characters(codec="utf-8"),  # anything (no lone surrogates: no keyboard types them)
    st.sampled_from("0123456789()[]-/.:, MOPmop"),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),  # full-width ASCII
    st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),  # CJK Extension B
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
    st.characters(min_codepoint=0x0300, max_codepoint=0x036F),  # combining marks
    st.sampled_from(OTHER_DIGITS),
    st.sampled_from(CONTROLS),
    st.sampled_from(MARKUP),
)
hostile_text = st.text(hostile_chars, max_size=40)
digits = st.text(st.sampled_from("0123456789"), min_size=1, max_size=12)
digitish = st.text(
    st.sampled_from("0123456789０１２３４５６７８９" + OTHER_DIGITS + "()（）[] -/.:"), max_size=20
)
# what a scanner or an IME delivers: mostly the right shape, sometimes not
typed = st.one_of(hostile_text, digitish, digits)
HUGE = "9" * 5000  # beyond int()'s 4300-digit limit for text
NAMES_EXT_B = ["𠀋𡈽𤭢", "陳𠮷", "𪚥𠀀", "e\u0301\u0301", "Zoë\u0308", "a\u0338\u0336", "𠮷\u0301"]
ONE_LINE_MAX = 300


def assert_clear(exc: UsageError) -> None:
    """A message a person can read: not empty, one line, not a repr of an exception."""
    message = exc.message
    assert message.strip(), "empty message"
    assert "\n" not in message and "\r" not in message, repr(message)
    assert "Traceback" not in message and "Error(" not in message, message


def outcome(parse, *args, **kwargs):
    """The parsed value, or the UsageError (checked for a clear message)."""
    try:
        return parse(*args, **kwargs)
    except UsageError as exc:
        assert_clear(exc)
        return exc


def is_ascii_printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


# --- ID card and document numbers ---------------------------------------------------------------


@settings(max_examples=500)
@given(typed)
@example(HUGE)
@example("1٢٣٤٥٦٧(٨)")
@example("1234567(𝟖)")
@example("１２３４５６７（８）")
@example("1234567\x00(8)")
def test_id_numbers_are_canonical_ascii_or_refused(text):
    got = outcome(identity.parse_id_number, text)
    if isinstance(got, str):
        assert is_ascii_printable(got) and len(got) == 10, got
        assert got[0] in "157" and got[1:7].isdigit() and got[7] == "(" and got[9] == ")"
        assert identity.parse_id_number(got) == got  # a fixed point


@settings(max_examples=300)
@given(typed)
@example("ab٣٤٥٦٧")
@example("K1234567(8)")
def test_document_numbers_are_ascii_or_refused(text):
    got = outcome(identity.parse_document_number, text)
    if isinstance(got, str):
        assert is_ascii_printable(got) and 5 <= len(got.strip("()")) <= 22, got


@settings(max_examples=300)
@given(typed)
@example("5٣٤٥٦٧٨(٩)")
def test_queue_id_numbers_are_ascii_or_refused(text):
    got = outcome(queue.normalise_id_number, text)
    if isinstance(got, str):
        assert is_ascii_printable(got), got


@settings(max_examples=300)
@given(st.one_of(hostile_text, st.sampled_from(NAMES_EXT_B)))
def test_name_search_keys_find_the_name_they_came_from(name):
    """Whatever a name holds, the words typed from it are found in its search key."""
    key = identity.fold_name(name)
    assert "\n" not in key and "\x00" not in key
    for word in identity.name_words(name):
        assert word in key
    latin, chinese = identity.normalise_latin_name(name), identity.normalise_chinese_name(name)
    assert not any(unicodedata.category(ch) == "Cc" for ch in latin + chinese), (latin, chinese)


# --- amounts and counts -------------------------------------------------------------------------


@settings(max_examples=500)
@given(st.one_of(typed, st.integers(-(10**12), 10**12)))
@example(HUGE)
@example("٣٠٠")
@example("MOP １，０００．５")
@example("90.5.5")
@example(True)
def test_amounts_are_avos_in_range_or_refused(text):
    got = outcome(cashier.parse_amount, text, "Amount")
    if not isinstance(got, UsageError):
        assert type(got) is int and 0 <= got <= cashier.MAX_AMOUNT_AVOS


@settings(max_examples=200)
@given(st.integers(0, cashier.MAX_AMOUNT_AVOS), st.booleans(), st.booleans())
def test_an_amount_typed_any_way_reads_back_exactly(avos, grouped, wide):
    whole, cents = divmod(avos, 100)
    text = f"MOP {whole:,}.{cents:02d}" if grouped else f"{whole}.{cents:02d}"
    if wide:
        text = text.translate(FULL_WIDTH)
    assert cashier.parse_amount(text) == avos


counts = st.dictionaries(
    st.one_of(st.sampled_from([d.code for d in cashier.DENOMINATIONS]), hostile_text),
    st.one_of(typed, st.integers(-5, 10**7), st.booleans(), st.none(), st.floats()),
    max_size=6,
)


@settings(max_examples=500)
@given(counts)
@example({"note-100": HUGE})
@example({"note-100": "𐩀"})
@example({"note-100": "\u0f33"})
@example({"coin-1": "²"})
def test_drawer_counts_are_whole_numbers_or_refused(values):
    got = outcome(cashier.check_counts, values)
    if not isinstance(got, UsageError):
        assert set(got) == {d.code for d in cashier.DENOMINATIONS}
        assert all(type(n) is int and 0 <= n <= cashier.MAX_COUNT for n in got.values())


# --- dates --------------------------------------------------------------------------------------

TODAY = date(2026, 11, 23)


@settings(max_examples=500)
@given(typed)
@example(HUGE)
@example("2026-٠٢-30")
@example("0000-01-01")
@example("31/12/9999")
def test_typed_dates_are_dates_or_refused(text):
    got = outcome(intake.parse_day, text, "Date")
    assert got is None or isinstance(got, date | UsageError)
    born = outcome(intake.check_birth_date, text, TODAY)
    if isinstance(born, date):
        assert born <= TODAY and intake.MIN_AGE <= intake.age_on(born, TODAY) <= 130


@settings(max_examples=200)
@given(st.dates(date(1900, 1, 1), date(2100, 12, 31)), st.integers(0, 2), st.booleans())
def test_a_date_typed_any_way_reads_back(day, shape, wide):
    text = (f"{day:%Y-%m-%d}", f"{day:%Y%m%d}", f"{day:%d/%m/%Y}")[shape]
    if wide:
        text = text.translate(FULL_WIDTH)
    assert intake.parse_day(text, "Date") == day


@settings(max_examples=300)
@given(typed)
@example("2026-11-2٣")
def test_queue_days_times_and_slots_are_clean_or_refused(text):
    day = outcome(queue.parse_day, text)
    assert isinstance(day, date | UsageError)
    hhmm = outcome(queue.parse_hhmm, text)
    if isinstance(hhmm, str):
        assert is_ascii_printable(hhmm) and len(hhmm) == 5 and hhmm[2] == ":", hhmm
    slot = outcome(queue.parse_slot, text)
    if isinstance(slot, tuple):
        assert all(is_ascii_printable(t) and len(t) == 5 for t in slot) and slot[0] < slot[1]


@given(st.just("10:30"))
@example("10:0٣")
@example("1٠:30")
def test_times_with_other_scripts_digits_are_ascii_or_refused(text):
    got = outcome(queue.parse_hhmm, text)
    assert isinstance(got, UsageError) or is_ascii_printable(got), got


# --- receipt numbers, tag codes, booking codes ---------------------------------------------------

numbers = st.builds(
    receipts.make_receipt_number,
    st.sampled_from(["01", "02", "17"]),
    st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    st.integers(1, receipts.MAX_SEQUENCE),
)


@settings(max_examples=500)
@given(typed)
@example(HUGE)
@example("0126112300٠١23")
def test_receipt_numbers_check_or_are_refused(text):
    got = outcome(receipts.check_receipt_number, text)
    if isinstance(got, receipts.ReceiptNumber):
        assert is_ascii_printable(got.number) and len(got.number) == receipts.LENGTH
        assert got.number == receipts.make_receipt_number(got.office_code, got.day, got.sequence)


@settings(max_examples=300)
@given(numbers, st.sampled_from(["", " ", "-", "\u3000", "\t"]), st.booleans(), st.data())
def test_a_scanner_burst_of_a_receipt_reads_back_and_one_wrong_digit_never_does(
    number, separator, wide, data
):
    burst = separator.join([number[:2], number[2:8], number[8:]])
    if wide:
        burst = burst.translate(FULL_WIDTH)
    assert receipts.check_receipt_number(burst + "\n").number == number
    at = data.draw(st.integers(0, len(number) - 1))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != number[at]]))
    with pytest.raises(UsageError):
        receipts.check_receipt_number(number[:at] + other + number[at + 1 :])


@settings(max_examples=500)
@given(typed)
@example("A٠١٧")
@example("Ａ０１７")
@example("a" + HUGE)
def test_tag_codes_are_clean_or_refused(text):
    got = outcome(queue.parse_tag_code, text)
    if isinstance(got, str):
        assert is_ascii_printable(got) and got[0].isalpha() and got[1:].isdigit(), got


@settings(max_examples=300)
@given(typed)
def test_booking_codes_are_checked_or_none(text):
    got = queue.check_booking_code(text)
    assert got is None or (is_ascii_printable(got) and len(got) == 8)


# --- user names and passwords ------------------------------------------------------------------


@settings(max_examples=300)
@given(typed)
def test_user_names_and_passwords_are_checked(text):
    from clerk.domain import auth

    name = outcome(auth.check_username, text)
    if isinstance(name, str):
        assert auth.USERNAME_RE.match(name) and is_ascii_printable(name)
    outcome(auth.check_password, text)


def test_one_week_of_dates_in_every_shape_is_read():
    """A plain sanity check that the shapes the properties rely on are the parser's."""
    for n in range(7):
        day = TODAY + timedelta(days=n)
        assert intake.parse_day(f"{day:%d.%m.%Y}", "Date") == day
