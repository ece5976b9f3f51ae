"""Number tags: issue, call, recall, park, transfer, finish; appointments; wait estimates; board.

Every function here owns its transaction: the tag's change, its timed `TagEvent` and the audit
event commit together, or nothing does.

Rules (where the issue is silent, what a busy office expects):

- A tag's number comes from the per-day counter row of its service (`DailyCounter`, bumped with
  INSERT … ON CONFLICT DO UPDATE … RETURNING in the issuing transaction): unique and gapless per
  service and business day, 001 again on the next day. A refused tag (daily cap) rolls back and
  gives its number back.
- No tag is issued after `last_issue` (default: the office's closing time), nor beyond the service's
  daily cap (`Service.daily_cap`, else `default_daily_cap`; 0 = no cap), nor for a service that no
  counter serves (nobody would call it).
- Call order for a counter, among today's waiting tags of the services it serves:
  1. higher service priority first (P: elderly, disabled, pregnant);
  2. then checked-in appointments whose slot is now — from the slot's start until its end plus
     `appointment_grace_minutes`; a missed slot falls back to the walk-in order;
  3. then the oldest first (issue time; a transferred tag keeps its place).
  On PostgreSQL the candidate row is taken with FOR UPDATE SKIP LOCKED and every transition is an
  UPDATE guarded by the expected status, so two counters never get the same tag. On SQLite the
  write transaction (BEGIN IMMEDIATE) serialises callers; the guard stays as a second lock.
- Write transactions are short: prebuilt Core statements, and the audit events appended last (the
  audit chain's head row is every writer's lock), all in one head lock and one insert. On SQLite
  every writer queues for its turn first (`clerk.db`), instead of sleeping in SQLite's busy
  handler.
- A counter holds one current tag (called or serving). Calling the next one finishes the current one
  when somebody is waiting (`finish_on_next`); with nobody waiting nothing changes.
- Recall counts; a no-show needs `recalls_before_no_show` recalls first. Park keeps the tag with the
  counter (the applicant went to photocopy a document); resume calls it again (to any counter that
  serves its service), and so does resuming a no-show who came back the same day.
- Transfer sends the tag back to waiting in another service with the same number and its place.
"""

from __future__ import annotations

import csv
import io
import math
import re
import secrets
import statistics
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, update
from sqlalchemy.engine import Connection
from sqlmodel import select

from clerk.domain import audit
from clerk.domain.auth import require_role
from clerk.domain.clock import to_local, utcnow, zone
from clerk.domain.codes import SUPERVISORS
from clerk.domain.identity import visible
from clerk.domain.models import (
    Appointment,
    Counter,
    CounterService,
    Office,
    Service,
    Tag,
    TagEvent,
)
from clerk.domain.office import missing_office
from clerk.domain.sequences import next_number
from clerk.errors import Failure, NotFound, Refused, UsageError
from clerk.fastsql import Prepared, Rows, connection_of

if TYPE_CHECKING:
    from sqlmodel import Session

    from clerk.context import Context
    from clerk.domain.auth import Actor


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueSettings:
    """The `[queue]` section of the configuration (read through `queue_settings`)."""

    recalls_before_no_show: int = 2
    appointment_grace_minutes: int = 15
    default_daily_cap: int = 0  # tags per service and day; 0 = no cap (Service.daily_cap wins)
    last_issue: str = ""  # HH:MM, the last moment a tag is issued; "" = office.closing
    finish_on_next: bool = True  # calling the next tag finishes the counter's current one
    default_service_minutes: int = 6  # the estimate before any tag was served today
    board_poll_ms: int = 500
    board_announce: bool = True  # speak new calls with espeak-ng where it is installed
    announce_voice: str = "en"
    slip_media: str = ""  # CUPS media for tag slips; "" = printer.media


def queue_settings(ctx: Context) -> QueueSettings:
    """The `[queue]` settings of the config; the defaults where it has none."""
    section = getattr(ctx.config, "queue", None)
    if section is None:
        return QueueSettings()
    values = {
        f.name: getattr(section, f.name) for f in fields(QueueSettings) if hasattr(section, f.name)
    }
    settings = QueueSettings(**values)
    if settings.recalls_before_no_show < 0 or settings.appointment_grace_minutes < 0:
        raise Failure("queue.recalls_before_no_show and appointment_grace_minutes must be ≥ 0")
    return settings


# --- plain results ------------------------------------------------------------------------------

ACTIVE = ("called", "serving")  # a counter's current tag
CALL_KINDS = ("called", "recalled", "resumed")  # what the board shows
TAG_RE = re.compile(r"^([A-Z])0*(\d{1,4})$", re.ASCII)
HHMM_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$", re.ASCII)
MACAO_ID_RE = re.compile(r"^([157]\d{6})\(?(\d)\)?$", re.ASCII)
OTHER_ID_RE = re.compile(r"^[A-Z0-9()]{5,16}$")
BOOKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: easy to read aloud


@dataclass(frozen=True)
class Names:
    en: str
    zh: str
    pt: str

    def title(self, lang: str) -> str:
        return {"zh_Hant": self.zh, "pt": self.pt}.get(lang) or self.en


@dataclass(frozen=True)
class AppointmentRequest:
    """A booking to store, checked (see `appointment_request`)."""

    name: str
    id_number: str
    service: str
    day: date
    slot_start: str
    slot_end: str
    kind: str = "appointment"
    booking_code: str | None = None  # None: a new one is made


@dataclass(frozen=True)
class AppointmentInfo(AppointmentRequest):
    """A stored booking (its booking code is set)."""

    status: str = "booked"

    @property
    def slot(self) -> str:
        return f"{self.slot_start}–{self.slot_end}"


@dataclass(frozen=True)
class TagView:
    """A tag as a counter sees it."""

    id: int
    code: str
    number: int
    day: date
    service: str  # the current service (after a transfer the code keeps its first letter)
    service_names: Names
    status: str
    counter: int | None
    recalls: int
    issued_at: datetime
    called_at: datetime | None
    serving_at: datetime | None
    appointment: AppointmentInfo | None = None


@dataclass(frozen=True)
class IssuedTag:
    tag: str
    service: str
    number: int
    day: date
    issued_at: datetime
    ahead: int
    service_names: Names
    appointment: AppointmentInfo | None = None
    late: bool = False  # checked in after the slot (and its grace): walk-in order

    def as_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "service": self.service,
            "number": self.number,
            "day": self.day.isoformat(),
        }


@dataclass(frozen=True)
class ServiceWait:
    code: str
    names: Names
    priority: int
    waiting: int
    counters: int  # active counters serving it
    seconds_per_tag: int  # median measured today, else the default
    measured: int  # how many finished tags the median comes from

    def wait_minutes(self, ahead: int | None = None) -> int | None:
        """Minutes until `ahead` people (default: all waiting) are served; None: no counter."""
        if self.counters == 0:
            return None
        people = self.waiting if ahead is None else ahead
        return math.ceil(people * self.seconds_per_tag / self.counters / 60)


@dataclass(frozen=True)
class TagRow:
    id: int
    tag: str
    service: str
    number: int
    status: str
    counter: int | None
    issued_at: datetime
    called_at: datetime | None


@dataclass(frozen=True)
class TagEventRow:
    kind: str
    at: datetime
    counter: int | None
    detail: str


