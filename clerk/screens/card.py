"""The card screen: read the chip, compare it with the database, personalise a new card.

F2 reads the card and shows the chip's holder data; F3 reads it and compares it with the
database (the application typed in the field, else the applicant whose ID number is on the
chip): differing fields are marked ≠ and shown in red. F4 personalises the application typed in
the field (condition/limit of stay and the opt-in applications below it) and shows what the chip
then holds. With the virtual reader, F6 takes the card out or puts it back and F7 inserts a new
blank card, so every path can be tried without hardware.

All card and database work runs off the UI thread; every failure is one clear line.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, DataTable, Footer, Input, Static

from clerk.errors import ClerkError
from clerk.i18n import N_, _
from clerk.screens.base import ClerkScreen
from clerk.widgets.card_panel import CardPanel, app_reader
from clerk.widgets.header import ClerkHeader

FIELD_LABELS = {
    "document_number": N_("Document number"),
    "name_chinese": N_("Name (Chinese)"),
    "name_latin": N_("Name (Latin)"),
    "date_of_birth": N_("Date of birth"),
    "sex": N_("Sex"),
    "issue_date": N_("Issue date"),
    "expiry_date": N_("Expiry date"),
    "permanent": N_("Permanent resident"),
    "symbols": N_("Symbols"),
    "condition_of_stay": N_("Condition of stay"),
    "limit_of_stay": N_("Limit of stay"),
    "applications": N_("Non-immigration applications"),
}
APPLICATION_LABELS = {
    "library_card": N_("Library card"),
    "digital_certificate": N_("Digital certificate"),
}
VERDICTS = {
    "matches": N_("The card is the one personalised for this application."),
    "differs": N_("This is NOT the card personalised for this application."),
    "none": N_("No card was personalised for this application yet."),
}
DIFF_STYLE = "bold red"


def localized(exc: ClerkError) -> str:
    """The error in the clerk's language when it carries a translatable template."""
    template = getattr(exc, "template", None)
    if template:
        return _(template).format(**getattr(exc, "params", {}))
    return exc.message


