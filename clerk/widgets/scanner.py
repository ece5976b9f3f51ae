"""The barcode scanner on any counter screen: a fast burst of digits ending in Enter is routed.

A keyboard-wedge scanner types the receipt number's digits a few milliseconds apart and ends with
Enter; a person types slower (FACTS: a median gap under ~30 ms is a scanner). The app hands every
key to `ScannerRouter.on_key` before Textual dispatches it (`ClerkApp.on_event`):

- A digit after a pause (the first of a possible burst) is dispatched at once, as typed; the
  focused Input's text and selection are noted first so that they can be put back.
- A digit that follows a digit within `[collection] scanner_gap_ms` is held back.
- Enter within the gap, when the burst (first digit + held ones) has the shape of a receipt number
  (`looks_like_receipt_number`: 14 digits after NFKC, or 12–16: a scan that dropped or doubled a
  digit): the Input gets its text back, Enter is swallowed and the code goes to the screen's
  `route_scan(code)` (by default the collection view opens; see `clerk.screens.base.ClerkScreen`).
  The length and the check digits are verified there, before any lookup: a misread is refused
  with the check's message.
- Anything else (another key, Enter on a code of another shape, or no key for twice the gap) lets
  the held keys through first, in their order, then the key itself: typing is never lost or
  reordered, and a person's keys (slower than the gap) are never held at all.

Only screens of a logged-in clerk that route scans (`ROUTES_SCANS`) take part; modals and the login
screen do not. Known limit: the burst's first digit was dispatched before anyone could know it was
a scan; in an Input it is undone, but a screen binding on that digit (none on "0", the first digit
of office codes 01–09) would have run.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.widgets import Input

from clerk.domain.receipts import looks_like_receipt_number

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

ENTER_KEYS = ("enter", "ctrl+j", "ctrl+m")
Dispatch = Callable[[events.Event], Awaitable[Any]]


def is_code_key(event: events.Key) -> bool:
    char = event.character
    return bool(char) and len(char) == 1 and unicodedata.normalize("NFKC", char).isdigit()


class ScannerRouter:
    def __init__(self, app: App, gap_ms: int = 30) -> None:
        self.app = app
        self.gap = max(1, gap_ms) / 1000
        self.first = ""  # the burst's first digit (dispatched)
        self.held: list[events.Key] = []
        self.last = float("-inf")  # when the previous key came
        self.in_run = False  # the previous key was a digit of the current run
        self.snapshot: tuple[Input, str, Any] | None = None
        self.routed = 0  # how many codes were routed (tests and the log)
        self._timer: Timer | None = None
        self._dispatch: Dispatch | None = None

    # -- who takes part --------------------------------------------------------------------------
    def active(self) -> bool:
        from clerk.screens.base import ClerkScreen

        screen = self.app.screen
        return (
            getattr(self.app, "actor", None) is not None
            and isinstance(screen, ClerkScreen)
            and bool(getattr(screen, "ROUTES_SCANS", False))
        )

    # -- the keys --------------------------------------------------------------------------------
    async def on_key(self, event: events.Key, dispatch: Dispatch) -> None:
        """Hold, route or dispatch `event` (and any held keys before it)."""
        self._dispatch = dispatch
        for key in self.feed(event):
            await dispatch(key)

    def feed(self, event: events.Key) -> list[events.Key]:
        """The keys to dispatch now, in order (empty: held or routed)."""
        now = event.time
        fast = now - self.last < self.gap
        self.last = now
        if not self.active():
            return self._release() + [event]
        if is_code_key(event):
            if fast and self.in_run:
                self.held.append(event)
                self._arm()
                return []
            released = self._release()
            self._start_run(event)
            return released + [event]
        if event.key in ENTER_KEYS and fast and self.held:
            code = self.first + "".join(k.character or "" for k in self.held)
            if looks_like_receipt_number(code, misread=True):
                self._route(code)
                return []
        released = self._release()
        return released + [event]

    def _start_run(self, event: events.Key) -> None:
        self.in_run = True
        self.first = event.character or ""
        focused = self.app.focused
        if isinstance(focused, Input):
            self.snapshot = (focused, focused.value, focused.selection)
        else:
            self.snapshot = None

    def _release(self) -> list[events.Key]:
        """End the run: the held keys, to be dispatched before the current one."""
        held, self.held = self.held, []
        self.in_run = False
        self.first = ""
        self._disarm()
        return held

    def _route(self, code: str) -> None:
        snapshot = self.snapshot
        self.held = []
        self.in_run = False
        self.first = ""
        self._disarm()
        if snapshot is not None:
            field, value, selection = snapshot
            if field.is_mounted:
                field.value = value
                field.selection = selection
        self.snapshot = None
        self.routed += 1
        screen = self.app.screen
        handler = getattr(screen, "route_scan", None)
        if handler is not None:
            self.app.call_later(handler, code)

    # -- a burst that stopped without Enter ------------------------------------------------------
    def _arm(self) -> None:
        self._disarm()
        self._timer = self.app.set_timer(self.gap * 2, self._expire, name="scanner-burst")

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    async def _expire(self) -> None:
        self._timer = None
        if not self.held or self._dispatch is None:
            return
        held, self.held = self.held, []
        self.in_run = False
        for key in held:
            await self._dispatch(key)
