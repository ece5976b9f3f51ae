"""The desk after login: today's queue at a glance and where to go next.

The counter flow, the cashier, collection and the supervisor's desk open from here as they land.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Static

from clerk.i18n import N_, _
from clerk.screens.base import ClerkScreen, every
from clerk.widgets.header import ClerkHeader


class HomeScreen(ClerkScreen):
    BINDINGS = [
        Binding("f2", "queue", N_("Counter queue"), id="home.queue"),
        Binding("f3", "reception", N_("Reception"), id="home.reception"),
        Binding("f4", "counter", N_("Counter flow"), id="home.counter"),
        Binding("f5", "refresh", N_("Refresh"), id="home.refresh"),
        Binding("f6", "drawer", N_("Cash drawer"), id="home.drawer"),
        Binding("f7", "card", N_("Card reader"), id="home.card"),
        Binding("f8", "collection", N_("Collection"), id="home.collection"),
        Binding("f9", "supervisor", N_("Supervisor's desk"), id="home.supervisor"),
    ]

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        with Vertical(id="home"):
            yield Static(id="welcome")
            yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
            yield Static(id="home-message", classes="message")
        yield Footer()

    def on_mount(self) -> None:
        actor = self.clerk.actor
        role = {"clerk": _("clerk"), "supervisor": _("supervisor"), "admin": _("administrator")}
        name = actor.full_name or actor.username if actor else ""
        self.query_one("#welcome", Static).update(
            _("Welcome, {name} ({role}). Today's queue:").format(
                name=name, role=role.get(actor.role, actor.role) if actor else ""
            )
        )
        table = self.query_one("#queue", DataTable)
        # fixed widths: the layout does not jump when the numbers arrive
        table.add_column(_("Service"), key="service", width=8)
        table.add_column(_("Name"), key="name", width=40)
        table.add_column(_("Waiting"), key="waiting", width=8)
        table.add_column(_("Served"), key="served", width=8)
        self.action_refresh()
        every(self, 5, self.action_refresh)

    def action_refresh(self) -> None:
        from clerk.domain.office import overview

        self.call_service(overview, self.clerk.ctx, on_done=self._show, group="refresh")

    def _show(self, ov) -> None:
        table = self.query_one("#queue", DataTable)
        table.clear()
        lang = self.clerk.language
        for line in ov.services:
            table.add_row(
                line.code, line.title(lang), str(line.waiting), str(line.served), key=line.code
            )
        total = sum(line.waiting for line in ov.services)
        self.query_one("#home-message", Static).update(
            _("{n} waiting in all · business day {day}").format(n=total, day=ov.day)
        )

    def action_queue(self) -> None:
        from clerk.screens.queue_panel import QueueScreen

        self.app.push_screen(QueueScreen())

    def action_reception(self) -> None:
        from clerk.screens.reception import ReceptionScreen

        self.app.push_screen(ReceptionScreen())

    def action_counter(self) -> None:
        from clerk.screens.counter import CounterScreen

        self.app.push_screen(CounterScreen())

    def action_drawer(self) -> None:
        from clerk.screens.drawer import DrawerScreen

        self.app.push_screen(DrawerScreen())

    def action_card(self) -> None:
        from clerk.screens.card import CardScreen

        self.app.push_screen(CardScreen())

    def action_collection(self) -> None:
        from clerk.screens.collection import CollectionScreen

        self.app.push_screen(CollectionScreen())

    # -- the supervisor's desk: shown to supervisors and administrators only -------------------
    def _is_supervisor(self) -> bool:
        actor = self.clerk.actor
        return actor is not None and actor.is_supervisor

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "supervisor":
            return self._is_supervisor()  # hidden from the footer of a clerk
        return True

    def on_key(self, event) -> None:
        if event.key == "f9" and not self._is_supervisor():
            event.stop()
            self.clerk.show_error(_("The supervisor's desk is for supervisors and administrators."))

    def action_supervisor(self) -> None:
        from clerk.screens.supervisor import SupervisorScreen

        self.app.push_screen(SupervisorScreen())
