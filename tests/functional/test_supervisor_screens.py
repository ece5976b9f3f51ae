"""The supervisor's desk driven by keys (Pilot) on the demo office with its payments: F9 from
home, the dashboard, the approvals inbox, the reports and the audit viewer; a clerk is refused.

The clock is frozen on Monday 23 November 2026, 11:15 in Macao.
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from sqlmodel import select
from textual.widgets import DataTable, Static

from clerk.app import ClerkApp
from clerk.domain.models import Approval, User
from clerk.screens.approvals import ApprovalsScreen, DecisionModal
from clerk.screens.audit_viewer import AuditViewerScreen
from clerk.screens.home import HomeScreen
from clerk.screens.reports import ReportsScreen
from clerk.screens.supervisor import SupervisorScreen
from tests.functional import test_cashier_screen
from tests.functional.shell import login, settle

SUPERVISOR = test_cashier_screen.SUPERVISOR
office = test_cashier_screen.office  # the demo office with its payments, frozen on a Monday


def plain(content) -> str:
    """A Static's content as plain text (rich tables and texts included)."""
    if isinstance(content, str):
        return content
    console = Console(width=200, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(content)
    return captured.get()


def shown(app, selector: str) -> str:
    return plain(app.screen.query_one(selector, Static).content)


async def open_desk(app, pilot) -> None:
    await login(app, pilot, *SUPERVISOR)
    await pilot.press("f9")
    await settle(app, pilot)
    assert isinstance(app.screen, SupervisorScreen)


async def test_a_clerk_is_refused_the_desk(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)  # ana, a clerk
        assert isinstance(app.screen, HomeScreen)
        assert app.screen.check_action("supervisor", ()) is False  # not in her footer
        await pilot.press("f9")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        notes = " ".join(str(n.message) for n in app._notifications)
        assert "supervisors and administrators" in notes


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_dashboard_shows_today(office, size):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=size) as pilot:
        await open_desk(app, pilot)
        figures = shown(app, "#desk-figures")
        # the demo: 15 tags waiting, two receipts today (MOP 90 cash, MOP 340 Macau Pass) and
        # the poverty claim waiting for a decision
        assert "waiting 15" in figures and "takings MOP 430.00" in figures
        assert "waiting for a supervisor: 1 (1 exemptions)" in figures
        services = shown(app, "#desk-services")
        assert "ID card renewal" in services or "ID card" in services
        assert "macau-pass" in shown(app, "#desk-takings")
        assert app.screen.has_class("narrow") == (size[0] < 100)


async def test_an_exemption_is_approved_from_the_inbox(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_desk(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, ApprovalsScreen)
        table = app.screen.query_one("#approvals-table", DataTable)
        assert table.row_count == 1 and "012611230005" in [str(c) for c in table.get_row_at(0)]
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, DecisionModal)
        await pilot.press(*"IAS card seen", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ApprovalsScreen)
        assert "approved" in shown(app, "#approvals-message")
        assert app.screen.query_one("#approvals-table", DataTable).row_count == 0
        with office.db.read() as s:
            approval = s.exec(select(Approval).where(Approval.kind == "exemption")).one()
            sup = s.exec(select(User).where(User.username == "sup")).one()
        assert (approval.status, approval.decided_by, approval.reason) == (
            "approved",
            sup.id,
            "IAS card seen",
        )
        await pilot.press("a")  # nothing left to decide
        await settle(app, pilot)
        assert "Choose a waiting request" in shown(app, "#approvals-message")
        await pilot.press("h")  # the decisions
        await settle(app, pilot)
        assert app.screen.query_one("#approvals-table", DataTable).row_count == 1


async def test_the_daily_report_on_screen_and_saved_as_pdf(office):
    from clerk.domain.reports import reports_folder

    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_desk(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, ReportsScreen)
        await pilot.press("f2")  # nothing to save yet
        await settle(app, pilot)
        assert "Run a report first" in shown(app, "#reports-message")
        await pilot.press("down", "down", "down", "down", "enter")  # Daily report
        await settle(app, pilot)
        assert shown(app, "#reports-message") == "Daily report · 2026-11-23"
        everything = "\n".join(plain(w.content) for w in app.screen.query("#reports-body Static"))
        assert "Audit chain head" in everything and "430.00" in everything
        await pilot.press("f2")
        await settle(app, pilot)
        assert "Saved:" in shown(app, "#reports-message")
        saved = reports_folder() / "daily-20261123.pdf"
        assert saved.read_bytes().startswith(b"%PDF")


async def test_a_bad_date_is_said_next_to_the_report(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_desk(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        await pilot.press("tab", *"2026-13-01", "enter", "enter")
        await settle(app, pilot)
        assert "not a date" in shown(app, "#reports-message")


async def test_the_audit_viewer_filters_by_person_and_verifies(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_desk(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        assert isinstance(app.screen, AuditViewerScreen)
        await pilot.press(*"sup", "enter")
        await settle(app, pilot)
        table = app.screen.query_one("#audit-table", DataTable)
        users = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert table.row_count >= 1 and users == {"sup"}
        await pilot.press("f7")
        await settle(app, pilot)
        assert "The audit chain is intact" in shown(app, "#audit-message")
