"""The collection desk through Pilot on the demo office with its payments: a scanner's burst on
any counter screen, then each path from the scan to its final status (in person, representative,
former card missing → surcharge, not ready, already collected, bad check digit, unknown receipt),
the new card read on the virtual reader, the supervisor's ready batch and the uncollected list,
and the display board's "name → counter" once a receipt is scanned.

The clock is frozen on Monday 23 November 2026, 11:15 in Macao; the printer is a folder.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import func, select
from textual import events
from textual.widgets import DataTable, Input

from clerk.app import ClerkApp
from clerk.domain import cashier, collection
from clerk.domain.auth import SYSTEM, Actor
from clerk.domain.clock import set_clock
from clerk.domain.models import Application, AuditEvent, Collection, Receipt
from clerk.domain.receipts import make_receipt_number
from clerk.screens.board import BoardApp
from clerk.screens.collection import (
    CollectionScreen,
    ReadyBatchScreen,
    SurchargeModal,
    UncollectedScreen,
)
from clerk.screens.counter import CounterScreen
from clerk.screens.home import HomeScreen
from clerk.screens.queue_panel import QueueScreen
from tests.functional.shell import login, settle
from tests.functional.test_cashier_screen import FROZEN, office
from tests.functional.test_queue_board import until

# `office`: the demo office with its payments (three ready cards, one in production, two paid
# today), the clock frozen, the printer a folder
office = office
SCANNER_GAP = 0.005  # seconds between a scanner's keys
PERSON_GAP = 0.15  # a person typing


def receipts(ctx, status: str) -> list[str]:
    return [row.receipt for row in collection.list_applications(ctx, SYSTEM, status)]


def status_of(ctx, receipt: str) -> str:
    with ctx.db.read() as s:
        app_id = s.exec(select(Receipt.application_id).where(Receipt.number == receipt)).one()
        return s.get(Application, app_id).status


def handed(ctx, receipt: str) -> Collection | None:
    with ctx.db.read() as s:
        app_id = s.exec(select(Receipt.application_id).where(Receipt.number == receipt)).one()
        return s.exec(select(Collection).where(Collection.application_id == app_id)).first()


def audit_count(ctx) -> int:
    with ctx.db.read() as s:
        return s.exec(select(func.count()).select_from(AuditEvent)).one()


def shown(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def keys_at(app, pilot, text: str, gap: float, *, enter: bool = True) -> None:
    """Key events `gap` seconds apart, as a scanner (5 ms) or a person types them: each event
    is stamped with its moment and posted to the app like the terminal driver does."""
    start = events.Key("a", "a").time
    keys = [(ch, ch) for ch in text] + ([("enter", "\r")] if enter else [])
    for n, (key, char) in enumerate(keys):
        event = events.Key(key, char)
        event.time = start + n * gap
        app.post_message(event)
        await asyncio.sleep(min(gap, 0.01))
    await settle(app, pilot)


async def scan(app, pilot, code: str) -> None:
    await keys_at(app, pilot, code, SCANNER_GAP)


async def start(app, pilot, user: str = "ana", password: str = "clerk-ana-1"):
    await login(app, pilot, user, password)
    assert isinstance(app.screen, HomeScreen)


async def identify_field(app, pilot) -> Input:
    """The counter flow's Identify step, without a tag: its ID number field has the focus."""
    await pilot.press("f4", "ctrl+n")
    await settle(app, pilot)
    assert isinstance(app.screen, CounterScreen)
    return app.screen.query_one("#identify-input", Input)


async def scan_to_desk(app, pilot, code: str, *, at_counter: bool = False) -> CollectionScreen:
    """A scanner's burst on home (no field has the focus) or on the counter screen (its ID number
    field has the focus) opens the collection view of `code`."""
    if at_counter:
        await identify_field(app, pilot)
    else:
        assert isinstance(app.screen, HomeScreen)
    routed = app.scanner.routed
    await scan(app, pilot, code)
    assert isinstance(app.screen, CollectionScreen) and app.scanner.routed == routed + 1
    assert app.screen.code == code and app.screen.case is not None
    return app.screen


async def open_desk(app, pilot, code: str = "") -> CollectionScreen:
    await pilot.press("f8")
    await settle(app, pilot)
    assert isinstance(app.screen, CollectionScreen)
    if code:
        await pilot.press(*code, "enter")
        await settle(app, pilot)
    return app.screen


# --- the scanner --------------------------------------------------------------------------------


