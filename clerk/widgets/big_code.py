"""Large tag codes: Textual's `Digits` (3×3 cells a character), with the letters it lacks.

`Digits` draws 0–9 and A–F; service prefixes can be any letter (P for priority), so the other
letters get glyphs in the same box-drawing style here.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.renderables.digits import DIGITS
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widgets import Digits

# three rows of three cells per letter
LETTERS = {
    "G": ("╭─╴", "│╶╮", "╰─╯"),
    "H": ("╷ ╷", "├─┤", "╵ ╵"),
    "I": ("╶┬╴", " │ ", "╶┴╴"),
    "J": (" ╶┐", "  │", "╰─╯"),
    "K": ("╷ ╱", "├┤ ", "╵ ╲"),
    "L": ("╷  ", "│  ", "╰─╴"),
    "M": ("╭┬╮", "│││", "╵╵╵"),
    "N": ("╭─╮", "│ │", "╵ ╵"),
    "O": ("╭─╮", "│ │", "╰─╯"),
    "P": ("╭─╮", "├─╯", "╵  "),
    "Q": ("╭─╮", "│ │", "╰─╲"),
    "R": ("╭─╮", "├┬╯", "╵╰╴"),
    "S": ("╭─╴", "╰─╮", "╶─╯"),
    "T": ("╶┬╴", " │ ", " ╵ "),
    "U": ("╷ ╷", "│ │", "╰─╯"),
    "V": ("╷ ╷", "╲ ╱", " ╵ "),
    "W": ("╷╷╷", "│││", "╰┴╯"),
    "X": ("╲ ╱", " ╳ ", "╱ ╲"),
    "Y": ("╲ ╱", " │ ", " ╵ "),
    "Z": ("╶─╮", " ╱ ", "╰─╴"),
}


class CodeRenderable(DigitsRenderable):
    """`Digits`, with the extra letters."""

    def render(self, style: Style):
        rows: list[list[str]] = [[], [], []]
        for ch in self._text.upper():
            glyph = LETTERS.get(ch) or _digit_rows(ch, style)
            for row, part in zip(rows, glyph, strict=True):
                row.append(part)
        for row in rows:
            yield Segment("".join(row), style)
            yield Segment.line()

    @classmethod
    def get_width(cls, text: str) -> int:
        return sum(3 if (ch in DIGITS or ch in LETTERS) else 1 for ch in text.upper())


def _digit_rows(ch: str, style: Style) -> tuple[str, str, str]:
    segments = [seg.text for seg in DigitsRenderable(ch).render(style) if seg.text != "\n"]
    width = 3 if ch in DIGITS else 1
    return tuple(s.ljust(width) for s in segments)  # type: ignore[return-value]


class BigCode(Digits):
    """A tag code (or a counter number) in large characters."""

    def render(self):
        from rich.align import Align

        align = self.styles.text_align
        return Align(
            CodeRenderable(self.value, self.rich_style),
            align if align in ("left", "center", "right") else "left",
            self.rich_style,
        )

    def get_content_width(self, container, viewport) -> int:
        return CodeRenderable.get_width(self.value)
