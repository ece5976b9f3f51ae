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
                (on_error or self.clerk.show_error)(exc.message)
                return
            except Exception as exc:  # noqa: BLE001 - logged, the clerk gets one line
                self.clerk.report_bug(exc)
                if on_error:
                    on_error(_("Unexpected error; it was logged. Try again or call IT."))
                return
            if on_done is not None:
                on_done(result)

        self.run_worker(runner(), group=group)  # type: ignore[attr-defined]


class ClerkScreen(ServiceCalls, Screen):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translate_bindings(self)


class ClerkModal(ServiceCalls, ModalScreen):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translate_bindings(self)
