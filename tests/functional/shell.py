"""Helpers for Pilot tests of the shell."""

from __future__ import annotations

from textual.widgets import Static


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def settle(app, pilot) -> None:
    """Wait until service workers are done and their results are painted.

    An answer can start another service call (a step that loads, then fills its table): keep
    waiting until two rounds in a row found no worker, however slow the machine (at least three
    rounds, at most fifty).
    """
    quiet = 0
    for round_ in range(50):
        busy = bool(app.workers)
        await app.workers.wait_for_complete()
        await pilot.pause()
        quiet = 0 if busy or app.workers else quiet + 1
        if round_ >= 2 and quiet >= 2:
            break
    # a layout asked for by the last answer (a table that grew) is done on the screen's update
    # timer, not when the messages are processed: let one tick pass
    await pilot.pause(0.03)
    await pilot.pause()


async def login(app, pilot, user: str = "ana", password: str = "clerk-ana-1") -> None:
    await settle(app, pilot)
    await pilot.press(*user, "enter")
    await pilot.press(*password, "enter")
    await settle(app, pilot)
