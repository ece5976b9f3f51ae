"""Collection with the real PC/SC stack: pcscd + vsmartcard-vpcd + pyscard, the reference card
behind vpcd. The card personalised for an application is read at the collection counter and
checked against that application (service and the collection view's Ctrl+R); another
application's card is refused and never handed over.
"""

from __future__ import annotations

import pytest

from clerk.app import ClerkApp
from clerk.devices.reference_card import ReferenceCard
from clerk.domain import cards, collection
from clerk.domain.collection import HandOver
from clerk.errors import Refused
from clerk.screens.collection import CollectionScreen
from tests.functional.shell import login, settle
from tests.system import conftest_pcsc
from tests.unit import test_cards_service as unit
from tests.unit import test_collection as shared
from tests.unit.test_cashier import PASSWORD
from tests.unit.test_collection import build_office

pytestmark = pytest.mark.system
card_pin, profile = unit.card_pin, unit.profile  # the cards' PIN in the env, the shipped profile
frozen_clock = shared.frozen_clock  # Monday 23 November 2026, 10:00 in Macao


@pytest.fixture
def office(sqlite_ctx):
    return build_office(sqlite_ctx)


def test_the_card_read_through_pcscd_belongs_to_the_application(slot, office, profile):
    ctx, ana = office.ctx, office.actors["ana"]
    mine, receipt = office.ready()
    other, _receipt = office.ready("1304918(5)")
    card, stranger = ReferenceCard(profile, unit.PIN), ReferenceCard(profile, unit.PIN)
    slot.insert(stranger)
    cards.personalise(ctx, ana, slot.reader, other, profile)
    slot.insert(card)
    done = cards.personalise(ctx, ana, slot.reader, mine, profile)
    assert done.reader == conftest_pcsc.SLOT0

    read = cards.read_card(slot.reader, profile)  # through pcscd, as at the counter
    check = collection.check_new_card(ctx, ana, mine, read)
    assert check.ok and check.verdict == "matches" and check.serial == done.serial
    assert collection.check_new_card(ctx, ana, other, read).verdict == "differs"

    slot.insert(stranger)
    wrong = collection.check_new_card(ctx, ana, mine, cards.read_card(slot.reader, profile))
    assert not wrong.ok and "document_number" in wrong.differences
    base = HandOver(identity_checked=True, former_card="handed-in")
    with pytest.raises(Refused, match="NOT the card personalised"):
        collection.hand_over(
            ctx, ana, mine, HandOver(**{**base.__dict__, "card_serial": wrong.serial})
        )
    assert office.app(mine).status == "ready"

    done_over = collection.hand_over(
        ctx, ana, mine, HandOver(**{**base.__dict__, "card_serial": check.serial})
    )
    assert done_over.card_check == "matches"
    assert office.collection_row(mine).card_serial == card.serial.hex().upper()
    assert collection.lookup(ctx, receipt).status == "collected"


async def test_the_collection_view_reads_the_card_with_ctrl_r(slot, office, profile):
    ctx, ana = office.ctx, office.actors["ana"]
    mine, receipt = office.ready()
    card = ReferenceCard(profile, unit.PIN)
    slot.insert(card)
    cards.personalise(ctx, ana, slot.reader, mine, profile)
    app = ClerkApp(ctx, counter=5)
    app.card_reader = slot.reader  # the counter's PC/SC reader
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot, "ana", PASSWORD)
        app.push_screen(CollectionScreen(receipt))
        await settle(app, pilot)
        await pilot.press("ctrl+r")
        for _ in range(50):  # the reader's work runs in a worker thread
            await settle(app, pilot)
            if app.screen.card is not None or app.screen.card_error:
                break
        assert app.screen.card is not None and app.screen.card.verdict == "matches"
        assert "the one personalised for this application" in str(
            app.screen.query_one("#col-newcard").render()
        )
        await pilot.press("i", "h", "f9")
        await settle(app, pilot)
        assert "is collected" in str(app.screen.query_one("#col-message").render())
    row = office.collection_row(mine)
    assert (row.card_check, row.card_serial) == ("matches", card.serial.hex().upper())
