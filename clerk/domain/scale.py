"""A large office's year, generated fast: `clerk demo --scale N` and `bench/reports.py`.

N applications over the year that ends yesterday (the office's working days only), each with its
applicant, its number tag and the tag's timed events, the payment (receipt, fee lines, tenders, in
the clerk's drawer session of the day), the card's personalisation, the collection (a collection
tag, the hand-over) and the audit events of those steps, hash-chained like every other event.
Around them: appointments kept and missed, no-shows, recalled tags, exemptions, voids and refunds,
checklist overrides, drawer variances acknowledged by a supervisor, failed personalisations that
were retried, and cards ready but never collected. Enough for every report to have something to
count, in proportions a busy office would recognise.

Speed: rows are built as plain tuples with their ids assigned here (each table's ids continue
after its current maximum) and written with the driver's executemany, in one write transaction
per few days (SQLite: synchronous=OFF for the load). The INSERT statements are compiled from the
SQLModel tables' Core definitions; values are given as the database stores them (on SQLite:
UTC text for instants, ISO text for dates), so no per-value conversion runs in SQLAlchemy.
Existing daily sequences (tags, receipts, application numbers) are continued, never reused.
Meant for a database nobody else is writing to (the demo, a bench).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import json.encoder
import math
import random
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, text

from clerk.domain import policy
from clerk.domain.audit import link_hash
from clerk.domain.auth import require_role
from clerk.domain.clock import zone
from clerk.domain.identity import fold_name
from clerk.domain.models import (
    Applicant,
    Application,
    Appointment,
    Approval,
    AuditEvent,
    AuditHead,
    CardPersonalisation,
    Collection,
    Counter,
    CounterService,
    DailyCounter,
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
from clerk.errors import Failure, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from clerk.context import Context
    from clerk.domain.auth import Actor

MAX_PER_DAY = 9000  # application and receipt numbers have four digits a day
MAX_N = 2_000_000
COLLECTION_COUNTERS = 2  # the last two counters hand over finished cards
MINUTES_PER_APPLICATION = 7.0  # an intake counter's time per applicant (6 serving, 1 between)
OPEN_MINUTES = 8.5 * 60
SUPERVISORS = 3
FLOAT_AVOS = 100_000
DAYS_PER_TRANSACTION = 5
LOAD_CACHE_KIB = 512 * 1024  # SQLite page cache while loading: the indexes stay in memory

CASES = (("renewal", 70), ("loss", 10), ("damage", 5), ("data-change", 8), ("to-permanent", 7))
LEVELS = (("normal", 75), ("express", 18), ("special-express", 7))
TENDERS = (
    ("cash", 40),
    ("mpay", 20),
    ("credit-card", 15),
    ("macau-pass", 15),
    ("unionpay-quickpass", 10),
)
LEVEL_FEES = {
    "express": ("express-service", 15000),
    "special-express": ("special-express-service", 25000),
}
SURCHARGE = ("non-presentation-surcharge", 30000)
FEE = ("application-fee", 9000)
LABELS = {
    "application-fee": ("Application fee", "身份證申請費", "Taxa do pedido de BIR"),
    "express-service": ("Express service", "快速服務", "Serviço rápido"),
    "special-express-service": ("Special express service", "特快服務", "Serviço especial rápido"),
    "non-presentation-surcharge": (
        "Surcharge: original BIR not presented",
        "未能提交原身份證附加費",
        "Sobretaxa por não apresentação do BIR",
    ),
    "exemption-waiver": ("Exemption", "豁免", "Isenção"),
}
SURNAMES = ("陳", "李", "黃", "張", "梁", "何", "林", "吳", "王", "劉", "鄭", "馮", "區", "歐陽")
SURNAMES_LATIN = {
    "陳": "CHAN", "李": "LEI", "黃": "WONG", "張": "CHEONG", "梁": "LEONG", "何": "HO",
    "林": "LAM", "吳": "NG", "王": "WONG", "劉": "LAO", "鄭": "CHEANG", "馮": "FONG",
    "區": "AU", "歐陽": "AU IEONG",
}  # fmt: skip
GIVEN = (
    ("嘉欣", "KA IAN"),
    ("志強", "CHI KEONG"),
    ("美玲", "MEI LENG"),
    ("家豪", "KA HOU"),
    ("詠詩", "WENG SI"),
    ("偉", "WAI"),
    ("小梅", "SIO MUI"),
    ("明", "MENG"),
    ("大文", "TAI MAN"),
)
PORTUGUESE = ("SOUSA, JOÃO", "FERREIRA, MARIA", "SILVA, ANA", "COSTA, RUI", "PEREIRA, INÊS")
OVERRIDE_CODES = ("former-card", "photo", "birth-certificate", "marriage-certificate")
EXEMPTION_KINDS = ("poverty", "unemployment", "disability")


@dataclass
class ScaleReport:
    applications: int = 0
    tags: int = 0
    tag_events: int = 0
    payments: int = 0
    audit_events: int = 0
    first_day: date | None = None
    last_day: date | None = None
    seconds: float = 0.0


class _Ids:
    """The next id of each table (continuing after its maximum)."""

    def __init__(self, conn: Connection, tables):
        self.next = {}
        for table in tables:
            top = conn.execute(select(func.max(table.c.id))).scalar()
            self.next[table.name] = int(top or 0) + 1

    def take(self, name: str) -> int:
        value = self.next[name]
        self.next[name] = value + 1
        return value


class _Writer:
    """Rows by table, written with the driver's executemany; values as the database stores
    them."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.rows: dict[str, list[tuple]] = {}
        self.sql: dict[str, str] = {}
        self.columns: dict[str, tuple[str, ...]] = {}

    def columns_of(self, table, names: tuple[str, ...]) -> None:
        """The table's INSERT with positional parameters in `names` order (both drivers)."""
        quote = self.conn.dialect.identifier_preparer
        marks = ", ".join("?" if self.sqlite else "%s" for _ in names)
        columns = ", ".join(quote.quote(name) for name in names)
        self.sql[table.name] = (
            f"INSERT INTO {quote.format_table(table)} ({columns}) VALUES ({marks})"  # noqa: S608
        )
        self.rows[table.name] = []

    def add(self, name: str, row: tuple) -> None:
        self.rows[name].append(row)

    def instant(self, at: datetime) -> Any:
        """A naive UTC instant as stored: SQLAlchemy's SQLite text (isoformat is ~10× faster
        than strftime), an aware datetime for PostgreSQL."""
        return at.isoformat(" ", "microseconds") if self.sqlite else at.replace(tzinfo=UTC)

    def day(self, d: date) -> Any:
        return d.isoformat() if self.sqlite else d

    def flag(self, value: bool) -> Any:
        return int(value) if self.sqlite else value

    def flush(self) -> None:
        for name, rows in self.rows.items():
            if rows:
                self.conn.exec_driver_sql(self.sql[name], rows)
                rows.clear()


