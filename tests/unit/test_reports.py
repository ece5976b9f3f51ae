"""The supervisor's reports against a small hand-built office, on SQLite and PostgreSQL.

Two business days, 2 and 3 November 2026 (Macao): four tags, four payments and a refund, an
exemption, a surcharge, a drawer variance, five applications in every state, a checklist override,
three personalisations (one retried) and a few audit events. Every expected number below is
counted by hand from that data; none comes from the code under test.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from clerk.domain import audit, reports
from clerk.domain.auth import SYSTEM, Actor
from clerk.domain.clock import set_clock, zone
from clerk.domain.models import (
    Application,
    Appointment,
    Approval,
    AuditEvent,
    CardPersonalisation,
    Counter,
    DrawerSession,
    Office,
    Payment,
    PaymentLine,
    Receipt,
    Service,
    Tag,
    TagEvent,
    Tender,
    User,
)
from clerk.domain.receipts import make_receipt_number
from clerk.errors import Refused, UsageError
from tests.unit.test_audit import _drop_guards

D1, D2 = date(2026, 11, 2), date(2026, 11, 3)
MACAU = zone("Asia/Macau")


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=MACAU).astimezone(UTC)


class Built:
    """Ids and numbers the tests compare with."""

    users: dict[str, int]
    apps: dict[str, int]
    numbers: dict[str, str]
    receipts: dict[str, str]


def build_office(ctx) -> Built:
    out = Built()
    with ctx.db.write() as s:
        office = Office(code=ctx.config.office.code, name="Test office", name_zh="測試辦事處")
        s.add(office)
        s.flush()
        services = {}
        for code in ("A", "B"):
            services[code] = Service(office_id=office.id, code=code, name=f"Service {code}")
            s.add(services[code])
        counters = {}
        for number in (1, 2, 5):
            counters[number] = Counter(office_id=office.id, number=number)
            s.add(counters[number])
        users = {}
        for username, role in (("ana", "clerk"), ("joao", "clerk"), ("sup", "supervisor")):
            users[username] = User(username=username, role=role)
            s.add(users[username])
        s.flush()
        uid = {name: u.id for name, u in users.items()}
        cid = {n: c.id for n, c in counters.items()}
        sa, sb = services["A"].id, services["B"].id

        # -- tags and appointments
        def tag(code, day, service, issued, status, counter=None, user=None, **times):
            row = Tag(
                office_id=office.id,
                day=day,
                code=code,
                number=int(code[1:]),
                service_id=service,
                status=status,
                issued_at=issued,
                counter_id=cid.get(counter),
                user_id=uid.get(user),
                **times,
            )
            s.add(row)
            s.flush()
            return row

        tag(
            "A001",
            D1,
            sa,
            at(D1, 9, 0),
            "finished",
            1,
            "ana",
            called_at=at(D1, 9, 10),
            serving_at=at(D1, 9, 11),
            finished_at=at(D1, 9, 20),
        )
        recalled = tag(
            "A002",
            D1,
            sa,
            at(D1, 9, 5),
            "finished",
            2,
            "joao",
            recalls=1,
            called_at=at(D1, 9, 27),
            serving_at=at(D1, 9, 28),
            finished_at=at(D1, 9, 40),
        )
        s.add(TagEvent(tag_id=recalled.id, at=at(D1, 9, 25), kind="called"))
        s.add(TagEvent(tag_id=recalled.id, at=at(D1, 9, 27), kind="recalled"))
        tag(
            "B001",
            D1,
            sb,
            at(D1, 10, 0),
            "no-show",
            5,
            "ana",
            called_at=at(D1, 10, 5),
            finished_at=at(D1, 10, 10),
        )
        tag("A003", D2, sa, at(D2, 10, 30), "waiting")
        for code, day, status in (("K1", D1, "kept"), ("K2", D2, "missed")):
            s.add(
                Appointment(
                    office_id=office.id,
                    booking_code=code,
                    service_id=sa,
                    day=day,
                    slot_start="09:00",
                    slot_end="09:30",
                    status=status,
                )
            )

        # -- applications
        def app(key, case, level, lodged, status, promised, **extra):
            row = Application(
                number=f"01{lodged:%y%m%d}{len(apps) + 1:04d}",
                office_id=office.id,
                case=case,
                service_level=level,
                status=status,
                lodged_on=lodged,
                lodged_at=at(lodged, 9),
                promised_on=promised,
                user_id=uid["ana"],
                **extra,
            )
            s.add(row)
            s.flush()
            apps[key] = row
            return row

        apps: dict[str, Application] = {}
        app("a1", "renewal", "normal", D1, "in-production", D1 + timedelta(days=20))
        app("a2", "renewal", "express", D1, "in-production", D1)  # late on D2
        app("a3", "loss", "normal", D2, "lodged", D2 + timedelta(days=20))
        app("a4", "renewal", "normal", D2, "lodged", D2 + timedelta(days=20))
        app(
            "a5",
            "renewal",
            "normal",
            D2 - timedelta(days=60),
            "ready",
            D2 - timedelta(days=45),
            ready_at=at(D2 - timedelta(days=40), 9),
        )

        # -- approvals
        def approval(kind, subject_type, subject_id, detail, reason, requested, decided, when):
            row = Approval(
                kind=kind,
                status="approved",
                subject_type=subject_type,
                subject_id=subject_id,
                detail=json.dumps(detail),
                reason=reason,
                requested_by=uid[requested],
                requested_at=when,
                decided_by=uid[decided],
                decided_at=when,
            )
            s.add(row)
            s.flush()
            return row

        approval(
            "checklist-override",
            "application",
            apps["a1"].id,
            {"code": "photo"},
            "photo taken on site",
            "ana",
            "sup",
            at(D1, 10),
        )
        exemption = approval(
            "exemption",
            "application",
            apps["a4"].id,
            {"exemption": "poverty"},
            "IAS card",
            "joao",
            "sup",
            at(D2, 9),
        )

        # -- drawers, receipts, payments
        s1 = DrawerSession(
            office_id=office.id,
            user_id=uid["ana"],
            counter_id=cid[1],
            day=D1,
            status="closed",
            variance_avos=0,
        )
        s.add(s1)
        s.flush()
        variance = approval(
            "variance", "drawersession", 0, {}, "coin missing", "joao", "sup", at(D2, 18)
        )
        s2 = DrawerSession(
            office_id=office.id,
            user_id=uid["joao"],
            counter_id=cid[2],
            day=D2,
            status="closed",
            variance_avos=-500,
            approval_id=variance.id,
        )
        s.add(s2)
        s.flush()
        receipts = {}

        def pay(key, a, session, day, user, counter, lines, tender, approval_id=None):
            seq = len(receipts) + 1
            total = sum(amount for _code, amount in lines)
            receipt = Receipt(
                number=make_receipt_number("01", day, seq),
                office_id=office.id,
                day=day,
                sequence=seq,
                application_id=apps[a].id,
                total_avos=total,
                user_id=uid[user],
                counter_id=cid[counter],
            )
            s.add(receipt)
            s.flush()
            receipts[key] = receipt
            payment = Payment(
                receipt_id=receipt.id,
                application_id=apps[a].id,
                drawer_session_id=session.id,
                total_avos=total,
                user_id=uid[user],
                counter_id=cid[counter],
                at=at(day, 11),
                approval_id=approval_id,
            )
            s.add(payment)
            s.flush()
            for code, amount in lines:
                s.add(
                    PaymentLine(
                        payment_id=payment.id,
                        code=code,
                        amount_avos=amount,
                        waived=code == "exemption-waiver",
                    )
                )
            if tender:
                s.add(Tender(payment_id=payment.id, method=tender, amount_avos=total))
            return receipt

        pay("r1", "a1", s1, D1, "ana", 1, [("application-fee", 9000)], "cash")
        pay(
            "r2",
            "a2",
            s1,
            D1,
            "ana",
            1,
            [("application-fee", 9000), ("express-service", 15000)],
            "mpay",
        )
        pay(
            "r3",
            "a3",
            s2,
            D2,
            "joao",
            2,
            [("application-fee", 9000), ("non-presentation-surcharge", 30000)],
            "credit-card",
        )
        pay(
            "r4",
            "a4",
            s2,
            D2,
            "joao",
            2,
            [("application-fee", 9000), ("exemption-waiver", -9000)],
            None,
            exemption.id,
        )
        refund = approval(
            "refund", "receipt", receipts["r1"].id, {}, "overcharged", "joao", "sup", at(D2, 14)
        )
        receipts["r1"].status = "refunded"
        s.add(receipts["r1"])
        reversal = Payment(
            receipt_id=receipts["r1"].id,
            application_id=apps["a1"].id,
            drawer_session_id=s2.id,
            kind="reversal",
            total_avos=-9000,
            user_id=uid["joao"],
            counter_id=cid[2],
            at=at(D2, 14),
            approval_id=refund.id,
            reason="overcharged",
        )
        s.add(reversal)
        s.flush()
        s.add(PaymentLine(payment_id=reversal.id, code="application-fee", amount_avos=-9000))
        s.add(Tender(payment_id=reversal.id, method="cash", amount_avos=-9000))

        # -- personalisations
        for a, status, counter, when in (
            ("a1", "done", 1, at(D1, 15)),
            ("a2", "failed", 2, at(D2, 11)),
            ("a2", "done", 2, at(D2, 11, 5)),
        ):
            s.add(
                CardPersonalisation(
                    application_id=apps[a].id, status=status, counter_id=cid[counter], at=when
                )
            )

        # -- a few audit events
        for who, action, when in (
            ("ana", "login", at(D1, 8, 55)),
            ("ana", "payment.take", at(D1, 11)),
            ("joao", "payment.take", at(D2, 11)),
            ("sup", "receipt.refund", at(D2, 14)),
        ):
            actor = Actor(uid[who], who, users[who].role, counter=1)
            audit.append(s, ctx.audit_key, actor, action, at=when)
        out.users = uid
        out.apps = {k: a.id for k, a in apps.items()}
        out.numbers = {k: a.number for k, a in apps.items()}
        out.receipts = {k: r.number for k, r in receipts.items()}
    return out


@pytest.fixture
def office(ctx):
    set_clock(lambda: at(D2, 19))
    built = build_office(ctx)
    yield built
    set_clock(None)


def rows(report, key):
    return list(report.table(key).rows)


# --- takings ------------------------------------------------------------------------------------


def test_takings(ctx, office):
    r = reports.build(ctx, SYSTEM, "takings", D1, D2)
    assert rows(r, "by_day") == [
        (D1, "cash", 1, 9000),
        (D1, "mpay", 1, 24000),
        (D2, "cash", 1, -9000),
        (D2, "credit-card", 1, 39000),
    ]
    assert r.table("by_day").total == ("", "", 4, 63000)
    assert rows(r, "by_tender") == [("cash", 2, 0), ("credit-card", 1, 39000), ("mpay", 1, 24000)]
    assert rows(r, "by_clerk") == [
        ("ana", 1, 2, 0, 33000, 0, 33000),
        ("joao", 2, 2, 1, 39000, -9000, 30000),
    ]
    assert rows(r, "exemptions") == [("poverty", "sup", 1, 1, 9000)]
    assert rows(r, "surcharges") == [("non-presentation-surcharge", 1, 30000)]
    assert rows(r, "reversals") == [("refund", "overcharged", 1, -9000)]
    assert rows(r, "reversal_list") == [
        (D2, office.receipts["r1"], "refund", "overcharged", -9000, "joao", "sup")
    ]
    assert rows(r, "variances") == [(D2, "joao", 2, -500, "closed", "sup", "coin missing")]
    assert r.figures == {
        "gross_avos": 72000,
        "returned_avos": -9000,
        "net_avos": 63000,
        "payments": 4,
        "reversals": 1,
        "exemptions_granted": 1,
        "waived_avos": 9000,
        "surcharges_avos": 30000,
        "variance_avos": -500,
    }
    chart = r.charts[0]
    assert (chart.labels, chart.values) == (("11-02", "11-03"), (33000, 30000))


def test_takings_of_one_day_only_count_that_days_drawers(ctx, office):
    r = reports.build(ctx, SYSTEM, "takings", D1, D1)
    assert r.figures["net_avos"] == 33000 and rows(r, "reversals") == []


# --- queue --------------------------------------------------------------------------------------


def test_queue(ctx, office):
    r = reports.build(ctx, SYSTEM, "queue", D1, D2)
    # waits: A001 600 s, A002 1200 s (its first call, not the recall), B001 300 s
    assert rows(r, "by_service") == [
        ("A", 3, 2, 0, 900, 600, 1200, 1200, 630, 720),
        ("B", 1, 0, 1, 300, 300, 300, 300, 0, 0),
    ]
    assert r.table("by_service").total == ("", 4, 2, 1, 700, 600, 1200, 1200, 630, 720)
    assert rows(r, "by_hour") == [("A", 9, 2, 2, 0), ("A", 10, 1, 0, 0), ("B", 10, 1, 0, 1)]
    assert rows(r, "waits") == [("A", 0, 0, 1, 0, 1, 0, 0, 0), ("B", 0, 1, 0, 0, 0, 0, 0, 0)]
    assert rows(r, "service_times") == [
        ("A", 0, 1, 1, 0, 0, 0, 0, 0),
        ("B", 0, 0, 0, 0, 0, 0, 0, 0),
    ]
    assert rows(r, "appointments") == [("A", 0, 0, 1, 1, 0)]
    issued = r.charts[0]
    assert (issued.labels, issued.values) == (("09", "10"), (2, 2))
    assert r.figures["wait_p90_s"] == 1200 and r.figures["no_show"] == 1


def test_local_hours_follow_daylight_saving(ctx):
    """Lisbon leaves summer time on 25 October 2026: 09:30 local is 08:30 UTC the day before
    and 09:30 UTC the day after, and both are the 9 o'clock hour."""
    ctx.config.office.timezone = "Europe/Lisbon"
    lisbon = zone("Europe/Lisbon")
    start = datetime(2026, 10, 24, tzinfo=lisbon).astimezone(UTC)
    end = datetime(2026, 10, 27, tzinfo=lisbon).astimezone(UTC)
    segments = reports.offset_segments("Europe/Lisbon", start, end)
    assert [minutes for _until, minutes in segments] == [60, 0]
    assert segments[0][0] == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    with ctx.db.write() as s:
        office = Office(code=ctx.config.office.code, name="Lisbon", timezone="Europe/Lisbon")
        s.add(office)
        s.flush()
        service = Service(office_id=office.id, code="A")
        s.add(service)
        s.flush()
        for n, day in enumerate((date(2026, 10, 24), date(2026, 10, 26)), 1):
            issued = datetime(day.year, day.month, day.day, 9, 30, tzinfo=lisbon)
            s.add(
                Tag(
                    office_id=office.id,
                    day=day,
                    code=f"A{n:03d}",
                    number=n,
                    service_id=service.id,
                    issued_at=issued.astimezone(UTC),
                )
            )
    r = reports.build(ctx, SYSTEM, "queue", date(2026, 10, 24), date(2026, 10, 26))
    assert rows(r, "by_hour") == [("A", 9, 2, 0, 0)]