@dataclass(frozen=True)
class BoardCall:
    event_id: int
    tag: str
    counter: int
    kind: str
    at: datetime


@dataclass(frozen=True)
class BoardState:
    day: date
    calls: tuple[BoardCall, ...]  # newest first
    waits: tuple[ServiceWait, ...]


@dataclass(frozen=True)
class CounterLine:
    number: int
    name: str
    active: bool
    services: tuple[str, ...]


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)  # booking codes
    skipped: list[tuple[int, str]] = field(default_factory=list)  # already there
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)


# --- small helpers ------------------------------------------------------------------------------


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def format_code(prefix: str, number: int) -> str:
    return f"{prefix}{number:03d}"


def parse_tag_code(text: str) -> str:
    """'a17', 'Ａ０１７', ' A017 ' → 'A017'; anything else is a clear UsageError."""
    found = TAG_RE.match(_nfkc(text).upper().replace(" ", ""))
    if not found or int(found.group(2)) == 0:
        raise UsageError(f"{text!r} is not a tag number (a letter and a number, e.g. A017)")
    return format_code(found.group(1), int(found.group(2)))


def parse_hhmm(text: str, what: str = "time") -> str:
    found = HHMM_RE.match(_nfkc(text))
    if not found:
        raise UsageError(f"{what} {text!r} is not a time of day (HH:MM, e.g. 09:30)")
    return f"{int(found.group(1)):02d}:{found.group(2)}"


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(_nfkc(text))
    except ValueError:
        raise UsageError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def normalise_id_number(text: str) -> str:
    """A Macao ID number as 1234567(8); other documents (passports) upper-case as typed."""
    raw = _nfkc(text).upper().replace(" ", "").replace("-", "")
    found = MACAO_ID_RE.match(raw)
    if found:
        return f"{found.group(1)}({found.group(2)})"
    if OTHER_ID_RE.match(raw) and any(ch.isdigit() for ch in raw):
        return raw
    raise UsageError(f"{text!r} is not an ID number (e.g. 1234567(8))")


def _check_char(body: str) -> str:
    """Luhn mod 32 over the booking alphabet: catches every single wrong character."""
    n, total = len(BOOKING_ALPHABET), 0
    for i, ch in enumerate(reversed(body)):
        addend = BOOKING_ALPHABET.index(ch) * (2 if i % 2 == 0 else 1)
        total += addend // n + addend % n
    return BOOKING_ALPHABET[-total % n]


def new_booking_code() -> str:
    """Seven random characters and a check character, e.g. 'K7Q2M9XA'."""
    body = "".join(secrets.choice(BOOKING_ALPHABET) for _ in range(7))
    return body + _check_char(body)


def check_booking_code(text: str) -> str | None:
    """The normalised booking code, or None when the text is not one (typo or an ID number)."""
    code = _nfkc(text).upper().replace("-", "").replace(" ", "")
    if len(code) != 8 or any(ch not in BOOKING_ALPHABET for ch in code):
        return None
    return code if _check_char(code[:7]) == code[7] else None


def _moment(ctx: Context) -> tuple[datetime, datetime, date]:
    """(now in UTC, now at the office, the business day) — computed at each call."""
    now = utcnow()
    return now, to_local(now, ctx.tz), ctx.today()


def _day_start_utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), zone(tz)).astimezone(UTC)


# The hot paths (issue, call and the transitions) use SQLAlchemy Core on plain rows: a write
# transaction holds SQLite's lock until it commits, so every statement and every ORM flush in it
# costs all the other clerks too.

TAGS = Tag.__table__
EVENTS = TagEvent.__table__
TAG_COLUMNS = (
    Tag.id,
    Tag.office_id,
    Tag.day,
    Tag.code,
    Tag.number,
    Tag.service_id,
    Tag.status,
    Tag.priority,
    Tag.appointment_id,
    Tag.counter_id,
    Tag.recalls,
    Tag.issued_at,
    Tag.called_at,
    Tag.serving_at,
)


@dataclass(slots=True)
class _Tag:
    id: int
    office_id: int
    day: date
    code: str
    number: int
    service_id: int
    status: str
    priority: int
    appointment_id: int | None
    counter_id: int | None
    recalls: int
    issued_at: datetime
    called_at: datetime | None
    serving_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Service:
    id: int
    code: str
    names: Names
    priority: int
    daily_cap: int | None
    counters: int  # active counters serving it


@dataclass(frozen=True, slots=True)
class _Counter:
    id: int
    office_id: int
    number: int
    served: tuple[int, ...]  # active services


_OFFICE_IDS: dict[tuple[str, str], int] = {}

# Built once: building a statement costs more than running it (its cache key is computed anew).
_SERVING = (
    select(func.count())
    .select_from(CounterService)
    .join(Counter, Counter.id == CounterService.counter_id)
    .where(CounterService.service_id == Service.id, Counter.active)
    .scalar_subquery()
)
SQL_SERVICE = Prepared(
    select(
        Service.id,
        Service.code,
        Service.name,
        Service.name_zh,
        Service.name_pt,
        Service.priority,
        Service.daily_cap,
        _SERVING,
    ).where(
        Service.office_id == bindparam("office"), Service.code == bindparam("code"), Service.active
    )
)
SQL_COUNTER = Prepared(
    select(Counter.id, Counter.active, Service.id)
    .select_from(Counter)
    .outerjoin(CounterService, CounterService.counter_id == Counter.id)
    .outerjoin(Service, and_(Service.id == CounterService.service_id, Service.active))
    .where(Counter.office_id == bindparam("office"), Counter.number == bindparam("number"))
)
_BY_CODE = select(*TAG_COLUMNS).where(
    Tag.office_id == bindparam("office"), Tag.day == bindparam("day"), Tag.code == bindparam("code")
)
SQL_TAG_BY_CODE = Prepared(_BY_CODE)
SQL_TAG_BY_CODE_LOCKED = Prepared(_BY_CODE.with_for_update())
_INSERTED = ("office_id", "day", "code", "number", "service_id", "status", "priority",
             "appointment_id", "recalls", "issued_at")  # fmt: skip
SQL_INSERT_TAG = Prepared(
    insert(TAGS).values({name: bindparam(name) for name in _INSERTED}).returning(TAGS.c.id)
)
SQL_INSERT_EVENT = Prepared(
    insert(EVENTS).values(
        {n: bindparam(n) for n in ("tag_id", "at", "kind", "counter_id", "user_id", "detail")}
    )
)
_UPDATES: dict[frozenset[str], Prepared] = {}


def _update_tag(names: Iterable[str]) -> Prepared:
    """The status-guarded UPDATE of a tag setting these columns (one per set of columns)."""
    key = frozenset(names)
    found = _UPDATES.get(key)
    if found is None:
        found = _UPDATES[key] = Prepared(
            update(TAGS)
            .where(TAGS.c.id == bindparam("_id"), TAGS.c.status == bindparam("_status"))
            .values({name: bindparam(f"v_{name}") for name in sorted(key)})
        )
    return found


