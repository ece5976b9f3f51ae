"""Demo payments: lodged applications paid at the counter over the last weeks, some ready for
collection, today's open drawer with two receipts, and three lodged applications still to pay.

Runs after `seed_demo` (it needs its office, clerks and applicants). Safe to run twice: when the
office already has receipts nothing is added. Past days have their own closed, balanced drawer
sessions, so Z reports and `clerk receipt list --day …` show something real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlmodel import select

from clerk.domain import audit, policy
from clerk.domain.approvals import open_request
from clerk.domain.auth import SYSTEM, Actor
from clerk.domain.cashier import (
    DENOMINATIONS,
    TenderInput,
    check_counts,
    count_total,
    drawer_expected,
    fee_lines,
    record_payment,
)
from clerk.domain.clock import zone
from clerk.domain.models import (
    Applicant,
    Application,
    Counter,
    DrawerSession,
    NonPresentation,
    Office,
    Receipt,
    User,
)
from clerk.domain.office import get_office
from clerk.domain.sequences import next_number
from clerk.errors import Failure

if TYPE_CHECKING:
    from sqlmodel import Session

    from clerk.context import Context

FLOAT_AVOS = 100000  # MOP 1,000

# (days ago, clerk, counter, id number, case, service, tender, claimed exemption)
# tender: "cash" (the amount rounded up to the next MOP 100 is handed over) or a method code
PAID = (
    (30, "ana", 1, "1234567(3)", "renewal", "normal", "cash", None),
    (27, "ana", 1, "1304918(5)", "renewal", "express", "mpay", None),
    (27, "ana", 1, "5102938(7)", "data-change", "normal", "cash", None),
    (3, "ana", 1, "5213377(0)", "loss", "normal", "credit-card", None),
    (0, "joao", 2, "1487220(9)", "renewal", "normal", "cash", None),
    (0, "joao", 2, "5380142(6)", "renewal", "special-express", "macau-pass", None),
)
UNPAID = (
    ("1619023(1)", "renewal", "express", None),
    ("1290456(8)", "loss", "normal", None),
    ("1065432(2)", "renewal", "normal", "poverty"),
)


@dataclass
class PaymentsReport:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _at(day: date, hh: int, mm: int, tz: str) -> datetime:
    return datetime.combine(day, time(hh, mm), zone(tz)).astimezone(UTC)


def _working_day(day: date) -> date:
    """`day`, or the working day before it (demo receipts are not dated on a Sunday)."""
    while not policy.is_working_day(day):
        day -= timedelta(days=1)
    return day


def _facts(person: Applicant, case: str, service: str, exemption: str | None) -> policy.Facts:
    return policy.Facts(
        case=case,
        service=service,
        marital=person.marital_status,
        origin=person.origin,
        nationality=person.nationality,
        exemption=exemption,
    )


def lodge_directly(
    s: Session,
    office: Office,
    person: Applicant,
    facts: policy.Facts,
    day: date,
    *,
    user_id: int | None,
    counter_id: int | None,
    at: datetime,
) -> Application:
    """A lodged application written straight into the database (demo and tests): number,
    promised date and the non-presentation record as the intake would leave them."""
    sequence = next_number(s, office.id, "application", day)
    promised = policy.collection_date(day, facts.service).collection_date
    stored = facts.with_changes(age=None, prior_surcharges=0, prior_surcharge_dates=())
    app = Application(
        number=f"{office.code}{day:%y%m%d}{sequence:04d}",
        office_id=office.id,
        applicant_id=person.id,
        case=facts.case,
        service_level=facts.service,
        external_service=facts.external_service,
        facts_json=json.dumps(stored.to_mapping(), sort_keys=True, ensure_ascii=False),
        status="lodged",
        step="lodged",
        user_id=user_id,
        counter_id=counter_id,
        policy_version=policy.policy_version(day),
        created_at=at,
        updated_at=at,
        created_on=day,
        lodged_at=at,
        lodged_on=day,
        promised_on=promised,
    )
    s.add(app)
    s.flush()
    quote = policy.quote(facts.with_changes(exemption=None), day)
    if any(line.code == "non-presentation-surcharge" for line in quote.lines):
        s.add(
            NonPresentation(
                applicant_id=person.id,
                occurred_on=day,
                application_id=app.id,
                note=f"{facts.case}: original not presented",
            )
        )
    return app


def _counts_for(avos: int) -> dict[str, int]:
    """A count by denomination that adds up to `avos` (largest pieces first)."""
    counts = {}
    left = avos
    for d in DENOMINATIONS:
        counts[d.code], left = divmod(left, d.avos)
    return counts


def _tenders(kind: str, total: int, n: int) -> list[TenderInput]:
    if total == 0:
        return []
    if kind == "cash":
        handed = -(-total // 10000) * 10000
        return [TenderInput("cash", None, handed)]
    return [TenderInput(kind, None, None, f"T{n:06d}")]


def _close(session: DrawerSession, s: Session, day: date, tz: str) -> None:
    by_method, cash = drawer_expected(s, session)
    counts = check_counts(_counts_for(cash))
    session.count_json = json.dumps(counts, sort_keys=True)
    session.counted_avos = count_total(counts)
    session.expected_avos = cash
    session.expected_json = json.dumps({"tenders": by_method, "cash": cash})
    session.variance_avos = session.counted_avos - cash
    session.counted_at = session.closed_at = _at(day, 17, 40, tz)
    session.status = "closed"
    s.add(session)


def seed_payments(ctx: Context, *, today: date | None = None) -> PaymentsReport:
    """Add the demo's paid and unpaid applications (nothing when the office has receipts)."""
    report = PaymentsReport()
    today = today or ctx.today()
    with ctx.db.write() as s:
        office = get_office(s, ctx)
        if s.exec(select(Receipt.id).where(Receipt.office_id == office.id)).first():
            report.kept.append("receipts")
            return report
        users = {u.username: u for u in s.exec(select(User)).all()}
        people = {p.id_number: p for p in s.exec(select(Applicant)).all()}
        counters = {
            c.number: c.id
            for c in s.exec(select(Counter).where(Counter.office_id == office.id)).all()
        }
        needed = {row[1] for row in PAID} | {"ana"}
        missing = sorted(needed - set(users)) + sorted(
            idn
            for idn in [row[3] for row in PAID] + [row[0] for row in UNPAID]
            if idn not in people
        )
        if missing:
            raise Failure(f"seed the demo office first (missing: {', '.join(missing)})")
        tz = office.timezone
        sessions: dict[tuple[str, date], DrawerSession] = {}

        def lodge(row, day: date, user: User, counter: int, at: datetime) -> Application:
            idn, case, service, claim = row
            person = people[idn]
            facts = _facts(person, case, service, claim)
            counter_id = counters.get(counter)
            return lodge_directly(
                s, office, person, facts, day, user_id=user.id, counter_id=counter_id, at=at
            )

        for n, (ago, clerk, counter, *application, tender, claim) in enumerate(PAID, 1):
            day = _working_day(today - timedelta(days=ago)) if ago else today
            user = users[clerk]
            actor = Actor(user.id, user.username, user.role, user.full_name, counter=counter)
            key = (clerk, day)
            if key not in sessions:
                sessions[key] = DrawerSession(
                    office_id=office.id,
                    user_id=user.id,
                    counter_id=counters.get(counter),
                    day=day,
                    opened_at=_at(day, 9, 0, tz),
                    float_avos=FLOAT_AVOS,
                )
                s.add(sessions[key])
                s.flush()
            at = _at(day, 9, 0, tz) + timedelta(minutes=20 + 11 * n)
            app = lodge((*application, claim), day, user, counter, at)
            paid = record_payment(
                s,
                ctx,
                actor,
                app,
                sessions[key],
                _tenders(tender, _due(s, app, day), n),
                day=day,
                at=at + timedelta(minutes=4),
            )
            if day < today:  # paid on an earlier day: the card went to production next morning
                app.status = "in-production"
                app.in_production_at = _at(day + timedelta(days=1), 9, 0, tz)
            if app.promised_on and app.promised_on <= today:
                app.status = "ready"
                app.ready_at = _at(app.promised_on, 9, 0, tz)
            s.add(app)
            report.created.append(f"receipt {paid.receipt_number} ({app.status})")
        for (_clerk, day), session in sessions.items():
            if day < today:
                _close(session, s, day, tz)
        for row in UNPAID:
            app = lodge(row, today, users["ana"], 1, _at(today, 10, 30, tz))
            if row[3]:  # as lodging does: the claim waits for a supervisor's decision
                open_request(
                    s,
                    "exemption",
                    "application",
                    app.id,
                    {"exemption": row[3], "application": app.number},
                    users["ana"].id,
                )
            report.created.append(f"application {app.number} to pay")
        audit.append(s, ctx.audit_key, SYSTEM, "demo.payments", after={"created": report.created})
    return report


def _due(s: Session, app: Application, day: date) -> int:
    return sum(line.amount_avos for line in fee_lines(s, app, day)[0])