async def test_a_scanner_burst_on_the_counter_screen_lands_in_the_collection_view(office):
    code = receipts(office, "ready")[0]
    app = ClerkApp(office, demo=True, counter=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        await pilot.press("f4", "ctrl+n")  # the counter flow, the ID number field has the focus
        await settle(app, pilot)
        assert isinstance(app.screen, CounterScreen)
        field = app.screen.query_one("#identify-input", Input)
        assert app.focused is field
        await scan(app, pilot, code)
        assert isinstance(app.screen, CollectionScreen)
        assert app.screen.code == code and app.screen.case is not None
        assert "→  Counter 5" in shown(app, "#col-result")
        assert "please go to counter 5" in shown(app, "#col-message")
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, CounterScreen)
        assert field.value == "" and app.scanner.routed == 1  # nothing typed into the field


async def test_a_scan_on_home_and_on_the_queue_screen(office):
    ready = receipts(office, "ready")
    app = ClerkApp(office, demo=True, counter=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        await scan(app, pilot, ready[0])  # home: no field has the focus
        assert isinstance(app.screen, CollectionScreen) and app.screen.code == ready[0]
        await scan(app, pilot, ready[1])  # on the collection view itself: the next receipt
        assert isinstance(app.screen, CollectionScreen) and app.screen.code == ready[1]
        assert app.screen.query_one("#col-receipt", Input).value == ready[1]
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        take = app.screen.query_one("#queue-take-input", Input)
        await scan(app, pilot, ready[2])  # the tag field (8 characters) has the focus
        assert isinstance(app.screen, CollectionScreen) and app.screen.code == ready[2]
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen) and take.value == ""