# --- applications and cards ---------------------------------------------------------------------


def test_applications(ctx, office):
    r = reports.build(ctx, SYSTEM, "applications", D1, D2)
    assert rows(r, "lodged") == [
        ("loss", "normal", 1),
        ("renewal", "express", 1),
        ("renewal", "normal", 2),
    ]
    assert rows(r, "ageing") == [
        ("lodged", 2, 0, 0, 0, 0, 0),
        ("in-production", 2, 0, 0, 0, 0, 1),
        ("ready", 0, 0, 0, 1, 0, 1),
    ]
    assert rows(r, "override_codes") == [("photo", 1)]
    assert rows(r, "overrides") == [
        ("2026-11-02 10:00", office.numbers["a1"], "photo", "photo taken on site", "ana", "sup")
    ]
    assert r.figures == {
        "lodged": 4,
        "in_production": 2,
        "in_production_late": 1,
        "ready": 1,
        "uncollected": 1,
        "overrides": 1,
    }


def test_cards(ctx, office):
    r = reports.build(ctx, SYSTEM, "cards", D1, D2)
    assert rows(r, "by_counter") == [(1, 1, 1, 0, 0), (2, 2, 1, 1, 1)]
    assert r.table("by_counter").total == ("", 3, 2, 1, 1)
    assert r.charts[0].values == (1, 1)


