"""The items of a checklist with the clerk's marks: one row an item, the mark first.

The screen marks the highlighted item with one key (it owns the keys and the service calls);
the table shows the items, keeps the cursor on the item just marked or moves it to the next one
still to check, and shows the highlighted item's reason under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable

from clerk.i18n import _
from clerk.widgets.intake_fields import MARK_LABELS, MARK_SYMBOLS

if TYPE_CHECKING:
    from clerk.domain.intake import Item


def mark_text(state: str) -> Text:
    symbol, style = MARK_SYMBOLS.get(state, ("?", ""))
    text = Text(no_wrap=True)
    text.append(f"{symbol} {_(MARK_LABELS.get(state, state))}", style=style)
    return text


class ChecklistTable(DataTable):
    DEFAULT_CSS = """
    ChecklistTable { height: auto; max-height: 12; }
    """

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.items: tuple[Item, ...] = ()
        self._lang = "en"

    def _columns(self) -> None:
        """State and Blocks fixed, the document's title takes the rest (no sideways scroll)."""
        room = (self.size.width or self.app.size.width - 2) - 2 * 3 - 15 - 6 - 1
        self.clear(columns=True)
        self.add_column(_("State"), key="state", width=15)
        self.add_column(_("Blocks"), key="blocks", width=6)
        self.add_column(_("Document"), key="title", width=max(20, room))

    def on_resize(self, _event) -> None:
        if self.items:
            self.show(self.items, self._lang, keep=True)

    def action_cursor_up(self) -> None:
        """Up from the first item goes back to the field above (the guardian's, on a minor)."""
        if self.cursor_row <= 0:
            self.screen.focus_previous()
            return
        super().action_cursor_up()

    @property
    def current(self) -> Item | None:
        if not self.items or self.cursor_row < 0 or self.cursor_row >= len(self.items):
            return None
        return self.items[self.cursor_row]

    def show(
        self, items: Sequence[Item], lang: str, *, after: str | None = None, keep: bool = False
    ) -> None:
        """Fill the table. The cursor goes to the first item still to check; after a mark on
        the item `after`, to the next one still to check; with `keep`, it stays."""
        row = self.cursor_row
        shape = [(i.code, i.title_for(lang), i.blocking) for i in items]
        same = shape == [(i.code, i.title_for(self._lang), i.blocking) for i in self.items]
        self.items = tuple(items)
        self._lang = lang
        if same and not keep:  # a mark: only the states change
            for item in self.items:
                self.update_cell(item.code, "state", mark_text(item.state))
        else:
            self._columns()
            for item in self.items:
                blocks = Text(
                    _("yes") if item.blocking else _("no"),
                    style="bold" if item.blocking else "dim",
                )
                title = Text(item.title_for(lang), no_wrap=True, overflow="ellipsis")
                self.add_row(mark_text(item.state), blocks, title, key=item.code)
        # a fixed height from the rows, set now: with `height: auto` the table grew only when its
        # size was measured later, on its idle, and that second layout was sometimes missed (the
        # table stayed hidden until the next key; seen in CI on the Minor step)
        self.styles.height = min(len(self.items), 11) + 1  # the rows and the header line
        if not self.items:
            return
        codes = [item.code for item in self.items]
        pending = [i for i, item in enumerate(self.items) if item.state == "pending"]
        if after in codes:
            start = codes.index(after)
            later = [i for i in pending if i > start]
            row = later[0] if later else min(start + 1, len(codes) - 1)
        elif not keep:
            row = pending[0] if pending else 0
        self.move_cursor(row=max(0, min(row, len(codes) - 1)))
