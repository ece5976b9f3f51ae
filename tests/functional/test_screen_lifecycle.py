"""A service's answer never stops the app: dropped when the clerk has left the screen, logged
when handling it fails.

Found by bench/counter_keys.py through a real pty: Enter on the Identify step, then Esc twice
while the lookup ran; its answer arrived while the counter screen was being taken down, looked
for the Identify step's message line, and the whole app stopped.
"""

from __future__ import annotations

import pytest
from textual.css.query import NoMatches

from clerk.app import ClerkApp
from clerk.screens.counter import CounterScreen
from clerk.screens.home import HomeScreen
from tests.functional.shell import settle
from tests.functional.test_counter_flow import frozen_demo_office, open_counter, screen


@pytest.fixture
def office(sqlite_url):
    yield from frozen_demo_office(sqlite_url)


async def test_an_answer_for_a_screen_that_was_left_is_dropped(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        keys = await open_counter(app, pilot)
        counter = screen(app)
        await keys.press("escape")
        assert isinstance(app.screen, HomeScreen)
        answers: list[int] = []
        counter._answer(answers.append, 1)  # what a late worker does
        assert answers == []
        assert app.is_running and app._exception is None


async def test_a_failing_answer_is_logged_and_the_app_goes_on(office, monkeypatch):
    def broken(self, found):
        raise NoMatches("No nodes match '#identify-message' on CounterScreen()")

    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        keys = await open_counter(app, pilot)
        await keys.press("f5")
        monkeypatch.setattr(CounterScreen, "_identified", broken)
        await keys.type("1234567(3)")
        await keys.press("enter")
        await settle(app, pilot)
        assert app.is_running and app._exception is None
        assert isinstance(app.screen, CounterScreen)
        notes = [n.message for n in app._notifications]
        assert any("Unexpected error" in note for note in notes), notes
    from clerk.logs import log_dir

    assert "NoMatches: No nodes match '#identify-message'" in (log_dir() / "clerk.log").read_text()


async def test_footers_do_not_keep_their_old_keys(office):
    """Each step and each call changes the bindings and recomposes the footer; the keys of the
    footers before must not stay alive (bench/counter_keys.py saw ~2 MiB per applicant)."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        keys = await open_counter(app, pilot)
        for _ in range(6):
            await keys.press("f5")
            await keys.press("escape")
        await settle(app, pilot)
        footer = app.screen.query_one(Footer)
        shown = len(footer.query(FooterKey))
        watching = len(getattr(footer, "__watchers", {}).get("compact", []))
        assert shown > 0
        assert watching <= shown  # only the keys on show (6 rounds would leave ~10× as many)
