"""Reception through Pilot: one key per service issues a tag and prints its slip; F2 checks in an
appointment; a printer failure still shows the tag; a refusal changes nothing."""

from __future__ import annotations

from clerk.app import ClerkApp
from clerk.config import PrinterConfig
from clerk.domain import queue
from clerk.domain.auth import SYSTEM, Actor
from clerk.screens.reception import CheckInModal, ReceptionScreen
from clerk.widgets.big_code import BigCode
from tests.functional.shell import settle
from tests.functional.test_queue_panel import open_from_home
from tests.unit import test_queue as shared
from tests.unit.test_queue_documents import decode_barcodes

clock = shared.clock
db_url = shared.sqlite_db_url  # the UI holds no SQL: the services run on both in tests/unit
migrated_templates = shared.migrated_templates
office = shared.office

DESK = Actor(user_id=None, username="ana", role="clerk", counter=1)


async def open_reception(app, pilot) -> ReceptionScreen:
    return await open_from_home(app, pilot, DESK, "f3", ReceptionScreen)


def shown(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_a_key_per_service_issues_and_prints(office, tmp_path):
    ctx = office
    ctx.config.printer = PrinterConfig(kind="folder", folder=str(tmp_path))
    app = ClerkApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reception(app, pilot)
        assert {"a", "b", "c", "p"} <= set(screen.active_bindings)
        await pilot.press("a", "A", "p")
        await settle(app, pilot)
        assert screen.query_one("#reception-code", BigCode).value == "P001"
        assert "P001 issued; slip sent to" in shown(screen, "#reception-message")
        await pilot.press("x")  # no service X: nothing happens
        await settle(app, pilot)
    assert [r.tag for r in queue.list_tags(ctx)] == ["A001", "A002", "P001"]
    slips = sorted(tmp_path.glob("*.pdf"))
    assert len(slips) == 3
    assert decode_barcodes(slips[-1].read_bytes()) == ["P001"]


async def test_check_in_and_a_printer_failure(office):
    ctx = office
    ctx.config.printer = PrinterConfig(kind="cups", name="")  # no queue named: printing fails
    req = queue.appointment_request(
        name="陳大文", id_number="1234567(3)", service="B", day=shared.DAY, slot="10:00-10:30"
    )
    booked = queue.add_appointment(ctx, SYSTEM, req)
    app = ClerkApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_reception(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, CheckInModal)
        await pilot.press(*booked.booking_code.lower(), "enter")
        await settle(app, pilot)
        assert screen.query_one("#reception-code", BigCode).value == "B001"
        assert booked.booking_code in shown(screen, "#reception-detail")
        assert "B001 issued, but the slip was not printed" in shown(screen, "#reception-message")
        await pilot.press("f2")
        await settle(app, pilot)
        await pilot.press(*booked.booking_code, "enter")  # twice: refused, nothing changes
        await settle(app, pilot)
        assert "already checked-in" in shown(screen, "#reception-message")
    assert [r.tag for r in queue.list_tags(ctx)] == ["B001"]


async def test_after_closing_time_reception_says_why(office, clock):
    clock.at(shared.DAY, 18, 5)
    app = ClerkApp(office)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reception(app, pilot)
        await pilot.press("b")
        await settle(app, pilot)
        assert "tags are issued until 18:00" in shown(screen, "#reception-message")
    assert queue.list_tags(office) == []
