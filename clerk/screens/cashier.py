"""The payment of one lodged application: fee lines, total, tenders, change, exemption, receipt.

`CashierScreen(application_id)` is pushed by the counter flow after lodging (or from the drawer
screen by application number). Keys (ids in brackets, remappable in [keymap]):
- 1–6 choose the payment method of the tender [cashier.method_1 … cashier.method_6]; S splits
  the payment between two methods [cashier.split]; Enter in the last field, or Enter, pays
  [cashier.pay]. Cash asks for the amount tendered and shows the change; the other methods ask
  for the terminal's reference.
- X a fee exemption: the supervisor approves (F2) or refuses (F3) at the counter
  [cashier.exemption, cashier.approve, cashier.refuse].
- P prints the receipt again (a COPY) [cashier.print]; V voids or refunds it with a
  supervisor's password [cashier.void], or F9 in that dialog asks the supervisor's desk instead
  [cashier.ask_desk] (once approved, the reversal goes into the clerk's drawer); D the cash
  drawer [cashier.drawer]; Escape back [cashier.back].
The screen holds no rules: the amounts, the change and every refusal come from
`clerk.domain.cashier`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from clerk.errors import ClerkError
from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal, ClerkScreen
from clerk.widgets.header import ClerkHeader
from clerk.widgets.intake_fields import case_label, service_label

if TYPE_CHECKING:
    from clerk.domain.cashier import Due, MethodView, Paid, TenderInput

MAX_METHODS = 6
EXEMPTION_LABELS = {
    "unemployment": N_("Unemployment"),
    "poverty": N_("Poverty (IAS beneficiary)"),
    "disability": N_("Disability"),
}
STATUS_LABELS = {"valid": N_("valid"), "void": N_("void"), "refunded": N_("refunded")}


def mop(avos: int) -> str:
    from clerk.domain.policy import format_avos

    return f"MOP {format_avos(avos)}"


def pay_then_print(ctx, actor, app_id: int, tenders: list[TenderInput], total: int):
    """Take the payment, then print its receipt: (paid, where printed, warnings, print error).
    A printer failure keeps the receipt: the clerk prints it again with P."""
    from clerk.domain import cashier

    paid = cashier.take_payment(ctx, actor, app_id, tenders, expected_total_avos=total)
    try:
        printed = cashier.print_receipt(ctx, actor, paid.receipt_number)
    except ClerkError as exc:
        return paid, "", (), exc.message
    return paid, printed.where, printed.warnings, ""


def change_text(
    total_avos: int, tenders: Callable[[], list[TenderInput]], methods: Iterable[MethodView]
) -> str:
    """The change line as the clerk types: the amount due, the change, or what is wrong (the
    domain's own rule, `settle`). `tenders` reads the typed fields (it may raise `UsageError`)."""
    from clerk.domain.cashier import settle

    try:
        typed = tenders()
        if not typed:
            return _("Due: {amount}").format(amount=mop(total_avos))
        settled = settle(total_avos, typed, {m.code: m for m in methods})
    except ClerkError as exc:
        return exc.message
    return _("Change: {amount}").format(amount=mop(settled.change_avos))


def asked_text(request) -> str:
    """What the clerk is told once the supervisor's desk was asked to reverse a receipt
    (`request`: the `clerk.domain.approvals.Request`)."""
    if request.kind == "refund":
        text = _(
            "Asked the desk to refund receipt {number}: once a supervisor approves, the refund "
            "goes into your drawer."
        )
    else:
        text = _(
            "Asked the desk to void receipt {number}: once a supervisor approves, it is voided "
            "into your drawer."
        )
    return text.format(number=request.subject)


def glyph_warning(warnings: tuple[str, ...]) -> str:
    if not warnings:
        return ""
    return _(
        "Some characters of the Chinese name are not in the printer's font: the Latin name is "
        "printed large. Check the name with the applicant."
    )


# --- supervisor modals ----------------------------------------------------------------------


class SupervisorModal(ClerkModal):
    """A supervisor types their user name and password at the clerk's counter (for one thing),
    with a reason; subclasses add a choice list above and say what is approved."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="cashier.cancel")]
    DEFAULT_CSS = """
    SupervisorModal { align: center middle; }
    .sup-box { width: 76; max-width: 100%; height: auto; max-height: 100%;
               border: heavy $warning; background: $surface; padding: 0 1; }
    .sup-box Input { border: none; height: 1; background: $panel; padding: 0 1; }
    .sup-box Input:focus { border: none; background: $primary-darken-2; }
    .sup-box OptionList { height: auto; max-height: 6; border: none; }
    .sup-title { text-style: bold; margin-bottom: 1; }
    .sup-detail { color: $text-muted; height: auto; }
    """
    last_field = ("sup-reason", N_("Reason (kept with the approval)"))
    hint = ""  # a line under the title (another way than the supervisor's password)

    def __init__(self, title: str, choices: list[tuple[str, str]] | None = None):
        super().__init__()
        self.title = title
        self.choices = choices or []  # (code, label) of the list, when there is one
        self.fields = ("sup-user", "sup-password", self.last_field[0])

    def compose(self) -> ComposeResult:
        with Vertical(classes="sup-box"):
            yield Static(self.title, classes="sup-title", markup=False)
            if self.hint:
                yield Static(_(self.hint), id="sup-hint", classes="sup-detail", markup=False)
            if self.choices:
                yield OptionList(*[Option(label, id=code) for code, label in self.choices])
                yield Static(id="sup-detail", classes="sup-detail", markup=False)
            yield Label(_("Supervisor"))
            yield Input(id="sup-user", max_length=32)
            yield Label(_("Password"))
            yield Input(id="sup-password", password=True, max_length=128)
            yield Label(_(self.last_field[1]))
            yield Input(id=self.last_field[0], max_length=200)
            yield Static(id="sup-message", classes="message", markup=False)

    def on_mount(self) -> None:
        if self.choices:
            options = self.query_one(OptionList)
            options.highlighted = self.initial_choice()
            options.focus()
        else:
            self.query_one("#sup-user", Input).focus()

    def initial_choice(self) -> int:
        return 0

    @property
    def choice(self) -> str:
        option = self.query_one(OptionList).highlighted_option
        return option.id if option is not None and option.id else self.choices[0][0]

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.query_one("#sup-detail", Static).update(self.detail(event.option.id or ""))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#sup-user", Input).focus()

    def detail(self, code: str) -> str:
        return ""

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        index = self.fields.index(event.input.id or "")
        if index < len(self.fields) - 1:
            self.query_one(f"#{self.fields[index + 1]}", Input).focus()
        elif self.enter_decides:
            self.submit(True)
        else:
            self.query_one("#sup-message", Static).update(self.decide_hint())

    enter_decides = True  # Enter in the last field submits; else the modal's keys decide

    def decide_hint(self) -> str:
        return ""

    def run_decision(self, fn, *args: Any, **kwargs: Any) -> None:
        self.query_one("#sup-message", Static).update(_("Checking…"))
        self.call_service(fn, *args, on_done=self.dismiss, on_error=self.refused, **kwargs)

    def refused(self, message: str) -> None:
        password = self.query_one("#sup-password", Input)
        password.value = ""
        password.focus()
        self.query_one("#sup-message", Static).update(message)

    def submit(self, approve: bool) -> None:  # pragma: no cover - every modal overrides it
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExemptionModal(SupervisorModal):
    """The clerk marks the claim (the kind); the supervisor approves (F2) or refuses (F3)."""

    BINDINGS = [
        Binding("f2", "decide(True)", N_("Approve"), id="cashier.approve", priority=True),
        Binding("f3", "decide(False)", N_("Refuse"), id="cashier.refuse", priority=True),
    ]

    def __init__(self, due: Due, lang: str):
        title = _("Fee exemption for {number}: the supervisor approves (F2) or refuses (F3)")
        choices = [(kind, _(label)) for kind, label in EXEMPTION_LABELS.items()]
        super().__init__(title.format(number=due.number), choices)
        self.due = due
        self.lang = lang

    def initial_choice(self) -> int:
        kinds = [code for code, _label in self.choices]
        claimed = self.due.exemption.kind or self.due.exemption.claimed
        return kinds.index(claimed) if claimed in kinds else 0

    def detail(self, code: str) -> str:
        titles = self.due.exemption.evidence.get(code, ())
        items = "\n".join(f"• {t.get(self.lang) or t['en']}" for t in titles)
        return _("Evidence to see:") + "\n" + items if items else ""

    enter_decides = False  # the supervisor says which: F2 approves, F3 refuses

    def decide_hint(self) -> str:
        return _("F2 approves, F3 refuses.")

    def action_decide(self, approve: bool) -> None:
        self.submit(approve)

    def submit(self, approve: bool) -> None:
        from clerk.domain.cashier import decide_exemption

        clerk = self.clerk
        self.run_decision(
            decide_exemption,
            clerk.ctx,
            clerk.actor,
            self.due.application_id,
            self.choice,
            self.value("sup-user"),
            self.value("sup-password"),
            approve=approve,
            reason=self.value("sup-reason"),
        )


class ReverseModal(SupervisorModal):
    """Void (today) or refund one receipt: a reason code, the supervisor's password for this
    receipt, and the terminal's reference when a card paid. Or F9: the clerk asks the
    supervisor's desk instead (the dialog closes with the `clerk.domain.approvals.Request`;
    with `announce_asked` it also tells the clerk, for screens that do not)."""

    BINDINGS = [Binding("f9", "ask_desk", N_("Ask the desk"), id="cashier.ask_desk")]
    last_field = ("sup-terminal", N_("Terminal reference of the card refund (card payments)"))
    hint = N_(
        "The supervisor types their name and password here. Or choose the reason and press "
        "F9: the supervisor's desk decides."
    )

    def __init__(self, number: str, ctx, *, announce_asked: bool = True):
        from clerk.domain.cashier import reason_label, settings

        found = settings(ctx)
        choices = [
            (f"{kind}:{code}", f"{label} · {reason_label(code)}")
            for kind, label in (("void", _("Void")), ("refund", _("Refund")))
            for code in found.reasons(kind)
        ]
        super().__init__(_("Void or refund receipt {number}").format(number=number), choices)
        self.number = number
        self.announce_asked = announce_asked
        self._asking = False

    def submit(self, approve: bool) -> None:
        from clerk.domain.cashier import reverse_receipt

        kind, _sep, reason = self.choice.partition(":")
        clerk = self.clerk
        self.run_decision(
            reverse_receipt,
            clerk.ctx,
            clerk.actor,
            self.number,
            kind,
            reason,
            self.value("sup-user"),
            self.value("sup-password"),
            terminal_reference=self.value("sup-terminal"),
        )

    def action_ask_desk(self) -> None:
        """F9: ask the supervisor's desk to void or refund the receipt (no password here)."""
        from clerk.domain.approvals import request_reversal

        if self._asking:
            return
        self._asking = True
        kind, _sep, reason = self.choice.partition(":")
        clerk = self.clerk
        self.query_one("#sup-message", Static).update(_("Asking the supervisor's desk…"))
        self.call_service(
            request_reversal,
            clerk.ctx,
            clerk.actor,
            self.number,
            kind,
            reason,
            terminal_reference=self.value("sup-terminal"),
            on_done=self.asked,
            on_error=self.not_asked,
        )

    def asked(self, request) -> None:
        if self.announce_asked:
            self.notify(asked_text(request), timeout=8)
        self.dismiss(request)

    def not_asked(self, message: str) -> None:
        self._asking = False
        self.query_one("#sup-message", Static).update(message)