_AHEAD = select(func.count()).where(
    Tag.office_id == bindparam("office"),
    Tag.day == bindparam("day"),
    Tag.service_id == bindparam("service"),
    Tag.status == "waiting",
    Tag.id < bindparam("tag"),
)
SQL_AHEAD = Prepared(_AHEAD)
SQL_AHEAD_APPOINTMENTS = Prepared(_AHEAD.where(Tag.appointment_id.is_not(None)))
SQL_CURRENT = Prepared(
    select(*TAG_COLUMNS)
    .where(
        Tag.office_id == bindparam("office"),
        Tag.day == bindparam("day"),
        Tag.counter_id == bindparam("counter"),
        or_(*(Tag.status == status for status in ACTIVE)),  # no expanding IN: prepared
    )
    .order_by(Tag.called_at.desc())
    .limit(1)
    .with_for_update()
)
_IN_SLOT = case(
    (
        and_(
            Appointment.slot_start <= bindparam("until"),
            Appointment.slot_end >= bindparam("since"),
        ),
        0,
    ),
    else_=1,
)
_SERVED_BY = (
    select(CounterService.service_id)
    .join(Service, Service.id == CounterService.service_id)
    .where(CounterService.counter_id == bindparam("counter"), Service.active)
)
SQL_NEXT = Prepared(
    select(*TAG_COLUMNS)
    .outerjoin(Appointment, Appointment.id == Tag.appointment_id)
    .where(
        Tag.office_id == bindparam("office"),
        Tag.day == bindparam("day"),
        Tag.status == "waiting",
        Tag.service_id.in_(_SERVED_BY),
    )
    .order_by(Tag.priority.desc(), _IN_SLOT, Tag.issued_at, Tag.id)
    .limit(1)
    .with_for_update(of=Tag, skip_locked=True)
)
SQL_APPOINTMENT_KEPT = Prepared(
    update(Appointment.__table__)
    .where(Appointment.__table__.c.id == bindparam("appointment"))
    .values(status="kept")
)
SQL_SERVICE_NAMES = Prepared(
    select(Service.code, Service.name, Service.name_zh, Service.name_pt).where(
        Service.id == bindparam("service")
    )
)
SQL_OFFICE_ID = Prepared(select(Office.id).where(Office.code == bindparam("code")))
SQL_APPOINTMENT_INFO = Prepared(
    select(
        Appointment.name,
        Appointment.id_number,
        Service.code,
        Appointment.day,
        Appointment.slot_start,
        Appointment.slot_end,
        Appointment.kind,
        Appointment.booking_code,
        Appointment.status,
    )
    .join(Service, Service.id == Appointment.service_id)
    .where(Appointment.id == bindparam("appointment"))
)
SQL_COUNTER_NUMBER = Prepared(select(Counter.number).where(Counter.id == bindparam("counter")))
_SERVICE_NAMES: dict[tuple[str, int], tuple[str, Names]] = {}


@contextmanager
def _write(ctx: Context, *, orm: bool = False) -> Iterator[Session]:
    """A write transaction whose audit events are appended last, just before the commit.

    The audit chain's head row is one lock for every writer (on PostgreSQL): taking it at the end
    keeps it for the shortest time. If the block fails, nothing is appended and all rolls back.
    Tag issues and transitions run on a bare Core connection (`Database.write_core`: no ORM
    bookkeeping inside the writers' turn), so everything they run works on a Connection as on
    a Session (prepared statements, `scalars`, `execute` of column selects); the few writers
    that add ORM objects ask for a Session (`orm=True`).
    """
    with ctx.db.write() if orm else ctx.db.write_core() as s:
        pending: list[dict[str, Any]] = []
        s.info["queue.audits"] = pending
        yield s
        audit.append_many(s, ctx.audit_key, pending)


def _audit(s: Session, actor: Actor | None, action: str, **fields: Any) -> None:
    s.info["queue.audits"].append({"actor": actor, "action": action, **fields})


def _run(s: Session, statement: Prepared, **params: Any) -> Rows:
    """Run a prepared statement on the session's connection (same transaction)."""
    return statement.run(connection_of(s), params)


def _office_id(s: Session, ctx: Context) -> int:
    """The office's row id (it never changes: looked up once per database and office code)."""
    key = (ctx.db.url, ctx.config.office.code)
    found = _OFFICE_IDS.get(key)
    if found is None:
        found = _run(s, SQL_OFFICE_ID, code=ctx.config.office.code).scalar()
        if found is None:
            raise missing_office(ctx)
        _OFFICE_IDS[key] = found
    return found


def _service(s: Session, office_id: int, code: str) -> _Service:
    row = _run(s, SQL_SERVICE, office=office_id, code=_nfkc(code).upper()).first()
    if row is None:
        valid = s.scalars(
            select(Service.code)
            .where(Service.office_id == office_id, Service.active)
            .order_by(Service.code)
        ).all()
        raise UsageError(f"unknown service {code!r} (valid: {', '.join(valid) or 'none'})")
    sid, scode, en, zh, pt, priority, cap, counters = row
    return _Service(sid, scode, Names(en, zh, pt), priority, cap, counters)


def _counter(s: Session, office_id: int, number: int) -> _Counter:
    rows = _run(s, SQL_COUNTER, office=office_id, number=number).all()
    if not rows or not rows[0][1]:
        raise UsageError(f"counter {number} does not exist in this office")
    return _Counter(rows[0][0], office_id, number, tuple(sid for _c, _a, sid in rows if sid))


def _served_ids(counter: _Counter) -> tuple[int, ...]:
    if not counter.served:
        raise UsageError(
            f"counter {counter.number} serves no service; a supervisor assigns them "
            f"(clerk counter services {counter.number} --set A,B)"
        )
    return counter.served


def _require_serves(s: Session, counter: _Counter, tag: _Tag) -> None:
    if tag.service_id not in _served_ids(counter):
        code = s.scalars(select(Service.code).where(Service.id == tag.service_id)).one()
        raise Refused(f"counter {counter.number} does not serve {code} ({tag.code})")


def _find_tag(s: Session, office_id: int, day: date, text: str, *, lock: bool = True) -> _Tag:
    statement = SQL_TAG_BY_CODE_LOCKED if lock else SQL_TAG_BY_CODE
    row = _run(s, statement, office=office_id, day=day, code=parse_tag_code(text)).first()
    if row is None:
        raise NotFound(f"no tag {parse_tag_code(text)} on {day.isoformat()}")
    return _Tag(*row)


STATUS_WORDS = {
    "waiting": "waiting",
    "called": "called but not yet served",
    "serving": "being served",
    "parked": "parked",
    "finished": "finished",
    "no-show": "a no-show",
}


def _require_status(tag: _Tag, allowed: Iterable[str], action: str) -> None:
    if tag.status not in allowed:
        word = STATUS_WORDS.get(tag.status, tag.status)
        raise Refused(f"cannot {action} {tag.code}: it is {word}")


def _counter_number(s: Session, counter_id: int | None) -> int | None:
    if counter_id is None:
        return None
    return s.scalars(select(Counter.number).where(Counter.id == counter_id)).first()


def _require_at(s: Session, tag: _Tag, counter: _Counter | None) -> None:
    """When a counter is named, the tag must be in its hands."""
    if counter is not None and tag.counter_id != counter.id:
        where = _counter_number(s, tag.counter_id)
        if where is None:
            raise Refused(f"{tag.code} is not at counter {counter.number}")
        raise Refused(f"{tag.code} is at counter {where}, not at counter {counter.number}")


def _event(
    s: Session, tag_id: int, kind: str, now: datetime, counter_id, user_id, detail=""
) -> None:
    _run(
        s,
        SQL_INSERT_EVENT,
        tag_id=tag_id,
        at=now,
        kind=kind,
        counter_id=counter_id,
        user_id=user_id,
        detail=detail,
    )


