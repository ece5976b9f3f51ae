"""Reception: one key per service issues a tag and prints its slip; F2 checks in an appointment.

The service keys are the services' letters (A, B, C, P…), read from the database when the screen
opens; each has the binding id `reception.issue_<letter>` for the [keymap].
"""

from __future__ import annotations

import unicodedata

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Input, Static

from clerk.errors import ClerkError
from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal, ClerkScreen, every
from clerk.screens.queue_panel import wait_text
from clerk.widgets.big_code import BigCode
from clerk.widgets.header import ClerkHeader

REFRESH_SECONDS = 5


def issue_and_print(fn, ctx, actor, what: str):
    """Issue (or check in) then print the slip: (issued tag, where it printed, print error).

    A printer failure does not undo the tag: the applicant is told the number on screen."""
    from clerk.domain.queue import print_slip

    issued = fn(ctx, actor, what)
    try:
        printed = print_slip(ctx, issued)
    except ClerkError as exc:
        return issued, "", exc.message
    return issued, printed.where, ""


class CheckInModal(ClerkModal):
    """Booking code or ID number of an applicant with an appointment."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="checkin.cancel")]
    DEFAULT_CSS = """
    CheckInModal { align: center middle; }
    #checkin-box { width: 60; max-width: 100%; height: auto; border: round $accent;
                   background: $surface; padding: 1 2; }
    #checkin-box Input { margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(id="checkin-box"):
            yield Static(_("Booking code or ID number, then Enter:"), markup=False)
            yield Input(id="checkin-input", max_length=20)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = unicodedata.normalize("NFKC", event.value).strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReceptionScreen(ClerkScreen):
    BINDINGS = [
        Binding("f2", "check_in", N_("Check in"), id="reception.check_in"),
        Binding("escape", "back", N_("Back"), id="reception.back"),
    ]
    CSS = """
    #reception { padding: 0 1; height: 1fr; }
    #reception-hint { margin: 1 0; }
    #reception-services { height: auto; max-height: 10; }
    #reception-last { height: auto; margin-top: 1; border: round $primary; padding: 0 1; }
    #reception-code { width: auto; min-width: 14; color: $accent; margin-right: 2; }
    #reception-detail { width: 1fr; }
    #reception-message { height: auto; color: $warning; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.services: list[str] = []

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        with Vertical(id="reception"):
            yield Static(id="reception-hint", markup=False)
            yield DataTable(id="reception-services", cursor_type="none", zebra_stripes=True)
            with Horizontal(id="reception-last"):
                yield BigCode("", id="reception-code")
                yield Static(id="reception-detail", markup=False)
            yield Static(id="reception-message", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#reception-hint", Static).update(
            _("Press a service's letter to issue a tag and print its slip.")
        )
        self.query_one("#reception-last").border_title = _("Last tag")
        table = self.query_one("#reception-services", DataTable)
        table.add_column(_("Key"), key="key")
        table.add_column(_("Service"), key="name")
        table.add_column(_("Waiting"), key="waiting")
        table.add_column(_("Est. wait"), key="wait")
        self.refresh_services()
        every(self, REFRESH_SECONDS, self.refresh_services)

    def refresh_services(self) -> None:
        from clerk.domain.queue import wait_estimates

        self.call_service(
            wait_estimates, self.clerk.ctx, on_done=self._show_services, group="refresh"
        )

    def _show_services(self, waits) -> None:
        lang = self.clerk.language
        table = self.query_one("#reception-services", DataTable)
        table.clear()
        for w in sorted(waits, key=lambda w: w.code):
            table.add_row(
                w.code, w.names.title(lang), str(w.waiting), wait_text(w.wait_minutes()), key=w.code
            )
            if w.code not in self.services:
                self._bind_service(w.code, w.names.title(lang))
        self.refresh_bindings()

    def _bind_service(self, code: str, title: str) -> None:
        """The service's letter (either case) issues its tag."""
        self.services.append(code)
        self._bindings.key_to_bindings.setdefault(code.lower(), []).append(
            Binding(
                code.lower(),
                f"issue('{code}')",
                _("Issue {code}").format(code=code),
                show=len(self.services) <= 6,
                id=f"reception.issue_{code.lower()}",
                key_display=code.upper(),
                tooltip=title,
            )
        )
        self._bindings.key_to_bindings.setdefault(code.upper(), []).append(
            Binding(code.upper(), f"issue('{code}')", "", show=False)
        )

    # -- actions ---------------------------------------------------------------------------------
    def action_issue(self, code: str) -> None:
        from clerk.domain.queue import issue_tag

        self._issue_with(issue_tag, code, _("Issuing a tag for {code}…").format(code=code))

    def _issue_with(self, fn, what: str, working: str) -> None:
        self._message(working)
        self.call_service(
            issue_and_print,
            fn,
            self.clerk.ctx,
            self.clerk.actor,
            what,
            on_done=self._issued,
            on_error=self._refused,
        )

    def action_check_in(self) -> None:
        self.app.push_screen(CheckInModal(), self._check_in)

    def _check_in(self, text: str | None) -> None:
        from clerk.domain.queue import check_in

        if text:
            self._issue_with(check_in, text, _("Checking in {text}…").format(text=text))

    def action_back(self) -> None:
        self.app.pop_screen()

    def _message(self, text: str) -> None:
        self.query_one("#reception-message", Static).update(text)

    def _refused(self, message: str) -> None:
        self._message(message)
        self.app.bell()

    def _issued(self, result) -> None:
        issued, where, print_error = result
        self.query_one("#reception-code", BigCode).update(issued.tag)
        lines = [
            f"{issued.service} · {issued.service_names.title(self.clerk.language)}",
            _("{n} ahead").format(n=issued.ahead),
        ]
        if issued.appointment is not None:
            a = issued.appointment
            lines.append(
                _("Appointment {code} {slot} · {name}").format(
                    code=a.booking_code, slot=a.slot, name=a.name
                )
            )
            if issued.late:
                lines.append(_("After the slot: called in the walk-in order."))
        self.query_one("#reception-detail", Static).update("\n".join(lines))
        if print_error:
            self._message(
                _("Tag {code} issued, but the slip was not printed: {error}").format(
                    code=issued.tag, error=print_error
                )
            )
            self.app.bell()
        else:
            self._message(
                _("Tag {code} issued; slip sent to {where}.").format(code=issued.tag, where=where)
            )
        self.refresh_services()
