"""The audit trail, filtered by person, action and date, newest first; and its verification.

Type a user name, an action (exact, or a prefix ending in '.': `payment.` finds every payment
action) and a period, Enter applies. The selected event's before and after show at the bottom.

Keys (ids in brackets, remappable in [keymap]): F5 refreshes [audit_viewer.refresh], F6 shows
older events [audit_viewer.older], F7 verifies the chain [audit_viewer.verify], Escape back
[audit_viewer.back].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Input, Label, Static

from clerk.i18n import N_, _
from clerk.screens.base import ClerkScreen
from clerk.widgets.header import ClerkHeader

if TYPE_CHECKING:
    from clerk.domain.reports import AuditRow

PAGE = 200
FILTERS = (
    ("audit-user", N_("User"), 14, 32),
    ("audit-action", N_("Action"), 22, 48),
    ("audit-from", N_("From"), 12, 10),
    ("audit-to", N_("To"), 12, 10),
)


class AuditViewerScreen(ClerkScreen):
    BINDINGS = [
        Binding("f5", "refresh", N_("Refresh"), id="audit_viewer.refresh"),
        Binding("f6", "older", N_("Older"), id="audit_viewer.older"),
        Binding("f7", "verify", N_("Verify chain"), id="audit_viewer.verify"),
        Binding("escape", "back", N_("Back"), id="audit_viewer.back"),
    ]
    DEFAULT_CSS = """
    #audit { padding: 0 1; height: 1fr; }
    #audit-filters { height: 2; }
    .audit-filter { width: auto; height: 2; margin-right: 1; }
    .audit-filter Label { height: 1; }
    .audit-filter Input { border: none; height: 1; background: $panel; padding: 0 1; }
    .audit-filter Input:focus { border: none; background: $primary-darken-2; }
    #audit-table { height: 1fr; }
    #audit-detail { height: auto; max-height: 6; color: $text-muted; }
    #audit-message { height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[AuditRow] = []

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        with Vertical(id="audit"):
            with Horizontal(id="audit-filters"):
                for field_id, label, width, length in FILTERS:
                    with Vertical(classes="audit-filter"):
                        yield Label(_(label))
                        field = Input(id=field_id, max_length=length)
                        field.styles.width = width
                        yield field
            yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="audit-detail", markup=False)
            yield Static(id="audit-message", classes="message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        for title, key, width in (
            ("#", "id", 8),
            (_("When"), "when", 19),
            (_("User"), "user", 10),
            (_("Where"), "where", 10),
            (_("Action"), "action", 26),
            (_("Subject"), "subject", 16),
            (_("After"), "after", 60),
        ):
            table.add_column(title, key=key, width=width)
        self.query_one("#audit-user", Input).focus()
        self.action_refresh()

    def value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value.strip()

    def say(self, message: str) -> None:
        self.query_one("#audit-message", Static).update(message)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_refresh()

    def _load(self, before_id: int | None, on_done) -> None:
        from clerk.domain.reports import audit_trail

        clerk = self.clerk
        self.call_service(
            audit_trail,
            clerk.ctx,
            clerk.actor,
            user=self.value("audit-user"),
            action=self.value("audit-action"),
            start=self.value("audit-from") or None,
            end=self.value("audit-to") or None,
            before_id=before_id,
            limit=PAGE,
            on_done=on_done,
            on_error=self.say,
            group="audit",
        )

    def action_refresh(self) -> None:
        self.rows = []
        self.query_one("#audit-table", DataTable).clear()
        self._load(None, self._add)

    def action_older(self) -> None:
        if not self.rows:
            return
        self._load(self.rows[-1].id, self._add)

    def _add(self, rows: list[AuditRow]) -> None:
        table = self.query_one("#audit-table", DataTable)
        for r in rows:
            where = f"#{r.counter}" if r.counter is not None else r.terminal
            subject = f"{r.subject_type} {r.subject_id}" if r.subject_type else ""
            table.add_row(
                str(r.id),
                f"{r.at:%Y-%m-%d %H:%M:%S}",
                r.username,
                where[:10],
                r.action,
                subject,
                r.after[:200],
                key=str(r.id),
            )
        self.rows.extend(rows)
        if not self.rows:
            self.say(_("No audit event matches."))
        else:
            more = _(" (F6: older)") if len(rows) == PAGE else ""
            self.say(_("{n} events shown").format(n=len(self.rows)) + more)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        index = event.cursor_row
        if 0 <= index < len(self.rows):
            r = self.rows[index]
            lines = [f"#{r.id} {r.action} · {r.username} · {r.at:%Y-%m-%d %H:%M:%S}"]
            if r.before:
                lines.append(_("before: {text}").format(text=r.before))
            if r.after:
                lines.append(_("after: {text}").format(text=r.after))
            self.query_one("#audit-detail", Static).update("\n".join(lines))

    def action_verify(self) -> None:
        from clerk.domain.reports import verify_audit

        self.say(_("Verifying the audit chain…"))
        clerk = self.clerk
        self.call_service(
            verify_audit, clerk.ctx, clerk.actor, on_done=self._verified, on_error=self.say
        )

    def _verified(self, result) -> None:
        if result.ok:
            self.say(
                _("The audit chain is intact: {n} events, newest hash {hash}.").format(
                    n=result.checked, hash=result.last_hash[:16]
                )
            )
        else:
            self.say(
                _("The audit chain is BROKEN at event {id}: {problem}").format(
                    id=result.broken_id, problem=result.problem
                )
            )

    def action_back(self) -> None:
        self.app.pop_screen()
