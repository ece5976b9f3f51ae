"""kill -9 in the middle of payments, on SQLite and on a real PostgreSQL.

A harness process (this module run with `python -m`) forks a child that takes payments in a loop
and kills it with SIGKILL after a random 10–120 ms, at least 50 times. The child widens the
window inside the transaction (a short random pause after the receipt number is taken and
before the audit event), and writes a mark before and after each payment, so the harness knows
how many kills landed in the middle of one. Afterwards: every receipt has its complete payment
(lines, tenders adding up, the audit event), the day's receipt numbers have no gap, the audit
chain verifies and SQLite's integrity check is ok.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import func, select

from clerk.domain import audit
from clerk.domain.models import (
    Application,
    AuditEvent,
    DailyCounter,
    Payment,
    PaymentLine,
    Receipt,
    Tender,
)
from clerk.domain.receipts import check_receipt_number

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
KILLS = 55
APPLICATIONS = 600


# --- the harness (a separate process: it forks the children it kills) ---------------------------


def _child(ctx, ana, todo: list[int], mark_fd: int, seed: int) -> None:
    """Take payments until killed; b"B" before each one, b"C" once it committed."""
    from clerk.domain import cashier

    rng = random.Random(seed)
    taken, appended = cashier.next_number, cashier.audit.append

    def slow_number(*args, **kwargs):
        number = taken(*args, **kwargs)
        time.sleep(rng.uniform(0, 0.004))
        return number

    def slow_append(*args, **kwargs):
        time.sleep(rng.uniform(0, 0.004))
        return appended(*args, **kwargs)

    cashier.next_number = slow_number
    cashier.audit.append = slow_append
    for n, app_id in enumerate(todo):
        tenders = (
            [cashier.TenderInput("cash", None, 30000)]
            if n % 2
            else [
                cashier.TenderInput("cash", 4000, 5000),
                cashier.TenderInput("mpay", None, None, f"MP{n}"),
            ]
        )
        os.write(mark_fd, b"B")
        cashier.take_payment(ctx, ana, app_id, tenders)
        os.write(mark_fd, b"C")
    os._exit(0)


class _Rollback(Exception):
    pass


def _unpaid(ctx) -> list[int]:
    with ctx.db.read() as s:
        paid = select(Receipt.application_id).where(Receipt.status == "valid")
        return list(
            s.exec(
                select(Application.id)
                .where(Application.status == "lodged", Application.id.not_in(paid))
                .order_by(Application.id)
            ).all()
        )


def _warm_up(ctx, ana, app_id: int) -> None:
    """One whole payment rolled back at its end, so that every statement is compiled (in the
    engine's cache, which the forked children inherit) and the policy data is loaded; then the
    connections are closed, so that no child shares the parent's."""
    from clerk.domain import cashier

    appended = cashier.audit.append

    def append_then_undo(*args, **kwargs):
        appended(*args, **kwargs)
        raise _Rollback

    cashier.audit.append = append_then_undo
    try:
        cashier.take_payment(ctx, ana, app_id, [cashier.TenderInput("cash")])
    except _Rollback:
        pass
    finally:
        cashier.audit.append = appended
    ctx.db.engine.dispose()


def harness(url: str, user_id: int, kills: int, seed: int) -> dict[str, object]:
    from clerk.context import Context
    from clerk.domain.auth import Actor

    rng = random.Random(seed)
    ctx = Context(db_url=url)
    ana = Actor(user_id, "ana", "clerk", counter=1)
    done = mid = paid = 0
    errors: list[str] = []
    for round_ in range(kills):
        todo = _unpaid(ctx)
        _warm_up(ctx, ana, todo[0])
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read_fd)
            try:
                _child(ctx, ana, todo, write_fd, seed * 1000 + round_)
            except BaseException as exc:  # noqa: BLE001 - reported to the harness
                os.write(write_fd, b"E" + repr(exc).encode()[:500])
            finally:
                os._exit(1)
        os.close(write_fd)
        time.sleep(rng.uniform(0.01, 0.12))
        os.kill(pid, signal.SIGKILL)
        _pid, status = os.waitpid(pid, 0)
        marks = b""
        while chunk := os.read(read_fd, 65536):
            marks += chunk
        os.close(read_fd)
        if b"E" in marks:
            errors.append(marks[marks.index(b"E") + 1 :].decode(errors="replace"))
        elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            done += 1
            mid += marks.endswith(b"B")
            paid += marks.count(b"C")
    return {"kills": done, "mid_payment": mid, "paid": paid, "errors": errors[:3]}


# --- the test -----------------------------------------------------------------------------------


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
        for n in range(APPLICATIONS):
            facts = policy.Facts(service="express" if n % 3 == 0 else "normal")
            lodge_directly(
                s,
                office,
                people[n % len(people)],
                facts,
                DAY,
                user_id=None,
                counter_id=None,
                at=NOW,
            )
    cashier.open_drawer(ctx, world.actors["ana"], 100000)
    return world


def test_kill_9_during_payments_leaves_whole_payments_and_no_gaps(office):
    ctx = office.ctx
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tests.system.test_payment_crash", ctx.db.url,
         str(office.actors["ana"].user_id), str(KILLS), "7"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["errors"] == []
    assert summary["kills"] >= 50
    assert summary["mid_payment"] >= 10, summary  # the kills did land inside payments
    with ctx.db.read() as s:
        receipts = s.exec(select(Receipt).order_by(Receipt.sequence)).all()
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
        per_app = s.exec(
            select(Receipt.application_id, func.count())
            .group_by(Receipt.application_id)
            .having(func.count() > 1)
        ).all()
        lodged = s.exec(select(func.count()).select_from(Application)).one()
        chain = audit.verify(s, ctx.audit_key)
    assert len(receipts) >= 10, "the children took too few payments to mean anything"
    assert [r.sequence for r in receipts] == list(range(1, len(receipts) + 1))  # no gap
    assert counter == len(receipts)  # no number handed out and lost
    for receipt in receipts:
        check_receipt_number(receipt.number)
        payment = payments[receipt.id]  # every receipt has its payment …
        assert payment.total_avos == receipt.total_avos == lines[payment.id]  # … its lines …
        assert tenders[payment.id] == receipt.total_avos  # … its tenders …
        assert receipt.id in audited  # … and its audit event
    assert len(payments) == len(receipts) == len(audited)  # nothing without a receipt
    assert per_app == [] and lodged == APPLICATIONS
    assert chain.ok, chain.problem
    assert ctx.db.integrity_check() == "ok"
    print(
        f"{ctx.db.dialect}: {summary['kills']} kills, {summary['mid_payment']} mid-payment, "
        f"{len(receipts)} payments, {time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    url, user, kills, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(harness(url, user, kills, seed)))