def _apply(
    s: Session,
    ctx: Context,
    actor: Actor,
    tag: _Tag,
    kind: str,
    now: datetime,
    *,
    detail: str = "",
    event_counter: int | None = None,
    **values: Any,
) -> None:
    """One transition: a status-guarded UPDATE, its timed TagEvent and its audit event."""
    before = {"status": tag.status, "service_id": tag.service_id, "counter_id": tag.counter_id}
    done = _run(
        s,
        _update_tag(values),
        _id=tag.id,
        _status=tag.status,
        **{f"v_{name}": value for name, value in values.items()},
    )
    if done.rowcount != 1:
        raise Refused(f"{tag.code} was changed at another counter just now; try again")
    for name, value in values.items():
        if hasattr(tag, name):
            setattr(tag, name, value)
    counter_id = event_counter if event_counter is not None else tag.counter_id
    _event(s, tag.id, kind, now, counter_id, actor.user_id, detail)
    if tag.appointment_id is not None and values.get("status") == "finished":
        _run(s, SQL_APPOINTMENT_KEPT, appointment=tag.appointment_id)
    after = {"status": tag.status, "service_id": tag.service_id, "counter_id": tag.counter_id}
    _audit(
        s,
        actor,
        f"tag.{kind}",
        subject_type="tag",
        subject_id=tag.id,
        before=before,
        after={**after, "tag": tag.code, **({"detail": detail} if detail else {})},
        at=now,
    )


def _names(service: Service) -> Names:
    return Names(service.name, service.name_zh, service.name_pt)


def _appointment_info(s: Session, appointment_id: int | None) -> AppointmentInfo | None:
    if appointment_id is None:
        return None
    row = _run(s, SQL_APPOINTMENT_INFO, appointment=appointment_id).first()
    if row is None:
        return None
    return AppointmentInfo(*row)


def _appointment_of(a: Appointment, service_code: str) -> AppointmentInfo:
    return AppointmentInfo(
        name=a.name,
        id_number=a.id_number,
        service=service_code,
        day=a.day,
        slot_start=a.slot_start,
        slot_end=a.slot_end,
        kind=a.kind,
        booking_code=a.booking_code,
        status=a.status,
    )


def _url_of(s: Session | Connection) -> str:
    return str((s.engine if isinstance(s, Connection) else s.get_bind()).url)


def _service_names(s: Session, service_id: int) -> tuple[str, Names]:
    """A service's letter and names (read once per process: they label the service)."""
    key = (_url_of(s), service_id)
    found = _SERVICE_NAMES.get(key)
    if found is None:
        code, en, zh, pt = _run(s, SQL_SERVICE_NAMES, service=service_id).one()
        found = _SERVICE_NAMES[key] = (code, Names(en, zh, pt))
    return found


def _view(s: Session, tag: _Tag, counter: _Counter | None = None) -> TagView:
    code, names = _service_names(s, tag.service_id)
    if counter is not None and counter.id == tag.counter_id:
        number = counter.number
    elif tag.counter_id is not None:
        number = _run(s, SQL_COUNTER_NUMBER, counter=tag.counter_id).scalar_one()
    else:
        number = None
    return TagView(
        id=tag.id,
        code=tag.code,
        number=tag.number,
        day=tag.day,
        service=code,
        service_names=names,
        status=tag.status,
        counter=number,
        recalls=tag.recalls,
        issued_at=tag.issued_at,
        called_at=tag.called_at,
        serving_at=tag.serving_at,
        appointment=_appointment_info(s, tag.appointment_id),
    )


# --- issuing ------------------------------------------------------------------------------------


def _check_issuing_hours(ctx: Context, settings: QueueSettings, local: datetime) -> None:
    closing = parse_hhmm(ctx.config.office.closing, "office.closing")
    last = parse_hhmm(settings.last_issue or closing, "queue.last_issue")
    if local.strftime("%H:%M") >= last:
        raise Refused(
            f"no more tags today: tags are issued until {last} (the office closes at {closing})"
        )


def _ahead(s: Session, tag: _Tag, *, appointments_only: bool = False) -> int:
    """Waiting tags of the same service issued before this one (only appointments: for a tag
    checked in during its slot, which goes ahead of the walk-ins)."""
    statement = SQL_AHEAD_APPOINTMENTS if appointments_only else SQL_AHEAD
    params = {"office": tag.office_id, "day": tag.day, "service": tag.service_id, "tag": tag.id}
    return _run(s, statement, **params).scalar_one()


def _issue(
    s: Session,
    ctx: Context,
    actor: Actor,
    settings: QueueSettings,
    office_id: int,
    service: _Service,
    day: date,
    now: datetime,
    appointment_id: int | None = None,
) -> tuple[_Tag, int]:
    if service.counters == 0:
        raise Refused(f"no counter serves {service.code} ({service.names.en}) at the moment")
    number = next_number(s, office_id, "tag", day, key=service.code)
    cap = service.daily_cap or settings.default_daily_cap
    if cap and cap > 0 and number > cap:
        raise Refused(
            f"service {service.code} has reached its daily cap of {cap} tags; "
            "come back on the next working day"
        )
    tag = _Tag(
        0,
        office_id,
        day,
        format_code(service.code, number),
        number,
        service.id,
        "waiting",
        service.priority,
        appointment_id,
        None,
        0,
        now,
        None,
        None,
    )
    tag.id = _run(
        s,
        SQL_INSERT_TAG,
        office_id=office_id,
        day=day,
        code=tag.code,
        number=number,
        service_id=service.id,
        status="waiting",
        priority=service.priority,
        appointment_id=appointment_id,
        recalls=0,
        issued_at=now,
    ).scalar_one()
    _event(s, tag.id, "issued", now, None, actor.user_id)
    ahead = _ahead(s, tag)
    _audit(
        s,
        actor,
        "tag.issued",
        subject_type="tag",
        subject_id=tag.id,
        after={"tag": tag.code, "service": service.code, "day": day.isoformat()},
        at=now,
    )
    return tag, ahead


def issue_tag(ctx: Context, actor: Actor, service_code: str) -> IssuedTag:
    """Issue the next tag of a service for today (reception, kiosk)."""
    settings = queue_settings(ctx)
    now, local, day = _moment(ctx)
    _check_issuing_hours(ctx, settings, local)
    with _write(ctx) as s:
        office_id = _office_id(s, ctx)
        service = _service(s, office_id, service_code)
        tag, ahead = _issue(s, ctx, actor, settings, office_id, service, day, now)
    return IssuedTag(tag.code, service.code, tag.number, day, now, ahead, service.names, None)


def issued_tag(ctx: Context, code: str, day: date | None = None) -> IssuedTag:
    """An issued tag again (to reprint its slip); `ahead` is counted now."""
    day = day or ctx.today()
    with ctx.db.read() as s:
        tag = _find_tag(s, _office_id(s, ctx), day, code, lock=False)
        view = _view(s, tag)
        ahead = _ahead(s, tag) if tag.status == "waiting" else 0
    return IssuedTag(
        tag.code,
        view.service,
        tag.number,
        day,
        tag.issued_at,
        ahead,
        view.service_names,
        view.appointment,
    )


# --- calling ------------------------------------------------------------------------------------


