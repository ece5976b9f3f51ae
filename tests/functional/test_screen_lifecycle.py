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


def _footer_keys(app) -> list[tuple[str, str, bool]]:
    from textual.widgets._footer import FooterKey

    return [(k.key, k.action, not k._disabled) for k in app.screen.query(FooterKey)]


def _bound_keys(app) -> list[tuple[str, str, bool]]:
    """What the footer must show: the first key of each shown action, and whether it works."""
    seen: set[str] = set()
    keys = []
    for _node, binding, enabled, _tip in app.screen.active_bindings.values():
        if binding.show and binding.action not in seen:
            seen.add(binding.action)
            keys.append((binding.key, binding.action, enabled))
    return keys


async def test_the_footer_shows_the_keys_bound_now(office):
    """The footer is rebuilt only when its keys change (a key turned on or off is dimmed in
    place); after calls, steps, a modal and going back it must show exactly the live bindings."""
    from tests.snapshots.test_counter_snapshots import draft_at

    draft_at(office, "case")  # a draft to resume: its table takes Enter at the Call step
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = await open_counter(app, pilot)
        for press in ("f5", "escape", "f5", "escape", "escape", "f4", "f5"):
            await keys.press(press)
            await settle(app, pilot)
            await pilot.pause(0.05)
            assert _footer_keys(app)[: len(_bound_keys(app))] == _bound_keys(app), press


async def test_a_screen_under_another_does_no_periodic_work_and_catches_up_when_shown():
    """Home refreshes its lists every few seconds; under the counter screen it must not (its
    queries and repaints would hold up the clerk's keys), and it refreshes again when shown."""
    from textual.app import App
    from textual.screen import Screen

    from clerk.screens.base import ClerkScreen, every

    ticks: list[str] = []

    class Below(ClerkScreen):
        def on_mount(self) -> None:
            every(self, 0.02, lambda: ticks.append("below"))

    class Tiny(App):
        def on_mount(self) -> None:
            self.push_screen(Below())

    app = Tiny()
    async with app.run_test() as pilot:
        await pilot.pause(0.2)
        assert ticks.count("below") >= 3  # on show: it ticks
        app.push_screen(Screen())
        await pilot.pause(0.05)
        covered = len(ticks)
        await pilot.pause(0.3)
        assert len(ticks) == covered  # under another screen: nothing
        app.pop_screen()
        await pilot.pause(0)
        await pilot.pause(0)
        assert len(ticks) >= covered + 1  # shown again: refreshed at once
