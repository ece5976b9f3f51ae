"""The Textual app: thin. Global keys, the session (who is logged in, at which counter), the idle
lock, the command palette and the error boundary. Screens do the rest through services."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme

from clerk.i18n import LANGUAGES, N_, _, set_language
from clerk.screens.base import translate_bindings

if TYPE_CHECKING:
    from clerk.context import Context
    from clerk.domain.auth import Actor

# Colours chosen from the xterm 256-colour cube, so they look the same over SSH without COLORTERM.
CLERK_THEME = Theme(
    name="clerk",
    primary="#0087af",
    secondary="#5f87af",
    accent="#ffaf00",
    warning="#ffaf00",
    error="#d75f5f",
    success="#5faf5f",
    foreground="#e4e4e4",
    background="#1c1c1c",
    surface="#262626",
    panel="#303030",
    dark=True,
)


class ClerkApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "clerk"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("f1", "help", N_("Help"), id="app.help"),
        Binding("ctrl+l", "lock", N_("Lock"), id="app.lock"),
        Binding("f10", "language", N_("Language"), id="app.language"),
        Binding("ctrl+q", "quit_app", N_("Quit"), id="app.quit", priority=True),
    ]

    def __init__(self, ctx: Context, *, demo: bool = False, counter: int | None = None):
        from clerk.widgets import footer

        footer.install()  # Textual's Footer would keep every removed key alive
        super().__init__()
        self.ctx = ctx
        self.demo = demo
        self.actor: Actor | None = None
        cfg = ctx.config
        self.counter: int = counter if counter is not None else cfg.counter.number
        self.terminal = _terminal_name()
        self.language = cfg.ui.language
        self.idle_seconds = cfg.ui.idle_lock_minutes * 60
        self._last_input = time.monotonic()
        self.card_reader = None  # the reader this terminal shares (see widgets/card_panel.py)
        from clerk.widgets.scanner import ScannerRouter

        self.scanner = ScannerRouter(self, cfg.collection.scanner_gap_ms)  # barcode bursts
        self.device_status: dict[str, str] = {
            "printer": cfg.printer.name or cfg.printer.kind,
            "reader": "virtual" if cfg.card_reader.kind == "virtual" else "—",
        }
        set_language(self.language)
        translate_bindings(self)

    # -- start -----------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.register_theme(CLERK_THEME)
        self.theme = (
            self.ctx.config.ui.theme
            if self.ctx.config.ui.theme in (self.available_themes)
            else "clerk"
        )
        if self.ctx.config.keymap:
            self.set_keymap(dict(self.ctx.config.keymap))
        from clerk.screens.login import LoginScreen

        self.push_screen(LoginScreen())
        self.set_interval(5, self._check_idle)
        # after the first paint: the heavy imports must not delay the login screen
        self.call_after_refresh(self.set_timer, 0.05, self._start_warm_up)

    def _start_warm_up(self) -> None:
        from clerk.turns import prepare_in_main_thread

        prepare_in_main_thread()  # writers in worker threads then wait for their turn directly
        self.run_worker(self._warm_up, thread=True, group="warm-up")

    def _warm_up(self) -> None:
        """While the clerk types their name: load the database layer and check the schema."""
        from clerk.errors import ClerkError

        try:
            self.ctx.db.require_current()
            import clerk.domain.auth  # noqa: F401
            import clerk.domain.office  # noqa: F401
        except ClerkError as exc:
            self.call_from_thread(self.show_error, exc.message)
        except Exception as exc:  # noqa: BLE001
            self.call_from_thread(self.report_bug, exc)

    # -- session ---------------------------------------------------------------------------------
    def logged_in(self, actor: Actor) -> None:
        self.actor = actor
        self.counter = actor.counter or self.counter
        self.apply_language(actor.language)
        self._last_input = time.monotonic()
        from clerk.screens.home import HomeScreen

        self.switch_screen(HomeScreen())

    def logout(self) -> None:
        self.actor = None
        from clerk.screens.login import LoginScreen

        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(LoginScreen())

    def apply_language(self, lang: str) -> None:
        self.language = lang if lang in LANGUAGES else "en"
        set_language(self.language)
        self._bindings = self._merged_bindings.copy()
        translate_bindings(self)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "lock" and self.actor is None)  # nothing to lock before login

    # -- idle lock -------------------------------------------------------------------------------
    def on_event(self, event: events.Event):
        if isinstance(event, events.Key | events.MouseDown | events.Paste):
            self._last_input = time.monotonic()
        if isinstance(event, events.Key) and not event.is_forwarded:
            return self.scanner.on_key(event, super().on_event)  # may hold a scanner's burst
        return super().on_event(event)

    def _check_idle(self) -> None:
        if (
            self.actor is not None
            and self.idle_seconds > 0
            and time.monotonic() - self._last_input >= self.idle_seconds
        ):
            self.action_lock()

    def action_lock(self) -> None:
        from clerk.screens.lock import LockScreen

        if self.actor is None or isinstance(self.screen, LockScreen):
            return
        self.push_screen(LockScreen())

    # -- global actions --------------------------------------------------------------------------
    def action_help(self) -> None:
        from clerk.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_language(self) -> None:
        order = list(LANGUAGES)
        lang = order[(order.index(self.language) + 1) % len(order)]
        if self.actor is None:
            self.apply_language(lang)
            self.screen.refresh_texts() if hasattr(self.screen, "refresh_texts") else None
            return
        from clerk.domain.auth import set_language as save_language

        def done(actor: Actor) -> None:
            self.actor = actor
            self.apply_language(actor.language)
            from clerk.screens.home import HomeScreen

            self.switch_screen(HomeScreen())

        self.screen.call_service(save_language, self.ctx, self.actor, lang, on_done=done)

    def action_quit_app(self) -> None:
        self.exit()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand(_("Help"), _("Show every key of this screen (F1)"), self.action_help)
        yield SystemCommand(
            _("Language"), _("Switch the language: English, 中文, Português"), self.action_language
        )
        if self.actor is not None:
            yield SystemCommand(
                _("Lock"), _("Lock the terminal until the password is typed"), self.action_lock
            )
            yield SystemCommand(
                _("Log out"), _("End this session and show the login screen"), self.logout
            )
        yield SystemCommand(_("Quit"), _("Leave clerk"), self.action_quit_app)

    # -- errors: never a traceback on the clerk's screen -----------------------------------------
    def show_error(self, message: str) -> None:
        self.notify(message, severity="error", timeout=8)

    def report_bug(self, exc: BaseException) -> None:
        from clerk.logs import log_exception

        path = log_exception(exc, self.ctx)
        self.notify(
            _("Unexpected error; details were logged in {path}. Your work is saved.").format(
                path=path
            ),
            severity="error",
            timeout=10,
        )

    def _handle_exception(self, error: Exception) -> None:
        from clerk.logs import log_exception

        path = log_exception(error, self.ctx)
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self.panic(
            _(
                "clerk stopped after an unexpected error. Your work is saved; start clerk "
                "again. Details for IT: {path}"
            ).format(path=path)
        )


def _terminal_name() -> str:
    ssh = os.environ.get("SSH_CLIENT", "").split()
    if ssh:
        return f"ssh:{ssh[0]}"
    try:
        return os.ttyname(0)
    except OSError:
        return "local"
