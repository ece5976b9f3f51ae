"""Identity data typed at the counter: the Macao ID card number, and names for searching.

An ID card number arrives from a keyboard, an IME (which may turn digits and brackets full-width),
a barcode scanner or the card reader. It is normalised with NFKC, spaces are dropped, and the
canonical form is `1234567(8)`: seven digits and the check digit in round brackets. `12345678`,
`1234567 8`, `1234567[8]` and `１２３４５６７（８）` all read as `1234567(8)`.

Macao BIR numbering: numbers are issued in the 1, 5 and 7 series, so the first digit is 1, 5 or
7; any other first digit is a typing mistake. The algorithm of the check digit is not published,
so it is kept as typed, not verified.

Pure: standard library only (the database and the screens import it).
"""

from __future__ import annotations

import re
import unicodedata

from clerk.errors import UsageError
from clerk.i18n import _

ID_SERIES = ("1", "5", "7")  # Macao BIR numbering: the first digit of every number
ID_DIGITS = 8  # seven digits and the check digit
EXAMPLE = "1234567(8)"

_BRACKETS = {"(": ")", "[": "]"}
_SHAPE = re.compile(r"^(\d{7})([(\[]?)(\d)([)\]]?)$", re.ASCII)
_OTHER_DOCUMENT = re.compile(r"^[A-Z0-9]{5,20}$")
_ASCII_DIGITS = "0123456789"  # other scripts' digits (NFKC keeps them) are not ID digits
_INVISIBLE = ("Cc", "Cf")  # control and format characters (NUL, ESC, bidi overrides, ZW spaces)


def _clean(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def parse_id_number(text: str) -> str:
    """The canonical `1234567(8)` of a typed Macao ID card number, or a `UsageError` saying
    what is wrong with it."""
    raw = _clean(text)
    if not raw:
        raise UsageError(_("Type the ID card number, e.g. {example}.").format(example=EXAMPLE))
    found = _SHAPE.match(raw)
    if found and _BRACKETS.get(found.group(2), "") == found.group(4):
        body, check = found.group(1), found.group(3)
        if body[0] not in ID_SERIES:
            raise UsageError(
                _(
                    "{text} is not a Macao ID card number: the first digit is 1, 5 or 7 "
                    "(e.g. {example})."
                ).format(text=raw, example=EXAMPLE)
            )
        return f"{body}({check})"
    digits = sum(ch in _ASCII_DIGITS for ch in raw)
    if any(not (ch in _ASCII_DIGITS or ch in "()[]") for ch in raw):
        message = _("{text} is not an ID card number: only digits and brackets, e.g. {example}.")
    elif digits != ID_DIGITS:
        message = _("{text} has {n} digits; a Macao ID card number has 8, e.g. {example}.")
    else:
        message = _("{text}: the check digit goes in brackets at the end, e.g. {example}.")
    raise UsageError(message.format(text=raw, n=digits, example=EXAMPLE))


def is_id_number_attempt(text: str) -> bool:
    """True when typed text is meant as an ID number rather than a name (names hold no digits)."""
    return any(ch.isdigit() for ch in _clean(text))


def parse_document_number(text: str) -> str:
    """A Macao ID card number (canonical), or another identity document's number (a passport,
    a Hong Kong or mainland card: 5 to 20 letters and digits, upper case) — e.g. a guardian's.
    A number of up to 8 digits in the 1, 5 or 7 series is taken as a Macao number typed wrong."""
    raw = _clean(text).upper()
    try:
        return parse_id_number(raw)
    except UsageError as macao:
        plain = raw.replace("(", "").replace(")", "")
        if raw[:1] in ID_SERIES and plain.isdigit() and len(plain) <= ID_DIGITS:
            raise  # a Macao number typed wrong: say what is wrong with it
        if _OTHER_DOCUMENT.match(plain) and any(ch.isdigit() for ch in plain):
            return raw
        if not raw:
            raise macao
        raise UsageError(
            _(
                "{text} is not a document number: a Macao ID card number ({example}) or "
                "5 to 20 letters and digits."
            ).format(text=raw, example=EXAMPLE)
        ) from None


def fold_name(*names: str) -> str:
    """A search key for names: NFKC, case-folded, accents dropped, punctuation as spaces.

    `fold_name("陳大文", "CHAN Tai-man")` → `"陳大文 chan tai man"`; `"JOÃO"` → `"joao"`.
    """
    text = unicodedata.normalize("NFKD", " ".join(names)).casefold()
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Mn":  # combining accents
            continue
        kept.append(ch if category[0] in "LN" else " ")
    return " ".join(unicodedata.normalize("NFKC", "".join(kept)).split())


def name_words(text: str) -> list[str]:
    """The words of a typed name query, folded like `fold_name` (empty words dropped)."""
    return fold_name(text).split()


def visible(text: str) -> str:
    """Typed text as NFKC without control and format characters (a pasted ESC or NUL, a bidi
    override); tabs and line breaks become spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in _INVISIBLE
    )


def normalise_latin_name(text: str) -> str:
    """A Latin name as the card prints it: NFKC, single spaces, upper case (accents kept)."""
    return " ".join(visible(text).split()).upper()


def normalise_chinese_name(text: str) -> str:
    return "".join(visible(text).split())
