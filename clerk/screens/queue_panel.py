"""The counter's queue screen: the calling panel, what waits for this counter, its parked tags.

F5 calls the next tag; the other calling keys are the panel's (see `clerk.widgets.tag_panel`).
A tag number typed or scanned into the field at the bottom is called (or resumed) directly.
Supervisors change the counter's services with F12.
"""

from __future__ import annotations

import unicodedata

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Input, Static

from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal, ClerkScreen, every
from clerk.widgets.header import ClerkHeader
from clerk.widgets.tag_panel import TAG_BINDINGS, TagPanel, TagPanelHost
from clerk.widgets.text import show

REFRESH_SECONDS = 3


def wait_text(minutes: int | None) -> str:
    if minutes is None:
        return _("no counter")
    return _("~{n} min").format(n=minutes)


class ServicesModal(ClerkModal):
    """A supervisor types the services of this counter, e.g. A,B,P."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="services.cancel")]
    DEFAULT_CSS = """
    ServicesModal { align: center middle; }
    #services-box { width: 60; max-width: 100%; height: auto; border: round $accent;
                    background: $surface; padding: 1 2; }
    #services-box Input { margin-top: 1; }
    """

    def __init__(self, counter: int, current: str):
        super().__init__()
        self.counter = counter
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="services-box"):
            yield Static(
                _("Services of counter {n} (letters, e.g. A,B,P); Enter saves:").format(
                    n=self.counter
                ),
                markup=False,
            )
            yield Input(self.current, id="services-input", max_length=60)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class QueueScreen(TagPanelHost, ClerkScreen):
    BINDINGS = [
        *TAG_BINDINGS,
        Binding("f12", "services", N_("Services"), id="queue.services"),
        Binding("escape", "back", N_("Back"), id="queue.back"),
    ]
    CSS = """
    #queue-body { height: 1fr; padding: 0 1; }
    #queue-waiting { width: 1fr; height: 100%; }
    #queue-side { width: 18; height: 100%; padding-left: 1; }
    #queue-parked-title { text-style: bold; }
    #queue-take { height: 3; padding: 0 1; }
    #queue-take Static { width: auto; padding: 1 1 0 0; }
    #queue-take Input { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        yield TagPanel()
        with Horizontal(id="queue-body"):
            yield DataTable(id="queue-waiting", cursor_type="none", zebra_stripes=True)
            with Vertical(id="queue-side"):
                yield Static(id="queue-parked-title", markup=False)
                yield Static(id="queue-parked", markup=False)
        with Horizontal(id="queue-take"):
            yield Static(id="queue-take-label", markup=False)
            yield Input(id="queue-take-input", max_length=8)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#queue-waiting", DataTable)
        table.add_column(_("Service"), key="service")
        table.add_column(_("Name"), key="name", width=24)
        table.add_column(_("Waiting"), key="waiting")
        table.add_column(_("Est. wait"), key="wait")
        self.query_one("#queue-parked-title", Static).update(_("Parked here"))
        self.query_one("#queue-take-label", Static).update(_("Tag number:"))
        self.query_one("#queue-take-input", Input).placeholder = _("type or scan, Enter")
        self.query_one("#queue-take-input", Input).focus()
        self.refresh_lists()
        every(self, REFRESH_SECONDS, self.refresh_lists)

    # -- lists -----------------------------------------------------------------------------------
    def refresh_lists(self) -> None:
        from clerk.domain.queue import parked_tags, wait_estimates

        ctx, counter = self.clerk.ctx, self.clerk.counter
        self.call_service(wait_estimates, ctx, counter, on_done=self._show_waits, group="refresh")
        self.call_service(parked_tags, ctx, counter, on_done=self._show_parked, group="refresh")

    def _show_waits(self, waits) -> None:
        table = self.query_one("#queue-waiting", DataTable)
        lang = self.clerk.language
        rows = [
            (w.code, w.names.title(lang), str(w.waiting), wait_text(w.wait_minutes()))
            for w in waits
        ]
        shown = [(key.value, table.get_cell(key, "name")) for key in table.rows]
        if shown == [row[:2] for row in rows]:
            # the same services: change the cells that changed (no new layout of the screen)
            for code, _name, waiting, wait in rows:
                for column, value in (("waiting", waiting), ("wait", wait)):
                    if table.get_cell(code, column) != value:
                        table.update_cell(code, column, value)
            return
        table.clear()
        for row in rows:
            table.add_row(*row, key=row[0])

    def _show_parked(self, rows) -> None:
        text = "\n".join(f"{r.tag}  {r.service}" for r in rows[:8]) or _("none")
        if len(rows) > 8:
            text += "\n" + _("and {n} more").format(n=len(rows) - 8)
        show(self.query_one("#queue-parked", Static), text)

    def on_tag_panel_changed(self, _event: TagPanel.Changed) -> None:
        self.refresh_lists()

    # -- input -----------------------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = unicodedata.normalize("NFKC", event.value).strip()
        event.input.value = ""
        if text:
            self.query_one(TagPanel).take(text)

    # -- actions ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "services":
            actor = self.clerk.actor
            return actor is not None and actor.is_supervisor
        return super().check_action(action, parameters)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_services(self) -> None:
        from clerk.domain.queue import counters_overview

        def ask(lines) -> None:
            mine = next((c for c in lines if c.number == self.clerk.counter), None)
            current = ",".join(mine.services) if mine else ""
            self.app.push_screen(ServicesModal(self.clerk.counter, current), self._save_services)

        self.call_service(counters_overview, self.clerk.ctx, on_done=ask)

    def _save_services(self, value: str | None) -> None:
        from clerk.domain.queue import set_counter_services

        if value is None:
            return
        codes = [c for c in value.replace(" ", ",").split(",") if c]

        def done(now) -> None:
            self.notify(
                _("Counter {n} now serves {services}.").format(
                    n=self.clerk.counter, services=",".join(now) or _("nothing")
                )
            )
            self.refresh_lists()

        self.call_service(
            set_counter_services,
            self.clerk.ctx,
            self.clerk.actor,
            self.clerk.counter,
            codes,
            on_done=done,
        )
