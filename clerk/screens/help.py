"""F1: every key of the screen below and of the app, with the id to remap it in [keymap]."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal


def _key_name(app, key: str) -> str:
    return app.get_key_display(Binding(key, ""))


class HelpScreen(ClerkModal):
    BINDINGS = [
        Binding("escape,f1", "close", N_("Close"), id="help.close"),
    ]

    def __init__(self, below: Screen):
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(
                _("Keys — remap any of them in the [keymap] table of config.toml"),
                id="help-title",
                markup=False,
            )
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Static(_("Esc closes this help."), classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(_("Key"), _("Action"), _("Id"))
        seen: set[str] = set()
        for node in (self.below, self.app):
            for key, bindings in node._bindings.key_to_bindings.items():
                for b in bindings:
                    if not b.description or (b.id or key) in seen:
                        continue
                    seen.add(b.id or key)
                    table.add_row(_key_name(self.app, key), b.description, b.id or "")
        table.add_row("Ctrl+P", _("Command palette"), "")
        table.focus()

    def action_close(self) -> None:
        self.dismiss()
