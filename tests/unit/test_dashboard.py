"""The supervisor's dashboard against a hand-built morning, on SQLite and PostgreSQL.

The clock is frozen on Monday 23 November 2026, 11:15 in Macao. Every expected number is
counted by hand from the rows below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from clerk.domain.auth import Actor
from clerk.domain.clock import set_clock, zone
from clerk.domain.dashboard import snapshot
from clerk.domain.models import (
    Applicant,
    Application,
    Approval,
    Counter,
    CounterService,
    DrawerSession,
    Office,
    Payment,
    Receipt,
    Service,
    Tag,
    TagEvent,
    Tender,
    User,
)
from clerk.domain.receipts import make_receipt_number
from clerk.errors import Refused

DAY = date(2026, 11, 23)
MACAU = zone("Asia/Macau")


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=MACAU).astimezone(UTC)


@pytest.fixture
def morning(ctx):
    set_clock(lambda: at(11, 15))
    with ctx.db.write() as s:
        office = Office(code=ctx.config.office.code, name="Test office")
        s.add(office)
        s.flush()
        services = {code: Service(office_id=office.id, code=code, name=code) for code in "AB"}
        counters = {n: Counter(office_id=office.id, number=n) for n in (1, 2, 3)}
        users = {
            name: User(username=name, role=role)
            for name, role in (("ana", "clerk"), ("joao", "clerk"), ("sup", "supervisor"))
        }
        s.add_all([*services.values(), *counters.values(), *users.values()])
        s.flush()
        for counter in counters.values():
            for service in services.values():
                s.add(CounterService(counter_id=counter.id, service_id=service.id))

        def tag(code, status, issued, counter=None, user=None, **times):
            row = Tag(
                office_id=office.id,
                day=DAY,
                code=code,
                number=int(code[1:]),
                service_id=services[code[0]].id,
                status=status,
                issued_at=issued,
                counter_id=counters[counter].id if counter else None,
                user_id=users[user].id if user else None,
                **times,
            )
            s.add(row)
            s.flush()
            return row

        tag(
            "A001",
            "finished",
            at(9),
            1,
            "ana",
            called_at=at(9, 10),
            serving_at=at(9, 11),
            finished_at=at(9, 20),
        )
        last = tag(
            "A002",
            "finished",
            at(9, 30),
            2,
            "joao",
            called_at=at(9, 35),
            serving_at=at(9, 36),
            finished_at=at(9, 48),
        )
        tag("A003", "serving", at(10), 1, "ana", called_at=at(11), serving_at=at(11, 1))
        tag("A004", "waiting", at(10, 15))
        tag("A005", "waiting", at(11, 5))
        tag("B001", "waiting", at(11))
        # counter 2 finished something ten minutes ago: staffed, nobody at it now
        s.add(
            TagEvent(
                tag_id=last.id,
                at=at(11, 5),
                kind="parked",
                counter_id=counters[2].id,
                user_id=users["joao"].id,
            )
        )
        yesterday = DAY - timedelta(days=1)
        for day, amounts in ((DAY, (("cash", 9000), ("mpay", 24000))), (yesterday, (("cash", 5),))):
            drawer = DrawerSession(office_id=office.id, user_id=users["ana"].id, day=day)
            s.add(drawer)
            s.flush()
            for method, avos in amounts:
                seq = s.info["seq"] = s.info.get("seq", 0) + 1
                receipt = Receipt(
                    number=make_receipt_number("01", day, seq),
                    office_id=office.id,
                    day=day,
                    sequence=seq,
                    total_avos=avos,
                )
                s.add(receipt)
                s.flush()
                payment = Payment(
                    receipt_id=receipt.id, drawer_session_id=drawer.id, total_avos=avos
                )
                s.add(payment)
                s.flush()
                s.add(Tender(payment_id=payment.id, method=method, amount_avos=avos))
        for days_ago in (40, 2):
            s.add(
                Application(
                    office_id=office.id,
                    status="ready",
                    ready_at=at(9, day=DAY - timedelta(days=days_ago)),
                )
            )
        person = Applicant(id_number="1234567(3)", name_latin="CHAN TAI MAN")
        s.add(person)
        s.flush()
        s.add(
            Application(
                office_id=office.id, applicant_id=person.id, status="draft", created_on=yesterday
            )
        )
        for kind in ("exemption", "variance"):
            s.add(Approval(kind=kind, subject_type="application", subject_id=1))
        s.add(Approval(kind="void", status="approved", subject_type="receipt", subject_id=1))
        ids = {name: u.id for name, u in users.items()}
    yield ids
    set_clock(None)


def test_the_morning_at_a_glance(ctx, morning):
    sup = Actor(morning["sup"], "sup", "supervisor")
    d = snapshot(ctx, sup)
    assert d.day == DAY and f"{d.at:%H:%M}" == "11:15"
    services = {sv.code: sv for sv in d.services}
    a, b = services["A"], services["B"]
    assert (a.waiting, a.longest_wait_s, a.served, a.counters) == (2, 3600, 2, 3)
    assert (b.waiting, b.longest_wait_s, b.served) == (1, 900, 0)
    # waits today: A001 600 s, A002 300 s, A003 3600 s (called, now served)
    assert (a.wait_mean_s, a.wait_p90_s) == (1500, 3600)
    assert (d.wait_mean_s, d.wait_p90_s, d.longest_wait_s) == (1500, 3600, 3600)
    # the queue's estimate: 2 waiting × median 630 s ÷ 3 counters → 7 min; B has the default
    assert (a.estimate_minutes, b.estimate_minutes) == (7, 2)
    assert [(c.number, c.state, c.tag, c.clerk, c.served) for c in d.counters] == [
        (1, "serving", "A003", "ana", 1),
        (2, "idle", "", "joao", 1),
        (3, "closed", "", "", 0),
    ]
    assert [(c.username, c.served, c.service_mean_s) for c in d.clerks] == [
        ("ana", 1, 540),
        ("joao", 1, 720),
    ]
    assert (d.hours, d.served_by_hour) == ((9,), (2,))
    assert d.takings == (("cash", 9000), ("mpay", 24000)) and d.takings_total == 33000
    assert (d.ready, d.uncollected, d.uncollected_days) == (2, 1, 30)
    assert d.approvals == {"exemption": 1, "variance": 1} and d.approvals_waiting == 2
    assert d.stale_drafts == 1


def test_a_clerk_does_not_see_it(ctx, morning):
    with pytest.raises(Refused, match="supervisor or admin"):
        snapshot(ctx, Actor(morning["ana"], "ana", "clerk"))
