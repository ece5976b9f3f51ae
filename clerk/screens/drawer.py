"""The clerk's cash drawer: open with the counted float, cash in and out, the day's receipts of
the drawer, the blind count by denomination, then the expected amounts, the variance and the
Z report.

Keys (ids in brackets, remappable in [keymap]):
- No drawer: type the float and Enter.
- Open: P pay an application by its number [drawer.pay]; I cash in, O cash out
  [drawer.cash_in, drawer.cash_out]; R prints the selected receipt again
  [drawer.reprint]; V voids or refunds it [drawer.void]; C counts and closes [drawer.close].
- Count: one field per note and coin, Enter to the next; F2 stores the count
  [drawer.store_count]. Only then are the expected amounts shown.
- After the count: A a supervisor acknowledges the variance [drawer.acknowledge]; Z prints the
  Z report [drawer.z_report]; Escape back [drawer.back].
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import ContentSwitcher, DataTable, Footer, Input, Label, Static

from clerk.domain.clock import to_local
from clerk.errors import ClerkError
from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal, ClerkScreen
from clerk.screens.cashier import STATUS_LABELS, ReverseModal, SupervisorModal, mop
from clerk.widgets.header import ClerkHeader

if TYPE_CHECKING:
    from clerk.domain.cashier import CountResult, DrawerView

KIND_LABELS = {"note": N_("Notes"), "coin": N_("Coins")}


class MovementModal(ClerkModal):
    """Cash put into or taken out of the drawer: the amount and why."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="drawer.movement_cancel")]
    DEFAULT_CSS = """
    MovementModal, NumberModal { align: center middle; }
    .drawer-box { width: 60; max-width: 100%; height: auto; border: round $accent;
                  background: $surface; padding: 0 1; }
    .drawer-box Input { border: none; height: 1; background: $panel; padding: 0 1; }
    .drawer-box Input:focus { border: none; background: $primary-darken-2; }
    """

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def compose(self) -> ComposeResult:
        title = _("Cash into the drawer") if self.kind == "in" else _("Cash out of the drawer")
        with Vertical(classes="drawer-box"):
            yield Static(title, markup=False)
            yield Label(_("Amount (MOP)"))
            yield Input(id="move-amount", max_length=12)
            yield Label(_("Reason"))
            yield Input(id="move-reason", max_length=200)
            yield Static(id="move-message", classes="message", markup=False)

    def on_mount(self) -> None:
        self.query_one("#move-amount", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from clerk.domain.cashier import cash_movement

        if event.input.id == "move-amount":
            self.query_one("#move-reason", Input).focus()
            return
        clerk = self.clerk
        self.call_service(
            cash_movement,
            clerk.ctx,
            clerk.actor,
            self.kind,
            self.query_one("#move-amount", Input).value,
            self.query_one("#move-reason", Input).value,
            on_done=self.dismiss,
            on_error=lambda message: self.query_one("#move-message", Static).update(message),
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


class NumberModal(ClerkModal):
    """The application to pay: its number typed or scanned."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="drawer.number_cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="drawer-box"):
            yield Static(_("Application number, then Enter:"), markup=False)
            yield Input(id="app-number", max_length=20)
            yield Static(id="app-message", classes="message", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from clerk.domain.cashier import find_application

        self.call_service(
            find_application,
            self.clerk.ctx,
            event.value,
            on_done=self.dismiss,
            on_error=lambda message: self.query_one("#app-message", Static).update(message),
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


class AcknowledgeModal(SupervisorModal):
    """A supervisor acknowledges the variance of the clerk's counted drawer."""

    def submit(self, approve: bool) -> None:
        from clerk.domain.cashier import acknowledge_variance

        clerk = self.clerk
        self.run_decision(
            acknowledge_variance,
            clerk.ctx,
            clerk.actor,
            self.value("sup-user"),
            self.value("sup-password"),
            self.value("sup-reason"),
        )


def count_field(code: str) -> str:
    return "count-" + code.replace(".", "_")


class DrawerScreen(ClerkScreen):
    BINDINGS = [
        Binding("p", "pay", N_("Pay"), id="drawer.pay"),
        Binding("i", "cash_in", N_("Cash in"), id="drawer.cash_in"),
        Binding("o", "cash_out", N_("Cash out"), id="drawer.cash_out"),
        Binding("r", "reprint", N_("Print again"), id="drawer.reprint"),
        Binding("v", "void", N_("Void/refund"), id="drawer.void"),
        Binding("c", "count", N_("Count and close"), id="drawer.close"),
        Binding("f2", "store_count", N_("Store the count"), id="drawer.store_count", priority=True),
        Binding("a", "acknowledge", N_("Supervisor"), id="drawer.acknowledge"),
        Binding("z", "z_report", N_("Z report"), id="drawer.z_report"),
        Binding("escape", "back", N_("Back"), id="drawer.back"),
    ]
    DEFAULT_CSS = """
    #drawer { padding: 0 1; height: 1fr; }
    #drawer-title { text-style: bold; height: auto; }
    #drawer-status { height: auto; color: $text-muted; margin-bottom: 1; }
    #drawer-float, #drawer-float-label { width: 30; }
    #drawer-float, #drawer-float:focus { border: none; height: 1; background: $panel;
                                         padding: 0 1; }
    #drawer-receipts { height: 1fr; }
    #count-columns { height: auto; }
    .count-column { width: 1fr; height: auto; }
    .count-row { height: 1; }
    .count-row Label { width: 12; }
    .count-row Input { width: 8; border: none; height: 1; background: $panel; padding: 0 1; }
    .count-row Input:focus { border: none; background: $primary-darken-2; }
    .count-heading { text-style: bold; height: 1; }
    #count-total { text-style: bold; height: auto; margin-top: 1; }
    #drawer-result { height: auto; }
    #drawer-message { height: auto; }
    """
    AUTO_FOCUS = None

    def __init__(self) -> None:
        super().__init__()
        self.view: DrawerView | None = None
        self.result: CountResult | None = None
        self.mode = "none"
        self.rows: list[str] = []  # receipt numbers of the table, in row order

    def compose(self) -> ComposeResult:
        from clerk.domain.cashier import DENOMINATIONS

        yield ClerkHeader()
        with Vertical(id="drawer"):
            yield Static(_("Cash drawer"), id="drawer-title", markup=False)
            yield Static(id="drawer-status", markup=False)
            with ContentSwitcher(initial="mode-none", id="drawer-modes"):
                with Vertical(id="mode-none"):
                    yield Label(_("Float counted (MOP), then Enter:"), id="drawer-float-label")
                    yield Input(id="drawer-float", max_length=12)
                with Vertical(id="mode-open"):
                    yield DataTable(id="drawer-receipts", cursor_type="row", zebra_stripes=True)
                with Vertical(id="mode-count"):
                    yield Static(_("Blind count: type how many of each, F2 stores the count."))
                    with Horizontal(id="count-columns"):
                        for kind in ("note", "coin"):
                            with Vertical(classes="count-column"):
                                yield Static(_(KIND_LABELS[kind]), classes="count-heading")
                                for d in DENOMINATIONS:
                                    if d.kind == kind:
                                        with Horizontal(classes="count-row"):
                                            yield Label(f"MOP {d.label}")
                                            yield Input(id=count_field(d.code), max_length=6)
                    yield Static(id="count-total", markup=False)
                with Vertical(id="mode-result"):
                    yield Static(id="drawer-result")
            yield Static(id="drawer-message", classes="message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#drawer-receipts", DataTable)
        table.add_column(_("Receipt"), key="number", width=16)
        table.add_column(_("Application"), key="application", width=14)
        table.add_column(_("Total"), key="total", width=14)
        table.add_column(_("Status"), key="status", width=10)
        self.reload()

    # -- state -----------------------------------------------------------------------------------
    def reload(self, message: str = "") -> None:
        from clerk.domain.cashier import current_drawer

        clerk = self.clerk
        self.call_service(
            current_drawer,
            clerk.ctx,
            clerk.actor,
            on_done=lambda view: self.show(view, message),
            on_error=self.say,
        )

    def switch(self, mode: str) -> None:
        """Show one mode and put the cursor where its keys are typed."""
        self.mode = mode
        self.query_one("#drawer-modes", ContentSwitcher).current = f"mode-{mode}"
        for name in ("none", "open", "count", "result"):  # hidden fields take no focus
            self.query_one(f"#mode-{name}").disabled = name != mode
        if mode == "none":
            self.query_one("#drawer-float", Input).focus()
        elif mode == "open":
            self.query_one("#drawer-receipts", DataTable).focus()
        elif mode == "count":
            self.query(".count-row Input").first().focus()
        else:
            self.set_focus(None)  # the letters are keys here
        self.refresh_bindings()

    def show(self, view: DrawerView | None, message: str = "") -> None:
        self.view = view
        status = self.query_one("#drawer-status", Static)
        if view is None:
            status.update(_("No open drawer."))
            if self.result is not None:
                self.show_result(self.result)
            else:
                self.switch("none")
        else:
            opened = f"{to_local(view.opened_at, self.clerk.ctx.tz):%H:%M}"
            status.update(
                _(
                    "Drawer #{id} of {day} · opened {time} · float {float} · {payments} "
                    "payments, {reversals} reversals, {movements} cash movements"
                ).format(
                    id=view.id,
                    day=view.day.isoformat(),
                    time=opened,
                    float=mop(view.float_avos),
                    payments=view.payments,
                    reversals=view.reversals,
                    movements=view.movements,
                )
            )
            if view.status == "counted":
                self.load_result(view.id)
            else:
                self.switch("open")
                self.load_receipts(view.id)
        self.say(message, error=False)

    def load_receipts(self, session_id: int) -> None:
        from clerk.domain.cashier import session_receipts

        clerk = self.clerk
        self.call_service(
            session_receipts,
            clerk.ctx,
            clerk.actor,
            session_id,
            on_done=self.fill,
            on_error=self.say,
        )

    def fill(self, rows) -> None:
        table = self.query_one("#drawer-receipts", DataTable)
        table.clear()
        self.rows = [r.number for r in rows]
        for r in rows:
            status = _(STATUS_LABELS.get(r.status, r.status))
            table.add_row(r.number, r.application, mop(r.total_avos), status, key=r.number)

    def load_result(self, session_id: int) -> None:
        from clerk.domain.cashier import count_result

        clerk = self.clerk
        self.call_service(
            count_result,
            clerk.ctx,
            clerk.actor,
            session_id,
            on_done=self.show_result,
            on_error=self.say,
        )

    def show_result(self, result: CountResult) -> None:
        self.result = result
        lang = self.clerk.language
        table = Table.grid(padding=(0, 3))
        table.add_column()
        table.add_column(justify="right")
        table.add_row(Text(_("Expected by tender"), style="bold"), "")
        for line in result.expected:
            table.add_row(line.label_for(lang), mop(line.expected_avos))
        table.add_row("", "")
        table.add_row(
            _("Cash expected (float, cash in and out included)"), mop(result.expected_cash_avos)
        )
        table.add_row(_("Cash counted"), mop(result.counted_avos))
        style = "bold" if abs(result.variance_avos) <= result.threshold_avos else "bold red"
        table.add_row(
            Text(_("Variance"), style=style), Text(mop(result.variance_avos), style=style)
        )
        table.add_row(_("Threshold"), mop(result.threshold_avos))
        if result.needs_acknowledgement:
            state = _("The variance is beyond the threshold: A for a supervisor's acknowledgement.")
        else:
            state = _("The drawer is closed. Z prints the Z report.")
        table.add_row("", "")
        table.add_row(Text(state, style="bold"), "")
        self.query_one("#drawer-result", Static).update(table)
        self.switch("result")

    def say(self, message: str, error: bool = True) -> None:
        widget = self.query_one("#drawer-message", Static)
        widget.update(message)
        widget.set_class(error and bool(message), "error")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        mode = self.mode
        if action in ("pay", "cash_in", "cash_out", "count", "reprint", "void"):
            return mode == "open"
        if action == "store_count":
            return mode == "count"
        if action == "acknowledge":
            return (
                mode == "result" and self.result is not None and self.result.needs_acknowledgement
            )
        if action == "z_report":
            return mode == "result"
        return True

    # -- open, move, pay -------------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = event.input.id or ""
        if name == "drawer-float":
            self.open_drawer(event.value)
        elif name.startswith("count-"):
            fields = [w for w in self.query(".count-row Input")]
            index = fields.index(event.input)
            if index < len(fields) - 1:
                fields[index + 1].focus()
            else:
                self.action_store_count()

    def open_drawer(self, amount: str) -> None:
        from clerk.domain.cashier import open_drawer

        clerk = self.clerk
        self.result = None
        self.call_service(
            open_drawer,
            clerk.ctx,
            clerk.actor,
            amount,
            on_done=lambda view: self.show(view, _("Drawer open.")),
            on_error=self.say,
        )

    def action_cash_in(self) -> None:
        self.app.push_screen(MovementModal("in"), self.moved)

    def action_cash_out(self) -> None:
        self.app.push_screen(MovementModal("out"), self.moved)

    def moved(self, view) -> None:
        if view is not None:
            self.show(view, _("Cash movement recorded."))

    def action_pay(self) -> None:
        from clerk.screens.cashier import CashierScreen

        def found(app_id) -> None:
            if app_id is not None:
                self.app.push_screen(CashierScreen(app_id), lambda _number: self.reload())

        self.app.push_screen(NumberModal(), found)

    def selected(self) -> str | None:
        table = self.query_one("#drawer-receipts", DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def action_reprint(self) -> None:
        from clerk.domain.cashier import print_receipt

        number = self.selected()
        if number is None:
            return
        clerk = self.clerk

        def printed(done) -> None:
            label = _("COPY printed: {where}.") if done.copy else _("Printed: {where}.")
            self.say(label.format(where=done.where), error=False)

        self.call_service(
            print_receipt, clerk.ctx, clerk.actor, number, on_done=printed, on_error=self.say
        )

    def action_void(self) -> None:
        number = self.selected()
        if number is not None:
            modal = ReverseModal(number, self.clerk.ctx)
            self.app.push_screen(modal, lambda row: self.reload() if row is not None else None)

    # -- count and close -------------------------------------------------------------------------
    def action_count(self) -> None:
        for field in self.query(".count-row Input"):
            field.value = ""
        self.update_total()
        self.switch("count")

    def counts(self) -> dict[str, str]:
        from clerk.domain.cashier import DENOMINATIONS

        return {
            d.code: unicodedata.normalize(
                "NFKC", self.query_one(f"#{count_field(d.code)}", Input).value
            )
            for d in DENOMINATIONS
        }

    def update_total(self) -> None:
        from clerk.domain.cashier import check_counts, count_total

        total = self.query_one("#count-total", Static)
        try:
            total.update(
                _("Counted: {amount}").format(amount=mop(count_total(check_counts(self.counts()))))
            )
        except ClerkError as exc:
            total.update(exc.message)

    def on_input_changed(self, event: Input.Changed) -> None:
        if (event.input.id or "").startswith("count-"):
            self.update_total()

    def action_store_count(self) -> None:
        from clerk.domain.cashier import count_drawer

        clerk = self.clerk
        self.call_service(
            count_drawer,
            clerk.ctx,
            clerk.actor,
            self.counts(),
            on_done=self.counted,
            on_error=self.say,
        )

    def counted(self, result: CountResult) -> None:
        self.show_result(result)
        self.reload(_("Count stored."))

    def action_acknowledge(self) -> None:
        title = _("Variance of {amount}: a supervisor acknowledges it").format(
            amount=mop(self.result.variance_avos) if self.result else ""
        )

        def done(result) -> None:
            if result is not None:
                self.show_result(result)
                self.say(_("Variance acknowledged; the drawer is closed."), error=False)

        self.app.push_screen(AcknowledgeModal(title), done)

    def action_z_report(self) -> None:
        from clerk.domain.cashier import print_z_report

        if self.result is None:
            return
        clerk = self.clerk
        self.call_service(
            print_z_report,
            clerk.ctx,
            clerk.actor,
            self.result.session_id,
            on_done=lambda done: self.say(
                _("Z report printed: {where}.").format(where=done.where), error=False
            ),
            on_error=self.say,
        )

    def action_back(self) -> None:
        if self.mode == "count":
            self.switch("open")
            return
        self.dismiss(None)