def test_daily_report_ends_with_the_audit_head(ctx, office):
    r = reports.build(ctx, SYSTEM, "daily", None, D2)
    assert (r.start, r.end) == (D2, D2)
    assert rows(r, "by_tender") == [("cash", 1, -9000), ("credit-card", 1, 39000)]
    assert r.figures["net_avos"] == 30000 and r.figures["lodged"] == 2
    with ctx.db.read() as s:
        last = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (r.audit_seq, r.audit_hash) == (last.id, last.hash)
    assert rows(r, "approvals") == [
        ("exemption", 1, 0, 0),
        ("refund", 1, 0, 0),
        ("variance", 1, 0, 0),
    ]


# --- the edges: roles, periods, the audit trail -------------------------------------------------


def test_a_clerk_gets_no_report(ctx, office):
    ana = Actor(office.users["ana"], "ana", "clerk")
    with pytest.raises(Refused, match="supervisor or admin"):
        reports.build(ctx, ana, "takings", D1, D2)
    with pytest.raises(Refused):
        reports.audit_trail(ctx, ana)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-05", "2026-11-01", "starts after"),
        ("2025-01-01", "2026-11-01", "at most"),
        ("1 Nov", "2026-11-03", "not a date"),
    ],
)
def test_bad_periods_are_refused(ctx, office, start, end, message):
    with pytest.raises(UsageError, match=message):
        reports.build(ctx, SYSTEM, "queue", start, end)