TABLE_COLUMNS = {
    Applicant: ("id", "id_number", "name_zh", "name_latin", "date_of_birth", "sex",
                "nationality", "origin", "marital_status", "permanent", "phone",
                "search_key", "created_at", "updated_at"),
    Appointment: ("id", "office_id", "booking_code", "name", "id_number", "service_id", "day",
                  "slot_start", "slot_end", "kind", "status", "checked_in_at", "created_at"),
    Tag: ("id", "office_id", "day", "code", "number", "service_id", "status", "priority",
          "appointment_id", "counter_id", "user_id", "recalls", "issued_at", "called_at",
          "serving_at", "finished_at", "applicant_id"),
    TagEvent: ("id", "tag_id", "at", "kind", "counter_id", "user_id", "detail"),
    Application: ("id", "number", "office_id", "applicant_id", "tag_id", "case",
                  "service_level", "external_service", "facts_json", "status", "step",
                  "user_id", "counter_id", "guardian_name", "guardian_id_number",
                  "guardian_relationship", "policy_version", "created_at", "updated_at",
                  "created_on", "lodged_at", "lodged_on", "promised_on", "in_production_at",
                  "ready_at", "collected_at"),
    Approval: ("id", "kind", "status", "subject_type", "subject_id", "detail", "reason",
               "requested_by", "requested_at", "decided_by", "decided_at"),
    DrawerSession: ("id", "office_id", "user_id", "counter_id", "day", "opened_at",
                    "float_avos", "status", "closed_at", "count_json", "counted_at",
                    "expected_json", "counted_avos", "expected_avos", "variance_avos",
                    "approval_id"),
    Receipt: ("id", "number", "office_id", "day", "sequence", "application_id", "total_avos",
              "status", "issued_at", "printed_count", "user_id", "counter_id", "kind"),
    Payment: ("id", "receipt_id", "application_id", "drawer_session_id", "kind", "total_avos",
              "change_avos", "user_id", "counter_id", "at", "approval_id", "reason"),
    PaymentLine: ("id", "payment_id", "code", "label", "label_zh", "label_pt", "amount_avos",
                  "waived"),
    Tender: ("id", "payment_id", "method", "amount_avos", "tendered_avos", "reference"),
    CardPersonalisation: ("id", "application_id", "status", "card_serial", "atr",
                          "profile_version", "data_hash", "error", "user_id", "counter_id",
                          "at"),
    Collection: ("id", "application_id", "counter_id", "user_id", "collected_at",
                 "by_representative", "representative_name", "representative_id_number",
                 "receipt_kept", "former_card"),
    AuditEvent: ("id", "at", "user_id", "username", "counter", "terminal", "action",
                 "subject_type", "subject_id", "before", "after", "prev_hash", "hash"),
}  # fmt: skip


def _weighted(rng: random.Random, choices) -> Callable[[], str]:
    codes = [c for c, _w in choices]
    weights = [w for _c, w in choices]
    cum = []
    total = 0
    for w in weights:
        total += w
        cum.append(total)

    def draw() -> str:
        x = rng.random() * total
        for code, bound in zip(codes, cum, strict=True):
            if x < bound:
                return code
        return codes[-1]

    return draw


