"""Document collection on SQLite and PostgreSQL: production batches, the scanned receipt, the
collection counter, the hand-over (in person, representative, guardian, former card missing →
surcharge), the new card's check, the uncollected list, and the command line.

The clock is frozen on Monday 23 November 2026, 10:00 in Macao.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import func, select

from clerk.context import Context
from clerk.domain import audit, cashier, collection, policy
from clerk.domain.auth import SYSTEM, Actor
from clerk.domain.cashier import TenderInput
from clerk.domain.clock import set_clock
from clerk.domain.collection import HandOver
from clerk.domain.demo_payments import lodge_directly
from clerk.domain.models import (
    Applicant,
    Application,
    Approval,
    AuditEvent,
    Collection,
    Counter,
    IssuedCard,
    NonPresentation,
    Office,
    Receipt,
    User,
)
from clerk.domain.receipts import make_receipt_number
from clerk.errors import NotFound, Refused, UsageError
from tests.unit.test_cashier import DAY, NOW, _hash  # the same office day

STAFF = (
    ("ana", "clerk", 5),
    ("joao", "clerk", 2),
    ("sup", "supervisor", 6),
    ("admin", "admin", None),
)
d = date
PEOPLE = (
    # id number, Chinese, Latin, born, card (issued, expires) or None, earlier non-presentations
    ("1234567(3)", "陳大文", "CHAN TAI MAN", d(1978, 3, 14), (d(2020, 1, 1), d(2030, 1, 1)), ()),
    ("5213377(0)", "", "SOUSA, JOÃO MIGUEL DE", d(1969, 7, 30),
     (d(2016, 12, 31), d(2026, 12, 31)), (d(2015, 3, 1), d(2018, 5, 1))),
    ("7025561(2)", "何詠詩", "HO WENG SI", d(2012, 5, 21), (d(2021, 6, 1), d(2026, 12, 1)), ()),
    ("1487220(9)", "黃志強", "WONG CHI KEONG", d(1955, 1, 8), (d(2016, 10, 1), d(2026, 10, 1)), ()),
    ("5380142(6)", "林美玲", "LAM MEI LENG", d(1986, 9, 9), None, ()),
    ("1304918(5)", "李小梅", "LEI SIO MUI", d(1990, 11, 2), (d(2019, 2, 1), d(2029, 2, 1)), ()),
)  # fmt: skip
GUARDIAN = ("何大明", "1111111(1)")


@dataclass
class Office01:
    """An office with collection counters 5 and 6, clerks, a supervisor and applicants with
    their cards; applications lodged, paid and marked ready to order."""

    ctx: Context
    actors: dict[str, Actor]
    people: dict[str, int]
    office_id: int

    def lodge(self, idn="1234567(3)", case="renewal", claim=None, presented=True) -> int:
        with self.ctx.db.write() as s:
            office = s.get(Office, self.office_id)
            person = s.get(Applicant, self.people[idn])
            facts = policy.Facts(case=case, exemption=claim, original_presented=presented)
            app = lodge_directly(
                s, office, person, facts, DAY, user_id=None, counter_id=None, at=NOW
            )
            if idn == "7025561(2)":
                app.guardian_name, app.guardian_id_number = GUARDIAN
                app.guardian_relationship = "father"
            return app.id

    def pay(self, app_id: int) -> str:
        if cashier.current_drawer(self.ctx, self.actors["ana"]) is None:
            cashier.open_drawer(self.ctx, self.actors["ana"], 50000)
        due = cashier.payment_due(self.ctx, self.actors["ana"], app_id).total_avos
        tenders = [TenderInput("cash")] if due else []
        paid = cashier.take_payment(self.ctx, self.actors["ana"], app_id, tenders)
        return paid.receipt_number

    def ready(self, idn="1234567(3)", **kwargs) -> tuple[int, str]:
        app_id = self.lodge(idn, **kwargs)
        receipt = self.pay(app_id)
        lines = collection.mark_ready(self.ctx, self.actors["sup"], [receipt])
        assert lines[0].changed, lines
        return app_id, receipt

    def app(self, app_id: int) -> Application:
        with self.ctx.db.read() as s:
            return s.get(Application, app_id)

    def cards(self, idn: str) -> list[tuple[str, str, date | None]]:
        with self.ctx.db.read() as s:
            rows = s.exec(
                select(IssuedCard.version, IssuedCard.status, IssuedCard.expires_on)
                .where(IssuedCard.applicant_id == self.people[idn])
                .order_by(IssuedCard.id)
            ).all()
        return [tuple(r) for r in rows]

    def collection_row(self, app_id: int) -> Collection | None:
        with self.ctx.db.read() as s:
            return s.exec(select(Collection).where(Collection.application_id == app_id)).first()

    def actions(self) -> list[str]:
        with self.ctx.db.read() as s:
            return list(s.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all())


def build_office(ctx: Context) -> Office01:
    actors, people = {}, {}
    with ctx.db.write() as s:
        office = Office(code="01", name="Headquarters", name_zh="總部", name_pt="Sede")
        s.add(office)
        s.flush()
        for n in range(1, 7):
            s.add(Counter(office_id=office.id, number=n, name=f"Counter {n}", collection=n >= 5))
        for username, role, counter in STAFF:
            user = User(username=username, role=role, password_hash=_hash(), full_name=username)
            s.add(user)
            s.flush()
            actors[username] = Actor(user.id, username, role, username, counter=counter)
        for idn, zh, latin, born, card, earlier in PEOPLE:
            person = Applicant(
                id_number=idn, name_zh=zh, name_latin=latin, date_of_birth=born, phone="28000000"
            )
            s.add(person)
            s.flush()
            people[idn] = person.id
            if card is not None:
                s.add(
                    IssuedCard(
                        applicant_id=person.id,
                        version="2013",
                        issued_on=card[0],
                        expires_on=card[1],
                        symbols="***",
                    )
                )
            for when in earlier:
                s.add(NonPresentation(applicant_id=person.id, occurred_on=when, note="lost"))
        office_id = office.id
    return Office01(ctx, actors, people, office_id)


@pytest.fixture(autouse=True)
def frozen_clock():
    set_clock(lambda: NOW)
    yield
    set_clock(None)


@pytest.fixture
def office(ctx) -> Office01:
    return build_office(ctx)


def audit_ok(ctx) -> bool:
    with ctx.db.read() as s:
        return audit.verify(s, ctx.audit_key).ok


# --- the receipt --------------------------------------------------------------------------------


def test_a_misread_is_refused_before_any_lookup(tmp_path):
    # a database that does not exist: the check digits are refused before it is ever opened
    ctx = Context(db_url=f"sqlite:///{tmp_path / 'missing' / 'none.db'}")
    good = make_receipt_number("01", DAY, 42)
    misread = good[:5] + str((int(good[5]) + 1) % 10) + good[6:]
    swapped = good[:3] + good[4] + good[3] + good[5:]
    for code in (misread, swapped, good[:-1], "A" + good[1:], ""):
        with pytest.raises(UsageError, match="Scan it again, or type the 14 digits"):
            collection.lookup(ctx, code)
    assert not (tmp_path / "missing").exists()
    assert collection.check_code("０" + good[1:7] + " " + good[7:]) == good  # NFKC, spaces


def test_an_unknown_receipt_is_said_plainly(office):
    unknown = make_receipt_number("01", DAY, 77)
    with pytest.raises(NotFound, match=f"no receipt {unknown}.*ask the supervisor"):
        collection.lookup(office.ctx, unknown)


def test_each_status_is_said_with_what_to_do_next(office):
    ctx, sup = office.ctx, office.actors["sup"]
    app_id = office.lodge()
    receipt = office.pay(app_id)
    promised = office.app(app_id).promised_on
    found = collection.lookup(ctx, receipt)
    assert (found.status, found.counter) == ("lodged", None)
    assert f"promised for {promised.isoformat()}" in found.message
    assert found.name == "陳大文 CHAN TAI MAN" and found.application == office.app(app_id).number

    collection.mark_in_production(ctx, sup, [receipt])
    assert collection.lookup(ctx, receipt).status == "in-production"
    set_clock(lambda: datetime.combine(promised + timedelta(days=2), datetime.min.time(), UTC))
    late = collection.lookup(ctx, receipt)
    assert "although it was promised" in late.message and "supervisor" in late.message
    set_clock(lambda: NOW)

    collection.mark_ready(ctx, sup, [receipt])
    found = collection.lookup(ctx, receipt)
    assert found.status == "ready" and found.counter in (5, 6)
    assert found.message == f"The card is ready: please go to counter {found.counter}."
    assert found.as_json()["counter"] == found.counter
    assert set(found.as_json()) >= {"receipt", "application", "status", "name", "counter"}

    with ctx.db.write() as s:  # the receipt voided (the cashier's business)
        s.exec(select(Receipt).where(Receipt.number == receipt)).one().status = "void"
    void = collection.lookup(ctx, receipt)
    assert void.status == "void" and void.counter is None
    assert "voided" in void.message and "pays at the cashier again" in void.message


def test_collected_and_cancelled_are_said_plainly(office):
    ctx = office.ctx
    app_id, receipt = office.ready()
    collection.hand_over(
        ctx, office.actors["ana"], app_id, HandOver(identity_checked=True, former_card="handed-in")
    )
    found = collection.lookup(ctx, receipt)
    assert found.status == "collected" and found.counter is None
    assert "already collected on 2026-11-23 10:00 at counter 5 by the applicant" in found.message

    other_id, other = office.ready("1304918(5)")
    collection.cancel_application(ctx, office.actors["sup"], other, "applicant withdrew")
    found = collection.lookup(ctx, other)
    assert found.status == "cancelled" and "no card to collect" in found.message
    assert office.app(other_id).cancelled_at is not None
    with pytest.raises(Refused, match="cannot be cancelled"):
        collection.cancel_application(ctx, office.actors["sup"], other, "again")
    with pytest.raises(Refused, match="needs supervisor"):
        collection.cancel_application(ctx, office.actors["ana"], receipt, "no")


# --- the collection counter ---------------------------------------------------------------------


def test_the_counter_is_assigned_once_least_loaded_and_kept(office):
    ctx = office.ctx
    receipts = [office.ready(idn)[1] for idn in ("1234567(3)", "1304918(5)", "5380142(6)")]
    counters = [collection.lookup(ctx, code).counter for code in receipts]
    assert counters == [5, 6, 5]  # the fewest ready cards sent there today; ties: the lowest
    assert [collection.lookup(ctx, code).counter for code in receipts] == counters  # kept
    assert office.actions().count("collection.assign") == 3  # once each, not at every scan


def test_a_clerk_at_a_collection_counter_serves_the_scan_and_config_chooses_counters(office):
    ctx = office.ctx
    _app, receipt = office.ready()
    assert collection.lookup(ctx, receipt, office.actors["sup"]).counter == 6  # sup at counter 6
    _app, other = office.ready("1304918(5)")
    assert collection.lookup(ctx, other, office.actors["joao"]).counter == 5  # 2 is no such
    ctx.config.collection.counters = "3"
    assert collection.lookup(ctx, receipt).counter == 3  # 6 is no longer one: reassigned
    ctx.config.collection.counters = "9"
    found = collection.lookup(ctx, other)
    assert found.counter is None and "no collection counter is open" in found.message


def test_the_board_shows_who_goes_to_which_counter_until_collected(office):
    ctx, ana = office.ctx, office.actors["ana"]
    assert collection.board_lines(ctx) == []
    first_id, first = office.ready()  # 陳大文 CHAN TAI MAN
    _other_id, other = office.ready("5213377(0)")  # a Latin name only
    waiting = office.lodge("1304918(5)")
    collection.lookup(ctx, office.pay(waiting))  # not ready: no counter, not on the board
    assert collection.board_lines(ctx) == []
    collection.lookup(ctx, first)
    set_clock(lambda: NOW + timedelta(minutes=5))
    collection.lookup(ctx, other)
    collection.lookup(ctx, first)  # scanned again: the counter is kept, the line stays put
    lines = collection.board_lines(ctx)
    assert [(line.name, line.counter, line.assigned_at) for line in lines] == [
        ("SOUSA, JOÃO MIGUEL DE", 6, NOW + timedelta(minutes=5)),
        ("陳大文 CHAN TAI MAN", 5, NOW),
    ]
    assert (lines[1].name_zh, lines[1].name_latin) == ("陳大文", "CHAN TAI MAN")
    assert collection.board_lines(ctx, limit=1) == lines[:1]

    collection.hand_over(
        ctx, ana, first_id, HandOver(identity_checked=True, former_card="handed-in")
    )
    assert [line.name for line in collection.board_lines(ctx)] == ["SOUSA, JOÃO MIGUEL DE"]
    set_clock(lambda: NOW + timedelta(minutes=5 + collection.BOARD_MINUTES, seconds=1))
    assert collection.board_lines(ctx) == []  # sent there over half an hour ago


def test_the_board_starts_afresh_at_midnight(office):
    late = datetime(2026, 11, 22, 15, 50, tzinfo=UTC)  # Sunday 23:50 in Macao
    set_clock(lambda: late)
    _app_id, receipt = office.ready("5380142(6)")
    assert collection.lookup(office.ctx, receipt).counter == 5
    set_clock(lambda: late + timedelta(minutes=5))
    assert [line.counter for line in collection.board_lines(office.ctx)] == [5]
    set_clock(lambda: late + timedelta(minutes=20))  # Monday 00:10: yesterday's is not shown
    assert collection.board_lines(office.ctx) == []
    assert collection.lookup(office.ctx, receipt).counter == 5  # the counter itself is kept


# --- production batches -------------------------------------------------------------------------


def test_a_ready_batch_reports_each_line_and_the_rest_go_through(office):
    ctx, sup = office.ctx, office.actors["sup"]
    lodged = office.lodge()
    r_lodged = office.pay(lodged)
    in_production = office.lodge("1304918(5)")
    r_production = office.pay(in_production)
    collection.mark_in_production(ctx, sup, [r_production])
    unpaid = office.lodge("5380142(6)")
    voided = office.lodge("1487220(9)")
    r_void = office.pay(voided)
    with ctx.db.write() as s:
        s.exec(select(Receipt).where(Receipt.number == r_void)).one().status = "void"
    bad = r_lodged[:-1] + str((int(r_lodged[-1]) + 1) % 10)
    unknown = make_receipt_number("01", DAY, 99)
    codes = [r_lodged, "", "# the second box", r_production, bad, unknown, r_void,
             office.app(unpaid).number, r_lodged]  # fmt: skip
    lines = collection.mark_ready(ctx, sup, codes)
    by_line = {line.line: line for line in lines}
    assert sorted(by_line) == [1, 4, 5, 6, 7, 8, 9]  # blank and comment lines skipped
    assert by_line[1].changed and by_line[1].status == "ready"
    assert by_line[4].changed and by_line[4].application == office.app(in_production).number
    assert not by_line[5].ok and "check digits" in by_line[5].message
    assert not by_line[6].ok and f"no receipt {unknown}" in by_line[6].message
    assert not by_line[7].ok and "void" in by_line[7].message
    assert not by_line[8].ok and by_line[8].message == "not paid"
    assert by_line[9].ok and not by_line[9].changed and by_line[9].message == "already ready"
    assert [office.app(a).status for a in (lodged, in_production, unpaid, voided)] == [
        "ready", "ready", "lodged", "lodged",
    ]  # fmt: skip
    assert office.app(lodged).ready_at == NOW and office.app(in_production).in_production_at
    assert office.actions().count("application.ready") == 2
    assert audit_ok(ctx)


def test_batches_need_a_supervisor_and_follow_the_status_order(office):
    ctx = office.ctx
    app_id = office.lodge()
    receipt = office.pay(app_id)
    with pytest.raises(Refused, match="needs supervisor"):
        collection.mark_ready(ctx, office.actors["ana"], [receipt])
    collection.mark_ready(ctx, office.actors["sup"], [receipt])
    (back,) = collection.mark_in_production(ctx, office.actors["sup"], [receipt])
    assert not back.ok and back.message == "it is ready"
    collection.hand_over(
        ctx, office.actors["ana"], app_id, HandOver(identity_checked=True, former_card="handed-in")
    )
    (line,) = collection.mark_ready(ctx, SYSTEM, [receipt])
    assert not line.ok and line.message == "it is collected" and line.status == "collected"


# --- the hand-over ------------------------------------------------------------------------------


def test_in_person_with_the_former_card_handed_in(office):
    ctx, ana = office.ctx, office.actors["ana"]
    app_id, receipt = office.ready()
    case = collection.open_receipt(ctx, ana, receipt)
    assert (case.former_card_rule, case.former_card_reason) == ("required", "valid")
    assert case.former_card.expires_on == date(2030, 1, 1) and case.lookup.counter == 5
    with pytest.raises(UsageError, match="Confirm the identity first"):
        collection.hand_over(ctx, ana, app_id, HandOver(former_card="handed-in"))
    with pytest.raises(UsageError, match="handed in to be cancelled"):
        collection.hand_over(ctx, ana, app_id, HandOver(identity_checked=True))
    assert office.app(app_id).status == "ready" and office.collection_row(app_id) is None

    done = collection.hand_over(
        ctx, ana, app_id, HandOver(identity_checked=True, former_card="handed-in")
    )
    assert (done.former_card, done.card_check, done.collector) == (
        "cancelled",
        "not-read",
        "applicant",
    )
    app = office.app(app_id)
    assert (app.status, app.collected_at) == ("collected", NOW)
    row = office.collection_row(app_id)
    assert (row.counter_id is not None, row.user_id, row.collected_at) == (True, ana.user_id, NOW)
    assert (row.collector, row.by_representative, row.receipt_kept) == ("applicant", False, False)
    assert row.identity_checked and row.former_card == "cancelled" and row.former_card_id
    with office.ctx.db.read() as s:
        assert s.get(Counter, row.counter_id).number == 5
        assert s.get(Receipt, row.receipt_id).number == receipt
    # the former card is cancelled; the new one (no personalisation: issued today) is valid
    assert office.cards("1234567(3)") == [
        ("2013", "cancelled", date(2030, 1, 1)),
        ("2023", "valid", date(2036, 11, 23)),
    ]
    assert office.actions()[-1] == "application.collect" and audit_ok(ctx)
    with pytest.raises(Refused, match="already collected"):
        collection.hand_over(
            ctx, ana, app_id, HandOver(identity_checked=True, former_card="handed-in")
        )


def test_a_card_not_ready_is_not_handed_over(office):
    app_id = office.lodge()
    receipt = office.pay(app_id)
    with pytest.raises(Refused, match="not ready yet"):
        collection.hand_over(
            office.ctx, office.actors["ana"], app_id, HandOver(identity_checked=True)
        )
    case = collection.open_receipt(office.ctx, office.actors["ana"], receipt)
    assert case.status == "lodged" and not case.lookup.ready


def test_an_authorised_representative(office):
    ctx, ana = office.ctx, office.actors["ana"]
    app_id, _receipt = office.ready("1304918(5)")
    rep = HandOver(
        identity_checked=True,
        collector="representative",
        representative_name=" Chan  Siu Ming ",
        representative_id_number="５１２３４５６（７）",
        former_card="handed-in",
    )
    with pytest.raises(Refused, match="authorisation on the receipt"):
        collection.hand_over(ctx, ana, app_id, rep)
    for bad, match in (
        ({"representative_name": ""}, "Type the name"),
        ({"representative_id_number": "1304918(5)"}, "applicant's own ID number"),
        ({"representative_id_number": "12"}, "not a document number|digits"),
    ):
        with pytest.raises(UsageError, match=match):
            fields = {**rep.__dict__, "authorisation_confirmed": True, **bad}
            collection.hand_over(ctx, ana, app_id, HandOver(**fields))
    done = collection.hand_over(
        ctx, ana, app_id, HandOver(**{**rep.__dict__, "authorisation_confirmed": True})
    )
    assert done.receipt_kept and done.collector == "representative"
    row = office.collection_row(app_id)
    assert (row.by_representative, row.representative_name, row.representative_id_number) == (
        True, "Chan Siu Ming", "5123456(7)",
    )  # fmt: skip
    assert row.authorisation_confirmed and row.receipt_kept


def test_a_minors_card_goes_to_the_guardian_on_record(office):
    ctx, ana = office.ctx, office.actors["ana"]
    app_id, receipt = office.ready("7025561(2)")
    case = collection.open_receipt(ctx, ana, receipt)
    assert case.minor and case.guardian_name == GUARDIAN[0]
    base = {"identity_checked": True, "former_card": "handed-in", "authorisation_confirmed": True}
    for collector in ("applicant", "representative"):
        with pytest.raises(Refused, match="a minor"):
            collection.hand_over(
                ctx,
                ana,
                app_id,
                HandOver(
                    **base,
                    collector=collector,
                    representative_name="X",
                    representative_id_number="5123456(7)",
                ),  # fmt: skip
            )
    wrong = HandOver(**base, collector="guardian", representative_name=GUARDIAN[0],
                     representative_id_number="5123456(7)")  # fmt: skip
    with pytest.raises(Refused, match="not that of the parent or guardian on record"):
        collection.hand_over(ctx, ana, app_id, wrong)
    right = HandOver(**{**wrong.__dict__, "representative_id_number": "11111111"})
    done = collection.hand_over(ctx, ana, app_id, right)
    assert done.collector == "guardian" and not done.receipt_kept
    row = office.collection_row(app_id)
    assert (row.collector, row.representative_id_number) == ("guardian", GUARDIAN[1])
    # an adult's card does not go to a "guardian"
    adult_id, _r = office.ready()
    with pytest.raises(Refused, match="an adult"):
        collection.hand_over(ctx, ana, adult_id, right)


def test_former_card_missing_is_surcharged_at_collection(office):
    ctx, ana = office.ctx, office.actors["ana"]
    app_id, receipt = office.ready("5213377(0)")  # two earlier non-presentations
    case = collection.open_receipt(ctx, ana, receipt)
    assert case.former_card_rule == "required"
    assert [(line.code, line.amount_avos) for line in case.surcharge_lines] == [
        ("non-presentation-surcharge", 50000)  # the 3rd time: MOP 500
    ]
    assert "3rd" in case.surcharge_lines[0].label_for("en")
    lost = HandOver(identity_checked=True, former_card="not-presented")
    with pytest.raises(UsageError, match="police loss report"):
        collection.hand_over(ctx, ana, app_id, lost)
    lost = HandOver(identity_checked=True, former_card="not-presented", police_report="PJ-2026-881")
    with pytest.raises(Refused, match="charge the non-presentation surcharge first"):
        collection.hand_over(ctx, ana, app_id, lost)
    cash = [TenderInput("cash", None, 50000)]
    with pytest.raises(UsageError, match="police loss report"):
        collection.charge_surcharge(ctx, ana, app_id, cash, " ")
    with pytest.raises(Refused, match="drawer"):
        collection.charge_surcharge(ctx, office.actors["joao"], app_id, cash, "PJ-2026-881")
    with pytest.raises(Refused, match="amount due changed"):
        collection.charge_surcharge(ctx, ana, app_id, cash, "PJ-2026-881", expected_total_avos=1)

    paid = collection.charge_surcharge(
        ctx, ana, app_id, cash, "PJ-2026-881", expected_total_avos=50000
    )
    assert (paid.total_avos, paid.change_avos) == (50000, 0)
    with ctx.db.read() as s:
        extra = s.exec(select(Receipt).where(Receipt.number == paid.receipt_number)).one()
        assert (extra.kind, extra.application_id, extra.total_avos) == (
            "collection-surcharge", app_id, 50000,
        )  # fmt: skip
        noted = s.exec(
            select(NonPresentation).where(NonPresentation.application_id == app_id)
        ).one()
        assert noted.occurred_on == DAY and "PJ-2026-881" in noted.note
    assert cashier.valid_receipt(ctx, app_id) == receipt  # the fee receipt still collects
    with pytest.raises(Refused, match="already paid"):
        collection.charge_surcharge(ctx, ana, app_id, cash, "PJ-2026-881")

    done = collection.hand_over(ctx, ana, app_id, lost)
    assert done.former_card == "not-presented"
    row = office.collection_row(app_id)
    assert (row.former_card, row.police_report) == ("not-presented", "PJ-2026-881")
    with ctx.db.read() as s:
        assert s.get(Receipt, row.surcharge_receipt_id).number == paid.receipt_number
    assert office.cards("5213377(0)")[0][1] == "lost"
    assert "payment.collection-surcharge" in office.actions() and audit_ok(ctx)


def test_an_approved_exemption_waives_the_surcharge_at_collection(office):
    ctx, ana = office.ctx, office.actors["ana"]
    app_id = office.lodge("1304918(5)", claim="poverty")
    with ctx.db.write() as s:  # the supervisor's decision (the cashier's business)
        s.add(
            Approval(
                kind="exemption",
                status="approved",
                subject_type="application",
                subject_id=app_id,
                detail=json.dumps({"exemption": "poverty"}),
                decided_by=office.actors["sup"].user_id,
                decided_at=NOW,
            )
        )
    receipt = office.pay(app_id)
    collection.mark_ready(ctx, SYSTEM, [receipt])
    case = collection.open_receipt(ctx, ana, receipt)
    assert [(line.amount_avos, line.waived) for line in case.surcharge_lines] == [
        (30000, False), (-30000, True),
    ]  # fmt: skip
    assert case.surcharge_avos == 0
    paid = collection.charge_surcharge(ctx, ana, app_id, [], "PJ-1")
    assert paid.total_avos == 0 and paid.tenders == ()


def test_former_cards_not_required(office):
    ctx, ana = office.ctx, office.actors["ana"]
    # expired: optional, cancelled when brought, else replaced by the new card
    expired_id, receipt = office.ready("1487220(9)")
    case = collection.open_receipt(ctx, ana, receipt)
    assert (case.former_card_rule, case.former_card_reason, case.surcharge_lines) == (
        "optional", "expired", (),
    )  # fmt: skip
    with pytest.raises(Refused, match="no former card to hand in"):
        collection.charge_surcharge(ctx, ana, expired_id, [], "PJ-1")
    done = collection.hand_over(ctx, ana, expired_id, HandOver(identity_checked=True))
    assert done.former_card == "not-required"
    # 65 or over when the card was issued: it does not expire
    assert office.cards("1487220(9)") == [("2013", "replaced", date(2026, 10, 1)),
                                          ("2023", "valid", None)]  # fmt: skip
    # declared lost at lodging (the surcharge was paid then): marked lost, nothing to hand in
    lost_id, receipt = office.ready("1304918(5)", case="loss", presented=False)
    case = collection.open_receipt(ctx, ana, receipt)
    assert (case.former_card_rule, case.former_card_reason) == ("not-required", "declared-lost")
    collection.hand_over(ctx, ana, lost_id, HandOver(identity_checked=True))
    assert office.cards("1304918(5)")[0][1] == "lost"
    # no card on record
    none_id, receipt = office.ready("5380142(6)")
    assert collection.open_receipt(ctx, ana, receipt).former_card_reason == "no-card"
    collection.hand_over(ctx, ana, none_id, HandOver(identity_checked=True))
    assert office.cards("5380142(6)") == [("2023", "valid", date(2036, 11, 23))]


def test_former_card_rule_is_pure():
    card = collection.FormerCard(1, "2013", date(2016, 1, 1), date(2026, 11, 23), "valid")
    rule = collection.former_card_rule
    assert rule("renewal", True, card, DAY) == ("required", "valid")  # expires today: valid
    assert rule("renewal", True, card, DAY + timedelta(days=1)) == ("optional", "expired")
    assert rule("loss", True, card, DAY) == ("not-required", "declared-lost")
    assert rule("renewal", False, card, DAY) == ("not-required", "declared-lost")
    assert rule("renewal", True, None, DAY) == ("not-required", "no-card")
    forever = collection.FormerCard(1, "2013", date(2016, 1, 1), None, "valid")
    assert rule("data-change", True, forever, DAY) == ("required", "valid")


# --- the new card -------------------------------------------------------------------------------


@pytest.fixture
def virtual_cards(monkeypatch):
    from clerk.devices.card_profile import load_profile
    from clerk.devices.reader import VirtualReader
    from clerk.devices.reference_card import ReferenceCard

    monkeypatch.setenv("CLERK_CARD_PIN", "8642")
    profile = load_profile()
    return lambda: VirtualReader(ReferenceCard(profile, "8642"))


def test_the_new_card_is_checked_against_the_application(office, virtual_cards):
    from clerk.domain import cards

    ctx, ana = office.ctx, office.actors["ana"]
    app_id, _receipt = office.ready()
    other_id, _r = office.ready("1304918(5)")
    mine, theirs = virtual_cards(), virtual_cards()
    cards.personalise(ctx, ana, mine, app_id)
    cards.personalise(ctx, ana, theirs, other_id)
    check = collection.check_new_card(ctx, ana, app_id, cards.read_card(mine))
    assert check.ok and check.verdict == "matches" and check.serial
    wrong = collection.check_new_card(ctx, ana, app_id, cards.read_card(theirs))
    assert not wrong.ok and wrong.verdict == "differs" and "document_number" in wrong.differences
    with pytest.raises(Refused, match="NOT the card personalised"):
        collection.hand_over(
            ctx, ana, app_id,
            HandOver(identity_checked=True, former_card="handed-in", card_serial=wrong.serial),
        )  # fmt: skip
    ctx.config.collection.require_card_check = True
    with pytest.raises(Refused, match="Read the new card"):
        collection.hand_over(
            ctx, ana, app_id, HandOver(identity_checked=True, former_card="handed-in")
        )
    done = collection.hand_over(
        ctx, ana, app_id,
        HandOver(identity_checked=True, former_card="handed-in", card_serial=check.serial),
    )  # fmt: skip
    assert done.card_check == "matches"
    assert office.collection_row(app_id).card_serial == check.serial


# --- lists --------------------------------------------------------------------------------------


def _ready_since(office, app_id: int, days: int) -> None:
    with office.ctx.db.write() as s:
        app = s.get(Application, app_id)
        app.ready_at = NOW - timedelta(days=days)


def test_uncollected_cards_after_the_configured_days(office):
    ctx, sup = office.ctx, office.actors["sup"]
    old, r_old = office.ready()
    older, _r = office.ready("1304918(5)")
    recent, _r = office.ready("5380142(6)")
    _ready_since(office, old, 30)
    _ready_since(office, older, 45)
    _ready_since(office, recent, 29)
    rows = collection.uncollected(ctx, sup)
    assert [(r.number, r.days_waiting) for r in rows] == [
        (office.app(older).number, 45), (office.app(old).number, 30),
    ]  # fmt: skip
    assert rows[1].receipt == r_old and rows[1].phone == "28000000"
    assert rows[0].as_json()["days_waiting"] == 45
    ctx.config.collection.uncollected_after_days = 29
    assert len(collection.uncollected(ctx, sup)) == 3
    assert len(collection.uncollected(ctx, sup, 46)) == 0
    collection.hand_over(
        ctx, office.actors["ana"], older, HandOver(identity_checked=True, former_card="handed-in")
    )
    assert [r.number for r in collection.uncollected(ctx, sup, 0)] == [
        office.app(old).number, office.app(recent).number,
    ]  # fmt: skip
    summary = collection.summary(ctx, sup)
    assert summary.counts == {"ready": 2, "collected": 1} and summary.collected_today == 1
    assert summary.uncollected == 2


def test_list_applications_by_status(office):
    ctx = office.ctx
    app_id, receipt = office.ready()
    office.lodge("5380142(6)")
    (row,) = collection.list_applications(ctx, SYSTEM, "ready")
    assert (row.id, row.receipt, row.name, row.ready_on) == (
        app_id,
        receipt,
        "陳大文 CHAN TAI MAN",
        DAY,
    )
    assert [r.receipt for r in collection.list_applications(ctx, SYSTEM, "lodged")] == [""]
    with pytest.raises(UsageError, match="unknown status"):
        collection.list_applications(ctx, SYSTEM, "draft")


# --- settings, schema -----------------------------------------------------------------------------


def test_collection_settings_are_checked(tmp_path):
    from clerk.config import load_config

    cfg = tmp_path / "c.toml"
    cfg.write_text('[collection]\nuncollected_after_days = 14\ncounters = "5, 7"\n')
    loaded = load_config(cfg, env={})
    assert loaded.collection.uncollected_after_days == 14
    for bad, match in (
        ("uncollected_after_days = 0", "uncollected_after_days"),
        ('counters = "five"', "collection.counters"),
        ("scanner_gap_ms = 0", "scanner_gap_ms"),
    ):
        cfg.write_text(f"[collection]\n{bad}\n")
        with pytest.raises(UsageError, match=match):
            load_config(cfg, env={})
    ctx = Context(config_path=str(tmp_path / "none.toml"))
    ctx.__dict__["config"] = loaded
    assert collection.settings(ctx).counters == (5, 7)


def test_the_migration_goes_down_and_up_again(ctx):
    from alembic import command

    cfg = ctx.db.alembic_config()
    command.downgrade(cfg, "-1")
    command.upgrade(cfg, "head")
    build_office(ctx)  # the new columns are there again


# --- the command line ---------------------------------------------------------------------------


def run(capsys, ctx, *argv) -> tuple[int, str, str]:
    from clerk.cli import main

    code = main(["--db", ctx.db_url, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line(office, capsys, tmp_path):
    ctx = office.ctx
    ready_id, ready = office.ready()
    lodged = office.lodge("1304918(5)")
    r_lodged = office.pay(lodged)
    listing = tmp_path / "batch.txt"
    bad = r_lodged[:-2] + r_lodged[-1] + r_lodged[-2]
    listing.write_text(f"# box 12\n{r_lodged}\n{bad}\n\n", encoding="utf-8")

    code, out, err = run(capsys, ctx, "applications", "ready", "--file", str(listing), "--json")
    result = json.loads(out)
    assert code == 2 and (result["changed"], result["failed"]) == (1, 1)
    assert [line["line"] for line in result["lines"]] == [2, 3]
    assert result["lines"][1]["ok"] is False and "check digits" in result["lines"][1]["message"]
    assert office.app(lodged).status == "ready"

    code, out, _err = run(capsys, ctx, "collect", "lookup", ready, "--json")
    found = json.loads(out)
    assert code == 0 and found["status"] == "ready" and found["counter"] in (5, 6)
    assert (
        found["name"] == "陳大文 CHAN TAI MAN"
        and found["application"] == office.app(ready_id).number
    )
    code, out, _err = run(capsys, ctx, "collect", "lookup", ready)
    assert out.strip() == f"陳大文 CHAN TAI MAN → counter {found['counter']}"
    code, _out, err = run(capsys, ctx, "collect", "lookup", bad)
    assert code == 2 and "check digits" in err

    _ready_since(office, ready_id, 40)
    code, out, _err = run(capsys, ctx, "collect", "uncollected", "--json")
    listed = json.loads(out)
    assert code == 0 and listed["days"] == 30
    assert [a["receipt"] for a in listed["applications"]] == [ready]

    code, out, _err = run(capsys, ctx, "applications", "list", "--status", "ready", "--json")
    assert {a["receipt"] for a in json.loads(out)["applications"]} == {ready, r_lodged}
    code, _out, err = run(capsys, ctx, "applications", "ready")
    assert code == 2 and "give receipt numbers" in err
    code, _out, err = run(capsys, ctx, "applications", "ready", "--file", str(tmp_path / "no"))
    assert code == 2 and "does not exist" in err
    code, out, _err = run(capsys, ctx, "applications", "cancel", r_lodged, "--reason", "withdrawn")
    assert code == 0 and office.app(lodged).status == "cancelled"
    with ctx.db.read() as s:
        assert s.exec(select(func.count()).select_from(Collection)).one() == 0


def test_typed_text_is_cleaned_before_it_is_stored(office):
    ctx, ana = office.ctx, office.actors["ana"]
    app_id, _receipt = office.ready()
    with pytest.raises(UsageError, match="Type the name"):
        collection.hand_over(
            ctx,
            ana,
            app_id,
            HandOver(
                identity_checked=True,
                collector="representative",
                representative_name="\x00\t\u200b",
                representative_id_number="5123456(7)",
                authorisation_confirmed=True,
                former_card="handed-in",
            ),
        )
    lines = collection.mark_ready(ctx, office.actors["sup"], ["0126\x001123", "x" * 10_000])
    assert [line.ok for line in lines] == [False, False]
    done = collection.cancel_application(
        ctx, office.actors["sup"], office.app(app_id).number, "with\x00drawn\n by phone"
    )
    assert done.message == "with drawn by phone"