def _current(s: Session, counter: _Counter, day: date) -> _Tag | None:
    row = _run(s, SQL_CURRENT, office=counter.office_id, day=day, counter=counter.id).first()
    return _Tag(*row) if row is not None else None


def _make_room(
    s: Session,
    ctx: Context,
    actor: Actor,
    settings: QueueSettings,
    counter: _Counter,
    day: date,
    now: datetime,
) -> None:
    """Finish the counter's current tag before it takes another (or refuse)."""
    current = _current(s, counter, day)
    if current is None:
        return
    if not settings.finish_on_next:
        raise Refused(
            f"{current.code} is still at counter {counter.number}: finish, park, transfer it "
            "or mark it a no-show first"
        )
    _apply(
        s, ctx, actor, current, "finished", now, detail="next", status="finished", finished_at=now
    )


def _take(
    s: Session,
    ctx: Context,
    actor: Actor,
    tag: _Tag,
    counter: _Counter,
    now: datetime,
    kind: str,
) -> None:
    _apply(
        s,
        ctx,
        actor,
        tag,
        kind,
        now,
        event_counter=counter.id,
        status="called",
        counter_id=counter.id,
        user_id=actor.user_id,
        recalls=0,
        called_at=now,
    )


def call_next(ctx: Context, actor: Actor, counter_number: int) -> TagView | None:
    """Call the next tag for a counter; None (and nothing changed) when nobody waits for it."""
    settings = queue_settings(ctx)
    now, local, day = _moment(ctx)
    actor = actor.at(counter=counter_number)
    since = local - timedelta(minutes=settings.appointment_grace_minutes)
    with _write(ctx) as s:
        office_id = _office_id(s, ctx)
        counter = _counter(s, office_id, counter_number)
        _served_ids(counter)  # refuses a counter that serves nothing
        row = _run(
            s,
            SQL_NEXT,
            office=office_id,
            day=day,
            counter=counter.id,
            until=local.strftime("%H:%M"),
            since=since.strftime("%H:%M"),
        ).first()
        if row is None:
            return None
        tag = _Tag(*row)
        _make_room(s, ctx, actor, settings, counter, day, now)
        _take(s, ctx, actor, tag, counter, now, "called")
        return _view(s, tag, counter)


def call_tag(ctx: Context, actor: Actor, counter_number: int, code: str) -> TagView:
    """Call one waiting tag by its number (scanned or typed at the counter)."""
    settings = queue_settings(ctx)
    now, _local, day = _moment(ctx)
    actor = actor.at(counter=counter_number)
    with _write(ctx) as s:
        office_id = _office_id(s, ctx)
        counter = _counter(s, office_id, counter_number)
        tag = _find_tag(s, office_id, day, code)
        _require_status(tag, ("waiting",), "call")
        _require_serves(s, counter, tag)
        _make_room(s, ctx, actor, settings, counter, day, now)
        _take(s, ctx, actor, tag, counter, now, "called")
        return _view(s, tag)


def take_tag(ctx: Context, actor: Actor, counter_number: int, code: str) -> TagView:
    """A tag number typed or scanned at the counter: call it if it waits, resume it if it was
    parked or a no-show."""
    day = ctx.today()
    with ctx.db.read() as s:
        status = _find_tag(s, _office_id(s, ctx), day, code, lock=False).status
    if status in ("parked", "no-show"):
        return resume(ctx, actor, code, counter_number)
    return call_tag(ctx, actor, counter_number, code)


def _act(
    ctx: Context,
    actor: Actor,
    code: str,
    counter_number: int | None,
    allowed: tuple[str, ...],
    action: str,
    change,
) -> TagView:
    """Load today's tag (locked), check where and what it is, then apply `change(s, tag, …)`."""
    now, _local, day = _moment(ctx)
    if counter_number is not None:
        actor = actor.at(counter=counter_number)
    with _write(ctx) as s:
        office_id = _office_id(s, ctx)
        counter = _counter(s, office_id, counter_number) if counter_number is not None else None
        tag = _find_tag(s, office_id, day, code)
        _require_status(tag, allowed, action)
        change(s, tag, counter, actor, now)
        return _view(s, tag)


def recall(ctx: Context, actor: Actor, code: str, counter: int | None = None) -> TagView:
    """Call the same tag again (the board shows it and announces it again); counts recalls."""

    def change(s, tag, where, actor, now):
        _require_at(s, tag, where)
        n = tag.recalls + 1
        _apply(s, ctx, actor, tag, "recalled", now, detail=str(n), recalls=n, called_at=now)

    return _act(ctx, actor, code, counter, ("called",), "recall", change)


def start_serving(ctx: Context, actor: Actor, code: str, counter: int | None = None) -> TagView:
    """The applicant is at the counter."""

    def change(s, tag, where, actor, now):
        _require_at(s, tag, where)
        _apply(s, ctx, actor, tag, "serving", now, status="serving", serving_at=now)

    return _act(ctx, actor, code, counter, ("called",), "start serving", change)


def no_show(ctx: Context, actor: Actor, code: str, counter: int | None = None) -> TagView:
    """Nobody came after the recalls: the tag is closed as a no-show."""
    needed = queue_settings(ctx).recalls_before_no_show

    def change(s, tag, where, actor, now):
        _require_at(s, tag, where)
        if tag.recalls < needed:
            raise Refused(
                f"recall {tag.code} first: a no-show needs {needed} recall"
                f"{'s' if needed != 1 else ''} (it has {tag.recalls})"
            )
        _apply(s, ctx, actor, tag, "no-show", now, status="no-show", finished_at=now)

    return _act(ctx, actor, code, counter, ("called",), "mark as no-show", change)


def park(ctx: Context, actor: Actor, code: str, counter: int | None = None) -> TagView:
    """Set the tag aside at this counter (e.g. the applicant fetches a document)."""

    def change(s, tag, where, actor, now):
        _require_at(s, tag, where)
        _apply(s, ctx, actor, tag, "parked", now, status="parked")

    return _act(ctx, actor, code, counter, ACTIVE, "park", change)


def resume(ctx: Context, actor: Actor, code: str, counter: int) -> TagView:
    """Call a parked tag (or a no-show who came back) again, to this counter."""
    settings = queue_settings(ctx)

    def change(s, tag, where, actor, now):
        _require_serves(s, where, tag)
        _make_room(s, ctx, actor, settings, where, tag.day, now)
        _take(s, ctx, actor, tag, where, now, "resumed")

    return _act(ctx, actor, code, counter, ("parked", "no-show"), "resume", change)


def transfer(
    ctx: Context, actor: Actor, code: str, to_service: str, counter: int | None = None
) -> TagView:
    """Send the tag to another service: same number, same place in the order."""

    def change(s, tag, where, actor, now):
        if tag.status != "waiting":
            _require_at(s, tag, where)
        target = _service(s, tag.office_id, to_service)
        if target.id == tag.service_id:
            raise Refused(f"{tag.code} is already in service {target.code}")
        if target.counters == 0:
            raise Refused(f"no counter serves {target.code} ({target.names.en}) at the moment")
        source = s.scalars(select(Service.code).where(Service.id == tag.service_id)).one()
        _apply(
            s,
            ctx,
            actor,
            tag,
            "transferred",
            now,
            detail=f"{source}>{target.code}",
            event_counter=where.id if where is not None else tag.counter_id,
            status="waiting",
            service_id=target.id,
            priority=target.priority,
            counter_id=None,
            recalls=0,
        )

    allowed = ("waiting", "called", "serving", "parked")
    return _act(ctx, actor, code, counter, allowed, "transfer", change)


