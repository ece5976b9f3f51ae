"""The cashier's services on SQLite and PostgreSQL: fees, tenders, exemptions, receipts, the
drawer's blind count, voids and refunds, roles, and gapless receipt numbers under concurrency.

The clock is frozen on Monday 23 November 2026, 10:00 in Macao.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from clerk.domain import audit, cashier, policy
from clerk.domain.auth import Actor, hash_password
from clerk.domain.cashier import TenderInput
from clerk.domain.clock import set_clock
from clerk.domain.demo_payments import lodge_directly
from clerk.domain.models import (
    Applicant,
    Approval,
    AuditEvent,
    Counter,
    DailyCounter,
    IssuedCard,
    NonPresentation,
    Office,
    Payment,
    PaymentLine,
    Receipt,
    Tender,
    User,
)
from clerk.domain.receipts import check_receipt_number, make_receipt_number
from clerk.errors import Failure, NotFound, Refused, UsageError

DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Macao
PASSWORD = "pass-word-1"  # noqa: S105 - every test user's password
STAFF = (
    ("ana", "clerk", 1),
    ("joao", "clerk", 2),
    ("mei", "clerk", 3),
    ("rui", "clerk", 4),
    ("sup", "supervisor", 5),
    ("sup2", "supervisor", 6),
    ("admin", "admin", None),
)
PEOPLE = (
    # id number, Chinese, Latin, earlier non-presentations, first 2023 card
    ("1234567(3)", "陳大文", "CHAN TAI MAN", (), None),
    ("5213377(0)", "", "SOUSA, JOÃO MIGUEL DE", (date(2015, 3, 1),), None),
    ("1290456(8)", "梁家豪", "LEONG KA HOU", (date(2015, 5, 1), date(2018, 5, 1)), None),
    ("1776543(0)", "陳美玲", "CHAN MEI LENG", (date(2015, 5, 1), date(2024, 6, 1)),
     date(2024, 1, 5)),
)  # fmt: skip


@cache
def _hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class World:
    ctx: object
    actors: dict[str, Actor]
    people: dict[str, int]
    office_id: int

    def lodge(self, idn="1234567(3)", case="renewal", service="normal", claim=None, day=DAY):
        with self.ctx.db.write() as s:
            office = s.get(Office, self.office_id)
            person = s.get(Applicant, self.people[idn])
            facts = policy.Facts(case=case, service=service, exemption=claim)
            app = lodge_directly(
                s, office, person, facts, day, user_id=None, counter_id=None, at=NOW
            )
            return app.id

    def open(self, who="ana", float_avos=50000):
        return cashier.open_drawer(self.ctx, self.actors[who], float_avos)

    def pay_cash(self, app_id, who="ana", tendered=None):
        return cashier.take_payment(
            self.ctx, self.actors[who], app_id, [TenderInput("cash", None, tendered)]
        )


@pytest.fixture(autouse=True)
def frozen_clock():
    set_clock(lambda: NOW)
    yield
    set_clock(None)


def build_world(ctx) -> World:
    """An office with counters, clerks, supervisors, an administrator and applicants."""
    actors, people = {}, {}
    with ctx.db.write() as s:
        office = Office(code="01", name="Headquarters", name_zh="總部", name_pt="Sede")
        s.add(office)
        s.flush()
        for n in range(1, 7):
            s.add(Counter(office_id=office.id, number=n, name=f"Counter {n}"))
        for username, role, counter in STAFF:
            user = User(username=username, role=role, password_hash=_hash(), full_name=username)
            s.add(user)
            s.flush()
            actors[username] = Actor(user.id, username, role, username, counter=counter)
        for idn, zh, latin, earlier, first_2023 in PEOPLE:
            person = Applicant(
                id_number=idn,
                name_zh=zh,
                name_latin=latin,
                date_of_birth=date(1980, 1, 1),
                first_2023_card_issued_on=first_2023,
            )
            s.add(person)
            s.flush()
            people[idn] = person.id
            s.add(IssuedCard(applicant_id=person.id, version="2013", issued_on=date(2017, 1, 1)))
            for when in earlier:
                s.add(NonPresentation(applicant_id=person.id, occurred_on=when))
        office_id = office.id
    return World(ctx, actors, people, office_id)


@pytest.fixture
def world(ctx) -> World:
    return build_world(ctx)


def count(ctx, model) -> int:
    with ctx.db.read() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def audit_ok(ctx) -> bool:
    with ctx.db.read() as s:
        return audit.verify(s, ctx.audit_key).ok


# --- fees ---------------------------------------------------------------------------------------


def test_fee_lines_come_from_the_policy_and_the_total_is_their_sum(world):
    app = world.lodge(service="express")
    due = cashier.payment_due(world.ctx, world.actors["ana"], app)
    assert [line.code for line in due.lines] == ["application-fee", "express-service"]
    assert due.total_avos == 24000 == sum(line.amount_avos for line in due.lines)
    assert due.lines[0].label_for("zh_Hant") == "身份證申請費"
    assert {m.code for m in due.methods} >= {"cash", "mpay", "macau-pass", "credit-card"}
    assert not due.paid and due.exemption.status == "none"


def test_the_surcharge_counts_earlier_history_not_the_lodging_itself(world):
    # one earlier non-presentation: this loss is the 2nd time (MOP 300), although lodging
    # already recorded a non-presentation for this application
    app = world.lodge("5213377(0)", case="loss")
    lines = cashier.payment_due(world.ctx, world.actors["ana"], app).lines
    surcharge = next(line for line in lines if line.code == "non-presentation-surcharge")
    assert surcharge.amount_avos == 30000 and "2nd" in surcharge.label_for("en")
    # two earlier ones: the 3rd time is MOP 500
    app = world.lodge("1290456(8)", case="loss")
    lines = cashier.payment_due(world.ctx, world.actors["ana"], app).lines
    assert [x.amount_avos for x in lines if x.code == "non-presentation-surcharge"] == [50000]


def test_the_fees_of_an_application_lodged_by_the_intake_service(world):
    """Through the real counter flow: the amount due is the one lodging quoted."""
    from clerk.domain import intake

    ctx, ana = world.ctx, world.actors["ana"]
    draft = intake.start_draft(ctx, ana, world.people["5213377(0)"])
    draft = intake.save_case(ctx, ana, draft.id, "loss", "express")
    for item in draft.items:
        draft = intake.mark_item(ctx, ana, draft.id, item.code, "original-seen")
    lodged = intake.lodge(ctx, ana, draft.id)
    assert lodged.non_presentation  # lodging recorded this time already
    due = cashier.payment_due(ctx, ana, lodged.application_id)
    assert due.total_avos == lodged.total_avos == 9000 + 15000 + 30000  # 2nd time: MOP 300
    assert (due.number, due.promised_on) == (lodged.number, lodged.promised_on)
    world.open()
    paid = world.pay_cash(lodged.application_id, tendered=60000)
    assert (paid.total_avos, paid.change_avos) == (54000, 6000)


def test_the_2023_card_resets_the_ladder(world):
    # earlier surcharges in 2015 and 2024; the 2023 card came in January 2024: 2nd time
    app = world.lodge("1776543(0)", case="loss")
    lines = cashier.payment_due(world.ctx, world.actors["ana"], app).lines
    surcharge = next(line for line in lines if line.code == "non-presentation-surcharge")
    assert "2nd" in surcharge.label_for("en") and surcharge.amount_avos == 30000


# --- payments -----------------------------------------------------------------------------------


def test_no_payment_without_an_open_drawer(world):
    app = world.lodge()
    with pytest.raises(Refused, match="drawer"):
        world.pay_cash(app)
    assert count(world.ctx, Receipt) == 0


def test_cash_payment_gives_change_and_one_complete_receipt(world):
    world.open()
    app = world.lodge()
    paid = world.pay_cash(app, tendered=10000)
    assert (paid.total_avos, paid.change_avos) == (9000, 1000)
    found = check_receipt_number(paid.receipt_number)
    assert (found.office_code, found.day, found.sequence) == ("01", DAY, 1)
    with world.ctx.db.read() as s:
        receipt = s.exec(select(Receipt)).one()
        payment = s.exec(select(Payment)).one()
        lines = s.exec(select(PaymentLine)).all()
        tender = s.exec(select(Tender)).one()
        events = s.exec(select(AuditEvent.action)).all()
    assert receipt.total_avos == payment.total_avos == sum(x.amount_avos for x in lines) == 9000
    assert receipt.counter_id is not None and receipt.status == "valid"
    assert (tender.method, tender.amount_avos, tender.tendered_avos) == ("cash", 9000, 10000)
    assert lines[0].label_zh == "身份證申請費" and lines[0].label_pt
    assert "payment.take" in events and audit_ok(world.ctx)
    assert cashier.valid_receipt(world.ctx, app) == paid.receipt_number


@pytest.mark.parametrize(
    ("tendered", "message"), [(8000, "less than"), (9000 + 100000, "Check the amount")]
)
def test_cash_tendered_must_cover_and_be_sensible(world, tendered, message):
    world.open()
    with pytest.raises(UsageError, match=message):
        world.pay_cash(world.lodge(), tendered=tendered)
    assert count(world.ctx, Receipt) == 0


def test_split_tender_between_cash_and_a_terminal(world):
    world.open()
    app = world.lodge(service="special-express")  # 90 + 250
    paid = cashier.take_payment(
        world.ctx,
        world.actors["ana"],
        app,
        [TenderInput("cash", 20000, 20000), TenderInput("mpay", None, None, " MP-77 ")],
    )
    assert paid.total_avos == 34000 and paid.change_avos == 0
    assert [(t.method, t.amount_avos, t.reference) for t in paid.tenders] == [
        ("cash", 20000, ""),
        ("mpay", 14000, "MP-77"),
    ]


@pytest.mark.parametrize(
    ("tenders", "message"),
    [
        ([TenderInput("mpay")], "reference"),
        ([TenderInput("cash", 4000), TenderInput("cash")], "different methods"),
        ([TenderInput("cash", 4000), TenderInput("mpay", 4000, None, "x")], "add up"),
        ([TenderInput("cash"), TenderInput("mpay", None, None, "x")], "first tender"),
        ([TenderInput("bitcoin")], "Unknown payment method"),
        ([], "Choose how"),
        ([TenderInput("cash", 3000), TenderInput("mpay", 3000, None, "x")] * 2, "two methods"),
    ],
)
def test_bad_tenders_change_nothing(world, tenders, message):
    world.open()
    with pytest.raises(UsageError, match=message):
        cashier.take_payment(world.ctx, world.actors["ana"], world.lodge(), tenders)
    assert count(world.ctx, Receipt) == count(world.ctx, Payment) == 0


def test_paid_once_and_the_total_seen_must_still_hold(world):
    world.open()
    app = world.lodge()
    with pytest.raises(Refused, match="changed"):
        cashier.take_payment(
            world.ctx,
            world.actors["ana"],
            app,
            [TenderInput("cash")],
            expected_total_avos=24000,
        )
    world.pay_cash(app)
    with pytest.raises(Refused, match="already paid"):
        world.pay_cash(app)


def test_a_failure_inside_the_transaction_gives_the_number_back(world, monkeypatch):
    world.open()
    first, second = world.lodge(), world.lodge("5213377(0)")

    def broken(*args, **kwargs):
        raise RuntimeError("power cut")

    with monkeypatch.context() as m:
        m.setattr(cashier.audit, "append", broken)
        with pytest.raises(RuntimeError):
            world.pay_cash(first)
    assert count(world.ctx, Receipt) == count(world.ctx, Payment) == count(world.ctx, Tender) == 0
    assert check_receipt_number(world.pay_cash(second).receipt_number).sequence == 1


# --- exemptions ---------------------------------------------------------------------------------


def test_an_approved_exemption_zeroes_the_waived_lines(world):
    world.open()
    app = world.lodge(service="express", claim="poverty")
    due = cashier.payment_due(world.ctx, world.actors["ana"], app)
    assert due.exemption.claimed == "poverty" and due.total_avos == 24000  # not yet approved
    assert any("IAS" in title["en"] for title in due.exemption.evidence["poverty"])
    view = cashier.decide_exemption(
        world.ctx, world.actors["ana"], app, "poverty", "sup", PASSWORD, approve=True
    )
    assert (view.status, view.kind, view.decided_by) == ("approved", "poverty", "sup")
    due = cashier.payment_due(world.ctx, world.actors["ana"], app)
    waiver = [line for line in due.lines if line.waived]
    assert len(waiver) == 1 and waiver[0].amount_avos == -9000
    assert due.total_avos == 15000 == sum(line.amount_avos for line in due.lines)
    paid = world.pay_cash(app, tendered=15000)
    with world.ctx.db.read() as s:
        payment = s.exec(select(Payment)).one()
        approval = s.get(Approval, payment.approval_id)
    assert paid.total_avos == 15000 and approval.kind == "exemption"
    assert approval.status == "approved" and approval.decided_by == world.actors["sup"].user_id


def test_a_full_exemption_still_gives_a_receipt(world):
    world.open()
    app = world.lodge(claim="unemployment")
    cashier.decide_exemption(
        world.ctx, world.actors["ana"], app, "unemployment", "sup", PASSWORD, approve=True
    )
    with pytest.raises(UsageError, match="Nothing is due"):
        world.pay_cash(app)
    paid = cashier.take_payment(world.ctx, world.actors["ana"], app, [])
    assert paid.total_avos == 0 and paid.tenders == ()


def test_a_refused_exemption_changes_no_fee(world):
    app = world.lodge(claim="disability")
    view = cashier.decide_exemption(
        world.ctx, world.actors["ana"], app, "disability", "sup", PASSWORD, approve=False,
        reason="card expired",
    )  # fmt: skip
    assert view.status == "refused"
    assert cashier.payment_due(world.ctx, world.actors["ana"], app).total_avos == 9000
    with world.ctx.db.read() as s:
        approval = s.exec(select(Approval)).one()
    assert (approval.status, approval.reason) == ("refused", "card expired")


@pytest.mark.parametrize(
    ("who", "supervisor", "password", "error"),
    [
        ("ana", "sup", "wrong-password", Refused),
        ("ana", "joao", PASSWORD, Refused),  # a clerk cannot approve
        ("sup", "sup", PASSWORD, Refused),  # nobody approves their own request
        ("ana", "", "", UsageError),
    ],
)
def test_only_another_supervisor_decides_an_exemption(world, who, supervisor, password, error):
    app = world.lodge(claim="poverty")
    with pytest.raises(error):
        cashier.decide_exemption(
            world.ctx, world.actors[who], app, "poverty", supervisor, password, approve=True
        )
    assert count(world.ctx, Approval) == 0


# --- voids and refunds --------------------------------------------------------------------------


def test_void_needs_a_supervisor_and_keeps_everything(world):
    world.open()
    app = world.lodge()
    paid = world.pay_cash(app, tendered=10000)
    ana = world.actors["ana"]
    with pytest.raises(Refused):
        cashier.reverse_receipt(
            world.ctx, ana, paid.receipt_number, "void", "wrong-amount", "sup", "nope-nope"
        )
    with pytest.raises(UsageError, match="reason code"):
        cashier.reverse_receipt(
            world.ctx, ana, paid.receipt_number, "void", "because", "sup", PASSWORD
        )
    assert count(world.ctx, Payment) == 1
    row = cashier.reverse_receipt(
        world.ctx, ana, paid.receipt_number, "void", "wrong-amount", "sup", PASSWORD
    )
    assert row.status == "void" and row.number == paid.receipt_number
    with world.ctx.db.read() as s:
        payments = s.exec(select(Payment).order_by(Payment.id)).all()
        tenders = s.exec(select(Tender.amount_avos).order_by(Tender.id)).all()
        approval = s.get(Approval, payments[1].approval_id)
    assert [p.kind for p in payments] == ["payment", "reversal"]
    assert payments[1].total_avos == -9000 and payments[1].reason == "wrong-amount"
    assert tenders == [9000, -9000]
    assert (approval.kind, approval.subject_type, approval.status) == (
        "void",
        "receipt",
        "approved",
    )
    with pytest.raises(Refused, match="already void"):
        cashier.reverse_receipt(
            world.ctx, ana, paid.receipt_number, "void", "wrong-amount", "sup", PASSWORD
        )
    # the application is unpaid again: a new receipt, the next number
    again = world.pay_cash(app)
    assert check_receipt_number(again.receipt_number).sequence == 2
    assert audit_ok(world.ctx)


def test_yesterdays_receipt_is_refunded_not_voided(world):
    set_clock(lambda: NOW - timedelta(days=1))
    world.open()
    paid = world.pay_cash(world.lodge(day=DAY - timedelta(days=1)))
    cashier.count_drawer(
        world.ctx, world.actors["ana"], {"note-500": 1, "note-50": 1, "note-20": 2}
    )
    set_clock(lambda: NOW)
    ana = world.actors["ana"]
    with pytest.raises(Refused, match="drawer"):  # today's drawer is not open yet
        cashier.reverse_receipt(
            world.ctx, ana, paid.receipt_number, "refund", "overcharged", "sup", PASSWORD
        )
    world.open()
    with pytest.raises(Refused, match="refund it"):
        cashier.reverse_receipt(
            world.ctx, ana, paid.receipt_number, "void", "wrong-amount", "sup", PASSWORD
        )
    row = cashier.reverse_receipt(
        world.ctx, ana, paid.receipt_number, "refund", "overcharged", "sup", PASSWORD
    )
    assert row.status == "refunded"


def test_a_card_refund_needs_the_terminals_reference(world):
    world.open()
    paid = cashier.take_payment(
        world.ctx,
        world.actors["ana"],
        world.lodge(),
        [TenderInput("credit-card", None, None, "C1")],
    )
    ana = world.actors["ana"]
    with pytest.raises(UsageError, match="terminal"):
        cashier.reverse_receipt(
            world.ctx, ana, paid.receipt_number, "void", "wrong-tender", "sup", PASSWORD
        )
    cashier.reverse_receipt(
        world.ctx, ana, paid.receipt_number, "void", "wrong-tender", "sup", PASSWORD,
        terminal_reference="VOID-9",
    )  # fmt: skip
    with world.ctx.db.read() as s:
        refs = s.exec(select(Tender.reference).order_by(Tender.id)).all()
    assert refs == ["C1", "VOID-9"]


# --- the drawer ---------------------------------------------------------------------------------


def test_blind_count_then_expected_amounts_and_variance(world):
    ctx, ana = world.ctx, world.actors["ana"]
    world.open(float_avos="500")
    with pytest.raises(Refused, match="already open"):
        world.open()
    world.pay_cash(world.lodge(), tendered=10000)  # + 90 cash
    cashier.take_payment(
        ctx, ana, world.lodge("5213377(0)", service="express"),
        [TenderInput("macau-pass", None, None, "MP1")],
    )  # fmt: skip
    cashier.cash_movement(ctx, ana, "in", "200", "change from the safe")
    cashier.cash_movement(ctx, ana, "out", 5000, "to the safe")
    with pytest.raises(UsageError, match="why"):
        cashier.cash_movement(ctx, ana, "out", 100, " ")
    view = cashier.current_drawer(ctx, ana)
    assert (view.status, view.float_avos, view.payments, view.movements) == ("open", 50000, 2, 2)
    assert not hasattr(view, "expected_avos")  # the count is blind
    with pytest.raises(Refused, match="still open"):
        cashier.z_report(ctx, ana, view.id)
    # expected cash 500 + 90 + 200 − 50 = 740; counted 700: 40 short, beyond MOP 10
    result = cashier.count_drawer(ctx, ana, {"note-500": "1", "note-100": 2})
    assert (result.counted_avos, result.expected_cash_avos) == (70000, 74000)
    assert result.variance_avos == -4000 and result.needs_acknowledgement
    assert {line.method: line.expected_avos for line in result.expected} == {
        "cash": 9000,
        "macau-pass": 24000,
    }
    with pytest.raises(Refused):
        world.pay_cash(world.lodge("1290456(8)"))
    with pytest.raises(Refused):
        cashier.count_drawer(ctx, ana, {"note-500": 1})  # no recount
    with pytest.raises(Refused):
        cashier.acknowledge_variance(ctx, ana, "joao", PASSWORD, "short")
    closed = cashier.acknowledge_variance(ctx, ana, "sup", PASSWORD, "coins given as change")
    assert closed.status == "closed" and not closed.needs_acknowledgement
    report = cashier.z_report(ctx, world.actors["sup"], view.id)
    assert report.variance_avos == -4000 and report.acknowledged_by == "sup"
    assert report.counted_avos == sum(line.amount_avos for line in report.counts) == 70000
    assert len(report.receipts) == 2 and report.audit_head
    with pytest.raises(Refused):
        cashier.z_report(ctx, world.actors["joao"], view.id)
    assert cashier.current_drawer(ctx, ana) is None and audit_ok(ctx)


def test_counts_are_checked(world):
    world.open(float_avos=10000)
    ana = world.actors["ana"]
    for bad in ({"coin-5": -1}, {"note-3": 1}, {"note-100": "x"}):
        with pytest.raises(UsageError):
            cashier.count_drawer(world.ctx, ana, bad)
    world.ctx.config.cashier = SimpleNamespace(variance_threshold_avos=500)
    result = cashier.count_drawer(world.ctx, ana, {"note-50": 1, "note-20": 2, "coin-5": 1})
    assert result.variance_avos == -500 and result.status == "closed"


@pytest.mark.parametrize("value", ["-5", "abc", "10000.001", "10000.01"])
def test_float_must_be_an_amount_within_the_limit(world, value):
    with pytest.raises(UsageError):
        world.open(float_avos=value)


# --- roles, printing, lists ---------------------------------------------------------------------


def test_roles_are_enforced_in_the_services(world):
    admin = world.actors["admin"]
    with pytest.raises(Refused):
        cashier.open_drawer(world.ctx, admin, 100)
    with pytest.raises(Refused):
        cashier.take_payment(world.ctx, admin, world.lodge(), [TenderInput("cash")])
    assert cashier.list_receipts(world.ctx, admin) == []  # reading is fine


def test_printing_marks_reprints_as_copies(world, tmp_path):
    world.open()
    number = world.pay_cash(world.lodge()).receipt_number
    ctx, ana = world.ctx, world.actors["ana"]
    ctx.config.printer.kind, ctx.config.printer.folder = "folder", str(tmp_path)
    first = cashier.print_receipt(ctx, ana, number)
    set_clock(lambda: NOW + timedelta(seconds=1))  # the folder printer names files by time
    second = cashier.print_receipt(ctx, ana, number)
    assert (first.copy, second.copy) == (False, True)
    assert len(list(tmp_path.glob("*.pdf"))) == 2
    ctx.config.printer.kind, ctx.config.printer.name = "cups", ""
    with pytest.raises(Failure):
        cashier.print_receipt(ctx, ana, number)
    assert cashier.list_receipts(ctx, ana)[0].printed_count == 2  # the failure counted nothing
    with pytest.raises(NotFound):
        cashier.print_receipt(ctx, ana, make_receipt_number("01", DAY, 9999))


def test_receipts_of_a_day_in_number_order(world):
    world.open()
    numbers = [world.pay_cash(world.lodge(idn)).receipt_number for idn in world.people]
    rows = cashier.list_receipts(world.ctx, world.actors["sup"], DAY)
    assert [r.number for r in rows] == numbers
    assert cashier.list_receipts(world.ctx, world.actors["sup"], DAY - timedelta(days=1)) == []


def test_cli_lists_the_day_as_json(world, capsys):
    from clerk.cli import main

    world.open()
    number = world.pay_cash(world.lodge()).receipt_number
    assert main(["--db", world.ctx.db.url, "receipt", "list", "--day", "2026-11-23", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == (
        '{"receipts":[{"number":"' + number + '","application":"012611230001",'
        '"total":"90.00","status":"valid"}]}'
    )
    db = ["--db", world.ctx.db.url]
    assert main([*db, "drawer", "status", "--day", "2026-11-23", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "day": "2026-11-23",
        "drawers": [{"session": 1, "clerk": "ana", "status": "open", "variance": "0.00"}],
    }
    assert main([*db, "receipt", "check", "０" + number[1:], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sequence"] == 1
    assert main([*db, "receipt", "check", number[:-2] + number[-1] + number[-2]]) == 2
    assert "check digits" in capsys.readouterr().err


# --- concurrency --------------------------------------------------------------------------------


def test_threads_taking_payments_get_gapless_numbers(world):
    clerks = ["ana", "joao", "mei", "rui"]
    per_clerk = 6
    apps = {c: [world.lodge() for _ in range(per_clerk)] for c in clerks}
    for c in clerks:
        world.open(c)
    numbers, errors = [], []

    def work(c):
        try:
            for app in apps[c]:
                numbers.append(world.pay_cash(app, who=c).receipt_number)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clerks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    sequences = sorted(check_receipt_number(n).sequence for n in numbers)
    assert sequences == list(range(1, len(clerks) * per_clerk + 1))
    with world.ctx.db.read() as s:
        counter = s.exec(select(DailyCounter.value).where(DailyCounter.kind == "receipt")).one()
    assert counter == len(numbers) and audit_ok(world.ctx)


# --- pure rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "avos"),
    [("90", 9000), ("90.5", 9050), ("90.05", 9005), ("MOP 1,000", 100000), ("１２０", 12000)],
)
def test_amounts_are_parsed_to_avos(text, avos):
    assert cashier.parse_amount(text) == avos


@pytest.mark.parametrize("text", ["", "9.999", "-5", "abc", "1e3", "90.0.0"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(UsageError):
        cashier.parse_amount(text)


METHODS = {m.code: m for m in policy.payment_methods(DAY)}


@settings(max_examples=200, deadline=None)
@given(due=st.integers(1, 500000), extra=st.integers(0, 200000))
def test_change_is_tendered_minus_due_and_never_negative(due, extra):
    tendered = due + extra
    if extra >= cashier.LARGEST_NOTE_AVOS:
        with pytest.raises(UsageError):
            cashier.settle(due, [TenderInput("cash", None, tendered)], METHODS)
        return
    settled = cashier.settle(due, [TenderInput("cash", None, tendered)], METHODS)
    assert settled.change_avos == tendered - due >= 0


@settings(max_examples=200, deadline=None)
@given(due=st.integers(1, 500000), short=st.integers(1, 500000))
def test_short_cash_is_refused(due, short):
    with pytest.raises(UsageError):
        cashier.settle(due, [TenderInput("cash", None, max(0, due - short))], METHODS)


@settings(max_examples=150, deadline=None)
@given(due=st.integers(2, 500000), data=st.data())
def test_a_split_adds_up_to_the_amount_due(due, data):
    first = data.draw(st.integers(1, due - 1))
    method = data.draw(st.sampled_from([c for c in METHODS if c != "cash"]))
    settled = cashier.settle(
        due, [TenderInput("cash", first), TenderInput(method, None, None, "R1")], METHODS
    )
    assert sum(t.amount_avos for t in settled.tenders) == due and settled.change_avos == 0


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from(policy.CASES),
    service=st.sampled_from(policy.SERVICES),
    presented=st.booleans(),
    external=st.booleans(),
    exemption=st.sampled_from((None, *policy.EXEMPTIONS)),
    earlier=st.integers(0, 7),
)
def test_totals_equal_the_sum_of_the_lines(case, service, presented, external, exemption, earlier):
    facts = policy.Facts(
        case=case,
        service=service,
        original_presented=presented,
        external_service=external,
        exemption=exemption,
        prior_surcharges=earlier,
    )
    quote = policy.quote(facts, DAY)
    lines = [cashier.FeeLineView(x.code, dict(x.label), x.amount_avos) for x in quote.lines]
    total = sum(line.amount_avos for line in lines)
    assert total == quote.total_avos >= 0
    settled = cashier.settle(total, [TenderInput("cash")] if total else [], METHODS)
    assert settled.total_avos == total and settled.change_avos == 0