# --- the payment screen -------------------------------------------------------------------------


def method_binding(n: int) -> Binding:
    return Binding(str(n), f"method({n - 1})", N_("Method"), show=n == 1, id=f"cashier.method_{n}")


class TenderRow(Horizontal):
    """One tender: the method, its amount (typed for the first of a split, else shown) and the
    amount tendered (cash) or the terminal's reference."""

    DEFAULT_CSS = """
    TenderRow { height: 1; margin-bottom: 1; }
    TenderRow .method { width: 22; }
    TenderRow .field-label { width: auto; padding: 0 1; color: $text-muted; }
    TenderRow Input { width: 16; border: none; height: 1; background: $panel; padding: 0 1; }
    TenderRow Input:focus { border: none; background: $primary-darken-2; }
    TenderRow .shown { width: 14; }
    """

    def __init__(self, index: int):
        super().__init__(id=f"tender-{index}")
        self.index = index
        self.method: MethodView | None = None

    def compose(self) -> ComposeResult:
        yield Static(_("(choose 1–6)"), classes="method", markup=False)
        yield Static(_("Amount"), classes="field-label")
        yield Input(id=f"amount-{self.index}", max_length=12)
        yield Static(id=f"shown-{self.index}", classes="shown", markup=False)
        yield Static("", classes="field-label detail-label", markup=False)
        yield Input(id=f"detail-{self.index}", max_length=40)

    def show_amount(self, split: bool, amount: str) -> None:
        """Show the amount as typed (first tender of a split) or as computed."""
        typed = split and self.index == 1
        field = self.query_one(f"#amount-{self.index}", Input)
        field.display = field.can_focus = typed
        shown = self.query_one(f"#shown-{self.index}", Static)
        shown.display = not typed
        shown.update(amount)
        self.query_one(f"#detail-{self.index}", Input).display = self.method is not None

    def set_method(self, method: MethodView | None, lang: str) -> None:
        self.method = method
        text = method.label_for(lang) if method else _("(choose 1–6)")
        self.query_one(".method", Static).update(text)
        detail = self.query_one(f"#detail-{self.index}", Input)
        detail.display = method is not None
        detail.value = ""
        label = "" if method is None else _("Tendered") if method.is_cash else _("Reference")
        self.query_one(".detail-label", Static).update(label)