def finish(ctx: Context, actor: Actor, code: str, counter: int | None = None) -> TagView:
    """The applicant was served."""

    def change(s, tag, where, actor, now):
        _require_at(s, tag, where)
        _apply(s, ctx, actor, tag, "finished", now, status="finished", finished_at=now)

    return _act(ctx, actor, code, counter, ACTIVE, "finish", change)


# --- reading ------------------------------------------------------------------------------------


def current_tag(ctx: Context, counter_number: int) -> TagView | None:
    """The tag in the counter's hands now (called or being served)."""
    day = ctx.today()
    with ctx.db.read() as s:
        counter = _counter(s, _office_id(s, ctx), counter_number)
        tag = s.exec(
            select(Tag)
            .where(
                Tag.office_id == counter.office_id,
                Tag.day == day,
                Tag.counter_id == counter.id,
                Tag.status.in_(ACTIVE),
            )
            .order_by(Tag.called_at.desc())
            .limit(1)
        ).first()
        return _view(s, tag) if tag is not None else None


def list_tags(
    ctx: Context,
    day: date | None = None,
    *,
    status: str | None = None,
    counter: int | None = None,
    after_id: int = 0,
    limit: int = 500,
) -> list[TagRow]:
    """Today's (or a day's) tags in issue order, a page at a time (`after_id`, `limit`)."""
    day = day or ctx.today()
    limit = max(1, min(limit, 5000))
    with ctx.db.read() as s:
        office_id = _office_id(s, ctx)
        query = (
            select(
                Tag.id,
                Tag.code,
                Service.code,
                Tag.number,
                Tag.status,
                Counter.number,
                Tag.issued_at,
                Tag.called_at,
            )
            .join(Service, Service.id == Tag.service_id)
            .outerjoin(Counter, Counter.id == Tag.counter_id)
            .where(Tag.office_id == office_id, Tag.day == day, Tag.id > after_id)
            .order_by(Tag.id)
            .limit(limit)
        )
        if status:
            query = query.where(Tag.status == status)
        if counter is not None:
            query = query.where(Counter.number == counter)
        return [TagRow(*row) for row in s.exec(query).all()]


def tag_history(ctx: Context, code: str, day: date | None = None) -> list[TagEventRow]:
    """Every timed transition of one tag."""
    day = day or ctx.today()
    with ctx.db.read() as s:
        tag = _find_tag(s, _office_id(s, ctx), day, code, lock=False)
        rows = s.exec(
            select(TagEvent.kind, TagEvent.at, Counter.number, TagEvent.detail)
            .outerjoin(Counter, Counter.id == TagEvent.counter_id)
            .where(TagEvent.tag_id == tag.id)
            .order_by(TagEvent.id)
            .limit(200)
        ).all()
    return [TagEventRow(*row) for row in rows]


def _waits(
    s: Session, office_id: int, day: date, settings: QueueSettings, only: list[int] | None = None
) -> tuple[ServiceWait, ...]:
    query = select(Service).where(Service.office_id == office_id, Service.active)
    if only is not None:
        query = query.where(Service.id.in_(only))
    services = s.exec(query.order_by(Service.priority.desc(), Service.code)).all()
    waiting = dict(
        s.exec(
            select(Tag.service_id, func.count())
            .where(Tag.office_id == office_id, Tag.day == day, Tag.status == "waiting")
            .group_by(Tag.service_id)
        ).all()
    )
    counters = dict(
        s.exec(
            select(CounterService.service_id, func.count())
            .join(Counter, Counter.id == CounterService.counter_id)
            .where(Counter.office_id == office_id, Counter.active)
            .group_by(CounterService.service_id)
        ).all()
    )
    durations = _service_durations(s, office_id, day)
    default = settings.default_service_minutes * 60
    return tuple(
        ServiceWait(
            code=sv.code,
            names=_names(sv),
            priority=sv.priority,
            waiting=waiting.get(sv.id, 0),
            counters=counters.get(sv.id, 0),
            seconds_per_tag=int(statistics.median(durations[sv.id]))
            if sv.id in durations
            else default,
            measured=len(durations.get(sv.id, ())),
        )
        for sv in services
    )


# (database, office, day) → (when measured, service id → the last 30 service times in seconds)
_DURATIONS: dict[tuple[str, int, date], tuple[float, dict[int, list[float]]]] = {}
DURATIONS_SECONDS = 20.0


def _service_durations(s: Session, office_id: int, day: date) -> dict[int, list[float]]:
    """Today's latest service times per service, measured again at most every
    `DURATIONS_SECONDS` in a process: the estimate moves slowly, and reading the day's finished
    tags after every call (each call finishes the counter's previous tag) cost the counter's
    process a sorted read of the day's finished tags, about 7 ms on a busy day, a fifth of its
    CPU for a call while the other clerks' processes share the machine."""
    key = (_url_of(s), office_id, day)
    found = _DURATIONS.get(key)
    now = monotonic()
    if found is not None and now - found[0] < DURATIONS_SECONDS:
        return found[1]
    durations: dict[int, list[float]] = {}
    for service_id, start, called, end in s.exec(
        select(Tag.service_id, Tag.serving_at, Tag.called_at, Tag.finished_at)
        .where(Tag.office_id == office_id, Tag.day == day, Tag.status == "finished")
        .order_by(Tag.finished_at.desc())
        .limit(400)
    ).all():
        began = start or called
        if began is None or end is None:
            continue
        seconds = (end - began).total_seconds()
        if 0 < seconds < 4 * 3600:
            bucket = durations.setdefault(service_id, [])
            if len(bucket) < 30:
                bucket.append(seconds)
    _DURATIONS.clear()  # one day of one database is all a process needs
    _DURATIONS[key] = (now, durations)
    return durations


def wait_estimates(ctx: Context, counter: int | None = None) -> tuple[ServiceWait, ...]:
    """Per service (or per service of one counter): waiting, counters, measured service time."""
    settings = queue_settings(ctx)
    day = ctx.today()
    with ctx.db.read() as s:
        office_id = _office_id(s, ctx)
        only = None
        if counter is not None:
            only = list(_served_ids(_counter(s, office_id, counter)))
        return _waits(s, office_id, day, settings, only)


def parked_tags(ctx: Context, counter: int | None = None) -> list[TagRow]:
    """Today's parked tags (of one counter, or of all)."""
    return list_tags(ctx, status="parked", counter=counter, limit=200)


def board_state(ctx: Context, limit: int = 10) -> BoardState:
    """What the wall screen shows: the last calls of today and the waiting per service."""
    settings = queue_settings(ctx)
    day = ctx.today()
    with ctx.db.read() as s:
        office_id = _office_id(s, ctx)
        calls = s.exec(
            select(TagEvent.id, Tag.code, Counter.number, TagEvent.kind, TagEvent.at)
            .join(Tag, Tag.id == TagEvent.tag_id)
            .join(Counter, Counter.id == TagEvent.counter_id)
            .where(
                TagEvent.at >= _day_start_utc(day, ctx.tz),
                TagEvent.kind.in_(CALL_KINDS),
                Tag.office_id == office_id,
                Tag.day == day,
            )
            .order_by(TagEvent.id.desc())
            .limit(limit)
        ).all()
        waits = _waits(s, office_id, day, settings)
    return BoardState(day, tuple(BoardCall(*row) for row in calls), waits)


