"""The payment and drawer screens driven by keys (Pilot), on the demo office with its payments.

The clock is frozen on Monday 23 November 2026, 11:15 in Macao; the printer is a folder.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from sqlmodel import select
from textual.widgets import Static

from clerk.app import ClerkApp
from clerk.domain import approvals, cashier
from clerk.domain.auth import Actor
from clerk.domain.clock import set_clock
from clerk.domain.models import Approval, DrawerSession, Payment, Receipt, Tender, User
from clerk.screens.cashier import CashierScreen, ExemptionModal, ReverseModal
from clerk.screens.drawer import AcknowledgeModal, DrawerScreen
from tests.conftest import make_ctx
from tests.functional.shell import login, settle

FROZEN = datetime(2026, 11, 23, 3, 15, tzinfo=UTC)  # Monday 11:15 in Macao
SUPERVISOR = ("sup", "super-lei-1")


@pytest.fixture
def office(sqlite_url, tmp_path):
    """The demo office with its payments; application numbers 012611230003–5 are unpaid."""
    from clerk.domain.demo import seed_demo
    from clerk.domain.demo_payments import seed_payments

    set_clock(lambda: FROZEN)
    ctx = make_ctx(sqlite_url)
    seed_demo(ctx)
    seed_payments(ctx)
    ctx.config.printer.kind, ctx.config.printer.folder = "folder", str(tmp_path / "print")
    yield ctx
    ctx.close()
    set_clock(None)


def app_id(ctx, number: str) -> int:
    return cashier.find_application(ctx, number)


def text(app, selector: str) -> str:
    """What a Static shows, as plain text (rich tables included)."""
    content = app.screen.query_one(selector, Static).content
    if isinstance(content, str):
        return content
    console = Console(width=160, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(content)
    return captured.get()


async def open_payment(app, pilot, number: str, *, open_drawer: bool = True):
    if open_drawer:
        cashier.open_drawer(app.ctx, app.actor, 100000)
    app.push_screen(CashierScreen(app_id(app.ctx, number)))
    await settle(app, pilot)


async def supervisor_types(app, pilot, last: str = "") -> None:
    await pilot.press(*SUPERVISOR[0], "enter", *SUPERVISOR[1], "enter", *last)


def _receipt(ctx, number: str) -> Receipt | None:
    with ctx.db.read() as s:
        return s.exec(
            select(Receipt)
            .where(Receipt.application_id == app_id(ctx, number))
            .order_by(Receipt.id)
        ).first()


async def test_open_the_drawer_and_pay_cash_with_change(office, tmp_path):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        app.push_screen(DrawerScreen())
        await settle(app, pilot)
        assert "No open drawer" in text(app, "#drawer-status")
        await pilot.press(*"1000", "enter")
        await settle(app, pilot)
        assert "float MOP 1000.00" in text(app, "#drawer-status")
        await pilot.press("p", *"012611230003", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CashierScreen)
        assert "MOP 240.00" in text(app, "#pay-lines")
        await pilot.press("1", *"300")
        await settle(app, pilot)
        assert text(app, "#pay-change") == "Change: MOP 60.00"
        await pilot.press("enter")
        await settle(app, pilot)
        receipt = _receipt(office, "012611230003")
        assert receipt is not None and receipt.status == "valid" and receipt.printed_count == 1
        assert f"Receipt {receipt.number} issued. Change: MOP 60.00." in text(app, "#pay-message")
        assert len(list((tmp_path / "print").glob(f"*{receipt.number}.pdf"))) == 1
        set_clock(lambda: FROZEN + timedelta(seconds=5))  # the folder printer names by time
        await pilot.press("p")  # a reprint is a COPY
        await settle(app, pilot)
        assert text(app, "#pay-message").startswith("COPY printed:")
        assert len(list((tmp_path / "print").glob(f"*{receipt.number}.pdf"))) == 2
        assert _receipt(office, "012611230003").printed_count == 2
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, DrawerScreen)
        assert "1 payments" in text(app, "#drawer-status")


async def test_short_cash_is_refused_on_screen(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        await open_payment(app, pilot, "012611230003")
        await pilot.press("1", *"200")
        await settle(app, pilot)
        assert "less than" in text(app, "#pay-change")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "less than" in text(app, "#pay-message")
        assert _receipt(office, "012611230003") is None


async def test_split_tender_between_cash_and_mpay(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        await open_payment(app, pilot, "012611230003")
        await pilot.press("s", *"40", "enter")  # first amount, then the method
        await settle(app, pilot)
        await pilot.press("1", "enter", *"50", "enter")  # cash 40, tendered 50
        await settle(app, pilot)
        await pilot.press("6", *"MP123")  # the rest by MPay
        await settle(app, pilot)
        assert text(app, "#pay-change") == "Change: MOP 10.00"
        await pilot.press("enter")
        await settle(app, pilot)
        receipt = _receipt(office, "012611230003")
        assert receipt is not None
        with office.db.read() as s:
            tenders = s.exec(select(Tender).order_by(Tender.id.desc()).limit(2)).all()
        assert sorted((t.method, t.amount_avos, t.tendered_avos, t.reference) for t in tenders) == [
            ("cash", 4000, 5000, ""),
            ("mpay", 20000, None, "MP123"),
        ]


async def test_exemption_approved_by_a_supervisor_at_the_counter(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        await open_payment(app, pilot, "012611230005")  # claims poverty
        assert "Exemption claimed (Poverty" in text(app, "#pay-exemption")
        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(app.screen, ExemptionModal)
        assert "IAS" in text(app, "#sup-detail")  # the evidence items of the claim
        await pilot.press("enter")
        await supervisor_types(app, pilot, "IAS card seen")
        await pilot.press("enter")
        assert "F2 approves" in text(app, "#sup-message")
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, CashierScreen)
        assert "approved by Lei Ka Man" in text(app, "#pay-exemption")
        assert "MOP 0.00" in text(app, "#pay-lines")
        await pilot.press("enter")  # nothing to pay: the receipt is issued
        await settle(app, pilot)
        receipt = _receipt(office, "012611230005")
        assert receipt is not None and receipt.total_avos == 0
        with office.db.read() as s:
            approval = s.exec(select(Approval).where(Approval.kind == "exemption")).one()
        assert (approval.status, approval.reason) == ("approved", "IAS card seen")


async def test_exemption_refused_and_a_wrong_password(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        await open_payment(app, pilot, "012611230005")
        await pilot.press("x", "enter", *"sup", "enter", *"wrong-pass", "enter", "f3")
        await settle(app, pilot)
        assert isinstance(app.screen, ExemptionModal)
        assert "wrong user name or password" in text(app, "#sup-message")
        await pilot.press(*SUPERVISOR[1], "f3")  # the cursor is back in the password
        await settle(app, pilot)
        assert isinstance(app.screen, CashierScreen)
        assert "refused by" in text(app, "#pay-exemption")
        assert "MOP 90.00" in text(app, "#pay-lines")


async def _void_dialog(app, pilot, office):
    """Application 012611230003 paid in cash at counter 1, then V: the void/refund dialog is
    open; its receipt."""
    await login(app, pilot)
    await open_payment(app, pilot, "012611230003")
    await pilot.press("1", "enter")
    await settle(app, pilot)
    receipt = _receipt(office, "012611230003")
    await pilot.press("v")
    await settle(app, pilot)
    assert isinstance(app.screen, ReverseModal)
    return receipt


async def test_void_needs_the_supervisors_password(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        number = (await _void_dialog(app, pilot, office)).number
        await pilot.press("enter", *"sup", "enter", *"not-his", "enter", "enter")
        await settle(app, pilot)
        assert "wrong user name or password" in text(app, "#sup-message")
        assert _receipt(office, "012611230003").status == "valid"
        await pilot.press(*SUPERVISOR[1], "enter", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CashierScreen)
        assert _receipt(office, "012611230003").status == "void"
        assert f"Receipt {number} is now void." in text(app, "#pay-message")


async def test_void_asked_of_the_supervisors_desk(office):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        receipt = await _void_dialog(app, pilot, office)
        assert "F9" in text(app, "#sup-hint")
        await pilot.press("f9")  # the first reason (a void); no supervisor here
        await settle(app, pilot)
        assert isinstance(app.screen, CashierScreen), text(app, "#sup-message")
        assert f"Asked the desk to void receipt {receipt.number}" in text(app, "#pay-message")
        assert _receipt(office, "012611230003").status == "valid"  # until the desk approves
        await pilot.press("v")
        await settle(app, pilot)
        await pilot.press("f9")  # asked twice
        await settle(app, pilot)
        assert isinstance(app.screen, ReverseModal)
        assert "already asked about this receipt" in text(app, "#sup-message")
        await pilot.press("escape")
        await settle(app, pilot)
        clerk = app.actor
    with office.db.read() as s:
        user = s.exec(select(User).where(User.username == SUPERVISOR[0])).one()
    sup = Actor(user.id, user.username, user.role, user.full_name, terminal="desk")
    waiting = [r for r in approvals.inbox(office, sup) if r.kind in ("void", "refund")]
    assert [(r.kind, r.subject, r.requested_by) for r in waiting] == [
        ("void", receipt.number, clerk.username)
    ]
    approvals.approve(office, sup, waiting[0].id)
    assert _receipt(office, "012611230003").status == "void"
    with office.db.read() as s:
        reversal = s.exec(
            select(Payment).where(Payment.receipt_id == receipt.id, Payment.kind == "reversal")
        ).one()
        drawer = s.get(DrawerSession, reversal.drawer_session_id)
    assert (drawer.user_id, reversal.total_avos, reversal.approval_id) == (
        clerk.user_id,
        -receipt.total_avos,
        waiting[0].id,
    )


async def test_drawer_blind_count_variance_and_close(office, tmp_path):
    app = ClerkApp(office, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        clerk = app.actor
        cashier.open_drawer(office, clerk, "500")
        due = cashier.payment_due(office, clerk, app_id(office, "012611230003"))
        cashier.take_payment(office, clerk, due.application_id, [cashier.TenderInput("cash")])
        app.push_screen(DrawerScreen())
        await settle(app, pilot)
        await pilot.press("i", *"100", "enter", *"coins from the safe", "enter")
        await settle(app, pilot)
        assert "1 cash movements" in text(app, "#drawer-status")
        assert "MOP" not in text(app, "#drawer-result")  # blind: nothing expected shown
        await pilot.press("c")
        await settle(app, pilot)
        # expected 500 + 240 + 100 = 840; counted 500 + 3 × 100 + 20 = 820: 20 short
        await pilot.press("enter", *"1", "enter", *"3", "enter", "enter", *"1", "f2")
        await settle(app, pilot)
        result = text(app, "#drawer-result")
        assert "MOP 840.00" in result and "MOP 820.00" in result and "MOP -20.00" in result
        assert "acknowledgement" in result
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, AcknowledgeModal)
        await supervisor_types(app, pilot, "miscounted change")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "closed" in text(app, "#drawer-result")
        with office.db.read() as s:
            session = s.exec(
                select(DrawerSession)
                .where(DrawerSession.user_id == clerk.user_id)
                .order_by(DrawerSession.id.desc())
            ).first()
        assert (session.status, session.variance_avos, session.counted_avos) == (
            "closed",
            -2000,
            82000,
        )
        await pilot.press("z")
        await settle(app, pilot)
        assert "Z report printed" in text(app, "#drawer-message")
        assert list((tmp_path / "print").glob("*z-*.pdf"))
