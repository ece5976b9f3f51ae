"""The card screen through Pilot, on the in-process virtual reader and the demo database."""

from __future__ import annotations

import pytest
from sqlmodel import select

from clerk.app import ClerkApp
from clerk.devices.card_profile import load_profile
from clerk.devices.reader import VirtualReader
from clerk.devices.reference_card import OtherCard, ReferenceCard
from clerk.domain.cards import personalisations
from clerk.domain.models import Applicant, Application, Office
from clerk.screens.card import CardScreen
from clerk.widgets.card_panel import CardPanel
from tests.functional.shell import login, settle, text_of

PIN = "8642"


@pytest.fixture(autouse=True)
def card_pin(monkeypatch):
    monkeypatch.setenv("CLERK_CARD_PIN", PIN)


def lodge(ctx, id_number: str = "1234567(3)") -> int:
    with ctx.db.write() as s:
        office = s.exec(select(Office)).first()
        person = s.exec(select(Applicant).where(Applicant.id_number == id_number)).one()
        app = Application(office_id=office.id, applicant_id=person.id, status="ready")
        s.add(app)
        s.flush()
        return app.id


def rows(ctx, application_id: int) -> list[str]:
    return [row["status"] for row in personalisations(ctx, application_id)]


async def until(pilot, condition, seconds: float = 3.0) -> None:
    """Wait for something the reader watcher's thread makes happen."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition()


async def open_card_screen(app, pilot) -> CardScreen:
    await login(app, pilot)
    app.push_screen(CardScreen())
    await settle(app, pilot)
    await until(pilot, lambda: app.screen.query_one(CardPanel).state is not None)
    return app.screen


def panel_text(app) -> str:
    return str(app.screen.query_one(CardPanel).render())


def table_cells(screen) -> dict[str, tuple[str, str, str]]:
    table = screen.query_one("#card-fields")
    out = {}
    for key in table.rows:
        mark, _label, card, record = table.get_row(key)
        out[key.value] = (str(mark), str(card), str(record))
    return out


async def personalise(app, pilot, application_id: int) -> None:
    app.screen.query_one("#card-application").value = str(application_id)
    await pilot.press("f4")
    await settle(app, pilot)


async def test_panel_follows_the_card_in_and_out(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=3)
    reader = VirtualReader(ReferenceCard(load_profile(), PIN))
    app.card_reader = reader
    async with app.run_test(size=(120, 40)) as pilot:
        await open_card_screen(app, pilot)
        assert "virtual reader" in panel_text(app)
        assert "card present" in panel_text(app)
        await pilot.press("f6")  # take the card out
        await until(pilot, lambda: "no card" in panel_text(app))
        assert app.device_status["reader"] == "no card"
        await pilot.press("f6")  # and back
        await until(pilot, lambda: "card present" in panel_text(app))


async def test_read_blank_then_personalise_then_compare(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=3)
    card = ReferenceCard(load_profile(), PIN)
    app.card_reader = VirtualReader(card)
    app_id = lodge(demo_ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_card_screen(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        assert "Blank card" in text_of(app, "#card-message")

        screen.query_one("#card-optin-library_card").value = True
        await personalise(app, pilot, app_id)
        message = text_of(app, "#card-message")
        assert f"personalised for application {app_id}" in message, message
        assert card.locked
        cells = table_cells(screen)
        assert cells["document_number"][1] == "1234567(3)"
        assert cells["applications"][1] == "Library card"
        assert rows(demo_ctx, app_id) == ["done"]

        with demo_ctx.db.write() as s:  # the record changes after the card was made
            person = s.exec(select(Applicant).where(Applicant.id_number == "1234567(3)")).one()
            person.name_latin = "CHAN TAI-MAN"
            s.add(person)
        await pilot.press("f3")
        await settle(app, pilot)
        cells = table_cells(screen)
        assert cells["name_latin"] == ("≠", "CHAN TAI MAN", "CHAN TAI-MAN")
        assert cells["name_chinese"][0] == ""
        message = text_of(app, "#card-message")
        assert "1 field(s) differ" in message
        assert "is the one personalised for this application" in message


async def test_failures_are_one_clear_line(demo_ctx, monkeypatch):
    app = ClerkApp(demo_ctx, demo=True, counter=3)
    card = ReferenceCard(load_profile(), PIN)
    reader = VirtualReader(OtherCard())
    app.card_reader = reader
    app_id = lodge(demo_ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_card_screen(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        assert "this is not a clerk reference card" in text_of(app, "#card-message")

        await pilot.press("f4")  # no application typed
        assert "Type the application number first" in text_of(app, "#card-message")

        reader.insert(card)
        monkeypatch.setenv("CLERK_CARD_PIN", "0000")
        await personalise(app, pilot, app_id)
        assert "2 tries left" in text_of(app, "#card-message")
        assert card.tries == 2 and not card.locked

        monkeypatch.setenv("CLERK_CARD_PIN", PIN)
        reader.remove()
        await personalise(app, pilot, app_id)
        assert "no card in the reader" in text_of(app, "#card-message")

        app.screen.query_one("#card-limit").value = "31/12/2027"
        await personalise(app, pilot, app_id)
        assert "YYYY-MM-DD" in text_of(app, "#card-message")
        assert rows(demo_ctx, app_id) == ["failed", "failed"]


async def test_pulled_out_halfway_then_restarted(demo_ctx):
    from clerk.devices.reader import PulledOut

    app = ClerkApp(demo_ctx, demo=True, counter=3)
    card = ReferenceCard(load_profile(), PIN)

    def pull_out(apdu: bytes) -> None:
        if apdu[1] == 0xD6:
            card.on_command = None
            raise PulledOut()

    card.on_command = pull_out
    app.card_reader = VirtualReader(card)
    app_id = lodge(demo_ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_card_screen(app, pilot)
        await personalise(app, pilot, app_id)
        assert "put it back" in text_of(app, "#card-message")
        await until(pilot, lambda: "no card" in panel_text(app))
        await pilot.press("f6")  # the clerk puts it back
        await until(pilot, lambda: "card present" in panel_text(app))
        await personalise(app, pilot, app_id)
        assert "verified byte for byte" in text_of(app, "#card-message")
        assert rows(demo_ctx, app_id) == ["failed", "done"]


async def test_demo_opens_the_virtual_reader_with_a_blank_card(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=3)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_card_screen(app, pilot)
        first = app.card_reader.card
        assert app.card_reader.virtual and first is not None
        assert "card present" in panel_text(app)
        assert screen.check_action("new_card", ()) is True
        await pilot.press("f6")
        await until(pilot, lambda: "no card" in panel_text(app))
        await pilot.press("f7")
        await until(pilot, lambda: "card present" in panel_text(app))
        assert app.card_reader.card is not first
