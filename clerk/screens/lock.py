"""The idle lock: the same user types their password again (or logs out)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from clerk.i18n import N_, _
from clerk.screens.base import ClerkModal


class LockScreen(ClerkModal):
    BINDINGS = [Binding("ctrl+o", "logout", N_("Log out"), id="lock.logout")]

    def compose(self) -> ComposeResult:
        actor = self.clerk.actor
        name = (actor.full_name or actor.username) if actor else ""
        with Vertical(id="lock-box"):
            yield Static(_("Locked — {name}").format(name=name), id="lock-title")
            yield Static(_("Type your password to continue, or Ctrl+O to log out."))
            yield Input(id="lock-password", password=True, max_length=128)
            yield Static(id="lock-message", classes="message")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from clerk.domain.auth import authenticate

        actor = self.clerk.actor
        if actor is None:
            self.dismiss()
            return
        password = event.value
        event.input.value = ""

        def failed(message: str) -> None:
            self.query_one("#lock-message", Static).update(f"[b red]{message}[/]")
            if "locked" in message:
                self.action_logout()

        self.call_service(
            authenticate,
            self.clerk.ctx,
            actor.username,
            password,
            counter=actor.counter,
            terminal=actor.terminal,
            purpose="unlock",
            on_done=lambda _a: self.dismiss(),
            on_error=failed,
        )

    def action_logout(self) -> None:
        self.dismiss()
        self.clerk.logout()