# --- counters and services ----------------------------------------------------------------------


def counters_overview(ctx: Context) -> list[CounterLine]:
    with ctx.db.read() as s:
        office_id = _office_id(s, ctx)
        counters = s.exec(
            select(Counter.id, Counter.number, Counter.name, Counter.active)
            .where(Counter.office_id == office_id)
            .order_by(Counter.number)
        ).all()
        pairs = s.exec(
            select(CounterService.counter_id, Service.code)
            .join(Service, Service.id == CounterService.service_id)
            .where(Service.office_id == office_id)
            .order_by(Service.code)
        ).all()
    codes: dict[int, list[str]] = {}
    for counter_id, code in pairs:
        codes.setdefault(counter_id, []).append(code)
    return [
        CounterLine(number, name, active, tuple(codes.get(cid, ())))
        for cid, number, name, active in counters
    ]


def services_list(ctx: Context) -> list[tuple[str, Names, int]]:
    """(code, names, priority) of the active services, in the order reception shows them."""
    with ctx.db.read() as s:
        office_id = _office_id(s, ctx)
        rows = s.exec(
            select(Service)
            .where(Service.office_id == office_id, Service.active)
            .order_by(Service.code)
        ).all()
        return [(sv.code, _names(sv), sv.priority) for sv in rows]


def set_counter_services(
    ctx: Context, actor: Actor, counter_number: int, codes: Iterable[str]
) -> tuple[str, ...]:
    """Which services a counter serves (a supervisor's call, effective at once)."""
    require_role(actor, *SUPERVISORS)
    wanted = sorted({_nfkc(c).upper() for c in codes if _nfkc(c)})
    with _write(ctx, orm=True) as s:
        office_id = _office_id(s, ctx)
        counter = _counter(s, office_id, counter_number)
        services = [_service(s, office_id, code) for code in wanted]
        before = sorted(
            s.exec(
                select(Service.code)
                .join(CounterService, CounterService.service_id == Service.id)
                .where(CounterService.counter_id == counter.id)
            ).all()
        )
        s.execute(delete(CounterService).where(CounterService.counter_id == counter.id))
        for service in services:
            s.add(CounterService(counter_id=counter.id, service_id=service.id))
        _audit(
            s,
            actor,
            "counter.services",
            subject_type="counter",
            subject_id=counter.id,
            before={"counter": counter.number, "services": before},
            after={"counter": counter.number, "services": wanted},
        )
    return tuple(wanted)


# --- appointments -------------------------------------------------------------------------------


def parse_slot(text: str) -> tuple[str, str]:
    """'10:00-10:30' (or with an en dash) → ('10:00', '10:30')."""
    parts = re.split(r"\s*[-–~]\s*", _nfkc(text))
    if len(parts) != 2:
        raise UsageError(f"time slot {text!r} is not HH:MM-HH:MM (e.g. 10:00-10:30)")
    start, end = (parse_hhmm(p, "time slot") for p in parts)
    if start >= end:
        raise UsageError(f"time slot {text!r} ends before it starts")
    return start, end


def appointment_request(
    *,
    name: str,
    id_number: str,
    service: str,
    day: str | date,
    slot: str,
    kind: str = "appointment",
    booking_code: str = "",
) -> AppointmentRequest:
    """Check one appointment's fields (from the command line or a CSV row)."""
    name = " ".join(visible(name).split())
    if not name:
        raise UsageError("the name is empty")
    if len(name) > 120:
        raise UsageError("the name is longer than 120 characters")
    kind = _nfkc(kind).lower() or "appointment"
    if kind not in ("appointment", "online-tag"):
        raise UsageError(f"kind {kind!r} is not appointment or online-tag")
    code = None
    if _nfkc(booking_code):
        code = check_booking_code(booking_code) or _nfkc(booking_code).upper()
        if not re.match(r"^[0-9A-Z-]{4,16}$", code):
            raise UsageError(f"booking code {booking_code!r} is not 4–16 letters or digits")
    start, end = parse_slot(slot)
    return AppointmentRequest(
        name=name,
        id_number=normalise_id_number(id_number),
        service=_nfkc(service).upper(),
        day=day if isinstance(day, date) else parse_day(day),
        slot_start=start,
        slot_end=end,
        kind=kind,
        booking_code=code,
    )


def _store_appointment(
    s: Session, ctx: Context, actor: Actor, office_id: int, req: AppointmentRequest, today: date
) -> Appointment | None:
    """Insert one checked request; None when that booking code is already there."""
    if req.day < today:
        raise UsageError(f"{req.day.isoformat()} is in the past")
    opening = parse_hhmm(ctx.config.office.opening, "office.opening")
    closing = parse_hhmm(ctx.config.office.closing, "office.closing")
    if req.slot_start < opening or req.slot_end > closing:
        raise UsageError(
            f"the slot {req.slot_start}–{req.slot_end} is outside opening hours "
            f"({opening}–{closing})"
        )
    service = _service(s, office_id, req.service)
    if (
        req.booking_code
        and s.exec(
            select(Appointment.id).where(Appointment.booking_code == req.booking_code)
        ).first()
    ):
        return None
    clash = s.exec(
        select(Appointment.booking_code, Appointment.slot_start, Appointment.slot_end).where(
            Appointment.office_id == office_id,
            Appointment.day == req.day,
            Appointment.id_number == req.id_number,
            Appointment.service_id == service.id,
            Appointment.status.in_(("booked", "checked-in")),
        )
    ).first()
    if clash and not req.booking_code and clash[1:] == (req.slot_start, req.slot_end):
        return None  # the same booking again (a file imported twice)
    if clash:
        raise UsageError(
            f"{req.id_number} already has an appointment for {service.code} on "
            f"{req.day.isoformat()} ({clash[0]})"
        )
    code = req.booking_code
    while code is None:
        code = new_booking_code()
        if s.exec(select(Appointment.id).where(Appointment.booking_code == code)).first():
            code = None
    appointment = Appointment(
        office_id=office_id,
        booking_code=code,
        name=req.name,
        id_number=req.id_number,
        service_id=service.id,
        day=req.day,
        slot_start=req.slot_start,
        slot_end=req.slot_end,
        kind=req.kind,
    )
    s.add(appointment)
    s.flush()
    _audit(
        s,
        actor,
        "appointment.add",
        subject_type="appointment",
        subject_id=appointment.id,
        after={
            "booking_code": code,
            "service": service.code,
            "day": req.day.isoformat(),
            "slot": f"{req.slot_start}-{req.slot_end}",
        },
    )
    return appointment


def add_appointment(ctx: Context, actor: Actor, req: AppointmentRequest) -> AppointmentInfo:
    today = ctx.today()
    with _write(ctx, orm=True) as s:
        office_id = _office_id(s, ctx)
        appointment = _store_appointment(s, ctx, actor, office_id, req, today)
        if appointment is None:
            raise UsageError("this appointment is already there")
        return _appointment_info(s, appointment.id)


CSV_COLUMNS = ("name", "id_number", "service", "date", "slot")
CSV_OPTIONAL = ("kind", "booking_code")


