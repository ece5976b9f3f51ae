"""Hostile text typed or pasted into the main fields of every screen, through Pilot.

Into each field go Rich markup, terminal escapes, NUL, a bidi override, CJK Extension B with
combining marks, full-width and Arabic-Indic digits, SQL and format strings, and text far past the
field's length. After each Enter: the app still runs, no bug was logged (`report_bug` is never
called), the screen says something, and the database holds exactly what it held before unless the
input was good enough to be taken (a name in CJK Extension B is a good name).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
from textual.widgets import Input, Static

from clerk.app import ClerkApp
from clerk.screens.card import CardScreen
from clerk.screens.cashier import CashierScreen
from clerk.screens.counter import CounterScreen
from clerk.screens.drawer import DrawerScreen
from clerk.screens.queue_panel import QueueScreen
from clerk.screens.reception import CheckInModal, ReceptionScreen
from tests.functional.shell import login, settle
from tests.functional.test_cashier_screen import app_id
from tests.functional.test_cashier_screen import office as cashier_office  # noqa: F401
from tests.functional.test_counter_flow import frozen_demo_office
from tests.unit.test_hostile_forms import changed, db_state

HOSTILE = [
    "[bold red]x[/]",
    "[/]",
    "[link=http://x]y",
    "\x1b[31mRED\x1b[0m",
    "\x00",
    "\u202e1234567(8)",
    "陳𠮷\u0301\u0308",
    "１２３４５６７（８）",
    "1٢٣٤٥٦٧(٨)",
    "' OR 1=1 --",
    "%s%n{0}{}",
    "9" * 80,
    "-1",
    "🙂" * 12,
]


@pytest.fixture
def office(sqlite_url):
    yield from frozen_demo_office(sqlite_url)


class Watch:
    """The app's bugs, the database's state, what the screen says."""

    def __init__(self, app, ctx):
        self.app, self.ctx, self.bugs = app, ctx, []
        app.report_bug = self.bugs.append  # a bug would be logged here: none may be

    async def submit(self, pilot, selector: str, text: str, *keys: str) -> dict[str, str]:
        """Put `text` into the field (as a paste or an IME would) and press Enter (or `keys`);
        the database state before."""
        before = db_state(self.ctx)
        field = self.app.screen.query_one(selector, Input)
        field.focus()
        field.value = text
        await pilot.press(*(keys or ("enter",)))
        await settle(self.app, pilot)
        assert self.app.is_running and self.app._exception is None, text
        assert self.bugs == [], (text, self.bugs)
        return before

    def said(self, selector: str) -> str:
        shown = " ".join(str(w.render()) for w in self.app.screen.query(selector).results(Static))
        notes = " ".join(n.message for n in self.app._notifications)
        return (shown + " " + notes).strip()

    def unchanged(self, before: dict[str, str], text: str) -> None:
        assert changed(before, db_state(self.ctx)) == [], f"{text!r} was refused but wrote"


@asynccontextmanager
async def logged_in(ctx, counter: int = 1, size=(120, 40)):
    app = ClerkApp(ctx, demo=True, counter=counter)
    async with app.run_test(size=size) as pilot:
        await login(app, pilot)
        yield app, pilot, Watch(app, ctx)


async def test_the_counter_fields(office):
    async with logged_in(office) as (app, pilot, watch):
        await pilot.press("f4")
        await settle(app, pilot)
        assert isinstance(app.screen, CounterScreen)
        await pilot.press("f5")  # call the next tag: the identify field
        await settle(app, pilot)
        for text in HOSTILE:
            before = await watch.submit(pilot, "#identify-input", text)
            assert app.screen.step in ("identify", "case"), text
            if app.screen.step == "identify":
                assert watch.said("#identify-message"), text
            watch.unchanged(before, text)  # identifying changes nothing by itself
            if app.screen.step != "identify":
                await pilot.press("escape")
                await settle(app, pilot)
        # a new applicant: a hostile date of birth is refused whatever the names
        await watch.submit(pilot, "#identify-input", "7123456(1)")
        assert "not on record" in watch.said("#identify-message")
        app.screen.query_one("#new-zh", Input).value = "區嘉欣"
        app.screen.query_one("#new-latin", Input).value = "AU KA IAN"
        for text in HOSTILE:
            before = await watch.submit(pilot, "#new-born", text)
            assert app.screen.step == "identify" and watch.said("#identify-message"), text
            watch.unchanged(before, text)
        # names are free text: markup, escapes and CJK Extension B are kept as plain text
        app.screen.query_one("#new-zh", Input).value = "陳𠮷\u0301[bold]"
        app.screen.query_one("#new-latin", Input).value = "\x1b[31mAU\x00 KA [/]IAN"
        await watch.submit(pilot, "#new-born", "2001-05-21")
        assert app.screen.step == "case", watch.said("#identify-message")
        shown = app.screen.draft.applicant
        assert (shown.name_zh, shown.name_latin) == ("陳𠮷\u0301[bold]", "[31MAU KA [/]IAN")


async def test_the_facts_fields(office):
    from datetime import date

    from tests.functional.test_counter_flow import add_person

    add_person(office, "1010101(1)", "", "KO, LEI", date(1990, 1, 1), expires=date(2030, 1, 1))
    async with logged_in(office) as (app, pilot, watch):
        await pilot.press("f4", "f5")
        await settle(app, pilot)
        await watch.submit(pilot, "#identify-input", "1010101(1)")
        await pilot.press("3")  # damage: the facts step
        await settle(app, pilot)
        assert app.screen.step == "facts"
        for selector in ("#fact-born",):
            for text in HOSTILE:
                before = await watch.submit(pilot, selector, text)
                assert app.screen.step == "facts" and watch.said("#facts-message"), text
                watch.unchanged(before, text)


async def test_the_payment_fields(cashier_office):  # noqa: F811
    ctx = cashier_office
    async with logged_in(ctx) as (app, pilot, watch):
        from clerk.domain import cashier

        cashier.open_drawer(ctx, app.actor, 100000)
        app.push_screen(CashierScreen(app_id(ctx, "012611230003")))
        await settle(app, pilot)
        await pilot.press("1")  # cash: the amount field
        await settle(app, pilot)
        amount = f"#{app.focused.id}"
        for text in HOSTILE:
            before = await watch.submit(pilot, amount, text)
            assert watch.said("#pay-message"), text
            watch.unchanged(before, text)


async def test_the_drawer_float(cashier_office):  # noqa: F811
    async with logged_in(cashier_office) as (app, pilot, watch):
        app.push_screen(DrawerScreen())
        await settle(app, pilot)
        for text in HOSTILE:
            before = await watch.submit(pilot, "#drawer-float", text)
            assert watch.said("#drawer-message"), text
            watch.unchanged(before, text)


async def test_reception_check_in_and_the_queue_take_field(office):
    async with logged_in(office) as (app, pilot, watch):
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, ReceptionScreen)
        for text in HOSTILE:
            await pilot.press("f2")
            await settle(app, pilot)
            assert isinstance(app.screen, CheckInModal)
            before = await watch.submit(pilot, "#checkin-input", text)
            assert isinstance(app.screen, ReceptionScreen)
            assert watch.said("#reception-message"), text
            watch.unchanged(before, text)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        for text in HOSTILE:
            before = await watch.submit(pilot, "#queue-take-input", text)
            assert watch.said("#tag-message"), text
            watch.unchanged(before, text)


async def test_the_card_fields(office, monkeypatch):
    from clerk.devices.card_profile import load_profile
    from clerk.devices.reader import VirtualReader
    from clerk.devices.reference_card import ReferenceCard
    from tests.functional.test_card_screen import lodge, until

    monkeypatch.setenv("CLERK_CARD_PIN", "8642")
    application = lodge(office)
    async with logged_in(office, counter=3) as (app, pilot, watch):
        app.card_reader = VirtualReader(ReferenceCard(load_profile(), "8642"))
        app.push_screen(CardScreen())
        await settle(app, pilot)
        await until(pilot, lambda: app.screen.query_one("#card-message") is not None)
        card = app.card_reader.card
        for selector in ("#card-limit", "#card-condition"):
            for text in HOSTILE:
                app.screen.query_one("#card-application", Input).value = str(application)
                app.screen.query_one("#card-limit", Input).value = ""
                before = await watch.submit(pilot, selector, text, "f4")
                assert watch.said("#card-message"), text
                assert not card.locked, f"{text!r} was written on the card"
                watch.unchanged(before, text)