def test_unknown_report(ctx, office):
    with pytest.raises(UsageError, match="valid: takings"):
        reports.build(ctx, SYSTEM, "payroll", D1, D2)


def test_audit_trail_filters(ctx, office):
    def actions(**filters):
        return [(r.username, r.action) for r in reports.audit_trail(ctx, SYSTEM, **filters)]

    assert actions(user="ana") == [("ana", "payment.take"), ("ana", "login")]
    assert actions(action="payment.") == [("joao", "payment.take"), ("ana", "payment.take")]
    assert actions(action="login") == [("ana", "login")]
    assert actions(start=D2) == [("sup", "receipt.refund"), ("joao", "payment.take")]
    assert actions(end=D1, user="ana", action="payment*") == [("ana", "payment.take")]
    newest = reports.audit_trail(ctx, SYSTEM, limit=2)
    older = reports.audit_trail(ctx, SYSTEM, before_id=newest[-1].id)
    assert [r.id for r in older] == list(range(newest[-1].id - 1, 0, -1))


# --- files: JSON, CSV, PDF ----------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_the_pdf_carries_the_totals_and_the_trilingual_headings(ctx, office):
    from clerk.documents.report_pdf import render_report

    pdf = render_report(reports.build(ctx, SYSTEM, "takings", D1, D2))
    assert pdf.startswith(b"%PDF")
    found = pdf_text(pdf)
    for expected in ("720.00", "630.00", "-90.00", "300.00", "收費報告", "Relatório de receitas"):
        assert expected in found, expected
    assert "測試辦事處" in found  # the office's header