def import_appointments(
    ctx: Context, actor: Actor, text: str, *, strict: bool = False
) -> ImportReport:
    """Import a CSV (header: name,id_number,service,date,slot[,kind,booking_code]).

    A broken row is reported with its line number and the other rows go in (one transaction);
    with `strict`, one broken row refuses the whole file. A row whose booking code is already
    there is skipped (importing the same file twice adds nothing).
    """
    text = text.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))  # \n, \r\n or \r line ends
    report = ImportReport()
    try:
        header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise UsageError(f"the CSV header cannot be read: {exc}") from None
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise UsageError(
            f"the CSV header lacks {', '.join(missing)} "
            f"(expected: {','.join(CSV_COLUMNS)}[,{','.join(CSV_OPTIONAL)}])"
        )
    reader.fieldnames = header
    today = ctx.today()
    with _write(ctx, orm=True) as s:
        office_id = _office_id(s, ctx)
        for row in _csv_rows(reader, report):
            line = reader.line_num
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            try:
                req = appointment_request(
                    name=row.get("name") or "",
                    id_number=row.get("id_number") or "",
                    service=row.get("service") or "",
                    day=row.get("date") or "",
                    slot=row.get("slot") or "",
                    kind=row.get("kind") or "appointment",
                    booking_code=row.get("booking_code") or "",
                )
                with s.begin_nested():
                    stored = _store_appointment(s, ctx, actor, office_id, req, today)
            except UsageError as exc:
                report.errors.append((line, exc.message))
                continue
            if stored is None:
                report.skipped.append((line, "this appointment is already there"))
            else:
                report.imported.append(stored.booking_code)
        if strict and report.errors:
            first_line, first = report.errors[0]
            raise UsageError(
                f"nothing imported: {len(report.errors)} broken row(s), the first on line "
                f"{first_line}: {first}"
            )
    return report


def _csv_rows(reader: csv.DictReader, report: ImportReport) -> Iterator[dict]:
    """The rows of a CSV; a row the csv module cannot read (a field past its size limit, a
    stray line break) is reported, and the rest of the file after it is not guessed at."""
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            report.errors.append((reader.line_num, f"the file cannot be read from here on: {exc}"))
            return
        yield row


def list_appointments(ctx: Context, day: date | None = None, limit: int = 1000) -> list:
    """A day's appointments in slot order: AppointmentInfo plus the tag given at check-in.

    A booking never checked in whose slot (and grace) has passed is listed as "missed"."""
    _now, local, today = _moment(ctx)
    day = day or today
    grace = timedelta(minutes=queue_settings(ctx).appointment_grace_minutes)
    since = (local - grace).strftime("%H:%M")

    def missed(a: Appointment) -> bool:
        return a.status == "booked" and (a.day < today or (a.day == today and a.slot_end < since))

    with ctx.db.read() as s:
        office_id = _office_id(s, ctx)
        rows = s.exec(
            select(Appointment, Service.code, Tag.code)
            .join(Service, Service.id == Appointment.service_id)
            .outerjoin(Tag, Tag.appointment_id == Appointment.id)
            .where(Appointment.office_id == office_id, Appointment.day == day)
            .order_by(Appointment.slot_start, Appointment.id)
            .limit(max(1, min(limit, 5000)))
        ).all()
    return [
        (
            replace(_appointment_of(a, code), status="missed")
            if missed(a)
            else _appointment_of(a, code),
            tag,
        )
        for a, code, tag in rows
    ]


def check_in(ctx: Context, actor: Actor, text: str) -> IssuedTag:
    """The applicant arrived: booking code or ID number → a tag called in the slot."""
    settings = queue_settings(ctx)
    now, local, day = _moment(ctx)
    _check_issuing_hours(ctx, settings, local)
    code = check_booking_code(text)
    with _write(ctx, orm=True) as s:
        office_id = _office_id(s, ctx)
        query = select(Appointment).where(Appointment.office_id == office_id)
        if code is not None:
            query = query.where(Appointment.booking_code == code)
        else:
            try:
                id_number = normalise_id_number(text)
            except UsageError:
                raise UsageError(
                    f"{text!r} is neither a booking code (8 characters) nor an ID number"
                ) from None
            query = query.where(
                Appointment.id_number == id_number,
                Appointment.day == day,
                or_(Appointment.status == "booked", Appointment.status == "checked-in"),
            ).order_by(Appointment.status, Appointment.slot_start)
        appointment = s.exec(query.limit(1).with_for_update()).first()
        if appointment is None:
            typed = _nfkc(text).upper().replace("-", "")
            hint = ""
            if len(typed) == 8 and all(ch in BOOKING_ALPHABET for ch in typed):
                hint = " (as a booking code it has a typing error: check every character)"
            raise NotFound(f"no appointment today for {_nfkc(text)!r}{hint}")
        if appointment.day != day:
            raise Refused(
                f"appointment {appointment.booking_code} is for {appointment.day.isoformat()}, "
                "not today"
            )
        if appointment.status != "booked":
            given = s.exec(select(Tag.code).where(Tag.appointment_id == appointment.id)).first()
            raise Refused(
                f"appointment {appointment.booking_code} is already {appointment.status}"
                + (f" (tag {given})" if given else "")
            )
        code = s.exec(select(Service.code).where(Service.id == appointment.service_id)).one()
        service = _service(s, office_id, code)
        tag, ahead = _issue(s, ctx, actor, settings, office_id, service, day, now, appointment.id)
        before = appointment.status
        appointment.status = "checked-in"
        appointment.checked_in_at = now
        s.add(appointment)
        since = local - timedelta(minutes=settings.appointment_grace_minutes)
        late = since.strftime("%H:%M") > appointment.slot_end
        if not late and local.strftime("%H:%M") >= appointment.slot_start:
            ahead = _ahead(s, tag, appointments_only=True)
        _audit(
            s,
            actor,
            "appointment.check_in",
            subject_type="appointment",
            subject_id=appointment.id,
            before={"status": before},
            after={"status": "checked-in", "tag": tag.code, "late": late},
            at=now,
        )
        info = _appointment_info(s, appointment.id)
        return IssuedTag(
            tag.code, service.code, tag.number, day, now, ahead, service.names, info, late
        )


# --- slips --------------------------------------------------------------------------------------


def slip_pdf(ctx: Context, issued: IssuedTag) -> bytes:
    """The tag slip of an issued tag, with the wait estimated now."""
    from clerk.documents.tag_slip import SlipData, render_tag_slip

    wait = next((w for w in wait_estimates(ctx) if w.code == issued.service), None)
    office = ctx.config.office
    names = issued.service_names
    appointment = issued.appointment
    data = SlipData(
        tag=issued.tag,
        service_code=issued.service,
        service_names=(names.zh, names.pt, names.en),
        office_names=(office.name_zh, office.name_pt, office.name),
        issued_local=to_local(issued.issued_at, ctx.tz),
        ahead=issued.ahead,
        wait_minutes=wait.wait_minutes(issued.ahead) if wait is not None else None,
        booking_code=appointment.booking_code if appointment else "",
        slot=appointment.slot if appointment else "",
    )
    return render_tag_slip(data)


def print_slip(ctx: Context, issued: IssuedTag):
    """Render and print the slip; returns where it went (`clerk.devices.printer.Printed`)."""
    from clerk.devices.printer import print_pdf

    media = queue_settings(ctx).slip_media or None
    return print_pdf(slip_pdf(ctx, issued), ctx.config.printer, title=issued.tag, media=media)
