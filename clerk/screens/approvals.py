"""The supervisor's inbox: exemptions, checklist overrides, voids and refunds, drawer variances
that wait for a supervisor, in one list (oldest first). One key decides the selected request and
only that one; the list refreshes after each decision and every few seconds.

Keys (ids in brackets, remappable in [keymap]): A approves [approvals.approve], R refuses with a
reason [approvals.refuse], H shows the latest decisions or the waiting list again
[approvals.history], F5 refreshes [approvals.refresh], Escape back [approvals.back]. The rules
are the services' (`clerk.domain.approvals`): nobody decides their own request, a variance is
acknowledged with a reason and never refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Input, Label, Static

from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal, ClerkScreen, every
from clerk.widgets.header import ClerkHeader

if TYPE_CHECKING:
    from clerk.domain.approvals import Request

REFRESH_SECONDS = 10


def kind_label(kind: str) -> str:
    from clerk.domain.approvals import KIND_LABELS

    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def status_label(status: str) -> str:
    from clerk.domain.approvals import STATUS_LABELS

    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def amount_text(avos: int | None) -> str:
    from clerk.domain.reports import money_text

    return "" if avos is None else money_text(avos)


class DecisionModal(ClerkModal):
    """Approve or refuse one request: what it is, and the reason kept with the decision."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="approvals.cancel")]
    DEFAULT_CSS = """
    DecisionModal { align: center middle; }
    #decision-box { width: 76; max-width: 100%; height: auto; border: heavy $warning;
                    background: $surface; padding: 0 1; }
    #decision-box Input { border: none; height: 1; background: $panel; padding: 0 1; }
    #decision-box Input:focus { border: none; background: $primary-darken-2; }
    #decision-title { text-style: bold; margin-bottom: 1; }
    """

    def __init__(self, request: Request, approve: bool):
        super().__init__()
        self.request = request
        self.approve = approve

    def compose(self) -> ComposeResult:
        r = self.request
        verb = _("Approve") if self.approve else _("Refuse")
        with Vertical(id="decision-box"):
            yield Static(
                f"{verb}: #{r.id} {kind_label(r.kind)} · {r.subject}",
                id="decision-title",
                markup=False,
            )
            details = [r.detail, amount_text(r.amount_avos), r.reason]
            yield Static(
                _("Asked by {who} at {when}").format(
                    who=r.requested_by or "—", when=f"{r.requested_at:%Y-%m-%d %H:%M}"
                )
                + (" · " + " · ".join(d for d in details if d) if any(details) else ""),
                markup=False,
            )
            required = not self.approve or r.kind == "variance"
            yield Label(
                _("Reason (required), then Enter") if required else _("Note (optional), then Enter")
            )
            yield Input(id="decision-reason", max_length=300)
            yield Static(id="decision-message", classes="message", markup=False)

    def on_mount(self) -> None:
        self.query_one("#decision-reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from clerk.domain.approvals import approve, refuse

        clerk = self.clerk
        self.call_service(
            approve if self.approve else refuse,
            clerk.ctx,
            clerk.actor,
            self.request.id,
            event.value,
            on_done=self.dismiss,
            on_error=lambda message: self.query_one("#decision-message", Static).update(message),
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


class ApprovalsScreen(ClerkScreen):
    BINDINGS = [
        Binding("a", "decide(True)", N_("Approve"), id="approvals.approve"),
        Binding("r", "decide(False)", N_("Refuse"), id="approvals.refuse"),
        Binding("h", "history", N_("Decided/waiting"), id="approvals.history"),
        Binding("f5", "refresh", N_("Refresh"), id="approvals.refresh"),
        Binding("escape", "back", N_("Back"), id="approvals.back"),
    ]
    DEFAULT_CSS = """
    #approvals { padding: 0 1; height: 1fr; }
    #approvals-title { text-style: bold; height: 1; }
    #approvals-table { height: 1fr; }
    #approvals-message { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.showing_decided = False
        self.last_decision = ""  # said until the next decision

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        with Vertical(id="approvals"):
            yield Static(id="approvals-title", markup=False)
            yield DataTable(id="approvals-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="approvals-message", classes="message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#approvals-table", DataTable)
        for title, key, width in (
            ("#", "id", 5),
            (_("Kind"), "kind", 16),
            (_("Subject"), "subject", 15),
            (_("Detail"), "detail", 18),
            (_("Amount"), "amount", 10),
            (_("Asked by"), "by", 9),
            (_("When"), "when", 11),
            (_("Status"), "status", 9),
            (_("Reason"), "reason", 30),
        ):
            table.add_column(title, key=key, width=width)
        table.focus()
        self.action_refresh()
        every(self, REFRESH_SECONDS, self.action_refresh)

    def action_refresh(self) -> None:
        from clerk.domain.approvals import decided, inbox

        clerk = self.clerk
        self.call_service(
            decided if self.showing_decided else inbox,
            clerk.ctx,
            clerk.actor,
            on_done=self._show,
            on_error=self.say,
            group="approvals",
        )

    def say(self, message: str) -> None:
        self.query_one("#approvals-message", Static).update(message)

    def _show(self, requests: list[Request]) -> None:
        self.requests = requests
        self.query_one("#approvals-title", Static).update(
            _("Latest decisions") if self.showing_decided else _("Waiting for a supervisor")
        )
        table = self.query_one("#approvals-table", DataTable)
        selected = table.cursor_row
        table.clear()
        for r in requests:
            when = r.decided_at if self.showing_decided and r.decided_at else r.requested_at
            table.add_row(
                str(r.id),
                kind_label(r.kind),
                r.subject,
                r.detail,
                amount_text(r.amount_avos),
                r.decided_by if self.showing_decided else r.requested_by,
                f"{when:%m-%d %H:%M}",
                status_label(r.status),
                r.reason,
                key=str(r.id),
            )
        if requests:
            table.move_cursor(row=min(selected, len(requests) - 1))
        if not requests and not self.showing_decided:
            self.say(
                " ".join(filter(None, (self.last_decision, _("Nothing waits for a supervisor."))))
            )
        else:
            self.say(self.last_decision)

    def selected(self) -> Request | None:
        table = self.query_one("#approvals-table", DataTable)
        if not self.requests or table.cursor_row < 0:
            return None
        return self.requests[min(table.cursor_row, len(self.requests) - 1)]

    def action_decide(self, approve: bool) -> None:
        request = self.selected()
        if self.showing_decided or request is None or request.status != "pending":
            self.last_decision = ""
            self.say(_("Choose a waiting request first."))
            return

        def done(result: Request | None) -> None:
            if result is not None:
                self.last_decision = _("Request {id} ({kind}, {subject}): {status}.").format(
                    id=result.id,
                    kind=kind_label(result.kind),
                    subject=result.subject,
                    status=status_label(result.status),
                )
                self.say(self.last_decision)
            self.action_refresh()

        self.app.push_screen(DecisionModal(request, approve), done)

    def action_history(self) -> None:
        self.showing_decided = not self.showing_decided
        self.last_decision = ""
        self.say("")
        self.action_refresh()

    def action_back(self) -> None:
        self.app.pop_screen()
