"""Receipt numbers: office code + YYMMDD + the day's sequence + ISO 7064 mod 97-10 check digits.

`01 261120 0042 NN` → 14 digits: the office (2), the business day (6), the office's daily
sequence (4, gapless, from `clerk.domain.sequences`) and two check digits (python-stdnum's
`mod_97_10`), which catch every single wrong digit and every swap of two neighbours. A scanner or
an IME may deliver full-width digits or spaces: `check_receipt_number` normalises with NFKC and
keeps the digits before checking. Pure: no database here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from clerk.errors import UsageError

LENGTH = 14
MAX_SEQUENCE = 9999
_SEPARATORS = re.compile(r"[\s\-./]+")


@dataclass(frozen=True)
class ReceiptNumber:
    number: str  # the 14 digits
    office_code: str
    day: date
    sequence: int


def _check_digits(body: str) -> str:
    from stdnum.iso7064 import mod_97_10

    return mod_97_10.calc_check_digits(body)


def make_receipt_number(office_code: str, day: date, sequence: int) -> str:
    """The 14-digit number of the `sequence`-th receipt of `office_code` on `day`."""
    if not (len(office_code) == 2 and office_code.isdigit() and office_code.isascii()):
        raise UsageError(f"an office code is two digits, not {office_code!r}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 1 <= sequence <= 9999:
        raise UsageError(f"a receipt's daily sequence is 1 to {MAX_SEQUENCE}, not {sequence!r}")
    body = f"{office_code}{day:%y%m%d}{sequence:04d}"
    return body + _check_digits(body)


def normalise(code: str) -> str:
    """NFKC (full-width digits become ASCII), separators and spaces dropped."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", code or ""))


def check_receipt_number(code: str) -> ReceiptNumber:
    """The receipt number in `code`, or a `UsageError` saying what is wrong with it."""
    from stdnum.iso7064 import mod_97_10

    digits = normalise(code)
    if not digits:
        raise UsageError("no receipt number: type or scan the 14 digits under the barcode")
    if not (digits.isascii() and digits.isdigit()):
        raise UsageError(f"{code.strip()!r} is not a receipt number: only digits are allowed")
    if len(digits) != LENGTH:
        raise UsageError(
            f"a receipt number has {LENGTH} digits; {digits} has {len(digits)}"
            " (a digit was left out or typed twice?)"
        )
    if not mod_97_10.is_valid(digits):
        raise UsageError(
            f"{digits} is not a valid receipt number: its check digits do not match "
            "(a digit was mistyped or two were swapped)"
        )
    try:
        day = date(2000 + int(digits[2:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise UsageError(f"{digits} is not a receipt number: {digits[2:8]} is not a date") from None
    sequence = int(digits[8:12])
    if sequence == 0:
        raise UsageError(f"{digits} is not a receipt number: the sequence 0000 is never issued")
    return ReceiptNumber(digits, digits[:2], day, sequence)


def looks_like_receipt_number(code: str, *, misread: bool = False) -> bool:
    """True when `code` has the shape of a receipt number (14 digits), valid or not: a scanner
    router can send it to the receipt check and show that check's message. With `misread`, a
    digit or two more or fewer count too (a scanner burst that dropped or doubled a digit is a
    misread receipt, refused by the check, not digits to type into a field)."""
    digits = normalise(code)
    slack = 2 if misread else 0
    return abs(len(digits) - LENGTH) <= slack and digits.isascii() and digits.isdigit()
