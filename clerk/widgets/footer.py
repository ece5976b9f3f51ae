"""Keep Textual's Footer from holding on to the keys of every footer it ever showed.

Textual 8.2's `Footer.compose` binds each new `FooterKey` to the footer's `compact` reactive
(`data_bind`), which appends a watcher to a list on the footer. The footer recomposes whenever
the screen's bindings change (every step of the counter flow, every call of a tag), and the old
keys' watchers are only dropped when `compact` itself changes, which it never does here: each
recompose kept ~90 removed widgets alive, about 2 MiB per applicant at the counter (measured with
bench/counter_keys.py). After each recompose the watchers of closed widgets are dropped.
"""

from __future__ import annotations

from textual.widgets import Footer

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


def install() -> None:
    """Patch `Footer.recompose` once per process (every screen's footer is a plain Footer)."""
    global _INSTALLED
    if _INSTALLED:
        return
    original = Footer.recompose

    async def recompose(self: Footer) -> None:
        await original(self)
        prune_closed_watchers(self)

    Footer.recompose = recompose  # type: ignore[method-assign]
    _INSTALLED = True