async def test_typing_by_hand_and_other_bursts_are_not_taken(office):
    code = receipts(office, "ready")[0]
    app = ClerkApp(office, demo=True, counter=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        field = await identify_field(app, pilot)
        await keys_at(app, pilot, code, PERSON_GAP, enter=False)  # a person: every key lands
        assert field.value == code
        field.value = ""
        await keys_at(app, pilot, "12345678", SCANNER_GAP, enter=False)  # held, then let go
        await pilot.pause(0.2)
        assert field.value == "12345678"
        field.value = ""
        await keys_at(app, pilot, "52133770", SCANNER_GAP)  # an ID card's number and Enter
        assert isinstance(app.screen, CounterScreen) and app.scanner.routed == 0
        assert app.screen.draft.applicant.id_number == "5213377(0)"  # looked up as typed


# --- the paths ----------------------------------------------------------------------------------


async def test_in_person_with_the_former_card_handed_in(office):
    code = receipts(office, "ready")[0]  # 陳大文: a renewal, the former card valid until 2027
    app = ClerkApp(office, demo=True, counter=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        await scan_to_desk(app, pilot, code, at_counter=True)
        assert "please go to counter 5" in shown(app, "#col-message")
        assert "must be handed in (H)" in shown(app, "#col-former")
        await pilot.press("f9")  # nothing ticked yet
        await settle(app, pilot)
        assert "Confirm the identity first" in shown(app, "#col-message")
        await pilot.press("i", "f9")
        await settle(app, pilot)
        assert "handed in to be cancelled" in shown(app, "#col-message")
        assert status_of(office, code) == "ready"
        await pilot.press("h", "f9")
        await settle(app, pilot)
        assert "is collected" in shown(app, "#col-message")
        assert "COLLECTED" in shown(app, "#col-result")
        assert not app.screen.query_one("#col-checks").display
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, CounterScreen)  # back where the scan came in
    row = handed(office, code)
    assert status_of(office, code) == "collected"
    assert (row.collector, row.former_card, row.card_check) == (
        "applicant",
        "cancelled",
        "not-read",
    )


async def test_an_authorised_representative(office):
    code = receipts(office, "ready")[1]
    app = ClerkApp(office, demo=True, counter=6)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        await scan_to_desk(app, pilot, code)
        await pilot.press("r")  # the name field has the focus
        await settle(app, pilot)
        assert app.focused.id == "col-rep-name"
        await pilot.press(*"CHAN SIU MING", "enter", *"5123456(7)", "enter")
        await pilot.press("i", "h", "f9")
        await settle(app, pilot)
        assert "authorisation on the receipt" in shown(app, "#col-message")
        assert status_of(office, code) == "ready"
        await pilot.press("a", "f9")
        await settle(app, pilot)
        assert "Keep the original receipt" in shown(app, "#col-message")
        assert "COLLECTED" in shown(app, "#col-result")
    row = handed(office, code)
    assert (row.collector, row.representative_name, row.representative_id_number) == (
        "representative", "CHAN SIU MING", "5123456(7)",
    )  # fmt: skip
    assert (
        row.receipt_kept and row.authorisation_confirmed and status_of(office, code) == "collected"
    )


async def test_the_former_card_missing_is_surcharged_through_the_cashier(office, tmp_path):
    code = receipts(office, "ready")[0]
    app = ClerkApp(office, demo=True, counter=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        cashier.open_drawer(office, app.actor, 100000)
        await scan_to_desk(app, pilot, code, at_counter=True)
        await pilot.press("i", "l")
        await settle(app, pilot)
        assert app.focused.id == "col-police-ref"
        assert "P pays MOP 300.00" in shown(app, "#col-former")
        await pilot.press(*"PJ-2026-881", "enter", "f9")
        await settle(app, pilot)
        assert "charge the non-presentation surcharge first" in shown(app, "#col-message")
        await pilot.press("p")
        await settle(app, pilot)
        assert isinstance(app.screen, SurchargeModal)
        await pilot.press("1", *"500", "enter")  # cash, MOP 500 handed over
        await settle(app, pilot)
        assert isinstance(app.screen, CollectionScreen), shown(app, "#sur-message")
        assert "change MOP 200.00" in shown(app, "#col-message")
        assert "surcharge paid, receipt" in shown(app, "#col-former")
        await pilot.press("f9")
        await settle(app, pilot)
        assert "is collected" in shown(app, "#col-message")
        assert "COLLECTED" in shown(app, "#col-result")
    row = handed(office, code)
    assert status_of(office, code) == "collected"
    assert (row.former_card, row.police_report) == ("not-presented", "PJ-2026-881")
    with office.db.read() as s:
        extra = s.get(Receipt, row.surcharge_receipt_id)
    assert (extra.kind, extra.total_avos, extra.printed_count) == ("collection-surcharge", 30000, 1)
    assert list((tmp_path / "print").glob(f"*{extra.number}.pdf"))


async def test_not_ready_already_collected_bad_check_digit_and_unknown(office):
    not_ready = receipts(office, "in-production")[0]
    done = receipts(office, "ready")[2]
    bad = not_ready[:5] + str((int(not_ready[5]) + 3) % 10) + not_ready[6:]
    unknown = make_receipt_number("01", FROZEN.date(), 999)
    app = ClerkApp(office, demo=True, counter=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        await scan_to_desk(app, pilot, done)  # handed over on this screen first
        await pilot.press("i", "h", "f9")
        await settle(app, pilot)
        assert "is collected" in shown(app, "#col-message")
        assert status_of(office, done) == "collected"

        await scan(app, pilot, not_ready)
        assert "IN PRODUCTION" in shown(app, "#col-result")
        assert "not ready yet: it is promised for 2026-12" in shown(app, "#col-message")
        assert not app.screen.query_one("#col-checks").display
        await pilot.press("f9", "i")  # nothing to hand over: the keys do nothing
        await settle(app, pilot)
        assert status_of(office, not_ready) == "in-production"

        await scan(app, pilot, done)
        assert "COLLECTED" in shown(app, "#col-result")
        said = shown(app, "#col-message")
        assert "already collected on 2026-11-23 11:15 at counter 5 by the applicant" in said

        before = audit_count(office)
        await scan(app, pilot, bad)
        assert "Receipt not accepted" in shown(app, "#col-result")
        assert "check digits do not match" in shown(app, "#col-message")
        assert app.screen.case is None and audit_count(office) == before

        await pilot.press("f2", *unknown, "enter")  # typed by hand
        await settle(app, pilot)
        assert f"There is no receipt {unknown}" in shown(app, "#col-message")


async def test_a_scan_that_dropped_a_digit_is_refused_as_a_misread(office):
    """A scanner's burst one digit short of a receipt number is not typed into the ID number
    field: the collection view says what is wrong with it, before any lookup."""
    code = receipts(office, "ready")[0]
    app = ClerkApp(office, demo=True, counter=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        field = await identify_field(app, pilot)
        before = audit_count(office)
        await scan(app, pilot, code[:6] + code[7:])
        assert isinstance(app.screen, CollectionScreen) and app.scanner.routed == 1
        assert "Receipt not accepted" in shown(app, "#col-result")
        assert "a receipt number has 14 digits" in shown(app, "#col-message")
        assert "has 13" in shown(app, "#col-message")
        assert audit_count(office) == before and status_of(office, code) == "ready"
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, CounterScreen) and field.value == ""


async def test_the_new_card_is_read_and_checked(office, monkeypatch):
    from clerk.devices.card_profile import load_profile
    from clerk.devices.reader import VirtualReader
    from clerk.devices.reference_card import ReferenceCard
    from clerk.domain import cards

    monkeypatch.setenv("CLERK_CARD_PIN", "8642")
    ready = receipts(office, "ready")
    mine = collection.lookup(office, ready[0]).application_id
    other = collection.lookup(office, ready[1]).application_id
    reader = VirtualReader(ReferenceCard(load_profile(), "8642"))
    stranger = VirtualReader(ReferenceCard(load_profile(), "8642"))
    clerk = Actor(None, "ana", "clerk", counter=5)
    cards.personalise(office, clerk, reader, mine)
    cards.personalise(office, clerk, stranger, other)
    app = ClerkApp(office, demo=True, counter=5)
    app.card_reader = stranger
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        await open_desk(app, pilot, ready[0])
        assert "personalised: serial" in shown(app, "#col-newcard")
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert "is NOT this application's" in shown(app, "#col-newcard")
        await pilot.press("i", "h", "f9")
        await settle(app, pilot)
        assert "not handed over" in shown(app, "#col-message")
        assert status_of(office, ready[0]) == "ready"
        app.card_reader = reader
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert "the one personalised for this application" in shown(app, "#col-newcard")
        await pilot.press("f9")
        await settle(app, pilot)
    row = handed(office, ready[0])
    assert row.card_check == "matches" and row.card_serial == reader.card.serial.hex().upper()


# --- the supervisor -----------------------------------------------------------------------------


async def test_the_supervisor_scans_a_batch_and_picks_from_the_list(office):
    in_production = receipts(office, "in-production")
    lodged = receipts(office, "lodged")
    app = ClerkApp(office, demo=True, counter=6)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot, "sup", "super-lei-1")
        await open_desk(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, ReadyBatchScreen)
        await scan(app, pilot, in_production[0])
        assert status_of(office, in_production[0]) == "ready"
        log = app.screen.query_one("#batch-log", DataTable)
        assert log.row_count == 1 and "ready" in str(log.get_row_at(0)[3])
        await scan(app, pilot, in_production[0])  # scanned twice: said, nothing changes
        assert "already ready" in str(log.get_row_at(1)[3])
        await pilot.press("f6")  # to production: the list shows the lodged ones
        await settle(app, pilot)
        table = app.screen.query_one("#batch-list", DataTable)
        assert table.row_count == 5  # two paid today, three still to pay
        table.focus()
        paid = [r for r in lodged if r]
        while str(table.get_row_at(table.cursor_row)[2]) != paid[0]:
            await pilot.press("down")
        await pilot.press("space", "f9")
        await settle(app, pilot)
        assert status_of(office, paid[0]) == "in-production"
        assert "1 marked in production" in shown(app, "#batch-message")


async def test_a_clerk_has_no_batch_and_the_uncollected_list_opens_a_card(office):
    office.config.collection.uncollected_after_days = 5
    oldest = collection.uncollected(office, SYSTEM)[0]
    app = ClerkApp(office, demo=True, counter=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await start(app, pilot)
        await open_desk(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, CollectionScreen)  # supervisors only
        await pilot.press("f4")  # the function keys work from the receipt field too
        await settle(app, pilot)
        assert isinstance(app.screen, UncollectedScreen)
        table = app.screen.query_one("#unc-table", DataTable)
        assert str(table.get_row_at(0)[3]) == oldest.receipt
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CollectionScreen) and app.screen.code == oldest.receipt


# --- the display board --------------------------------------------------------------------------


def board_names(board) -> list[str]:
    """The board's "Collect your card" lines as shown ([] when the section is hidden)."""
    box = board.screen.query_one("#board-collect")
    cells = box.query("#board-collect-lines Static")
    return [str(cell.render()) for cell in cells if cell.display] if box.display else []


async def test_the_board_shows_name_and_counter_once_a_receipt_is_scanned(office):
    ready = receipts(office, "ready")
    board = BoardApp(office, sound=False)
    async with board.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: board.screen.state is not None)  # polled: no one sent yet
        assert board_names(board) == [] and not board.screen.query_one("#board-collect").display
        first = collection.lookup(office, ready[0])  # a kiosk's scan
        await until(pilot, lambda: board_names(board) == ["陳大文 CHAN TAI MAN → counter 5"])
        set_clock(lambda: FROZEN + timedelta(minutes=2))
        second = collection.lookup(office, ready[1])
        expected = [f"{second.name} → counter {second.counter}", "陳大文 CHAN TAI MAN → counter 5"]
        await until(pilot, lambda: board_names(board) == expected)  # the newest first
        waits = board.screen.query_one("#board-waits")
        assert waits.region.bottom <= 24  # 80×24: the waiting per service still shows in full

        collection.hand_over(
            office,
            Actor(None, "ana", "clerk", counter=5),
            first.application_id,
            collection.HandOver(identity_checked=True, former_card="handed-in"),
        )
        await until(pilot, lambda: board_names(board) == expected[:1])  # collected: gone
        set_clock(lambda: FROZEN + timedelta(minutes=2 + collection.BOARD_MINUTES, seconds=1))
        await until(pilot, lambda: board_names(board) == [])  # sent there half an hour ago
        assert not board.screen.query_one("#board-collect").display
