"""The card panel: the reader's name and state (no reader, no card, card present, busy, error),
live within a second of a card going in or out.

A `ReaderWatcher` thread waits on the reader and hands every change to the UI thread with
`app.call_from_thread`; the panel never blocks the event loop. The in-process reader is always
labelled "virtual reader". `app_reader(app)` gives the reader the whole app shares (the virtual
one in `clerk demo`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from clerk.devices.reader import (
    BUSY,
    ERROR,
    NO_CARD,
    NO_READER,
    PRESENT,
    ReaderState,
    ReaderWatcher,
)
from clerk.i18n import N_, _

if TYPE_CHECKING:
    from clerk.devices.reader import Reader

STATE_TEXT = {
    NO_READER: N_("no reader"),
    NO_CARD: N_("no card"),
    PRESENT: N_("card present"),
    BUSY: N_("busy"),
    ERROR: N_("error"),
}
STATE_STYLE = {
    NO_READER: "bold red",
    NO_CARD: "yellow",
    PRESENT: "bold green",
    BUSY: "bold cyan",
    ERROR: "bold red",
}


def app_reader(app) -> Reader:
    """The app's card reader, opened once (the in-process virtual reader in demo mode)."""
    reader = getattr(app, "card_reader", None)
    if reader is None:
        from clerk.domain.cards import open_reader

        reader = open_reader(app.ctx, virtual=True if getattr(app, "demo", False) else None)
        app.card_reader = reader
    return reader


def state_text(state: ReaderState | None) -> str:
    if state is None:
        return _("starting…")
    text = _(STATE_TEXT.get(state.state, state.state))
    if state.detail:
        text += ": " + _(state.detail)
    return text


class CardPanel(Static):
    DEFAULT_CSS = """
    CardPanel { height: 1; padding: 0 1; background: $surface; }
    """

    class Changed(Message):
        """The reader's state changed (posted on the UI thread)."""

        def __init__(self, state: ReaderState) -> None:
            super().__init__()
            self.state = state

    def __init__(self, reader: Reader | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._reader = reader
        self.state: ReaderState | None = None
        self.working = False  # the screen is reading or writing the card
        self._watcher: ReaderWatcher | None = None

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            self._reader = app_reader(self.app)
        return self._reader

    def on_mount(self) -> None:
        self.show()
        self._watcher = ReaderWatcher(self.reader, self._from_watcher).start()

    def on_unmount(self) -> None:
        if self._watcher is not None:
            self._watcher.stop(wait=0)
            self._watcher = None

    def _from_watcher(self, state: ReaderState) -> None:
        """On the watcher's thread: hand over to the UI thread (gone if the app stopped)."""
        with contextlib.suppress(RuntimeError):  # NoActiveAppError is one too
            self.app.call_from_thread(self._changed, state)

    def _changed(self, state: ReaderState) -> None:
        self.state = state
        self.show()
        self.post_message(self.Changed(state))

    def set_working(self, working: bool) -> None:
        self.working = working
        self.show()

    @property
    def shown_state(self) -> str:
        if self.working:
            return BUSY
        return self.state.state if self.state is not None else ""

    def show(self) -> None:
        reader = self.reader
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(_("Card reader") + ": ", style="bold")
        name = (self.state.reader if self.state is not None else "") or reader.name
        line.append(name)
        if reader.virtual:
            line.append(" (" + _("virtual reader") + ")", style="italic")
        line.append(" · ")
        shown = self.shown_state
        text = _(STATE_TEXT[BUSY]) if self.working else state_text(self.state)
        line.append(text, style=STATE_STYLE.get(shown, ""))
        self.update(line)
        status = getattr(self.app, "device_status", None)
        if isinstance(status, dict):
            status["reader"] = text
