"""Fonts for printed documents: an embedded TrueType CJK font (never a reportlab CID font).

reportlab's CID font `MSung-Light` has a wrong CMap for Traditional Chinese; AR PL UMing (Debian
`fonts-arphic-uming`) embeds as a subset and keeps ToUnicode, so the text extracts back. Subfont 1
of `uming.ttc` has the Hong Kong forms. It covers Latin with accents too (Portuguese names).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from clerk.errors import Failure

CJK_FONT_PATH = Path("/usr/share/fonts/truetype/arphic/uming.ttc")
CJK_SUBFONT = 1  # Hong Kong forms
CJK_FONT = "ClerkUMing"


@cache
def register_cjk_font(path: str = str(CJK_FONT_PATH), subfont: int = CJK_SUBFONT) -> str:
    """Register the CJK TrueType font with reportlab once; returns its font name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    if not Path(path).is_file():
        raise Failure(f"the CJK font {path} is missing (Debian package fonts-arphic-uming)")
    try:
        pdfmetrics.registerFont(TTFont(CJK_FONT, path, subfontIndex=subfont))
    except TTFError as exc:
        raise Failure(f"cannot use the CJK font {path}: {exc}") from None
    return CJK_FONT


def missing_glyphs(text: str, font_name: str | None = None) -> set[str]:
    """Characters of `text` the font cannot draw (they would print blank): warn before printing."""
    from reportlab.pdfbase import pdfmetrics

    font = pdfmetrics.getFont(font_name or register_cjk_font())
    table = font.face.charToGlyph
    return {ch for ch in text if not ch.isspace() and ord(ch) not in table}