@dataclass
class _Staff:
    office_id: int
    office_code: str
    services: dict[str, int]  # code → id
    counters: dict[int, int]  # number → id
    clerks: list[tuple[int, str]]  # (user id, username), clerk i stands at counter i + 1
    supervisors: list[tuple[int, str]]
    intake: int  # counters 1..intake take applications; the next ones hand over cards


def _ensure_staff(ctx: Context, conn: Connection, intake: int) -> _Staff:
    """The office's services, `intake` counters plus the collection counters, a clerk at each
    and the scale supervisors (added when missing; they have no password: nobody logs in as
    them)."""
    total = intake + COLLECTION_COUNTERS
    office = conn.execute(
        select(Office.id, Office.code).where(Office.code == ctx.config.office.code)
    ).first()
    if office is None:
        raise Failure("seed the demo office first (`clerk demo --seed-only`)")
    office_id = office[0]
    services = dict(
        conn.execute(select(Service.code, Service.id).where(Service.office_id == office_id)).all()
    )
    if not {"A", "B"} <= set(services):
        raise Failure("the office needs services A (renewal) and B (collection)")
    counters = dict(
        conn.execute(select(Counter.number, Counter.id).where(Counter.office_id == office_id)).all()
    )
    for number in range(1, total + 1):
        if number not in counters:
            cid = conn.execute(
                insert(Counter).values(
                    office_id=office_id,
                    number=number,
                    name=f"Counter {number}",
                    active=True,
                    collection=number > intake,
                )
            ).inserted_primary_key[0]
            counters[number] = cid
            for sid in services.values():
                conn.execute(insert(CounterService).values(counter_id=cid, service_id=sid))
    users = dict(conn.execute(select(User.username, User.id)).all())
    wanted = [(f"c{i:03d}", "clerk") for i in range(1, total + 1)]
    wanted += [(f"s{i:02d}", "supervisor") for i in range(1, SUPERVISORS + 1)]
    for username, role in wanted:
        if username not in users:
            users[username] = conn.execute(
                insert(User).values(
                    username=username,
                    full_name=f"Scale {role} {username}",
                    role=role,
                    password_hash="",
                    language="en",
                    active=True,
                    failed_logins=0,
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key[0]
    return _Staff(
        office_id,
        office[1],
        services,
        counters,
        [(users[f"c{i:03d}"], f"c{i:03d}") for i in range(1, total + 1)],
        [(users[f"s{i:02d}"], f"s{i:02d}") for i in range(1, SUPERVISORS + 1)],
        intake,
    )


def _working_days(last: date) -> list[date]:
    first = last - timedelta(days=364)
    return [
        first + timedelta(days=i)
        for i in range(365)
        if policy.is_working_day(first + timedelta(days=i))
    ]


TERMINAL = "scale"
_STR = json.encoder.encode_basestring  # json.dumps' own string form (ensure_ascii=False)


def _canonical(seq, at, user_id, username, counter, action, subject, after) -> bytes:
    """`clerk.domain.audit._canonical` of an event, built directly (sorted keys, compact):
    the generator appends millions; `_Year.audit` checks the two agree."""

    def num(value: int | None) -> str:
        return "null" if value is None else str(value)

    return (
        f'{{"action":{_STR(action)},"after":{_STR(after)},'
        f'"at":"{at.isoformat(timespec="microseconds")}+00:00","before":"",'
        f'"counter":{num(counter)},"id":{seq},"subject_id":{num(subject[1])},'
        f'"subject_type":{_STR(subject[0])},"terminal":"{TERMINAL}",'
        f'"user_id":{num(user_id)},"username":{_STR(username)}}}'
    ).encode()


class _Year:
    """The generator's state across days: ids, sequences, the audit chain, sessions."""

    def __init__(self, ctx: Context, conn: Connection, staff: _Staff, rng: random.Random):
        self.ctx = ctx
        self.conn = conn
        self.staff = staff
        self.rng = rng
        self.key = ctx.audit_key
        self.tz = zone(ctx.tz)
        self.w = _Writer(conn)
        for model, names in TABLE_COLUMNS.items():
            self.w.columns_of(model.__table__, names)
        self.case = _weighted(rng, CASES)
        self.level = _weighted(rng, LEVELS)
        self.tender = _weighted(rng, TENDERS)
        self.promised: dict[tuple[date, str], date] = {}
        self.policy_version: dict[date, str] = {}
        self.report = ScaleReport()
        self.sequences: dict[tuple[str, str, date], int] = {}
        self.sessions: dict[tuple[int, date], list] = {}  # (clerk index, day) → session state
        self.later: dict[date, list[tuple]] = {}  # refunds paid out on a later day
        self.midnights: dict[date, datetime] = {}
        self.days: list[date] = []
        self.position: dict[date, int] = {}
        self.last_day = date.max

    # -- per transaction ---------------------------------------------------------------------
    def begin(self) -> None:
        self.ids = _Ids(self.conn, [m.__table__ for m in TABLE_COLUMNS if m is not AuditEvent])
        head = self.conn.execute(
            select(AuditHead.seq, AuditHead.last_hash).where(AuditHead.id == 1)
        ).first()
        if head is None:
            self.conn.execute(insert(AuditHead).values(id=1, seq=0, last_hash=""))
            head = (0, "")
        self.seq, self.last_hash = int(head[0]), head[1]
        self.checked = False

    def end(self) -> None:
        self.w.flush()
        self.conn.execute(
            AuditHead.__table__.update()
            .where(AuditHead.__table__.c.id == 1)
            .values(seq=self.seq, last_hash=self.last_hash)
        )

    # -- helpers -----------------------------------------------------------------------------
    def at(self, day: date, minutes: float) -> datetime:
        """Local minutes after midnight on `day`, as a naive UTC instant (the generator's
        instants are naive UTC; `_Writer.instant` gives them to the database)."""
        midnight = self.midnights.get(day)
        if midnight is None:
            local = datetime.combine(day, time(0), self.tz)
            midnight = self.midnights[day] = local.astimezone(UTC).replace(tzinfo=None)
        return midnight + timedelta(minutes=minutes)

    def local_day(self, at: datetime) -> date:
        return at.replace(tzinfo=UTC).astimezone(self.tz).date()

    def load_sequences(self, first: date, last: date) -> None:
        """The office's daily sequences already used in the period (continued, never reused)."""
        rows = self.conn.execute(
            select(DailyCounter.kind, DailyCounter.key, DailyCounter.day, DailyCounter.value).where(
                DailyCounter.office_id == self.staff.office_id,
                DailyCounter.day >= first,
                DailyCounter.day <= last,
            )
        ).all()
        self.sequences = {(k, key, d): int(v) for k, key, d, v in rows}
        self.changed: set[tuple[str, str, date]] = set()

    def next_seq(self, kind: str, key: str, day: date) -> int:
        k = (kind, key, day)
        value = self.sequences.get(k, 0) + 1
        self.sequences[k] = value
        self.changed.add(k)
        return value

    def audit(
        self,
        at: datetime,
        who: tuple[int, str] | None,
        counter: int | None,
        action: str,
        subject: tuple[str, int],
        after: str,
    ) -> None:
        """One event of the chain (`after`: its JSON text)."""
        self.seq += 1
        user_id, username = who if who else (None, "system")
        body = _canonical(self.seq, at, user_id, username, counter, action, subject, after)
        if not self.checked:  # the fast form must be the audit module's, byte for byte
            self.checked = True
            event = {
                "id": self.seq, "at": at.replace(tzinfo=UTC), "user_id": user_id,
                "username": username, "counter": counter, "terminal": TERMINAL,
                "action": action, "subject_type": subject[0], "subject_id": subject[1],
                "before": "", "after": after,
            }  # fmt: skip
            if link_hash(self.key, self.last_hash, event) != self._hash(body):
                raise Failure("the scale generator's audit form differs from clerk.domain.audit")
        digest = self._hash(body)
        w = self.w
        w.add(
            "auditevent",
            (self.seq, w.instant(at), user_id, username, counter, TERMINAL, action, subject[0],
             subject[1], "", after, self.last_hash, digest),
        )  # fmt: skip
        self.last_hash = digest
        self.report.audit_events += 1

    def _hash(self, body: bytes) -> str:
        return hmac.new(self.key, self.last_hash.encode() + b"|" + body, hashlib.sha256).hexdigest()

    def promised_on(self, day: date, level: str) -> date:
        k = (day, level)
        if k not in self.promised:
            self.promised[k] = policy.collection_date(day, level).collection_date
        return self.promised[k]

    def version(self, day: date) -> str:
        if day not in self.policy_version:
            self.policy_version[day] = policy.policy_version(day)
        return self.policy_version[day]

    def session(self, clerk: int, day: date) -> list:
        """[id, cash taken, any reversal] of the clerk's drawer session that day (opened on
        first use, counted and closed by `close_sessions`)."""
        k = (clerk, day)
        if k not in self.sessions:
            self.sessions[k] = [self.ids.take("drawersession"), 0, clerk, day]
        return self.sessions[k]

    def close_sessions(self, day: date) -> None:
        w, rng = self.w, self.rng
        for k in [k for k in self.sessions if k[1] == day]:
            sid, cash, clerk, _day = self.sessions.pop(k)
            expected = FLOAT_AVOS + cash
            variance = 0
            approval_id = None
            if rng.random() < 0.03:
                variance = rng.choice((-1, 1)) * rng.randrange(1100, 6000, 100)
            counted_at = self.at(day, 17 * 60 + 40)
            user = self.staff.clerks[clerk]
            if variance:
                approval_id = self.ids.take("approval")
                sup = rng.choice(self.staff.supervisors)
                w.add(
                    "approval",
                    (
                        approval_id,
                        "variance",
                        "approved",
                        "drawersession",
                        sid,
                        json.dumps({"variance_avos": variance, "expected_avos": expected}),
                        "counted again with the clerk",
                        user[0],
                        w.instant(counted_at),
                        sup[0],
                        w.instant(counted_at + timedelta(minutes=15)),
                    ),
                )
            w.add(
                "drawersession",
                (
                    sid,
                    self.staff.office_id,
                    user[0],
                    self.staff.counters[clerk + 1],
                    w.day(day),
                    w.instant(self.at(day, 8 * 60 + 50)),
                    FLOAT_AVOS,
                    "closed",
                    w.instant(counted_at + timedelta(minutes=15 if variance else 0)),
                    "{}",
                    w.instant(counted_at),
                    json.dumps({"cash": expected}),
                    expected + variance,
                    expected,
                    variance,
                    approval_id,
                ),
            )
            self.audit(
                counted_at,
                user,
                clerk + 1,
                "drawer.count",
                ("drawersession", sid),
                f'{{"variance_avos":{variance}}}',
            )

    # -- one day -----------------------------------------------------------------------------
    def day(self, day: date, count: int, today: date) -> None:
        rng, st = self.rng, self.staff
        service_a, service_b = st.services["A"], st.services["B"]
        opening, closing = 9 * 60, 17 * 60 + 30
        for refund in self.later.pop(day, []):
            self._reversal(*refund)
        # missed appointments: booked, never came
        for _ in range(int(count * 0.03)):
            self._appointment(day, service_a, "missed", None)
        # `count` applicants lodge; 3 % more take a tag and never come to the counter
        visits = [(rng.uniform(opening - 15, closing), False) for _ in range(count)]
        visits += [(rng.uniform(opening, closing), True) for _ in range(int(count * 0.03))]
        free_at = [float(opening)] * st.intake  # when each intake counter is free next
        for minute, no_show in sorted(visits):
            self._applicant_visit(day, minute, free_at, service_a, service_b, today, no_show)
        self.close_sessions(day)

    def _appointment(self, day: date, service_id: int, status: str, at: datetime | None) -> int:
        aid = self.ids.take("appointment")
        w = self.w
        slot = f"{9 + aid % 8:02d}:{(aid % 2) * 30:02d}"
        w.add(
            "appointment",
            (
                aid,
                self.staff.office_id,
                f"S{aid:010d}",
                "",
                "",
                service_id,
                w.day(day),
                slot,
                slot,
                "appointment",
                status,
                w.instant(at) if at else None,
                w.instant(self.at(day, 0) - timedelta(days=7)),
            ),
        )
        return aid

    def _tag(
        self,
        day: date,
        service: tuple[str, int],
        issued: datetime,
        status: str,
        counter: int,
        user: tuple[int, str],
        wait_min: float,
        serve_min: float,
        appointment: int | None,
        applicant: int | None,
        recalled: bool,
    ) -> tuple[int, datetime]:
        w = self.w
        code, service_id = service
        number = self.next_seq("tag", code, day)
        tag_id = self.ids.take("tag")
        called = issued + timedelta(minutes=wait_min)
        last_call = called + timedelta(minutes=2) if recalled else called
        serving = last_call + timedelta(minutes=1)
        finished = serving + timedelta(minutes=serve_min)
        events = [("issued", issued, None), ("called", called, counter)]
        if recalled:
            events.append(("recalled", last_call, counter))
        if status == "finished":
            events += [("serving", serving, counter), ("finished", finished, counter)]
        else:
            finished = last_call + timedelta(minutes=3)
            events.append(("no-show", finished, counter))
        cid = self.staff.counters[counter]
        for kind, at, where in events:
            w.add(
                "tagevent",
                (
                    self.ids.take("tagevent"),
                    tag_id,
                    w.instant(at),
                    kind,
                    self.staff.counters[where] if where else None,
                    user[0] if where else None,
                    "",
                ),
            )
        w.add(
            "tag",
            (
                tag_id,
                self.staff.office_id,
                w.day(day),
                f"{code}{number:03d}",
                number,
                service_id,
                status,
                0,
                appointment,
                cid,
                user[0],
                1 if recalled else 0,
                w.instant(issued),
                w.instant(last_call),
                w.instant(serving) if status == "finished" else None,
                w.instant(finished),
                applicant,
            ),
        )
        self.report.tags += 1
        self.report.tag_events += len(events)
        return tag_id, finished

    def _applicant_visit(
        self, day, minute, free_at, service_a, service_b, today, no_show: bool
    ) -> None:
        rng, w, st = self.rng, self.w, self.staff
        issued = self.at(day, minute)
        counter_index = min(range(len(free_at)), key=free_at.__getitem__)
        start = max(free_at[counter_index], minute) + rng.expovariate(1 / 2)  # walking up
        wait = min(start - minute, 150.0)
        serve = 3 + rng.expovariate(1 / 3)
        free_at[counter_index] = start + (3 if no_show else serve + 1)
        counter = counter_index + 1
        clerk = counter_index
        user = st.clerks[clerk]
        appointment = None
        if rng.random() < 0.2:
            appointment = self._appointment(day, service_a, "kept", issued - timedelta(minutes=5))
        recalled = rng.random() < 0.05
        if no_show:  # called, never came to the counter
            self._tag(
                day,
                ("A", service_a),
                issued,
                "no-show",
                counter,
                user,
                wait,
                0,
                None,
                None,
                recalled,
            )
            return
        # the applicant
        pid = self.ids.take("applicant")
        if rng.random() < 0.9:
            surname = rng.choice(SURNAMES)
            given, given_latin = rng.choice(GIVEN)
            zh, latin = surname + given, f"{SURNAMES_LATIN[surname]} {given_latin}"
        else:
            zh, latin = "", rng.choice(PORTUGUESE)
        born = date(1940 + pid % 65, 1 + pid % 12, 1 + pid % 28)
        w.add(
            "applicant",
            (
                pid,
                f"X{pid:09d}",
                zh,
                latin,
                w.day(born),
                "MF"[pid % 2],
                "chinese" if zh else "portuguese",
                "macao",
                "married" if pid % 3 else "single",
                w.flag(True),
                "",
                fold_name(zh, latin),
                w.instant(issued),
                w.instant(issued),
            ),
        )
        tag_id, finished = self._tag(
            day,
            ("A", service_a),
            issued,
            "finished",
            counter,
            user,
            wait,
            serve,
            appointment,
            pid,
            recalled,
        )
        self._application(day, finished, counter, clerk, pid, tag_id, service_b, today)

    def _application(self, day, finished, counter, clerk, pid, tag_id, service_b, today) -> None:
        rng, w, st = self.rng, self.w, self.staff
        user = st.clerks[clerk]
        case, level = self.case(), self.level()
        seq = self.next_seq("application", "", day)
        if seq > MAX_PER_DAY:
            raise UsageError(f"more than {MAX_PER_DAY} applications on {day}: use a smaller N")
        number = f"{st.office_code}{day:%y%m%d}{seq:04d}"
        app_id = self.ids.take("application")
        lodged_at = finished - timedelta(minutes=2)
        promised = self.promised_on(day, level)
        exemption = rng.choice(EXEMPTION_KINDS) if rng.random() < 0.02 else None
        # what happened next, as of today
        in_production = self.at(day + timedelta(days=1), 9 * 60)
        ready_at = self.at(promised, 9 * 60) if promised <= today else None
        collected_at = None
        if ready_at is not None:
            pickup = promised + timedelta(days=int(rng.expovariate(1 / 6)))
            if pickup <= today and rng.random() < 0.99:
                collected_at = self.at(pickup, 9 * 60 + rng.uniform(0, 500))
        status = (
            "collected"
            if collected_at
            else "ready"
            if ready_at
            else ("in-production" if in_production <= self.at(today, 24 * 60) else "lodged")
        )
        facts = {"case": case, "service": level, "exemption": exemption}
        w.add(
            "application",
            (
                app_id,
                number,
                st.office_id,
                pid,
                tag_id,
                case,
                level,
                w.flag(False),
                json.dumps(facts),
                status,
                "lodged",
                user[0],
                st.counters[counter],
                "",
                "",
                "",
                self.version(day),
                w.instant(lodged_at - timedelta(minutes=10)),
                w.instant(collected_at or ready_at or lodged_at),
                w.day(day),
                w.instant(lodged_at),
                w.day(day),
                w.day(promised),
                w.instant(in_production) if status != "lodged" else None,
                w.instant(ready_at) if ready_at else None,
                w.instant(collected_at) if collected_at else None,
            ),
        )
        self.report.applications += 1
        self.audit(
            lodged_at,
            user,
            counter,
            "application.lodge",
            ("application", app_id),
            f'{{"case":"{case}","number":"{number}","service":"{level}"}}',
        )
        if rng.random() < 0.01:
            sup = rng.choice(st.supervisors)
            w.add(
                "approval",
                (
                    self.ids.take("approval"),
                    "checklist-override",
                    "approved",
                    "application",
                    app_id,
                    json.dumps({"code": rng.choice(OVERRIDE_CODES), "state": "missing"}),
                    "document seen in the register",
                    user[0],
                    w.instant(lodged_at),
                    sup[0],
                    w.instant(lodged_at),
                ),
            )
        self._payment(day, lodged_at, counter, clerk, app_id, number, case, level, exemption)
        if ready_at is not None:
            self._personalisation(app_id, ready_at, counter)
        if collected_at is not None:
            self._collection(app_id, collected_at, service_b)

    def _payment(self, day, lodged_at, counter, clerk, app_id, number, case, level, exemption):
        rng, w, st = self.rng, self.w, self.staff
        user = st.clerks[clerk]
        lines = [FEE]
        if level in LEVEL_FEES:
            lines.append(LEVEL_FEES[level])
        if case == "loss":
            lines.append(SURCHARGE)
        approval_id = None
        paid_at = lodged_at + timedelta(minutes=3)
        if exemption:
            waived = -sum(a for c, a in lines if c in (FEE[0], SURCHARGE[0]))
            lines.append(("exemption-waiver", waived))
            approval_id = self.ids.take("approval")
            sup = rng.choice(st.supervisors)
            w.add(
                "approval",
                (
                    approval_id,
                    "exemption",
                    "approved",
                    "application",
                    app_id,
                    json.dumps({"exemption": exemption, "application": number}),
                    "IAS card seen",
                    user[0],
                    w.instant(lodged_at),
                    sup[0],
                    w.instant(lodged_at + timedelta(minutes=2)),
                ),
            )
        total = sum(a for _c, a in lines)
        seq = self.next_seq("receipt", "", day)
        receipt_id, payment_id = self.ids.take("receipt"), self.ids.take("payment")
        receipt_number = make_receipt_number(st.office_code, day, seq)
        session = self.session(clerk, day)
        method = self.tender()
        cid = st.counters[counter]
        reversal = None
        r = rng.random()
        if r < 0.003:
            reversal = ("void", "wrong-amount", day)
        elif r < 0.005:
            later = self.position[day] + rng.randint(1, 15)
            if later < len(self.days):
                reversal = ("refund", "application-withdrawn", self.days[later])
        status = {"void": "void", "refund": "refunded"}[reversal[0]] if reversal else "valid"
        w.add(
            "receipt",
            (
                receipt_id,
                receipt_number,
                st.office_id,
                w.day(day),
                seq,
                app_id,
                total,
                status,
                w.instant(paid_at),
                1,
                user[0],
                cid,
                "fee",
            ),
        )
        tendered = -(-total // 10000) * 10000 if method == "cash" else None
        w.add(
            "payment",
            (
                payment_id,
                receipt_id,
                app_id,
                session[0],
                "payment",
                total,
                (tendered - total) if tendered else 0,
                user[0],
                cid,
                w.instant(paid_at),
                approval_id,
                "",
            ),
        )
        self._lines(payment_id, lines, 1)
        if total:
            w.add(
                "tender",
                (
                    self.ids.take("tender"),
                    payment_id,
                    method,
                    total,
                    tendered,
                    "" if method == "cash" else f"T{payment_id:08d}",
                ),
            )
            if method == "cash":
                session[1] += total
        self.report.payments += 1
        self.audit(
            paid_at,
            user,
            counter,
            "payment.take",
            ("receipt", receipt_id),
            f'{{"receipt":"{receipt_number}","total_avos":{total}}}',
        )
        if reversal and total:
            sale = (receipt_id, receipt_number, app_id, total, lines, method, clerk, counter)
            if reversal[2] == day:
                self._reversal(reversal, sale, paid_at)
            else:
                self.later.setdefault(reversal[2], []).append((reversal, sale, paid_at))

    def _lines(self, payment_id: int, lines, sign: int) -> None:
        w = self.w
        for code, amount in lines:
            w.add(
                "paymentline",
                (self.ids.take("paymentline"), payment_id, code, *LABELS[code], sign * amount,
                 w.flag(code == "exemption-waiver")),
            )  # fmt: skip

    def _reversal(self, reversal: tuple, sale: tuple, paid_at: datetime) -> None:
        """A void (the same day) or a refund (a later day, in that day's drawer) of a sale."""
        rng, w, st = self.rng, self.w, self.staff
        receipt_id, receipt_number, app_id, total, lines, method, clerk, counter = sale
        kind, reason, day = reversal
        user = st.clerks[clerk]
        sup = rng.choice(st.supervisors)
        at = paid_at + timedelta(minutes=20) if kind == "void" else self.at(day, 10 * 60)
        approval_id, payment_id = self.ids.take("approval"), self.ids.take("payment")
        session = self.session(clerk, day)
        cid = st.counters[counter]
        w.add(
            "approval",
            (
                approval_id,
                kind,
                "approved",
                "receipt",
                receipt_id,
                json.dumps({"receipt": receipt_number, "total_avos": total}),
                reason,
                user[0],
                w.instant(at),
                sup[0],
                w.instant(at),
            ),
        )
        w.add(
            "payment",
            (
                payment_id,
                receipt_id,
                app_id,
                session[0],
                "reversal",
                -total,
                0,
                user[0],
                cid,
                w.instant(at),
                approval_id,
                reason,
            ),
        )
        self._lines(payment_id, lines, -1)
        w.add(
            "tender",
            (
                self.ids.take("tender"),
                payment_id,
                method,
                -total,
                None,
                "" if method == "cash" else f"R{payment_id:08d}",
            ),
        )
        if method == "cash":
            session[1] -= total
        self.audit(
            at,
            sup,
            counter,
            f"receipt.{kind}",
            ("receipt", receipt_id),
            f'{{"approval":{approval_id},"reason":"{reason}"}}',
        )

    def _personalisation(self, app_id: int, ready_at: datetime, counter: int) -> None:
        rng, w, st = self.rng, self.w, self.staff
        at = ready_at - timedelta(hours=20)
        user = st.clerks[counter - 1]
        cid = st.counters[counter]
        attempts = ["failed", "done"] if rng.random() < 0.03 else ["done"]
        for i, status in enumerate(attempts):
            pid = self.ids.take("cardpersonalisation")
            w.add(
                "cardpersonalisation",
                (
                    pid,
                    app_id,
                    status,
                    f"SN{app_id:010d}",
                    "3B8F8001",
                    "1",
                    "" if i else "",
                    "card removed" if status == "failed" else "",
                    user[0],
                    cid,
                    w.instant(at + timedelta(minutes=3 * i)),
                ),
            )
            self.audit(
                at,
                user,
                counter,
                "card.personalise" if status == "done" else "card.personalise.failed",
                ("application", app_id),
                f'{{"try":{i + 1}}}',
            )

    def _collection(self, app_id: int, collected_at: datetime, service_b: int) -> None:
        rng, w, st = self.rng, self.w, self.staff
        counter = st.intake + 1 + rng.randrange(COLLECTION_COUNTERS)
        user = st.clerks[counter - 1]
        local_day = self.local_day(collected_at)
        issued = collected_at - timedelta(minutes=5 + rng.expovariate(1 / 6))
        wait = (collected_at - issued).total_seconds() / 60 - 1.5
        self._tag(
            local_day,
            ("B", service_b),
            issued,
            "finished",
            counter,
            user,
            wait,
            1.5,
            None,
            None,
            False,
        )
        w.add(
            "collection",
            (
                self.ids.take("collection"),
                app_id,
                st.counters[counter],
                user[0],
                w.instant(collected_at),
                w.flag(False),
                "",
                "",
                w.flag(False),
                "cancelled",
            ),
        )
        self.audit(
            collected_at,
            user,
            counter,
            "application.collect",
            ("application", app_id),
            '{"status":"collected"}',
        )

    def store_sequences(self) -> None:
        """Write the daily sequences this chunk moved (one executemany; never lowered)."""
        if not self.changed:
            return
        bigger = "max" if self.w.sqlite else "greatest"
        self.conn.execute(
            text(
                "INSERT INTO dailycounter (office_id, kind, key, day, value) "  # noqa: S608
                "VALUES (:office, :kind, :key, :day, :value) "
                "ON CONFLICT (office_id, kind, key, day) DO UPDATE "
                f"SET value = {bigger}(dailycounter.value, excluded.value)"
            ),
            [
                {"office": self.staff.office_id, "kind": kind, "key": key,
                 "day": self.w.day(day), "value": self.sequences[(kind, key, day)]}
                for kind, key, day in sorted(self.changed)
            ],
        )  # fmt: skip
        self.changed.clear()


def generate(
    ctx: Context,
    actor: Actor,
    n: int,
    *,
    last_day: date | None = None,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> ScaleReport:
    """Generate `n` applications over the year that ends on `last_day` (default yesterday).
    Administrators only (it writes a year of history)."""
    require_role(actor, "admin")
    if not 1 <= n <= MAX_N:
        raise UsageError(f"--scale takes 1 to {MAX_N:,} applications")
    started = clock.perf_counter()
    today = ctx.today()
    last = last_day or today - timedelta(days=1)
    days = _working_days(last)
    rng = random.Random(seed)
    weights = [1.25 if d.weekday() == 0 else 0.85 if d.weekday() == 5 else 1.0 for d in days]
    scale = n / sum(weights)
    counts = [int(scale * wt) for wt in weights]
    for i in range(n - sum(counts)):  # the remainder, spread over the year
        counts[(i * 7919) % len(days)] += 1
    if max(counts) > MAX_PER_DAY:
        raise UsageError(f"{n:,} applications need more than {MAX_PER_DAY} on a day: use fewer")
    # intake counters for the busiest day, a tenth to spare (Mondays still queue)
    intake = max(4, math.ceil(max(counts) * 1.03 * MINUTES_PER_APPLICATION / OPEN_MINUTES * 1.1))
    year: _Year | None = None
    done = 0
    for chunk_start in range(0, len(days), DAYS_PER_TRANSACTION):
        chunk = range(chunk_start, min(chunk_start + DAYS_PER_TRANSACTION, len(days)))
        with ctx.db.write() as s:
            conn = s.connection()
            if ctx.db.is_sqlite:  # a big page cache for the load (this connection only)
                conn.exec_driver_sql(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
            staff = _ensure_staff(ctx, conn, intake)
            if year is None:
                year = _Year(ctx, conn, staff, rng)
                year.last_day, year.days = last, days
                year.position = {d: i for i, d in enumerate(days)}
                year.load_sequences(days[0], last)
            year.conn, year.w.conn, year.staff = conn, conn, staff
            year.begin()
            for i in chunk:
                year.day(days[i], counts[i], last)
                done += counts[i]
                year.w.flush()
            year.store_sequences()
            year.end()
        if progress is not None:
            progress(done, n)
    assert year is not None
    if not ctx.db.is_sqlite:
        with ctx.db.write() as s:
            conn = s.connection()
            for model in TABLE_COLUMNS:
                name = model.__table__.name
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "  # noqa: S608
                        f'(SELECT COALESCE(MAX(id), 1) FROM "{name}"))'
                    )
                )
    report = year.report
    report.first_day, report.last_day = days[0], days[-1]
    report.seconds = clock.perf_counter() - started
    return report
