"""Snapshots of the payment and drawer screens at 100×30 and 80×24 (the demo office of the
functional tests, the clock frozen on Monday 23 November 2026, 11:15 in Macao)."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from clerk.app import ClerkApp
from clerk.domain import cashier
from clerk.screens.cashier import CashierScreen
from clerk.screens.drawer import DrawerScreen
from tests.functional import test_cashier_screen
from tests.functional.shell import login, settle

office = test_cashier_screen.office  # the demo office fixture, shared

SIZES = [(80, 24), (100, 30)]


def _still(app) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False


@pytest.mark.parametrize("size", SIZES)
def test_payment_screen(snap_compare, office, size):
    """A loss (4th non-presentation: MOP 1000), cash tendered, the change shown."""
    app = ClerkApp(office, demo=True, counter=1)

    async def before(pilot):
        await login(app, pilot)
        cashier.open_drawer(office, app.actor, 100000)
        app.push_screen(CashierScreen(cashier.find_application(office, "012611230004")))
        await settle(app, pilot)
        await pilot.press("1", *"1100")
        await settle(app, pilot)
        _still(app)

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_drawer_after_the_blind_count(snap_compare, office, size):
    """Expected amounts by tender and a variance beyond the threshold, awaiting a supervisor."""
    app = ClerkApp(office, demo=True, counter=1)

    async def before(pilot):
        await login(app, pilot)
        clerk = app.actor
        cashier.open_drawer(office, clerk, 50000)
        for number, tender in (
            ("012611230003", cashier.TenderInput("cash", None, 30000)),
            ("012611230004", cashier.TenderInput("mpay", None, None, "MP-4471")),
        ):
            app_id = cashier.find_application(office, number)
            cashier.take_payment(office, clerk, app_id, [tender])
        app.push_screen(DrawerScreen())
        await settle(app, pilot)
        await pilot.press("c", "enter", "enter", *"7", "enter", "enter", "enter", *"1", "f2")
        await settle(app, pilot)
        _still(app)

    assert snap_compare(app, terminal_size=size, run_before=before)