def _attempt(fn, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
    """(True, result) or (False, the error's text): the screen words every failure itself."""
    try:
        return True, fn(*args, **kwargs)
    except ClerkError as exc:
        return False, localized(exc)


def show_value(field: str, value: object) -> str:
    if field == "expiry_date" and value is None:
        return _("does not expire")
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ", ".join(_(APPLICATION_LABELS.get(v, v)) for v in sorted(value)) or "—"
    return str(value)


class CardScreen(ClerkScreen):
    BINDINGS = [
        Binding("f2", "read", N_("Read card"), id="card.read"),
        Binding("f3", "compare", N_("Compare"), id="card.compare"),
        Binding("f4", "personalise", N_("Personalise"), id="card.personalise"),
        Binding("f6", "toggle_card", N_("Card in/out"), id="card.virtual_toggle"),
        Binding("f7", "new_card", N_("New blank card"), id="card.virtual_new"),
        Binding("escape", "back", N_("Back"), id="card.back"),
    ]
    CSS = """
    #card-body { height: 1fr; padding: 0 1; }
    #card-body Horizontal { height: 1; margin-bottom: 1; }
    #card-body Static.label { width: auto; padding-right: 1; }
    #card-body Input { border: none; height: 1; padding: 0 1; background: $panel; }
    #card-body Input:focus { background: $primary-darken-2; }
    #card-application { width: 12; margin-right: 2; }
    #card-limit { width: 14; }
    #card-condition { width: 1fr; }
    #card-body Checkbox { border: none; height: 1; padding: 0; margin-right: 2; width: auto; }
    #card-fields { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.card_data = None  # the last CardData read (intake can prefill from it)
        self.comparison = None
        self._pulled = None  # the virtual card taken out with F6

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        yield CardPanel(id="card-panel")
        with Vertical(id="card-body"):
            with Horizontal():
                yield Static(_("Application:"), classes="label")
                yield Input(id="card-application", type="integer", max_length=10)
                yield Static(_("Limit of stay:"), classes="label")
                yield Input(id="card-limit", placeholder="YYYY-MM-DD", max_length=10)
            with Horizontal():
                yield Static(_("Condition of stay:"), classes="label")
                yield Input(id="card-condition", max_length=120)
            with Horizontal():
                for name, label in APPLICATION_LABELS.items():
                    yield Checkbox(_(label), id=f"card-optin-{name}")
            yield DataTable(id="card-fields", cursor_type="row", zebra_stripes=True)
            yield Static(id="card-message", classes="message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#card-fields", DataTable)
        table.add_column("", key="mark", width=1)
        table.add_column(_("Field"), key="field")
        table.add_column(_("On the chip"), key="card")
        table.add_column(_("In the database"), key="record")
        self.say(_("F2 reads the card, F3 compares it, F4 personalises the application."))

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def reader(self):
        return app_reader(self.app)

    @property
    def panel(self) -> CardPanel:
        return self.query_one(CardPanel)

    def say(self, text: str) -> None:
        self.query_one("#card-message", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_card", "new_card"):
            return bool(self.reader.virtual)
        return True

    def _run(self, fn, *args: Any, busy: str, done, **kwargs: Any) -> None:
        if self.panel.working:
            self.say(_("The card is busy; wait for the current step to finish."))
            return
        self.panel.set_working(True)
        self.say(busy)

        def finished(outcome: tuple[bool, Any]) -> None:
            self.panel.set_working(False)
            ok, value = outcome
            if ok:
                done(value)
            else:
                self.say(value)

        def failed(message: str) -> None:
            self.panel.set_working(False)
            self.say(message)

        self.call_service(_attempt, fn, *args, on_done=finished, on_error=failed, **kwargs)

    def _application_id(self) -> int | None:
        text = self.query_one("#card-application", Input).value.strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    # -- read and compare ------------------------------------------------------------------------
    def action_read(self) -> None:
        from clerk.domain.cards import read_card

        self._run(read_card, self.reader, busy=_("Reading the card…"), done=self._show_card)

    def action_compare(self) -> None:
        from clerk.domain.cards import compare_card, read_card

        app_id = self._application_id()
        ctx = self.clerk.ctx

        def read_and_compare(reader):
            card = read_card(reader)
            return card, compare_card(ctx, card, app_id)

        self._run(
            read_and_compare,
            self.reader,
            busy=_("Reading the card and looking up the record…"),
            done=lambda pair: self._show_card(*pair),
        )

    def _show_card(self, card, comparison=None) -> None:
        self.card_data, self.comparison = card, comparison
        table = self.query_one("#card-fields", DataTable)
        table.clear()
        if card.holder is None:
            self.say(
                _("Blank card (serial {serial}): nothing personalised on it yet.").format(
                    serial=card.serial
                )
            )
            return
        rows = {row.field: row for row in comparison.rows} if comparison else {}
        for field, value in card.holder.__dict__.items():
            row = rows.get(field)
            style = DIFF_STYLE if row is not None and row.differs else ""
            table.add_row(
                Text("≠", style=DIFF_STYLE) if style else "",
                _(FIELD_LABELS.get(field, field)),
                Text(show_value(field, value), style=style),
                Text(show_value(field, row.in_record), style=style) if row else "",
                key=field,
            )
        lock = _("locked") if card.locked else _("NOT locked")
        text = _("Card {serial} read ({lock}).").format(serial=card.serial, lock=lock)
        if comparison is not None:
            n = len(comparison.differences)
            text += " " + (
                _("It matches the database record.")
                if n == 0
                else _("{n} field(s) differ from the database record (marked ≠).").format(n=n)
            )
            if comparison.personalisation:
                text += " " + _(VERDICTS[comparison.personalisation])
        self.say(text)

    # -- personalise -----------------------------------------------------------------------------
    def action_personalise(self) -> None:
        from clerk.domain.cards import CardOptions, personalise, read_card

        app_id = self._application_id()
        if app_id is None:
            self.say(_("Type the application number first."))
            self.query_one("#card-application", Input).focus()
            return
        limit_text = self.query_one("#card-limit", Input).value.strip()
        try:
            limit = date.fromisoformat(limit_text) if limit_text else None
        except ValueError:
            self.say(_("The limit of stay must be a date YYYY-MM-DD."))
            return
        options = CardOptions(
            condition_of_stay=self.query_one("#card-condition", Input).value,
            limit_of_stay=limit,
            applications=frozenset(
                name
                for name in APPLICATION_LABELS
                if self.query_one(f"#card-optin-{name}", Checkbox).value
            ),
        )
        ctx, actor, reader = self.clerk.ctx, self.clerk.actor, self.reader

        def personalise_and_read():
            done = personalise(ctx, actor, reader, app_id, options=options)
            return done, read_card(reader)

        self._run(
            personalise_and_read,
            busy=_("Personalising application {n}: keep the card in the reader…").format(n=app_id),
            done=self._personalised,
        )

    def _personalised(self, pair) -> None:
        done, card = pair
        self._show_card(card)
        if done.recovered:
            text = _("Card {serial} already held this application's data: verified and recorded.")
        else:
            text = _(
                "Card {serial} personalised for application {n}, verified byte for byte and "
                "locked (SHA-256 {hash})."
            )
        self.say(text.format(serial=done.serial, n=done.application_id, hash=done.data_hash[:16]))

    # -- the virtual reader ----------------------------------------------------------------------
    def action_toggle_card(self) -> None:
        reader = self.reader
        if not reader.virtual:
            return
        if reader.card is not None:
            self._pulled = reader.remove()
            self.say(_("Card taken out of the virtual reader (F6 puts it back)."))
        elif self._pulled is not None:
            reader.insert(self._pulled)
            self.say(_("Card put back into the virtual reader."))
        else:
            self.action_new_card()

    def action_new_card(self) -> None:
        from clerk.domain.cards import blank_card

        reader = self.reader
        if not reader.virtual:
            return
        reader.insert(blank_card(self.clerk.ctx))
        self._pulled = None
        self.say(_("A new blank card is in the virtual reader."))

    def action_back(self) -> None:
        self.app.pop_screen()
