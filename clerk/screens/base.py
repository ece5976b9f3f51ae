"""What every clerk screen shares: translated bindings and non-blocking service calls."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.screen import ModalScreen, Screen

from clerk.errors import ClerkError
from clerk.i18n import _

if TYPE_CHECKING:
    from clerk.app import ClerkApp


def translate_bindings(node) -> None:
    """Replace the node's binding descriptions with the current language's (instance copy)."""
    table = node._bindings.key_to_bindings
    for key, bindings in list(table.items()):
        table[key] = [
            dataclasses.replace(
                b,
                description=_(b.description) if b.description else "",
                tooltip=_(b.tooltip) if b.tooltip else "",
            )
            for b in bindings
        ]


def every(node: Any, seconds: float, callback: Callable[[], Any]):
    """Run `callback` every `seconds` while `node`'s screen is the one on show.

    A screen under another one (home under the counter screen) keeps its timers in Textual; its
    refreshes there are work nobody sees, and their queries and repaints hold up the keys of the
    screen the clerk is using. A screen that refreshes lists this way refreshes them again as
    soon as it is shown (`ClerkScreen.on_screen_resume`).
    """

    def tick() -> None:
        screen = node if isinstance(node, Screen) else node.screen
        if screen is node.app.screen:  # not `is_current`: that is true under a modal too
            callback()

    if isinstance(node, ClerkScreen):
        node._on_return.append(callback)
    return node.set_interval(seconds, tick)


class ServiceCalls:
    """Mixin: run a service off the UI thread; errors become messages, never tracebacks."""

    @property
    def clerk(self) -> ClerkApp:
        return self.app  # type: ignore[attr-defined, return-value]

    def call_service(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        group: str = "service",
        **kwargs: Any,
    ) -> None:
        async def runner() -> None:
            try:
                result = await asyncio.to_thread(fn, *args, **kwargs)
            except ClerkError as exc:
                self._answer(on_error or self.clerk.show_error, exc.message)
                return
            except Exception as exc:  # noqa: BLE001 - logged, the clerk gets one line
                self.clerk.report_bug(exc)
                if on_error:
                    self._answer(
                        on_error, _("Unexpected error; it was logged. Try again or call IT.")
                    )
                return
            if on_done is not None:
                self._answer(on_done, result)

        self.run_worker(runner(), group=group)  # type: ignore[attr-defined]

    def _still_shown(self) -> bool:
        """This screen (or the screen of this widget) is still on the app's stack."""
        node: Any = self
        try:
            screen = node if isinstance(node, Screen) else node.screen
            return screen in node.app.screen_stack
        except Exception:  # noqa: BLE001 - a removed widget has no screen any more
            return False

    def _answer(self, callback: Callable[[Any], None], value: Any) -> None:
        """Hand a service's answer to the screen, unless the clerk has left it meanwhile (Esc
        while a lookup ran: its widgets are gone). A callback that fails is logged; the clerk
        gets one line and the app goes on."""
        if not self._still_shown():
            return
        try:
            callback(value)
        except Exception as exc:  # noqa: BLE001 - logged, the clerk gets one line
            self.clerk.report_bug(exc)


class ClerkScreen(ServiceCalls, Screen):
    # a receipt scanned on this screen opens the collection view (`clerk.widgets.scanner`)
    ROUTES_SCANS = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translate_bindings(self)
        self._on_return: list[Callable[[], Any]] = []  # refreshers run again when shown
        self._shown_before = False

    def on_screen_resume(self) -> None:
        if self._shown_before:  # not on first show: on_mount has just refreshed
            for refresh in self._on_return:
                refresh()
        self._shown_before = True

    def route_scan(self, code: str) -> None:
        """A scanner's burst with the shape of a receipt number: the collection view."""
        from clerk.screens.collection import CollectionScreen

        self.app.push_screen(CollectionScreen(code))


class ClerkModal(ServiceCalls, ModalScreen):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translate_bindings(self)
