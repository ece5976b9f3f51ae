"""Keep Textual's Footer from holding on to the keys of every footer it ever showed.

Textual 8.2's `Footer.compose` binds each new `FooterKey` to the footer's `compact` reactive
(`data_bind`), which appends a watcher to a list on the footer. The footer recomposes whenever
the screen's bindings change (every step of the counter flow, every call of a tag), and the old
keys' watchers are only dropped when `compact` itself changes, which it never does here: each
recompose kept ~90 removed widgets alive, about 2 MiB per applicant at the counter (measured with
bench/counter_keys.py). After each recompose the watchers of closed widgets are dropped.

The footer also recomposed — unmounted and mounted every key, and laid the screen out again —
each time the bindings were refreshed, three times for each call of a tag at the counter, even
when the same keys were shown and only some of them turned on or off. Now it recomposes only when
the keys themselves change; a key that is only enabled or disabled is dimmed in place.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

_INSTALLED = False


def prune_closed_watchers(node) -> int:
    """Drop the watchers registered on `node` by widgets that were removed; how many."""
    watchers = getattr(node, "__watchers", None) or {}
    dropped = 0
    for entries in watchers.values():
        keep = [(owner, callback) for owner, callback in entries if not owner._closing]
        dropped += len(entries) - len(keep)
        entries[:] = keep
    return dropped


def _shape(footer: Footer) -> tuple[Any, ...]:
    """What the footer shows, apart from which keys are enabled."""
    keys = tuple(
        (b.key, b.action, b.description, tooltip, id(b.group) if b.group else None)
        for (_node, b, _enabled, tooltip) in footer.screen.active_bindings.values()
        if b.show
    )
    return keys, footer.show_command_palette, footer.compact


def _enable_in_place(footer: Footer) -> None:
    """Dim or light each shown key to match its binding (as a recompose would draw it)."""
    enabled = {
        (b.key, b.action): on for (_node, b, on, _tip) in footer.screen.active_bindings.values()
    }
    for key in footer.query(FooterKey):
        on = enabled.get((key.key, key.action))
        if on is not None and key._disabled == on:
            key._disabled = not on
            key.set_class(not on, "-disabled")


def install() -> None:
    """Patch `Footer.recompose` once per process (every screen's footer is a plain Footer)."""
    global _INSTALLED
    if _INSTALLED:
        return
    original, original_compose = Footer.recompose, Footer.compose

    async def recompose(self: Footer) -> None:
        if not (self._bindings_ready and self.is_attached):
            await original(self)
            return
        if self.children and _shape(self) == getattr(self, "_clerk_shape", None):
            _enable_in_place(self)
            return
        await original(self)
        prune_closed_watchers(self)

    def compose(self: Footer):
        # what is shown is what the bindings are when the keys are built (a recompose awaits
        # the removal of the old keys first, and the bindings may change meanwhile)
        self._clerk_shape = _shape(self) if self._bindings_ready else None
        yield from original_compose(self)

    Footer.recompose = recompose  # type: ignore[method-assign]
    Footer.compose = compose  # type: ignore[method-assign]
    _INSTALLED = True
