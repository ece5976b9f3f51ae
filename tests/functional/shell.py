"""Helpers for Pilot tests of the shell."""

from __future__ import annotations

from textual.widgets import Static


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def settle(app, pilot) -> None:
    """Wait until service workers are done and their results are painted."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def login(app, pilot, user: str = "ana", password: str = "clerk-ana-1") -> None:
    await settle(app, pilot)
    await pilot.press(*user, "enter")
    await pilot.press(*password, "enter")
    await settle(app, pilot)
