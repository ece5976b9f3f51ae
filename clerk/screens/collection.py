"""The collection desk: the receipt scanned or typed, the applicant sent to a counter, the card
handed over. Also the supervisor's production batch and the list of uncollected cards.

`CollectionScreen(code)` opens from home (F8) or from any counter screen when a scanner's burst
has the shape of a receipt number (`clerk.widgets.scanner`). Keys (ids in brackets, remappable in
[keymap]):
- F2 a new receipt: the field takes the digits, Enter looks them up [collection.receipt]. A
  receipt scanned anywhere on the screen is looked up at once.
- I identity checked against the record [collection.identity]; R who collects: the applicant,
  an authorised representative or the parent or guardian on record [collection.collector]; A the
  authorisation on the receipt is filled in and signed [collection.authorisation].
- H the former card is handed in [collection.handed_in]; L it cannot be presented (the police
  loss report's reference, then P pays the surcharge) [collection.not_presented,
  collection.pay].
- Ctrl+R reads the new card and checks it is this application's [collection.read_card].
- F9 hands the card over [collection.hand_over].
- F3 the supervisor's production batch [collection.batch]; F4 the uncollected cards
  [collection.uncollected]; Escape back [collection.back].
The screen holds no rules: every check and every refusal comes from `clerk.domain.collection`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Input, Label, Static

from clerk.errors import ClerkError
from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal, ClerkScreen
from clerk.screens.cashier import change_text, glyph_warning, mop
from clerk.widgets.header import ClerkHeader
from clerk.widgets.intake_fields import case_label, service_label

if TYPE_CHECKING:
    from clerk.domain.cashier import MethodView, Paid
    from clerk.domain.collection import BatchLine, CardCheck, Case, Collected

COLLECTORS = ("applicant", "representative", "guardian")
COLLECTOR_LABELS = {
    "applicant": N_("the applicant in person"),
    "representative": N_("an authorised representative"),
    "guardian": N_("the parent or guardian on record"),
}
STATUS_STYLE = {
    "ready": "bold green",
    "lodged": "bold yellow",
    "in-production": "bold yellow",
    "collected": "bold cyan",
    "cancelled": "bold red",
    "void": "bold red",
}
FORMER_OUTCOMES = {
    "cancelled": N_("handed in and cancelled"),
    "not-presented": N_("not presented (surcharged)"),
    "not-required": N_("nothing to hand in"),
}
MAX_METHODS = 6
YES, NO, OPTIONAL = "[✓]", "[ ]", "[·]"


def _names(zh: str, latin: str) -> str:
    return " ".join(part for part in (zh, latin) if part)


def charge_then_print(ctx, actor, app_id: int, tenders, report: str, total: int):
    """Charge the surcharge, then print its receipt: (paid, print error). A printer failure
    keeps the payment: the receipt is printed again from the drawer screen."""
    from clerk.domain import cashier, collection

    paid = collection.charge_surcharge(
        ctx, actor, app_id, tenders, report, expected_total_avos=total
    )
    try:
        printed = cashier.print_receipt(ctx, actor, paid.receipt_number)
    except ClerkError as exc:
        return paid, (), exc.message
    return paid, printed.warnings, ""


def hand_over_then_reload(ctx, actor, app_id: int, handover, code: str):
    from clerk.domain import collection

    done = collection.hand_over(ctx, actor, app_id, handover)
    return done, collection.reload_case(ctx, actor, code)


def read_and_check(app, app_id: int) -> CardCheck:
    from clerk.domain.cards import read_card
    from clerk.domain.collection import check_new_card
    from clerk.widgets.card_panel import app_reader

    card = read_card(app_reader(app))
    return check_new_card(app.ctx, app.actor, app_id, card)


# --- the surcharge ------------------------------------------------------------------------------


def method_binding(n: int) -> Binding:
    return Binding(
        str(n), f"method({n - 1})", N_("Method"), show=n == 1, id=f"collection.method_{n}"
    )


class SurchargeModal(ClerkModal):
    """The non-presentation surcharge at collection: one tender (1–6 choose the method; cash
    asks for the amount tendered, the others for the terminal's reference), Enter pays."""

    BINDINGS = [
        *(method_binding(n) for n in range(1, MAX_METHODS + 1)),
        Binding("enter", "pay", N_("Pay"), id="collection.surcharge_pay"),
        Binding("escape", "cancel", N_("Cancel"), id="collection.surcharge_cancel"),
    ]
    DEFAULT_CSS = """
    SurchargeModal { align: center middle; }
    #sur-box { width: 76; max-width: 100%; height: auto; max-height: 100%;
               border: heavy $warning; background: $surface; padding: 0 1; }
    #sur-box Input { border: none; height: 1; background: $panel; padding: 0 1; width: 24; }
    #sur-box Input:focus { border: none; background: $primary-darken-2; }
    #sur-title { text-style: bold; margin-bottom: 1; }
    #sur-methods { color: $text-muted; margin: 1 0; height: auto; }
    #sur-tender { height: 1; }
    #sur-method { width: 26; }
    #sur-detail-label { width: auto; padding: 0 1; color: $text-muted; }
    #sur-change { text-style: bold; height: auto; }
    """
    AUTO_FOCUS = None  # the digit keys choose the method first

    def __init__(self, case: Case, report: str, methods: tuple[MethodView, ...], lang: str):
        super().__init__()
        self.case = case
        self.report = report
        self.methods = methods[:MAX_METHODS]
        self.lang = lang
        self.method: MethodView | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        c = self.case
        with Vertical(id="sur-box"):
            yield Static(
                _("Former card not presented · {number} · {name}").format(
                    number=c.number, name=_names(c.name_zh, c.name_latin)
                ),
                id="sur-title",
                markup=False,
            )
            yield Static(self._lines(), id="sur-lines")
            yield Static(
                "  ".join(f"{n}·{m.label_for(self.lang)}" for n, m in enumerate(self.methods, 1))
                + "   "
                + _("Enter pays · Esc cancels"),
                id="sur-methods",
                markup=False,
            )
            with Horizontal(id="sur-tender"):
                yield Static(_("(choose 1–6)"), id="sur-method", markup=False)
                yield Static("", id="sur-detail-label", markup=False)
                yield Input(id="sur-detail", max_length=40, disabled=True)
            yield Static(id="sur-change", markup=False)
            yield Static(id="sur-message", classes="message", markup=False)

    def _lines(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(ratio=1)
        table.add_column(justify="right")
        for line in self.case.surcharge_lines:
            style = "italic" if line.waived else ""
            table.add_row(Text(line.label_for(self.lang), style=style), mop(line.amount_avos))
        table.add_row(Text(_("Total"), style="bold"), Text(mop(self.total), style="bold"))
        return table

    @property
    def total(self) -> int:
        return self.case.surcharge_avos

    def on_mount(self) -> None:
        self.query_one("#sur-detail", Input).display = False
        if self.total == 0:
            nothing = _("Nothing to pay: Enter issues the receipt.")
            self.query_one("#sur-change", Static).update(nothing)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("method", "pay"):
            return not self.busy and (action == "pay" or self.total > 0)
        return True

    def action_method(self, index: int) -> None:
        if index >= len(self.methods):
            return
        self.method = method = self.methods[index]
        self.query_one("#sur-method", Static).update(method.label_for(self.lang))
        label = _("Tendered") if method.is_cash else _("Reference")
        self.query_one("#sur-detail-label", Static).update(label)
        detail = self.query_one("#sur-detail", Input)
        detail.display, detail.disabled = True, False
        detail.value = ""
        detail.focus()
        self.preview()

    def tenders(self) -> list:
        from clerk.domain.cashier import TenderInput, parse_amount

        if self.method is None:
            return []
        detail = self.query_one("#sur-detail", Input).value
        if self.method.is_cash:
            tendered = parse_amount(detail, _("Tendered")) if detail.strip() else None
            return [TenderInput(self.method.code, None, tendered)]
        return [TenderInput(self.method.code, None, None, detail)]

    def preview(self) -> None:
        if self.total:
            text = change_text(self.total, self.tenders, self.methods)
            self.query_one("#sur-change", Static).update(text)

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.preview()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_pay()

    def action_pay(self) -> None:
        if self.busy:
            return
        message = self.query_one("#sur-message", Static)
        try:
            tenders = self.tenders()
        except ClerkError as exc:
            message.update(exc.message)
            return
        if self.total > 0 and not tenders:
            message.update(_("Choose the method with 1–6."))
            return
        self.busy = True
        message.update(_("Taking the payment…"))
        clerk = self.clerk

        def failed(text: str) -> None:
            self.busy = False
            message.update(text)

        self.call_service(
            charge_then_print,
            clerk.ctx,
            clerk.actor,
            self.case.application_id,
            tenders,
            self.report,
            self.total,
            on_done=self.dismiss,
            on_error=failed,
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- the collection view ------------------------------------------------------------------------


class CollectionScreen(ClerkScreen):
    BINDINGS = [
        Binding("f2", "new_receipt", N_("Receipt"), id="collection.receipt"),
        # the letter keys are shown on the screen, next to what they tick
        Binding("i", "identity", N_("Identity"), show=False, id="collection.identity"),
        Binding("r", "collector", N_("Who collects"), show=False, id="collection.collector"),
        Binding(
            "a", "authorisation", N_("Authorisation"), show=False, id="collection.authorisation"
        ),
        Binding("h", "former('handed-in')", N_("Card in"), show=False, id="collection.handed_in"),
        Binding(
            "l",
            "former('not-presented')",
            N_("Card lost"),
            show=False,
            id="collection.not_presented",
        ),
        Binding("p", "pay", N_("Pay surcharge"), id="collection.pay"),
        Binding("ctrl+r", "read_card", N_("Read card"), show=False, id="collection.read_card"),
        Binding("f9", "hand_over", N_("Hand over"), id="collection.hand_over"),
        Binding("f3", "batch", N_("Ready batch"), id="collection.batch"),
        Binding("f4", "uncollected", N_("Uncollected"), id="collection.uncollected"),
        Binding("escape", "back", N_("Back"), id="collection.back"),
    ]
    DEFAULT_CSS = """
    #col-scan { height: 1; padding: 0 1; background: $surface; }
    #col-scan-label { width: auto; padding-right: 1; text-style: bold; }
    #col-receipt { width: 20; height: 1; border: none; padding: 0 1; background: $panel; }
    #col-receipt:focus { background: $primary-darken-2; }
    #col-scan-hint { width: 1fr; padding-left: 1; color: $text-muted; }
    #col-result { height: auto; padding: 0 1; margin-top: 1; }
    #col-message { height: auto; min-height: 1; padding: 0 1; color: $success; }
    #col-message.-error { color: $warning; }
    #col-body { height: 1fr; padding: 0 1; }
    #col-details { height: auto; margin-bottom: 1; }
    #col-checks { height: auto; }
    #col-checks Static { height: auto; }
    .col-field { height: 1; padding-left: 5; }
    .col-field Label { width: auto; padding-right: 1; color: $text-muted; }
    .col-field Input { width: 22; height: 1; border: none; padding: 0 1; background: $panel;
                       margin-right: 2; }
    .col-field Input:focus { background: $primary-darken-2; }
    #col-hint { height: auto; color: $text-muted; margin-top: 1; }
    """

    def __init__(self, code: str = "") -> None:
        super().__init__()
        self.code = code
        self.case: Case | None = None
        self.busy = False
        self.reset_checks()

    def reset_checks(self) -> None:
        self.identity = False
        self.collector = "applicant"
        self.authorisation = False
        self.former = ""
        self.card: CardCheck | None = None
        self.card_error = ""

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        with Horizontal(id="col-scan"):
            yield Static(_("Receipt"), id="col-scan-label", markup=False)
            yield Input(id="col-receipt", max_length=40)
            yield Static(_("type or scan, Enter · F2 a new receipt"), id="col-scan-hint")
        yield Static(id="col-result")
        yield Static(id="col-message", markup=False)
        with VerticalScroll(id="col-body"):
            yield Static(id="col-details")
            with Vertical(id="col-checks"):
                yield Static(id="col-identity")
                yield Static(id="col-collector")
                with Horizontal(id="col-rep", classes="col-field"):
                    yield Label(_("Name"))
                    yield Input(id="col-rep-name", max_length=120)
                    yield Label(_("Document"))
                    yield Input(id="col-rep-doc", max_length=24)
                yield Static(id="col-authorisation")
                yield Static(id="col-former")
                with Horizontal(id="col-police", classes="col-field"):
                    yield Label(_("Police loss report"))
                    yield Input(id="col-police-ref", max_length=60)
                yield Static(id="col-newcard")
            yield Static(id="col-hint", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#col-receipt", Input).placeholder = _("14 digits")
        self.show()
        if self.code:
            self.look_up(self.code)
        else:
            self.query_one("#col-receipt", Input).focus()

    @property
    def lang(self) -> str:
        return self.clerk.language

    @property
    def ready(self) -> bool:
        return self.case is not None and self.case.status == "ready" and self.case.lookup.ready

    # -- scanning and typing ---------------------------------------------------------------------
    def route_scan(self, code: str) -> None:
        self.look_up(code)

    def look_up(self, code: str) -> None:
        from clerk.domain.collection import open_receipt

        if self.busy:
            return
        self.code = code
        field = self.query_one("#col-receipt", Input)
        field.value = code
        self.busy = True
        self.say(_("Looking the receipt up…"), error=False)
        clerk = self.clerk

        def failed(message: str) -> None:
            self.busy = False
            self.case = None
            self.reset_checks()
            self.show(refused=message)
            field.focus()

        self.call_service(
            open_receipt, clerk.ctx, clerk.actor, code, on_done=self.opened, on_error=failed
        )

    def opened(self, case: Case, message: str = "") -> None:
        self.busy = False
        if self.case is None or self.case.application_id != case.application_id:
            self.reset_checks()
        self.case = case
        self.show(message=message)
        self.set_focus(None)  # the letter keys act on the case now

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.input.id
        if name == "col-receipt":
            if event.value.strip():
                self.look_up(event.value)
            return
        if name == "col-rep-name":
            self.query_one("#col-rep-doc", Input).focus()
            return
        self.set_focus(None)
        self.show()

    # -- showing ---------------------------------------------------------------------------------
    def say(self, message: str, *, error: bool = True) -> None:
        widget = self.query_one("#col-message", Static)
        widget.update(message)
        widget.set_class(error and bool(message), "-error")

    def show(self, *, message: str = "", refused: str = "") -> None:
        case = self.case
        result = self.query_one("#col-result", Static)
        if case is None:
            if refused:
                result.update(Text("✗ " + _("Receipt not accepted"), style="bold red"))
            else:
                result.update(Text(_("Scan the receipt or type its number."), style="bold"))
            self.say(refused)
        else:
            result.update(self._result_line(case))
            self.say(message or case.lookup.message, error=not message and not case.lookup.ready)
        self.query_one("#col-details", Static).update(self._details(case) if case else "")
        self.query_one("#col-details").display = case is not None
        checks = self.query_one("#col-checks")
        checks.display = self.ready
        if self.ready:
            self._show_checks(case)
        self.query_one("#col-hint", Static).update(self._hint())
        self.refresh_bindings()

    def _result_line(self, case: Case) -> Text:
        look = case.lookup
        line = Text()
        line.append(look.name or "—", style="bold")
        style = STATUS_STYLE.get(look.status, "bold")
        if look.ready:
            line.append("  →  ")
            counter = look.counter
            text = _("Counter {n}").format(n=counter) if counter is not None else _("no counter")
            line.append(text, style=style)
        else:
            from clerk.domain.collection import status_label

            line.append("  ·  ")
            line.append(status_label(look.status).upper(), style=style)
        return line

    def _details(self, case: Case) -> Table:
        table = Table.grid(padding=(0, 1))
        for _i in range(2):
            table.add_column(style="dim", no_wrap=True)
            table.add_column(ratio=1)
        born = case.date_of_birth.isoformat() if case.date_of_birth else "—"
        if case.age is not None:
            born += " (" + _("age {n}").format(n=case.age) + ")"
        table.add_row(_("Application"), case.number, _("Receipt"), case.lookup.receipt)
        table.add_row(
            _("Case"),
            f"{case_label(case.case)} · {service_label(case.service_level)}",
            _("ID number"),
            case.id_number,
        )
        table.add_row(_("Born"), born, _("Lodged"), str(case.lodged_on or "—"))
        table.add_row(
            _("Promised"), str(case.promised_on or "—"), _("Ready"), str(case.ready_on or "—")
        )
        if case.minor or case.guardian_name:
            guardian = f"{case.guardian_name} · {case.guardian_id_number or '—'}"
            if case.guardian_relationship:
                guardian += f" ({_(case.guardian_relationship)})"
            table.add_row(_("Guardian"), guardian, "", "")
        if case.handed is not None:
            h = case.handed
            from clerk.domain.clock import to_local

            when = f"{to_local(h.collected_at, self.clerk.ctx.tz):%Y-%m-%d %H:%M}"
            who = _(COLLECTOR_LABELS.get(h.collector, h.collector))
            if h.representative_name:
                who += f" · {h.representative_name} {h.representative_id_number}"
            table.add_row(
                _("Collected"),
                _("{when} at counter {n} by {clerk}").format(
                    when=when, n=h.counter if h.counter is not None else "—", clerk=h.clerk
                ),
                _("By"),
                who,
            )
            table.add_row(
                _("Former card"), _(FORMER_OUTCOMES.get(h.former_card, h.former_card)), "", ""
            )
        return table

    def _mark(self, done: bool, text: str, key: str) -> Text:
        line = Text(no_wrap=False)
        line.append(f"{key:<6}", style="bold")
        line.append(YES if done else NO, style="bold green" if done else "bold yellow")
        line.append(" " + text)
        return line

    def _show_checks(self, case: Case) -> None:
        self.query_one("#col-identity", Static).update(
            self._mark(
                self.identity,
                _("Identity checked: the person and their document match the record"),
                "I",
            )
        )
        who = Text()
        who.append(f"{'R':<6}", style="bold")
        who.append(_("Collected by: {who}").format(who=_(COLLECTOR_LABELS[self.collector])))
        if case.minor:
            who.append("  " + _("(a minor: only the parent or guardian on record)"), style="yellow")
        self.query_one("#col-collector", Static).update(who)
        self.query_one("#col-rep").display = self.collector != "applicant"
        auth = self.query_one("#col-authorisation", Static)
        auth.display = self.collector == "representative"
        auth.update(
            self._mark(
                self.authorisation,
                _("The authorisation on the receipt is filled in and signed; the receipt is kept"),
                "A",
            )
        )
        self.query_one("#col-former", Static).update(self._former_line(case))
        self.query_one("#col-police").display = self.former == "not-presented"
        self.query_one("#col-newcard", Static).update(self._card_line(case))

    def _former_line(self, case: Case) -> Text:
        card = case.former_card
        line = Text()
        if case.former_card_rule == "not-required":
            line.append(f"{'':<6}")
            line.append(YES + " ", style="bold green")
            text = {
                "declared-lost": _("Former card: declared lost at lodging (nothing to hand in)"),
                "no-card": _("Former card: none on record (nothing to hand in)"),
            }.get(case.former_card_reason, _("Former card: nothing to hand in"))
            line.append(text)
            return line
        expiry = card.expires_on.isoformat() if card and card.expires_on else _("no expiry")
        described = _("Former card ({version}, expires {day})").format(
            version=card.version if card else "—", day=expiry
        )
        if case.former_card_rule == "optional":
            line.append(f"{'H':<6}", style="bold")
            done = self.former == "handed-in"
            line.append(YES if done else OPTIONAL, style="bold green" if done else "")
            line.append(" " + described + ": ")
            line.append(_("expired; cancelled if it is handed in") if not done else _("handed in"))
            return line
        line.append(f"{'H/L':<6}", style="bold")
        if self.former == "handed-in":
            line.append(YES, style="bold green")
            line.append(" " + described + ": " + _("handed in, cancelled at the hand-over"))
        elif self.former == "not-presented":
            paid = case.surcharge_receipt
            line.append(YES if paid else NO, style="bold green" if paid else "bold yellow")
            line.append(" " + described + ": " + _("cannot be presented") + " · ")
            if paid:
                line.append(_("surcharge paid, receipt {n}").format(n=paid), style="green")
            else:
                due = mop(case.surcharge_avos)
                line.append(_("police report, then P pays {amount}").format(amount=due), "yellow")
        else:
            line.append(NO, style="bold yellow")
            line.append(" " + described + ": " + _("must be handed in (H), or L if it is lost"))
        return line

    def _card_line(self, case: Case) -> Text:
        line = Text()
        line.append(f"{'Ctrl+R':<7}", style="bold")
        check = self.card
        if self.card_error:
            line.append("✗ " + self.card_error, style="red")
        elif check is None:
            text = (
                _("New card: not read yet (personalised: serial {serial})").format(
                    serial=case.personalised_serial
                )
                if case.personalised_serial
                else _("New card: not read yet (no personalisation recorded)")
            )
            line.append(OPTIONAL + " " + text)
        elif check.ok:
            line.append(YES, style="bold green")
            text = (
                _("New card {serial}: the one personalised for this application")
                if check.verdict == "matches"
                else _("New card {serial}: matches the record (no personalisation recorded)")
            )
            line.append(" " + text.format(serial=check.serial))
        else:
            line.append("✗ ", style="bold red")
            fields = ", ".join(check.differences)
            text = _("New card {serial} is NOT this application's: do not hand it over").format(
                serial=check.serial
            )
            line.append(text + (f" ({fields})" if fields else ""), style="bold red")
        return line

    def _hint(self) -> str:
        if self.ready:
            return _("F9 hands the card over once every line is ticked · F2 a new receipt")
        return _("F2 a new receipt · F4 uncollected cards · Esc back")

    # -- keys ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        ready = self.ready and not self.busy
        case = self.case
        if action in ("identity", "collector", "read_card", "hand_over"):
            return ready
        if action == "authorisation":
            return ready and self.collector == "representative"
        if action == "former":
            if not ready or case is None:
                return False
            rule = case.former_card_rule
            return rule == "required" or (rule == "optional" and parameters[0] == "handed-in")
        if action == "pay":
            return (
                ready
                and case is not None
                and self.former == "not-presented"
                and not case.surcharge_receipt
            )
        if action == "batch":
            actor = self.clerk.actor
            return actor is not None and actor.is_supervisor
        return True

    def action_new_receipt(self) -> None:
        field = self.query_one("#col-receipt", Input)
        field.value = ""
        field.focus()

    def action_identity(self) -> None:
        self.identity = not self.identity
        self.show()

    def action_collector(self) -> None:
        self.collector = COLLECTORS[(COLLECTORS.index(self.collector) + 1) % len(COLLECTORS)]
        name = self.query_one("#col-rep-name", Input)
        document = self.query_one("#col-rep-doc", Input)
        document.value = ""
        name.value = self.case.guardian_name if self.collector == "guardian" and self.case else ""
        self.show()
        if self.collector != "applicant":
            (document if name.value else name).focus()

    def action_authorisation(self) -> None:
        self.authorisation = not self.authorisation
        self.show()

    def action_former(self, choice: str) -> None:
        self.former = "" if self.former == choice else choice
        self.show()
        if self.former == "not-presented":
            self.query_one("#col-police-ref", Input).focus()

    def action_pay(self) -> None:
        from clerk.domain.collection import payment_methods

        case = self.case
        if case is None:
            return
        report = self.query_one("#col-police-ref", Input).value
        if not report.strip():
            self.say(_("Type the reference of the police loss report."))
            self.query_one("#col-police-ref", Input).focus()
            return

        def ask(methods) -> None:
            self.app.push_screen(SurchargeModal(case, report, methods, self.lang), self.paid)

        self.call_service(payment_methods, self.clerk.ctx, on_done=ask, on_error=self.say)

    def paid(self, result: tuple[Paid, tuple[str, ...], str] | None) -> None:
        if result is None:
            return
        paid, warnings, error = result
        text = _("Surcharge paid: receipt {number}, change {change}.").format(
            number=paid.receipt_number, change=mop(paid.change_avos)
        )
        if error:
            text += " " + _("Not printed ({error}): print it again from the drawer.").format(
                error=error
            )
        warning = glyph_warning(warnings)
        if warning:
            self.notify(warning, severity="warning", timeout=15)
        self.reload(text)

    def reload(self, message: str = "") -> None:
        from clerk.domain.collection import reload_case

        clerk = self.clerk
        self.call_service(
            reload_case,
            clerk.ctx,
            clerk.actor,
            self.code,
            on_done=lambda case: self.opened(case, message),
            on_error=self.say,
        )

    def action_read_card(self) -> None:
        case = self.case
        if case is None or self.busy:
            return
        self.busy = True
        self.say(_("Reading the card…"), error=False)

        def done(check: CardCheck) -> None:
            self.busy = False
            self.card, self.card_error = check, ""
            self.show(message=" ")

        def failed(message: str) -> None:
            self.busy = False
            self.card, self.card_error = None, message
            self.show(message=" ")

        self.call_service(
            read_and_check, self.app, case.application_id, on_done=done, on_error=failed
        )

    def handover(self):
        from clerk.domain.collection import HandOver

        card = self.card
        return HandOver(
            identity_checked=self.identity,
            collector=self.collector,
            representative_name=self.query_one("#col-rep-name", Input).value,
            representative_id_number=self.query_one("#col-rep-doc", Input).value,
            authorisation_confirmed=self.authorisation,
            former_card=self.former,
            police_report=self.query_one("#col-police-ref", Input).value,
            card_serial=card.serial if card is not None and card.ok else "",
        )

    def action_hand_over(self) -> None:
        case = self.case
        if case is None or self.busy:
            return
        if self.card is not None and not self.card.ok:
            self.say(_("This card is not this application's: it is not handed over."))
            return
        self.busy = True
        self.say(_("Handing over…"), error=False)
        clerk = self.clerk

        def done(result: tuple[Collected, Case]) -> None:
            collected, fresh = result
            self.reset_checks()
            for name in ("#col-rep-name", "#col-rep-doc", "#col-police-ref"):
                self.query_one(name, Input).value = ""
            text = _("Handed over: application {number} is collected.").format(
                number=collected.application
            )
            if collected.receipt_kept:
                text += " " + _("Keep the original receipt with the authorisation.")
            self.opened(fresh, text)

        def failed(message: str) -> None:
            self.busy = False
            self.say(message)
            self.refresh_bindings()

        self.call_service(
            hand_over_then_reload,
            clerk.ctx,
            clerk.actor,
            case.application_id,
            self.handover(),
            self.code,
            on_done=done,
            on_error=failed,
        )

    def action_batch(self) -> None:
        self.app.push_screen(ReadyBatchScreen())

    def action_uncollected(self) -> None:
        self.app.push_screen(UncollectedScreen())

    def action_back(self) -> None:
        if isinstance(self.focused, Input) and self.case is not None:
            self.set_focus(None)
            return
        self.app.pop_screen()


# --- the supervisor's production batch ----------------------------------------------------------


class ReadyBatchScreen(ClerkScreen):
    """Receipts scanned one after another mark their cards ready (or in production, F6); the
    list below picks applications with Space, F9 marks the picked ones."""

    BINDINGS = [
        Binding("f6", "target", N_("Ready/production"), id="batch.target"),
        Binding("space", "pick", N_("Pick"), id="batch.pick"),
        Binding("f9", "mark_picked", N_("Mark picked"), id="batch.mark"),
        Binding("f2", "scan_field", N_("Receipt"), id="batch.receipt"),
        Binding("f5", "refresh", N_("Refresh"), id="batch.refresh"),
        Binding("escape", "back", N_("Back"), id="batch.back"),
    ]
    DEFAULT_CSS = """
    #batch-title { height: auto; padding: 0 1; text-style: bold; }
    #batch-scan { height: 1; padding: 0 1; }
    #batch-scan Static { width: auto; padding-right: 1; }
    #batch-input { width: 26; height: 1; border: none; padding: 0 1; background: $panel; }
    #batch-input:focus { background: $primary-darken-2; }
    #batch-log { height: 6; margin: 1 1 0 1; }
    #batch-list-title { height: 1; padding: 0 1; color: $text-muted; }
    #batch-list { height: 1fr; margin: 0 1; }
    #batch-message { height: auto; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.target = "ready"
        self.picked: set[str] = set()
        self.scanned = 0

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        yield Static(id="batch-title", markup=False)
        with Horizontal(id="batch-scan"):
            yield Static(_("Receipt"), markup=False)
            yield Input(id="batch-input", max_length=40)
        yield DataTable(id="batch-log", cursor_type="none", zebra_stripes=True)
        yield Static(id="batch-list-title", markup=False)
        yield DataTable(id="batch-list", cursor_type="row", zebra_stripes=True)
        yield Static(id="batch-message", classes="message", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        log = self.query_one("#batch-log", DataTable)
        log.add_column("#", key="n", width=3)
        log.add_column(_("Code"), key="code", width=14)
        log.add_column(_("Application"), key="app", width=12)
        log.add_column(_("Result"), key="result")
        table = self.query_one("#batch-list", DataTable)
        table.add_column(" ", key="pick", width=1)
        table.add_column(_("Application"), key="app", width=12)
        table.add_column(_("Receipt"), key="receipt", width=14)
        table.add_column(_("Name"), key="name", width=26)
        table.add_column(_("Promised"), key="promised", width=10)
        self.query_one("#batch-input", Input).placeholder = _("scan or type, Enter")
        self.show_target()
        self.query_one("#batch-input", Input).focus()

    @property
    def source(self) -> str:
        return "lodged" if self.target == "in-production" else "in-production"

    def show_target(self) -> None:
        from clerk.domain.collection import status_label

        self.query_one("#batch-title", Static).update(
            _("Scan each receipt: its application becomes {target} (F6 switches)").format(
                target=status_label(self.target)
            )
        )
        self.query_one("#batch-list-title", Static).update(
            _("Applications {status}: Space picks, F9 marks the picked ones {target}").format(
                status=status_label(self.source), target=status_label(self.target)
            )
        )
        self.action_refresh()

    def action_refresh(self) -> None:
        from clerk.domain.collection import list_applications

        clerk = self.clerk
        self.call_service(
            list_applications,
            clerk.ctx,
            clerk.actor,
            self.source,
            on_done=self.show_list,
            on_error=self.say,
            group="refresh",
        )

    def show_list(self, rows) -> None:
        table = self.query_one("#batch-list", DataTable)
        table.clear()
        for row in rows:
            table.add_row(
                YES if row.number in self.picked else "",
                row.number,
                row.receipt or "—",
                row.name,
                row.promised_on.isoformat() if row.promised_on else "—",
                key=row.number,
            )
        self.picked &= {row.number for row in rows}

    def say(self, message: str, *, error: bool = True) -> None:
        widget = self.query_one("#batch-message", Static)
        widget.update(message)
        widget.set_class(error and bool(message), "-error")

    def route_scan(self, code: str) -> None:
        self.mark([code], source="scan")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        code = event.value.strip()
        event.input.value = ""
        if code:
            self.mark([code], source="typed")

    def mark(self, codes: list[str], *, source: str) -> None:
        from clerk.domain.collection import mark_in_production, mark_ready

        fn = mark_ready if self.target == "ready" else mark_in_production
        clerk = self.clerk
        self.call_service(
            fn, clerk.ctx, clerk.actor, codes, source=source, on_done=self.marked, on_error=self.say
        )

    def marked(self, lines: list[BatchLine]) -> None:
        from clerk.domain.collection import status_label

        log = self.query_one("#batch-log", DataTable)
        for line in lines:
            self.scanned += 1
            result = (
                Text(YES + " " + status_label(line.status), style="green")
                if line.changed
                else Text(line.message, style="yellow" if line.ok else "bold red")
            )
            log.add_row(str(self.scanned), line.code, line.application or "—", result)
            self.picked.discard(line.application)
        if log.row_count:
            log.move_cursor(row=log.row_count - 1)
            log.scroll_end(animate=False)
        changed = sum(line.changed for line in lines)
        failed = sum(not line.ok for line in lines)
        text = _("{n} marked {target}.").format(n=changed, target=status_label(self.target))
        if failed:
            text += " " + _("{n} not matched: see the list above.").format(n=failed)
        self.say(text, error=bool(failed))
        self.action_refresh()

    def action_target(self) -> None:
        self.target = "in-production" if self.target == "ready" else "ready"
        self.picked.clear()
        self.show_target()

    def action_pick(self) -> None:
        table = self.query_one("#batch-list", DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key in self.picked:
            self.picked.discard(key)
        else:
            self.picked.add(key)
        table.update_cell(key, "pick", YES if key in self.picked else "")

    def action_mark_picked(self) -> None:
        if not self.picked:
            self.say(_("Pick applications in the list with Space first."))
            return
        self.mark(sorted(self.picked), source="list")

    def action_scan_field(self) -> None:
        self.query_one("#batch-input", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            return self.focused is self.query_one("#batch-list", DataTable)
        return True

    def on_descendant_focus(self, _event) -> None:
        self.refresh_bindings()

    def action_back(self) -> None:
        self.app.pop_screen()


# --- uncollected cards --------------------------------------------------------------------------


class UncollectedScreen(ClerkScreen):
    """Ready cards not collected after `[collection] uncollected_after_days`, longest first;
    Enter opens one in the collection view."""

    BINDINGS = [
        Binding("f5", "refresh", N_("Refresh"), id="uncollected.refresh"),
        Binding("escape", "back", N_("Back"), id="uncollected.back"),
    ]
    DEFAULT_CSS = """
    #unc-title { height: auto; padding: 0 1; text-style: bold; }
    #unc-table { height: 1fr; margin: 0 1; }
    #unc-message { height: auto; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        yield Static(id="unc-title", markup=False)
        yield DataTable(id="unc-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="unc-message", classes="message", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        from clerk.domain.collection import settings

        days = settings(self.clerk.ctx).uncollected_after_days
        self.query_one("#unc-title", Static).update(
            _("Cards ready for {n} days or more and not collected (Enter opens one)").format(n=days)
        )
        table = self.query_one("#unc-table", DataTable)
        table.add_column(_("Days"), key="days", width=4)
        table.add_column(_("Ready"), key="ready", width=10)
        table.add_column(_("Name"), key="name", width=24)
        table.add_column(_("Receipt"), key="receipt", width=14)
        table.add_column(_("Phone"), key="phone", width=12)
        self.action_refresh()

    def action_refresh(self) -> None:
        from clerk.domain.collection import uncollected

        clerk = self.clerk
        self.call_service(
            uncollected, clerk.ctx, clerk.actor, on_done=self.show_rows, on_error=self.say
        )

    def show_rows(self, rows) -> None:
        table = self.query_one("#unc-table", DataTable)
        table.clear()
        for row in rows:
            table.add_row(
                str(row.days_waiting if row.days_waiting is not None else "—"),
                row.ready_on.isoformat() if row.ready_on else "—",
                row.name,
                row.receipt or "—",
                row.phone or "—",
                key=row.receipt or row.number,
            )
        self.say(
            _("{n} cards wait to be collected.").format(n=len(rows)) if rows else _("None."),
            error=False,
        )
        if rows:
            table.focus()

    def say(self, message: str, *, error: bool = True) -> None:
        widget = self.query_one("#unc-message", Static)
        widget.update(message)
        widget.set_class(error and bool(message), "-error")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        code = str(event.row_key.value)
        self.app.push_screen(CollectionScreen(code))

    def action_back(self) -> None:
        self.app.pop_screen()