class CashierScreen(ClerkScreen):
    BINDINGS = [
        *(method_binding(n) for n in range(1, MAX_METHODS + 1)),
        Binding("s", "split", N_("Split"), id="cashier.split"),
        Binding("enter", "pay", N_("Pay"), id="cashier.pay"),
        Binding("x", "exemption", N_("Exemption"), id="cashier.exemption"),
        Binding("p", "print", N_("Print again"), id="cashier.print"),
        Binding("v", "void", N_("Void/refund"), id="cashier.void"),
        Binding("d", "drawer", N_("Drawer"), id="cashier.drawer"),
        Binding("escape", "back", N_("Back"), id="cashier.back"),
    ]
    DEFAULT_CSS = """
    #pay { padding: 0 1; height: 1fr; }
    #pay-head { height: auto; text-style: bold; }
    #pay-sub { height: auto; color: $text-muted; margin-bottom: 1; }
    #pay-lines { height: auto; }
    #pay-exemption { height: auto; color: $accent; }
    #pay-methods { height: auto; color: $text-muted; margin: 1 0; }
    #pay-change { height: auto; text-style: bold; }
    #pay-receipt { height: auto; color: $success; text-style: bold; }
    #pay-message { height: auto; }
    """

    AUTO_FOCUS = None  # the digit keys choose the method before any field has the focus

    def __init__(self, application_id: int):
        super().__init__()
        self.application_id = application_id
        self.due: Due | None = None
        self.split = False
        self.busy = False

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        with VerticalScroll(id="pay"):
            yield Static(id="pay-head", markup=False)
            yield Static(id="pay-sub", markup=False)
            yield Static(id="pay-lines")
            yield Static(id="pay-exemption", markup=False)
            yield Static(id="pay-methods", markup=False)
            yield TenderRow(1)
            yield TenderRow(2)
            yield Static(id="pay-change", markup=False)
            yield Static(id="pay-receipt", markup=False)
            yield Static(id="pay-message", classes="message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tender-2", TenderRow).display = False
        self.load()

    # -- loading ---------------------------------------------------------------------------------
    def load(self, message: str = "") -> None:
        from clerk.domain.cashier import payment_due

        clerk = self.clerk
        self.call_service(
            payment_due,
            clerk.ctx,
            clerk.actor,
            self.application_id,
            on_done=lambda due: self.show(due, message),
            on_error=self.say,
        )

    @property
    def lang(self) -> str:
        return self.clerk.language

    def show(self, due: Due, message: str = "") -> None:
        self.due = due
        lang = self.lang
        names = "  ".join(part for part in (due.name_zh, due.name_latin) if part)
        self.query_one("#pay-head", Static).update(
            _("Payment · {number} · {names} · {id}").format(
                number=due.number, names=names, id=due.id_number
            )
        )
        collect = due.promised_on.isoformat() if due.promised_on else "—"
        self.query_one("#pay-sub", Static).update(
            _("{case} · {service} · collection from {day}").format(
                case=case_label(due.case), service=service_label(due.service_level), day=collect
            )
        )
        table = Table.grid(padding=(0, 2))
        table.add_column(ratio=1)
        table.add_column(justify="right")
        for line in due.lines:
            style = "italic" if line.waived else ""
            table.add_row(Text(line.label_for(lang), style=style), Text(mop(line.amount_avos)))
        table.add_row(Text(_("Total"), style="bold"), Text(mop(due.total_avos), style="bold"))
        self.query_one("#pay-lines", Static).update(table)
        self.query_one("#pay-exemption", Static).update(self.exemption_text(due))
        self.query_one("#pay-methods", Static).update(
            "  ".join(
                f"{n}·{m.label_for(lang)}" for n, m in enumerate(due.methods[:MAX_METHODS], 1)
            )
            + "   "
            + _("S split · Enter pays · X exemption")
        )
        paid = due.receipt is not None
        self.query_one("#pay-methods", Static).display = not paid and due.total_avos > 0
        for row in self.query(TenderRow):
            row.set_method(None, lang)
        if paid:
            self.query_one("#pay-receipt", Static).update(
                _(
                    "Paid · receipt {number} ({status}) · P prints a copy, V voids or refunds"
                ).format(
                    number=due.receipt.number, status=_(STATUS_LABELS.get(due.receipt.status, ""))
                )
            )
            self.query_one("#pay-change", Static).update("")
        else:
            self.query_one("#pay-receipt", Static).update(
                _("Nothing to pay: Enter issues the receipt.") if due.total_avos == 0 else ""
            )
            self.query_one("#amount-1", Input).value = ""
        self.layout_tenders()
        self.say(message, error=False)
        self.refresh_bindings()

    def exemption_text(self, due: Due) -> str:
        ex = due.exemption
        if ex.status == "approved":
            return _("Exemption ({kind}) approved by {who}.").format(
                kind=_(EXEMPTION_LABELS[ex.kind]), who=ex.decided_by
            )
        if ex.status == "refused":
            return _("Exemption ({kind}) refused by {who}: the fees are due.").format(
                kind=_(EXEMPTION_LABELS[ex.kind]), who=ex.decided_by
            )
        if ex.claimed:
            return _("Exemption claimed ({kind}): X for the supervisor's decision.").format(
                kind=_(EXEMPTION_LABELS[ex.claimed])
            )
        return ""

    @staticmethod
    def amount_text(avos: int) -> str:
        from clerk.domain.policy import format_avos

        return format_avos(avos)

    def say(self, message: str, error: bool = True) -> None:
        widget = self.query_one("#pay-message", Static)
        widget.update(message)
        widget.set_class(error and bool(message), "error")

    # -- tenders ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        due = self.due
        paid = due is not None and due.receipt is not None
        if action in ("method", "split", "pay", "exemption"):
            return due is not None and not paid and not self.busy
        if action in ("print", "void"):
            return paid and not self.busy
        return True

    def active_row(self) -> TenderRow:
        first = self.query_one("#tender-1", TenderRow)
        if self.split and first.method is not None:
            return self.query_one("#tender-2", TenderRow)
        return first

    def action_method(self, index: int) -> None:
        if self.due is None or index >= len(self.due.methods):
            return
        row = self.active_row()
        method = self.due.methods[index]
        other = self.query_one("#tender-1", TenderRow) if row.index == 2 else None
        if other is not None and other.method is not None and other.method.code == method.code:
            self.say(_("A split uses two different methods."))
            return
        row.set_method(method, self.lang)
        self.layout_tenders()
        target = f"#amount-{row.index}" if self.split and row.index == 1 else f"#detail-{row.index}"
        self.query_one(target, Input).focus()

    def action_split(self) -> None:
        self.split = not self.split
        self.query_one("#tender-2", TenderRow).set_method(None, self.lang)
        self.layout_tenders()
        if self.split:
            self.query_one("#amount-1", Input).focus()

    def tenders(self) -> list[TenderInput]:
        """What the clerk typed, as tenders (a `UsageError` for an amount that is not one)."""
        from clerk.domain.cashier import TenderInput, parse_amount

        rows = [self.query_one("#tender-1", TenderRow)]
        if self.split:
            rows.append(self.query_one("#tender-2", TenderRow))
        tenders = []
        for row in rows:
            if row.method is None:
                continue
            amount = None
            if row.index == 1 and self.split:
                amount = parse_amount(self.query_one("#amount-1", Input).value, _("Amount"))
            detail = self.query_one(f"#detail-{row.index}", Input).value
            if row.method.is_cash:
                tendered = parse_amount(detail, _("Tendered")) if detail.strip() else None
                tenders.append(TenderInput(row.method.code, amount, tendered))
            else:
                tenders.append(TenderInput(row.method.code, amount, None, detail))
        return tenders

    def layout_tenders(self) -> None:
        """Which tender rows and fields show, the amounts computed, and the change."""
        due = self.due
        open_ = due is not None and due.receipt is None and due.total_avos > 0
        first, second = (
            self.query_one("#tender-1", TenderRow),
            self.query_one("#tender-2", TenderRow),
        )
        first.display = open_
        second.display = open_ and self.split
        first.disabled, second.disabled = not first.display, not second.display  # no focus
        if not open_:
            self.query_one("#pay-change", Static).update("")
            return
        typed = self.typed_first_amount()
        rest = due.total_avos - typed if typed is not None else None
        first.show_amount(self.split, self.amount_text(due.total_avos))
        second.show_amount(self.split, self.amount_text(rest) if rest and rest > 0 else "—")
        self.preview()

    def typed_first_amount(self) -> int | None:
        from clerk.domain.cashier import parse_amount

        if not self.split:
            return None
        try:
            return parse_amount(self.query_one("#amount-1", Input).value)
        except ClerkError:
            return None

    def preview(self) -> None:
        """The change (or what is wrong) as the clerk types, from the domain's own rule."""
        due = self.due
        if due is None or due.receipt is not None or due.total_avos == 0:
            return
        text = change_text(due.total_avos, self.tenders, due.methods)
        self.query_one("#pay-change", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "amount-1":
            self.layout_tenders()
        else:
            self.preview()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field of the tenders; in the last one it pays."""
        name = event.input.id or ""
        first, second = (
            self.query_one("#tender-1", TenderRow),
            self.query_one("#tender-2", TenderRow),
        )
        if name == "amount-1":
            following = "detail-1" if first.method else ""
        elif name == "detail-1" and self.split:
            following = "detail-2" if second.method else ""
        else:
            self.action_pay()
            return
        if following:
            self.query_one(f"#{following}", Input).focus()
        else:
            self.set_focus(None)
            self.say(_("Choose the method with 1–6."), error=False)

    # -- actions ---------------------------------------------------------------------------------
    def action_pay(self) -> None:
        due = self.due
        if due is None or due.receipt is not None or self.busy:
            return
        try:
            tenders = self.tenders()
        except ClerkError as exc:
            self.say(exc.message)
            return
        clerk = self.clerk
        self.busy = True
        self.say(_("Taking the payment…"), error=False)
        self.call_service(
            pay_then_print,
            clerk.ctx,
            clerk.actor,
            due.application_id,
            tenders,
            due.total_avos,
            on_done=self.paid,
            on_error=self.failed,
        )

    def failed(self, message: str) -> None:
        self.busy = False
        self.say(message)
        self.refresh_bindings()

    def paid(self, result: tuple[Paid, str, tuple[str, ...], str]) -> None:
        paid, where, warnings, error = result
        self.busy = False
        self.split = False
        self.set_focus(None)
        text = _("Receipt {number} issued. Change: {change}.").format(
            number=paid.receipt_number, change=mop(paid.change_avos)
        )
        if error:
            text += " " + _("Not printed ({error}): P prints it again.").format(error=error)
        else:
            text += " " + _("Printed: {where}.").format(where=where)
        warning = glyph_warning(warnings)
        if warning:
            self.notify(warning, severity="warning", timeout=15)
        self.load(text)

    def action_exemption(self) -> None:
        if self.due is None:
            return

        def decided(view) -> None:
            if view is not None:
                self.load(_("Supervisor's decision recorded."))

        self.app.push_screen(ExemptionModal(self.due, self.lang), decided)

    def action_print(self) -> None:
        from clerk.domain.cashier import print_receipt

        if self.due is None or self.due.receipt is None:
            return
        clerk = self.clerk
        self.say(_("Printing…"), error=False)

        def printed(done) -> None:
            label = _("COPY printed: {where}.") if done.copy else _("Printed: {where}.")
            self.say(label.format(where=done.where), error=False)
            warning = glyph_warning(done.warnings)
            if warning:
                self.notify(warning, severity="warning", timeout=15)

        self.call_service(
            print_receipt,
            clerk.ctx,
            clerk.actor,
            self.due.receipt.number,
            on_done=printed,
            on_error=self.say,
        )

    def action_void(self) -> None:
        if self.due is None or self.due.receipt is None:
            return

        def reversed_(row) -> None:
            from clerk.domain.approvals import Request

            if isinstance(row, Request):  # F9: the supervisor's desk was asked
                self.load(asked_text(row))
            elif row is not None:
                self.load(_("Receipt {number} is now {status}.").format(
                    number=row.number, status=_(STATUS_LABELS.get(row.status, row.status))
                ))  # fmt: skip

        modal = ReverseModal(self.due.receipt.number, self.clerk.ctx, announce_asked=False)
        self.app.push_screen(modal, reversed_)

    def action_drawer(self) -> None:
        from clerk.screens.drawer import DrawerScreen

        self.app.push_screen(DrawerScreen(), lambda _result: self.load())

    def action_back(self) -> None:
        if isinstance(self.focused, Input):
            self.set_focus(None)
            return
        self.dismiss(self.due.receipt.number if self.due and self.due.receipt else None)
