"""Log in: user name, password, counter. Enter logs in."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Footer, Input, Label, Static

from clerk.errors import UsageError
from clerk.i18n import N_, _
from clerk.screens.base import ClerkScreen
from clerk.widgets.header import ClerkHeader


def _login(ctx, username: str, password: str, counter_text: str, terminal: str):
    from clerk.domain.auth import authenticate
    from clerk.domain.office import counter_exists

    ctx.db.require_current()
    if not username.strip():
        raise UsageError(_("Type your user name."))
    if not password:
        raise UsageError(_("Type your password."))
    text = counter_text.strip()
    if not text.isdigit() or int(text) < 1:
        raise UsageError(_("The counter is a number, e.g. 3."))
    counter = int(text)
    if not counter_exists(ctx, counter):
        raise UsageError(_("Counter {n} does not exist in this office.").format(n=counter))
    return authenticate(ctx, username, password, counter=counter, terminal=terminal)


class LoginScreen(ClerkScreen):
    BINDINGS = [Binding("enter", "login", N_("Log in"), id="login.submit", show=True)]

    def compose(self) -> ComposeResult:
        yield ClerkHeader()
        with Center(), Vertical(id="login-box"):
            yield Static(id="login-title")
            yield Label(id="user-label")
            yield Input(id="username", max_length=32)
            yield Label(id="password-label")
            yield Input(id="password", password=True, max_length=128)
            yield Label(id="counter-label")
            yield Input(
                str(self.clerk.counter or ""), id="counter", max_length=3, restrict=r"[0-9０-９]*"
            )
            yield Static(id="login-message", classes="message")
            if self.clerk.demo:
                yield Static(id="demo-users", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_texts()
        self.query_one("#username", Input).focus()

    def refresh_texts(self) -> None:
        cfg = self.clerk.ctx.config
        lang = self.clerk.language
        office = {"zh_Hant": cfg.office.name_zh, "pt": cfg.office.name_pt}.get(
            lang
        ) or cfg.office.name
        title = Text.assemble(("clerk", "bold"), " — ", office)
        self.query_one("#login-title", Static).update(title)
        self.query_one("#user-label", Label).update(_("User name"))
        self.query_one("#password-label", Label).update(_("Password"))
        self.query_one("#counter-label", Label).update(_("Counter"))
        if self.clerk.demo:
            from clerk.domain.demo import STAFF

            users = "  ".join(f"{u}/{p}" for u, _r, _n, _l, p in STAFF[:4])
            self.query_one("#demo-users", Static).update(
                _("Demo users (name/password): {users}").format(users=users)
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        current = event.input.id or ""
        if (
            current != "counter"
            and not self.query_one("#password", Input).value
            and current == "username"
        ):
            self.query_one("#password", Input).focus()
            return
        self.action_login()

    def action_login(self) -> None:
        del_msg = self.query_one("#login-message", Static)
        del_msg.update(_("Checking…"))
        password = self.query_one("#password", Input)
        counter = self.query_one("#counter", Input).value
        import unicodedata

        counter = unicodedata.normalize("NFKC", counter)

        def failed(message: str) -> None:
            del_msg.update(f"[b red]{message}[/]")
            password.value = ""
            password.focus()

        self.call_service(
            _login,
            self.clerk.ctx,
            self.query_one("#username", Input).value,
            password.value,
            counter,
            self.clerk.terminal,
            on_done=self.clerk.logged_in,
            on_error=failed,
        )
