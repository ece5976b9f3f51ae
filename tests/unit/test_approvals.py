"""The supervisor's inbox on SQLite and PostgreSQL: what waits, one action per request, the
rules of each kind left to its service (four eyes, a variance is never refused, reasons).

The clock is frozen on Monday 23 November 2026, 11:15 in Macao.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from clerk.domain import approvals, cashier, intake
from clerk.domain.auth import Actor
from clerk.domain.cashier import TenderInput
from clerk.domain.clock import set_clock
from clerk.domain.models import (
    Application,
    Approval,
    AuditEvent,
    DrawerSession,
    Payment,
    Receipt,
    User,
)
from clerk.errors import NotFound, Refused, UsageError
from tests.unit.test_intake import draft_for, mark_all, seed_counter_office

FROZEN = datetime(2026, 11, 23, 3, 15, tzinfo=UTC)  # Monday 11:15 in Macao
POVERTY_CLAIM = "012611230005"  # the demo's unpaid application with a poverty claim


@pytest.fixture
def clock():
    set_clock(lambda: FROZEN)
    yield
    set_clock(None)


class Demo:
    def __init__(self, ctx):
        self.ctx = ctx
        with ctx.db.read() as s:
            users = {u.username: u for u in s.exec(select(User)).all()}
        self.actors = {
            name: Actor(u.id, u.username, u.role, u.full_name, counter=1, terminal="test")
            for name, u in users.items()
        }

    def __getattr__(self, name: str) -> Actor:
        return self.__dict__["actors"][name]


@pytest.fixture
def demo(ctx, clock):
    from clerk.domain.demo import seed_demo
    from clerk.domain.demo_payments import seed_payments

    seed_demo(ctx)
    seed_payments(ctx)
    return Demo(ctx)


def rows_of(ctx, kind: str, subject_id: int) -> list[Approval]:
    with ctx.db.read() as s:
        return list(
            s.exec(
                select(Approval)
                .where(Approval.kind == kind, Approval.subject_id == subject_id)
                .order_by(Approval.id)
            ).all()
        )


def last_event(ctx) -> AuditEvent:
    with ctx.db.read() as s:
        return s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def pay_cash(d: Demo, number: str) -> cashier.Paid:
    app_id = cashier.find_application(d.ctx, number)
    due = cashier.payment_due(d.ctx, d.ana, app_id)
    return cashier.take_payment(
        d.ctx, d.ana, app_id, [TenderInput("cash", None, due.total_avos + 10000)]
    )


# --- exemptions ---------------------------------------------------------------------------------


def test_an_exemption_claimed_at_lodging_waits_and_is_decided_once(demo):
    ctx = demo.ctx
    waiting = approvals.inbox(ctx, demo.sup)
    assert [(r.kind, r.subject, r.detail, r.requested_by) for r in waiting] == [
        ("exemption", POVERTY_CLAIM, "poverty", "ana")
    ]
    with pytest.raises(Refused, match="supervisor or admin"):
        approvals.inbox(ctx, demo.ana)
    with pytest.raises(Refused, match="supervisor or admin"):
        approvals.approve(ctx, demo.ana, waiting[0].id)
    app_id = cashier.find_application(ctx, POVERTY_CLAIM)
    before = cashier.payment_due(ctx, demo.ana, app_id)
    assert before.exemption.status == "none"

    done = approvals.approve(ctx, demo.sup, waiting[0].id, "IAS card seen")
    assert (done.status, done.decided_by, done.reason) == ("approved", "sup", "IAS card seen")
    after = cashier.payment_due(ctx, demo.ana, app_id)
    assert after.exemption.status == "approved" and after.total_avos < before.total_avos
    # one action only: the request is closed, nothing stays open for a next decision
    for decide in (approvals.approve, approvals.refuse):
        with pytest.raises(Refused, match="decided already"):
            decide(ctx, demo.admin, waiting[0].id, "again")
    assert approvals.inbox(ctx, demo.sup) == []
    assert [r.id for r in approvals.decided(ctx, demo.sup)][:1] == [waiting[0].id]
    assert [a.status for a in rows_of(ctx, "exemption", app_id)] == ["approved"]
    event = last_event(ctx)
    assert (event.action, event.username) == ("payment.exemption-approved", "sup")


def test_refusing_an_exemption_keeps_the_fee(demo):
    ctx = demo.ctx
    request = approvals.inbox(ctx, demo.sup)[0]
    with pytest.raises(UsageError, match="reason"):
        approvals.refuse(ctx, demo.sup, request.id, "")
    app_id = cashier.find_application(ctx, POVERTY_CLAIM)
    before = cashier.payment_due(ctx, demo.ana, app_id).total_avos
    done = approvals.refuse(ctx, demo.sup, request.id, "no IAS card")
    assert done.status == "refused"
    due = cashier.payment_due(ctx, demo.ana, app_id)
    assert due.exemption.status == "refused" and due.total_avos == before


def test_a_decision_at_the_counter_closes_the_request(demo):
    ctx = demo.ctx
    app_id = cashier.find_application(ctx, POVERTY_CLAIM)
    cashier.decide_exemption(
        ctx, demo.joao, app_id, "poverty", "sup", "super-lei-1", approve=True, reason="seen"
    )
    assert approvals.inbox(ctx, demo.sup) == []
    rows = rows_of(ctx, "exemption", app_id)
    assert [(a.status, a.requested_by, a.decided_by) for a in rows] == [
        ("approved", demo.ana.user_id, demo.sup.user_id)
    ]


def test_paying_without_a_decision_withdraws_the_request(demo):
    ctx = demo.ctx
    cashier.open_drawer(ctx, demo.ana, 100000)
    pay_cash(demo, POVERTY_CLAIM)
    assert approvals.inbox(ctx, demo.sup) == []
    app_id = cashier.find_application(ctx, POVERTY_CLAIM)
    [row] = rows_of(ctx, "exemption", app_id)
    assert (row.status, row.decided_by) == ("withdrawn", None)


# --- drawer variances ---------------------------------------------------------------------------


def test_a_drawer_variance_is_acknowledged_from_the_desk_never_refused(demo):
    ctx = demo.ctx
    cashier.open_drawer(ctx, demo.ana, 100000)
    result = cashier.count_drawer(ctx, demo.ana, {})  # the float is missing
    assert result.status == "counted"
    request = next(r for r in approvals.inbox(ctx, demo.sup) if r.kind == "variance")
    assert request.amount_avos == -100000 and request.subject.startswith("ana ")
    with pytest.raises(Refused, match="acknowledged, not refused"):
        approvals.refuse(ctx, demo.sup, request.id, "recount")
    with pytest.raises(UsageError, match="reason"):
        approvals.approve(ctx, demo.sup, request.id)
    approvals.approve(ctx, demo.sup, request.id, "float taken to the safe early")
    with ctx.db.read() as s:
        session = s.get(DrawerSession, result.session_id)
        row = s.get(Approval, request.id)
    assert (session.status, session.approval_id) == ("closed", request.id)
    assert (row.status, row.decided_by, row.reason) == (
        "approved",
        demo.sup.user_id,
        "float taken to the safe early",
    )


def test_nobody_decides_their_own_request(demo):
    ctx = demo.ctx
    cashier.open_drawer(ctx, demo.sup, 100000)  # a supervisor at a till counts too
    cashier.count_drawer(ctx, demo.sup, {})
    request = next(r for r in approvals.inbox(ctx, demo.admin) if r.kind == "variance")
    with pytest.raises(Refused, match="nobody approves their own"):
        approvals.approve(ctx, demo.sup, request.id, "my own")
    assert approvals.approve(ctx, demo.admin, request.id, "checked").status == "approved"


# --- voids and refunds --------------------------------------------------------------------------


def test_a_void_asked_of_the_desk_goes_into_the_clerks_drawer(demo):
    ctx = demo.ctx
    drawer = cashier.open_drawer(ctx, demo.ana, 100000)
    paid = pay_cash(demo, "012611230003")
    with pytest.raises(UsageError, match="reason code"):
        approvals.request_reversal(ctx, demo.ana, paid.receipt_number, "void", "typo")
    request = approvals.request_reversal(ctx, demo.ana, paid.receipt_number, "void", "wrong-amount")
    assert (request.kind, request.subject, request.amount_avos) == (
        "void",
        paid.receipt_number,
        paid.total_avos,
    )
    with pytest.raises(Refused, match="already asked"):
        approvals.request_reversal(ctx, demo.ana, paid.receipt_number, "void", "duplicate")
    done = approvals.approve(ctx, demo.sup, request.id)
    assert done.status == "approved"
    with ctx.db.read() as s:
        receipt = s.get(Receipt, paid.receipt_id)
        reversal = s.exec(
            select(Payment).where(Payment.receipt_id == receipt.id, Payment.kind == "reversal")
        ).one()
    assert receipt.status == "void"
    assert (reversal.drawer_session_id, reversal.total_avos, reversal.approval_id) == (
        drawer.id,
        -paid.total_avos,
        request.id,
    )
    event = last_event(ctx)
    assert (event.action, event.username) == ("receipt.void", "sup")
    assert json.loads(event.after)["clerk"] == "ana"
    with pytest.raises(Refused, match="decided already"):
        approvals.approve(ctx, demo.sup, request.id)


def test_refusing_a_refund_changes_nothing_but_the_request(demo):
    ctx = demo.ctx
    cashier.open_drawer(ctx, demo.ana, 100000)
    with ctx.db.read() as s:
        old = s.exec(
            select(Receipt).where(Receipt.day < FROZEN.date()).order_by(Receipt.day)
        ).first()
    with pytest.raises(Refused, match="refund it"):
        approvals.request_reversal(ctx, demo.ana, old.number, "void", "wrong-amount")
    request = approvals.request_reversal(ctx, demo.ana, old.number, "refund", "overcharged")
    done = approvals.refuse(ctx, demo.sup, request.id, "fee was right")
    assert (done.status, done.reason) == ("refused", "fee was right")
    with ctx.db.read() as s:
        assert s.get(Receipt, old.id).status == "valid"
    event = last_event(ctx)
    assert (event.action, event.username) == ("approval.refused", "sup")


def test_unknown_requests(demo):
    with pytest.raises(NotFound):
        approvals.approve(demo.ctx, demo.sup, 9999)


# --- checklist overrides ------------------------------------------------------------------------


def test_an_override_asked_of_the_desk(ctx, clock):
    o = seed_counter_office(ctx)
    sup = o.staff["sup"]
    draft = draft_for(o, "1234567(3)", "renewal")
    draft = intake.mark_item(ctx, o.ana, draft.id, "former-card", "missing")
    with pytest.raises(Refused, match="does not block"):
        approvals.request_override(ctx, o.ana, draft.id, "photo", "on-site photo")
    with pytest.raises(NotFound):
        approvals.request_override(ctx, o.ana, draft.id, "director-approval", "none")
    with pytest.raises(UsageError, match="reason"):
        approvals.request_override(ctx, o.ana, draft.id, "former-card", "")
    with pytest.raises(Refused, match="draft"):  # bea's request about ana's draft
        approvals.request_override(ctx, o.staff["bea"], draft.id, "former-card", "lost")
    request = approvals.request_override(ctx, o.ana, draft.id, "former-card", "left at home")
    assert (request.kind, request.detail, request.reason) == (
        "checklist-override",
        "former-card",
        "left at home",
    )
    assert request.subject == f"draft {draft.id}"  # no application number before lodging
    with pytest.raises(Refused, match="already asked"):
        approvals.request_override(ctx, o.ana, draft.id, "former-card", "again")
    approvals.approve(ctx, sup, request.id)
    item = next(i for i in intake.load_draft(ctx, o.ana, draft.id).items if i.code == "former-card")
    assert (item.state, item.approval_id) == ("overridden", request.id)
    lodged = intake.lodge(ctx, o.ana, draft.id)
    assert lodged.number.endswith("0001")


def test_lodging_withdraws_a_moot_override_request_and_asks_for_the_claimed_exemption(ctx, clock):
    o = seed_counter_office(ctx)
    draft = draft_for(o, "1234567(3)", "renewal")
    draft = intake.mark_item(ctx, o.ana, draft.id, "former-card", "missing")
    asked = approvals.request_override(ctx, o.ana, draft.id, "former-card", "left at home")
    draft = intake.save_facts(
        ctx,
        o.ana,
        draft.id,
        {"exemption": "poverty"},
        date_of_birth=draft.applicant.date_of_birth,
        card_expires_on=draft.history.current_card.expires_on,
    )
    draft = mark_all(o, draft)  # the applicant found the card after all
    lodged = intake.lodge(ctx, o.ana, draft.id)
    waiting = approvals.inbox(ctx, o.staff["sup"])
    assert [(r.kind, r.subject, r.detail) for r in waiting] == [
        ("exemption", lodged.number, "poverty")
    ]
    with ctx.db.read() as s:
        assert s.get(Approval, asked.id).status == "withdrawn"
        assert s.get(Application, draft.id).status == "lodged"
