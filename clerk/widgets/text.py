"""Updating a line of text without laying the whole screen out again.

`Static.update` asks for a new layout of the screen by default (its size may follow its text),
which costs several milliseconds with a full counter screen, and the header's clock and the tag
panel's timers do it every second. A widget whose height and width its CSS fixes cannot change
size with its text, so it is only repainted; and text that did not change is not touched.
"""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


def fixed_size(widget: Static) -> bool:
    """True when the widget's CSS gives it a height in cells and a width not sized by content."""
    height, width = widget.styles.height, widget.styles.width
    return (
        height is not None
        and height.is_cells
        and not height.is_auto
        and (width is None or not width.is_auto)
    )


def show(widget: Static, content: VisualType) -> None:
    """Show `content` in `widget`: nothing when it shows it already; no layout when fixed-size."""
    if widget.content == content:
        return
    widget.update(content, layout=not fixed_size(widget))
