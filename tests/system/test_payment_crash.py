"""kill -9 in the middle of payments, on SQLite and on a real PostgreSQL (`tests/system/crash.py`).

Ana's clerk process takes payments in a loop and is killed with SIGKILL after a random 10–250 ms,
at least 50 times; inside each payment a short random pause after the receipt number is taken and
before the audit event widens the window. Meanwhile João's process (the bystander) keeps taking
payments of other applications, and cash movements once those run out. Afterwards: every receipt
has its complete payment (lines, tenders adding up, the audit event), the day's receipt numbers
have no gap, the audit chain verifies and SQLite's integrity check is ok.
"""

from __future__ import annotations

import random

import pytest
from sqlmodel import func, select

from clerk.domain.models import (
    Application,
    AuditEvent,
    CashMovement,
    DailyCounter,
    Payment,
    PaymentLine,
    Receipt,
    Tender,
)
from clerk.domain.receipts import check_receipt_number
from tests.system import crash
from tests.system.crash import Marks, Scenario, assert_gapless, slowed

pytestmark = pytest.mark.system

KILLS = 55
APPLICATIONS = 600  # half for the killed clerk, half for the bystander


class _Rollback(Exception):
    pass


def unpaid(ctx, among: set[int] | None = None) -> list[int]:
    with ctx.db.read() as s:
        paid = select(Receipt.application_id).where(Receipt.status == "valid")
        ids = s.exec(
            select(Application.id)
            .where(Application.status == "lodged", Application.id.not_in(paid))
            .order_by(Application.id)
        ).all()
    return [i for i in ids if among is None or i in among]


class Payments(Scenario):
    def __init__(self, ctx, params):
        from clerk.domain.auth import Actor

        super().__init__(ctx, params)
        self.ana = Actor(params["ana"], "ana", "clerk", counter=1)
        self.joao = Actor(params["joao"], "joao", "clerk", counter=2)
        self.theirs = list(params["bystander_apps"])
        self.mine = set(params["apps"])

    def todo(self):
        return unpaid(self.ctx, self.mine) or None

    def warm_up(self) -> None:
        """One whole payment rolled back at its end: every statement compiled (in the engine's
        cache, which the children inherit) and the policy data loaded."""
        from clerk.domain import cashier

        appended = cashier.audit.append

        def append_then_undo(*args, **kwargs):
            appended(*args, **kwargs)
            raise _Rollback

        cashier.audit.append = append_then_undo
        try:
            cashier.take_payment(self.ctx, self.ana, self.todo()[0], [cashier.TenderInput("cash")])
        except _Rollback:
            pass
        finally:
            cashier.audit.append = appended

    @staticmethod
    def tenders(n: int):
        from clerk.domain.cashier import TenderInput

        if n % 2:
            return [TenderInput("cash", None, 30000)]
        return [TenderInput("cash", 4000, 5000), TenderInput("mpay", None, None, f"MP{n}")]

    def work(self, todo, marks: Marks, rng: random.Random) -> None:
        from clerk.domain import cashier

        cashier.next_number = slowed(cashier.next_number, rng, after=True)
        cashier.audit.append = slowed(cashier.audit.append, rng)
        marks.ready()
        for n, app_id in enumerate(todo):
            marks.begin()
            cashier.take_payment(self.ctx, self.ana, app_id, self.tenders(n))
            marks.done()

    def bystander_step(self, rng: random.Random) -> None:
        from clerk.domain import cashier

        if self.theirs:
            cashier.take_payment(
                self.ctx, self.joao, self.theirs.pop(0), self.tenders(rng.randrange(2))
            )
        else:
            cashier.cash_movement(self.ctx, self.joao, rng.choice(["in", "out"]), 100, "change")


@pytest.fixture
def office(ctx):
    from clerk.domain import cashier, policy
    from clerk.domain.demo_payments import lodge_directly
    from clerk.domain.models import Applicant, Office
    from tests.unit.test_cashier import DAY, NOW, build_world

    world = build_world(ctx)
    with ctx.db.write() as s:
        office = s.get(Office, world.office_id)
        people = [s.get(Applicant, pid) for pid in world.people.values()]
        apps = []
        for n in range(APPLICATIONS):
            facts = policy.Facts(service="express" if n % 3 == 0 else "normal")
            app = lodge_directly(
                s,
                office,
                people[n % len(people)],
                facts,
                DAY,
                user_id=None,
                counter_id=None,
                at=NOW,
            )
            apps.append(app.id)
    cashier.open_drawer(ctx, world.actors["ana"], 100000)
    cashier.open_drawer(ctx, world.actors["joao"], 100000)
    world.apps = apps
    return world


def check_payments(ctx) -> int:
    """Every receipt whole (its payment, lines and tenders adding up, its audit event), one per
    application, the day's numbers gapless and all used; every cash movement audited. The
    number of receipts."""
    with ctx.db.read() as s:
        receipts = s.exec(select(Receipt)).all()
        payments = {p.receipt_id: p for p in s.exec(select(Payment)).all()}
        lines = dict(
            s.exec(
                select(PaymentLine.payment_id, func.sum(PaymentLine.amount_avos)).group_by(
                    PaymentLine.payment_id
                )
            ).all()
        )
        tenders = dict(
            s.exec(
                select(Tender.payment_id, func.sum(Tender.amount_avos)).group_by(Tender.payment_id)
            ).all()
        )
        audited = set(
            s.exec(select(AuditEvent.subject_id).where(AuditEvent.action == "payment.take")).all()
        )
        counter = s.exec(select(DailyCounter.value).where(DailyCounter.kind == "receipt")).first()
        movements = s.exec(select(func.count()).select_from(CashMovement)).one()
        moved = s.exec(
            select(func.count()).where(AuditEvent.action.in_(["drawer.cash-in", "drawer.cash-out"]))
        ).one()
    assert_gapless([r.sequence for r in receipts], "receipt numbers")
    assert (counter or 0) == len(receipts)  # no number handed out and lost
    for receipt in receipts:
        check_receipt_number(receipt.number)
        payment = payments[receipt.id]  # every receipt has its payment …
        assert payment.total_avos == receipt.total_avos == lines[payment.id]  # … its lines …
        assert tenders[payment.id] == receipt.total_avos  # … its tenders …
        assert receipt.id in audited  # … and its audit event
    assert len(payments) == len(receipts) == len(audited)  # nothing without a receipt
    assert len({r.application_id for r in receipts}) == len(receipts)  # paid once
    assert movements == moved  # each cash movement with its audit event
    return len(receipts)


def test_kill_9_during_payments_leaves_whole_payments_and_no_gaps(office):
    ctx = office.ctx
    params = {
        "ana": office.actors["ana"].user_id,
        "joao": office.actors["joao"].user_id,
        "apps": office.apps[0::2],
        "bystander_apps": office.apps[1::2],
    }
    summary = crash.run_harness(
        "tests.system.test_payment_crash:Payments", ctx.db.url, params, KILLS
    )
    crash.check_summary(summary, 50)
    assert check_payments(ctx) >= 10, "the children took too few payments to mean anything"
    with ctx.db.read() as s:
        assert s.exec(select(func.count()).select_from(Application)).one() == APPLICATIONS
    crash.check_chain_and_integrity(ctx)
    print(crash.report_line(ctx, "payments", summary))
