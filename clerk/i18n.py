"""gettext from day one: English, Traditional Chinese (zh_Hant) and Portuguese.

Messages are English msgids marked with `_()` (translated now) or `N_()` (marked for extraction,
translated later, e.g. binding descriptions that are class attributes). The language is a
per-user setting, switched at login with `set_language`.

Catalogs: clerk/locale/<lang>/LC_MESSAGES/clerk.po (compiled .mo next to it); `scripts/i18n`
extracts, updates and compiles them with Babel.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "zh_Hant", "pt")
LANGUAGE_NAMES = {"en": "English", "zh_Hant": "中文（繁體）", "pt": "Português"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "clerk"

_current = "en"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang], fallback=True)


def set_language(lang: str) -> None:
    global _current
    _current = lang if lang in LANGUAGES else "en"


def current_language() -> str:
    return _current


def _(message: str) -> str:
    return translations(_current).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for translation without translating it yet."""
    return message


def gettext_for(lang: str, message: str) -> str:
    """A message in a given language (e.g. trilingual receipts)."""
    return translations(lang).gettext(message)
