"""`clerk board`: the display board on a wall screen, a small Textual app of its own.

The latest calls in large characters with their counter, the last ten calls, "Collect your card"
(the names a receipt scan sent to a collection counter within `collection.BOARD_MINUTES`, as
"name → counter N", until the card is collected; no space at all when there is none), the number
waiting per service with the estimated wait. It polls the database off the UI thread (every
`queue.board_poll_ms`, 0.5 s by default), so a call made by any clerk process shows within a
second; a new call rings the terminal bell and, where espeak-ng is installed, is spoken. It asks
the business day at every poll, so it rolls over at midnight, and keeps nothing that grows: it can
run for days. A database that goes away shows a line and is retried at every poll.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import DataTable, Static

from clerk.errors import ClerkError
from clerk.i18n import N_, _, set_language
from clerk.screens.base import ClerkScreen, translate_bindings
from clerk.widgets.big_code import BigCode

if TYPE_CHECKING:
    from clerk.context import Context
    from clerk.domain.collection import BoardLine
    from clerk.domain.queue import BoardState

BIG_CALLS = 3  # the newest calls in large characters
HISTORY = 10
WIDE = 110  # from this many columns, three names a row (else two)
TALL = 30  # from this many lines, a blank line under them (80×24 has no line to spare)


def collect_text(line: BoardLine, width: int) -> str:
    """A line of "Collect your card" in `width` cells, "NAME → counter N": both names when they
    fit, else the Chinese one, else the name cut short."""
    template = _("{name} → counter {counter}")
    room = width - cell_len(template.format(name="", counter=line.counter))
    name = line.name
    if cell_len(name) > room:
        if line.name_zh and cell_len(line.name_zh) <= room:
            name = line.name_zh
        else:
            cut = Text(name)
            cut.truncate(max(1, room), overflow="ellipsis")
            name = cut.plain
    return template.format(name=name, counter=line.counter)


class CallLine(Horizontal):
    """One call in large characters: the tag, an arrow, the counter."""

    DEFAULT_CSS = """
    CallLine { height: 3; width: 100%; }
    CallLine .tag { width: 16; }
    CallLine .arrow { width: 5; padding: 1 1; color: $text-muted; }
    CallLine .counter { width: 9; }
    CallLine.newest BigCode { color: $accent; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield BigCode("", classes="tag")
        yield Static("", classes="arrow", markup=False)
        yield BigCode("", classes="counter")

    def show(self, tag: str, counter: int | None) -> None:
        self.query_one(".tag", BigCode).update(tag)
        self.query_one(".arrow", Static).update("→" if tag else "")
        self.query_one(".counter", BigCode).update(str(counter) if counter else "")


class BoardScreen(ClerkScreen):
    CSS = """
    BoardScreen { layout: vertical; }
    #board-top { height: 1; background: $primary-darken-2; padding: 0 1; }
    #board-office { width: 1fr; }
    #board-clock { width: auto; text-style: bold; }
    #board-main { height: auto; }
    #board-calls { width: 36; height: auto; padding: 1 2; }
    #board-history { width: 1fr; height: auto; padding: 1 1; }
    #board-calls-title, #board-history-title, #board-waits-title, #board-collect-title {
        text-style: bold; color: $text-muted; }
    #board-collect { height: auto; padding: 0 2; display: none; }
    #board-collect.tall { margin-bottom: 1; }
    #board-collect-lines { grid-size: 2; grid-rows: 1; grid-gutter: 0 2; height: auto; }
    #board-collect-lines Static { height: 1; text-style: bold; }
    #board-waits { height: auto; padding: 0 2; }
    #board-status { height: 1; color: $warning; padding: 0 2; display: none; }
    DataTable { height: auto; background: $background; }
    """

    def __init__(self, *, sound: bool = True):
        super().__init__()
        self.sound = sound
        self.last_event_id: int | None = None  # None: nothing seen yet (no bell at start)
        self.polling = False
        self.announcer = None
        self.state: BoardState | None = None
        self.collect: tuple[BoardLine, ...] | None = None

    def compose(self) -> ComposeResult:
        from clerk.domain.collection import BOARD_LINES

        with Horizontal(id="board-top"):
            yield Static(id="board-office", markup=False)
            yield Static(id="board-clock", markup=False)
        with Horizontal(id="board-main"):
            with Vertical(id="board-calls"):
                yield Static(id="board-calls-title", markup=False)
                for i in range(BIG_CALLS):
                    yield CallLine(classes="newest" if i == 0 else "")
            with Vertical(id="board-history"):
                yield Static(id="board-history-title", markup=False)
                yield DataTable(id="board-history-table", cursor_type="none", show_header=False)
        with Vertical(id="board-collect"):
            yield Static(id="board-collect-title", markup=False)
            with Grid(id="board-collect-lines"):
                for _i in range(BOARD_LINES):
                    yield Static("", markup=False)
        yield Static(id="board-waits-title", markup=False)
        yield DataTable(id="board-waits", cursor_type="none", zebra_stripes=True)
        yield Static(id="board-status", markup=False)

    def on_mount(self) -> None:
        from clerk.domain.queue import queue_settings

        ctx = self.board_app.ctx
        office = ctx.config.office
        lang = self.board_app.language
        local = {"zh_Hant": office.name_zh, "pt": office.name_pt}.get(lang) or office.name
        names = [office.name_zh, local] if lang != "zh_Hant" else [office.name_zh, office.name]
        self.query_one("#board-office", Static).update(" · ".join(n for n in names if n))
        now_calling, counter = _("Now calling"), _("Counter")  # outside the f-string: extracted
        self.query_one("#board-calls-title", Static).update(f"{now_calling:<19}{counter}")
        self.query_one("#board-history-title", Static).update(_("Last calls"))
        self.query_one("#board-collect-title", Static).update(_("Collect your card"))
        self.query_one("#board-waits-title", Static).update("  " + _("Waiting"))
        history = self.query_one("#board-history-table", DataTable)
        history.add_column("tag", key="tag")
        history.add_column("counter", key="counter")
        history.add_column("time", key="time")
        waits = self.query_one("#board-waits", DataTable)
        waits.add_column(_("Service"), key="service")
        waits.add_column("", key="name", width=36)
        waits.add_column(_("Waiting"), key="waiting")
        waits.add_column(_("Est. wait"), key="wait")
        settings = queue_settings(ctx)
        if self.sound and settings.board_announce:
            from clerk.devices.speech import Announcer

            announcer = Announcer(settings.announce_voice)
            self.announcer = announcer if announcer.available else None
        self._clock()
        self.set_interval(1, self._clock)
        self.set_interval(max(0.1, settings.board_poll_ms / 1000), self.poll)
        self.poll()

    @property
    def board_app(self) -> BoardApp:
        return self.app  # type: ignore[return-value]

    def _clock(self) -> None:
        from clerk.domain.clock import local_now

        now = local_now(self.board_app.ctx.tz)
        self.query_one("#board-clock", Static).update(f"{now:%Y-%m-%d  %H:%M:%S}")

    # -- polling ---------------------------------------------------------------------------------
    def poll(self) -> None:
        """Fetch the board's state in a thread; skipped while the previous fetch still runs."""
        if self.polling:
            return
        self.polling = True
        self.run_worker(self._fetch(), group="poll")

    async def _fetch(self) -> None:
        from clerk.domain.collection import BOARD_LINES, board_lines
        from clerk.domain.queue import board_state

        ctx = self.board_app.ctx

        def fetch() -> tuple[BoardState, tuple[BoardLine, ...]]:
            return board_state(ctx, HISTORY), tuple(board_lines(ctx, BOARD_LINES))

        try:
            state, collect = await asyncio.to_thread(fetch)
        except ClerkError as exc:
            self._status(_("Not up to date: {error}").format(error=exc.message))
            return
        except Exception as exc:  # noqa: BLE001 - logged; the board keeps running
            self.board_app.report_bug(exc)
            self._status(_("Not up to date; retrying."))
            return
        finally:
            self.polling = False
        self._status("")
        if state != self.state:  # repaint only what changed: a wall screen runs for days
            self.state = state
            self.show(state)
        if collect != self.collect:
            self.collect = collect
            self.show_collect()

    def _status(self, text: str) -> None:
        status = self.query_one("#board-status", Static)
        status.update(text)
        status.display = bool(text)  # no empty line while all is well

    def show_collect(self) -> None:
        """Collect your card: two or three names a row by the width; no space when none."""
        lines = self.collect or ()
        columns = 3 if self.size.width >= WIDE else 2
        grid = self.query_one("#board-collect-lines", Grid)
        grid.styles.grid_size_columns = columns
        width = max(12, (self.size.width - 4 - 2 * (columns - 1)) // columns)
        for i, cell in enumerate(grid.query(Static)):
            text = collect_text(lines[i], width) if i < len(lines) else ""
            cell.update(text)
            cell.display = bool(text)
        box = self.query_one("#board-collect", Vertical)
        box.set_class(self.size.height >= TALL, "tall")
        box.display = bool(lines)

    def on_resize(self) -> None:
        if self.collect:
            self.show_collect()

    def show(self, state: BoardState) -> None:
        from clerk.domain.clock import to_local

        calls = state.calls
        latest, seen = [], set()
        for call in calls:  # newest first; a recalled tag once, at its newest call
            if call.tag not in seen:
                seen.add(call.tag)
                latest.append(call)
        for i, line in enumerate(self.query(CallLine)):
            if i < len(latest):
                line.show(latest[i].tag, latest[i].counter)
            else:
                line.show("", None)
        history = self.query_one("#board-history-table", DataTable)
        history.clear()
        tz = self.board_app.ctx.tz
        for call in calls:
            history.add_row(call.tag, str(call.counter), f"{to_local(call.at, tz):%H:%M}")
        waits = self.query_one("#board-waits", DataTable)
        waits.clear()
        lang = self.board_app.language
        for w in state.waits:
            title = w.names.zh if lang == "zh_Hant" else f"{w.names.zh} · {w.names.title(lang)}"
            minutes = w.wait_minutes()
            waits.add_row(
                w.code,
                title,
                str(w.waiting),
                "—" if minutes is None else _("~{n} min").format(n=minutes),
            )
        seen, newest = self.last_event_id, calls[0].event_id if calls else 0
        self.last_event_id = newest if seen is None or not calls else max(seen, newest)
        fresh = [c for c in calls if seen is not None and c.event_id > seen]
        if fresh:
            self.announce(list(reversed(fresh)))

    def announce(self, calls) -> None:
        """A new call: the bell, and the spoken calls (oldest first)."""
        from clerk.devices.speech import call_text

        self.board_app.announced.extend(f"{c.tag}>{c.counter}" for c in calls)
        del self.board_app.announced[:-HISTORY]
        if not self.sound:
            return
        self.app.bell()
        if self.announcer is not None:
            for c in calls:
                self.announcer.say(call_text(c.tag, c.counter))

    def on_unmount(self) -> None:
        if self.announcer is not None:
            self.announcer.close()


class BoardApp(App):
    """The wall screen. Ctrl+Q quits."""

    TITLE = "clerk board"
    BINDINGS = [Binding("ctrl+q", "quit", N_("Quit"), id="board.quit", priority=True)]

    def __init__(self, ctx: Context, *, sound: bool = True):
        super().__init__()
        self.ctx = ctx
        self.sound = sound
        self.language = ctx.config.ui.language
        self.announced: list[str] = []  # the last calls announced (tests read it)
        set_language(self.language)
        translate_bindings(self)

    def on_mount(self) -> None:
        from clerk.app import CLERK_THEME

        self.register_theme(CLERK_THEME)
        self.theme = "clerk"
        self.push_screen(BoardScreen(sound=self.sound))

    def show_error(self, message: str) -> None:
        self.notify(message, severity="error", timeout=8)

    def report_bug(self, exc: BaseException) -> None:
        from clerk.logs import log_exception

        log_exception(exc, self.ctx)