def test_json_and_csv(ctx, office, capsys):
    from clerk.cli import main

    assert (
        main(
            ["report", "takings", "--db", ctx.db_url, "--from", "2026-11-02", "--to", "2026-11-03"]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    clerks = data["tables"]["by_clerk"]
    assert clerks["columns"] == [
        "clerk",
        "counter",
        "payments",
        "reversals",
        "gross",
        "returned",
        "net",
    ]
    assert clerks["total"][-1] == "630.00" and data["figures"]["net_avos"] == 63000
    assert (
        main(
            [
                "report",
                "queue",
                "--db",
                ctx.db_url,
                "--from",
                "2026-11-02",
                "--to",
                "2026-11-03",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("by_service")
    assert lines[start + 1].startswith("service,issued,served,no_show,wait_mean")
    assert lines[start + 2] == "A,3,2,0,900,600,1200,1200,630,720"
    assert main(["report", "cards", "--db", ctx.db_url, "--format", "pdf"]) == 2
    assert "--out" in capsys.readouterr().err


# --- the audit chain against the daily report's hash --------------------------------------------


def _verify(ctx, capsys, *extra) -> tuple[int, str]:
    from clerk.cli import main

    code = main(["audit", "verify", "--db", ctx.db_url, *extra])
    return code, capsys.readouterr().out


def _printed_hash(ctx, tmp_path) -> str:
    from clerk.cli import main

    out = tmp_path / "daily.pdf"
    assert main(["report", "daily", "--db", ctx.db_url, "--format", "pdf", "--out", str(out)]) == 0
    found = set(re.findall(r"\b[0-9a-f]{64}\b", pdf_text(out.read_bytes())))
    assert len(found) == 1  # printed once, and once more in the command to check it
    return found.pop()


def test_verify_finds_an_edited_row(ctx, office, capsys):
    assert _verify(ctx, capsys)[0] == 0
    _drop_guards(ctx)
    with ctx.db.write() as s:
        s.execute(text("UPDATE auditevent SET username = 'mallory' WHERE id = 2"))
    code, out = _verify(ctx, capsys)
    assert code == 1 and "BROKEN at event 2" in out


def test_verify_finds_a_deleted_row(ctx, office, capsys):
    _drop_guards(ctx)
    with ctx.db.write() as s:
        s.execute(text("DELETE FROM auditevent WHERE id = 3"))
    code, out = _verify(ctx, capsys)
    assert code == 1 and "BROKEN at event 3" in out


def test_verify_finds_a_truncated_tail_with_the_daily_reports_hash(ctx, office, capsys, tmp_path):
    printed = _printed_hash(ctx, tmp_path)
    assert _verify(ctx, capsys, "--expect", printed)[0] == 0
    _drop_guards(ctx)
    with ctx.db.write() as s:  # the last two events go, and the head is rewound to match
        s.execute(text("DELETE FROM auditevent WHERE id > 2"))
        s.execute(
            text(
                "UPDATE audithead SET seq = 2, "
                "last_hash = (SELECT hash FROM auditevent WHERE id = 2)"
            )
        )
    assert _verify(ctx, capsys)[0] == 0  # the chain itself looks whole …
    code, out = _verify(ctx, capsys, "--expect", printed)  # … the report's hash is gone
    assert code == 1 and "BROKEN at event 3" in out and "report" in out


# --- the scale generator ------------------------------------------------------------------------


def test_the_scale_generator_writes_a_year_that_adds_up(ctx):
    from sqlmodel import func

    from clerk.domain import scale
    from clerk.domain.demo import seed_demo
    from clerk.domain.demo_payments import seed_payments

    set_clock(lambda: at(date(2026, 11, 23), 11))
    try:
        seed_demo(ctx)
        seed_payments(ctx)
        with pytest.raises(Refused):
            scale.generate(ctx, Actor(None, "ana", "clerk"), 10)
        with pytest.raises(UsageError):
            scale.generate(ctx, SYSTEM, 0)
        before = _numbered(ctx)
        first = scale.generate(ctx, SYSTEM, 150, seed=3)
        again = scale.generate(ctx, SYSTEM, 150, seed=4)  # continues every daily sequence
        assert (first.applications, again.applications) == (150, 150)
        assert first.last_day == date(2026, 11, 20)  # the last working day before Monday
        assert first.payments == 150
        assert _numbered(ctx) == before + 300
        with ctx.db.read() as s:
            assert audit.verify(s, ctx.audit_key).ok
            receipts = s.exec(select(func.count()).select_from(Receipt)).one()
            tags = s.exec(select(func.count()).select_from(Tag)).one()
        assert receipts >= 300 and tags >= 300
        year = reports.build(ctx, SYSTEM, "applications", date(2026, 1, 1), date(2026, 11, 22))
        takings = reports.build(ctx, SYSTEM, "takings", date(2026, 1, 1), date(2026, 11, 22))
        queue = reports.build(ctx, SYSTEM, "queue", date(2026, 1, 1), date(2026, 11, 22))
        assert year.figures["lodged"] == takings.figures["payments"] > 0
        assert queue.figures["served"] >= year.figures["lodged"]  # collection tags too
    finally:
        set_clock(None)


def _numbered(ctx) -> int:
    from sqlmodel import func

    with ctx.db.read() as s:
        return s.exec(
            select(func.count()).select_from(Application).where(Application.number.is_not(None))
        ).one()
