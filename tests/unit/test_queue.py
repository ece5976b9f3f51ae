"""Number tags on SQLite and PostgreSQL: numbering, call order, transitions, estimates, board.

Shared with the other queue tests: `make_office`, `Clock`/`clock`, `office`, and `db_url`, which
overrides the conftest's for the modules that import it. The same two backends, made cheaper: on
SQLite each test gets a copy of a database migrated once; on PostgreSQL the tests share one
migrated database, each with an office of its own (every queue query is scoped by office), instead
of creating and migrating a database per test. The conftest's `ctx` then finds it at head.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from clerk.domain import queue
from clerk.domain.auth import SYSTEM, Actor
from clerk.domain.clock import set_clock
from clerk.domain.models import (
    AuditEvent,
    Counter,
    CounterService,
    DailyCounter,
    Office,
    Service,
    Tag,
    TagEvent,
)
from clerk.errors import NotFound, Refused, UsageError

MACAU = ZoneInfo("Asia/Macau")
DAY = date(2026, 11, 23)
CLERK = Actor(user_id=None, username="ana", role="clerk")

SERVICES = (
    ("A", "ID card renewal", "身份證換領", "Renovação do BIR", 0),
    ("B", "Document collection", "領取證件", "Levantamento de documentos", 0),
    ("C", "Certificates", "證明書", "Certidões", 0),
    ("P", "Priority", "優先", "Prioritário", 10),
)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory):
    """Per backend, a migrated empty database to copy (built on first use)."""
    return {"folder": tmp_path_factory.mktemp("queue-templates")}


def _sqlite_template(templates) -> str:
    if "sqlite" not in templates:
        from tests.conftest import make_ctx

        path = templates["folder"] / "template.db"
        make_ctx(f"sqlite:///{path}").close()  # the last connection closed: WAL checkpointed
        assert not path.with_name(path.name + "-wal").exists()
        templates["sqlite"] = path
    return templates["sqlite"]


OFFICES_PER_DATABASE = 89  # office codes 10..98


def _sqlite_copy(tmp_path, templates) -> str:
    shutil.copyfile(_sqlite_template(templates), tmp_path / "clerk.db")
    return f"sqlite:///{tmp_path / 'clerk.db'}"


def _pg_shared(templates, server) -> str:
    """The shared PostgreSQL database; a new one when its office codes are used up."""
    if templates.get("pg_offices", OFFICES_PER_DATABASE) >= OFFICES_PER_DATABASE:
        from tests.conftest import make_ctx

        name = server.create_database()
        make_ctx(server.url(name)).close()
        templates["postgresql"], templates["pg_offices"] = name, 0
    templates["pg_offices"] += 1
    return server.url(templates["postgresql"])


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, migrated_templates) -> str:
    if request.param == "sqlite":
        return _sqlite_copy(tmp_path, migrated_templates)
    return _pg_shared(migrated_templates, request.getfixturevalue("pg_server"))


@pytest.fixture
def sqlite_db_url(tmp_path, migrated_templates) -> str:
    """For modules that run on SQLite only (assigned to their `db_url`)."""
    return _sqlite_copy(tmp_path, migrated_templates)


class Clock:
    """A settable clock for `set_clock` (aware UTC instants)."""

    def __init__(self, local: datetime):
        self.now = local.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)

    def at(self, day: date, hh: int, mm: int = 0) -> None:
        self.now = datetime(day.year, day.month, day.day, hh, mm, tzinfo=MACAU).astimezone(UTC)


@pytest.fixture
def clock():
    c = Clock(datetime(2026, 11, 23, 10, 0, tzinfo=MACAU))
    set_clock(c)
    yield c
    set_clock(None)


def make_office(ctx, counters: int = 3, serve: str = "ABCP") -> None:
    """An office with services A, B, C, P (P has priority) and counters 1..n serving `serve`."""
    with ctx.db.write() as s:
        office = Office(code=ctx.config.office.code, name="Test office", name_zh="測試")
        s.add(office)
        s.flush()
        services = {}
        for code, en, zh, pt, priority in SERVICES:
            sv = Service(
                office_id=office.id, code=code, name=en, name_zh=zh, name_pt=pt, priority=priority
            )
            s.add(sv)
            s.flush()
            services[code] = sv.id
        for n in range(1, counters + 1):
            counter = Counter(office_id=office.id, number=n, name=f"Counter {n}")
            s.add(counter)
            s.flush()
            for code in serve:
                s.add(CounterService(counter_id=counter.id, service_id=services[code]))


@pytest.fixture
def office(ctx, migrated_templates, clock):
    """`ctx` with an office of its own (on the shared PostgreSQL: the code `db_url` reserved)."""
    if not ctx.db.is_sqlite:
        ctx.config.office.code = f"{9 + migrated_templates['pg_offices']:02d}"
    make_office(ctx)
    return ctx


def settings(ctx, **values) -> None:
    ctx.config.queue = replace(queue.QueueSettings(), **values)


def tag_counts(ctx) -> tuple[int, int, int, int]:
    """(tags, tag events, audit events, daily counter total): 'nothing changed' checks."""
    with ctx.db.read() as s:
        return (
            s.exec(select(func.count()).select_from(Tag)).one(),
            s.exec(select(func.count()).select_from(TagEvent)).one(),
            s.exec(select(func.count()).select_from(AuditEvent)).one(),
            s.exec(select(func.coalesce(func.sum(DailyCounter.value), 0))).one(),
        )


def statuses(ctx) -> dict[str, tuple[str, int | None]]:
    return {r.tag: (r.status, r.counter) for r in queue.list_tags(ctx)}


# --- issuing ------------------------------------------------------------------------------------


def test_numbers_are_per_service_and_start_at_001(office):
    ctx = office
    got = [queue.issue_tag(ctx, SYSTEM, code) for code in ("A", "a", "B", "A")]
    assert [t.tag for t in got] == ["A001", "A002", "B001", "A003"]
    assert got[3].as_json() == {"tag": "A003", "service": "A", "number": 3, "day": "2026-11-23"}
    assert [t.ahead for t in got] == [0, 1, 0, 2]
    assert got[0].service_names.title("zh_Hant") == "身份證換領"


@pytest.mark.parametrize("code", ["Z", "", "AB"])
def test_unknown_service_changes_nothing(office, code):
    before = tag_counts(office)
    with pytest.raises(UsageError, match=r"unknown service .*valid: A, B, C, P"):
        queue.issue_tag(office, SYSTEM, code)
    assert tag_counts(office) == before


def set_cap(ctx, code: str, cap: int) -> None:
    with ctx.db.write() as s:
        s.exec(
            select(Service)
            .join(Office, Office.id == Service.office_id)
            .where(Office.code == ctx.config.office.code, Service.code == code)
        ).one().daily_cap = cap


def test_daily_cap_refuses_and_gives_the_number_back(office):
    ctx = office
    set_cap(ctx, "C", 2)
    queue.issue_tag(ctx, SYSTEM, "C")
    queue.issue_tag(ctx, SYSTEM, "C")
    before = tag_counts(ctx)
    with pytest.raises(Refused, match="daily cap of 2"):
        queue.issue_tag(ctx, SYSTEM, "C")
    assert tag_counts(ctx) == before
    set_cap(ctx, "C", 3)
    assert queue.issue_tag(ctx, SYSTEM, "C").tag == "C003"  # no gap


def test_default_cap_from_settings(office):
    settings(office, default_daily_cap=1)
    queue.issue_tag(office, SYSTEM, "A")
    with pytest.raises(Refused, match="daily cap of 1"):
        queue.issue_tag(office, SYSTEM, "A")


def test_no_tag_after_closing_time(office, clock):
    clock.at(DAY, 17, 59)
    queue.issue_tag(office, SYSTEM, "A")
    clock.at(DAY, 18, 0)
    with pytest.raises(Refused, match="issued until 18:00"):
        queue.issue_tag(office, SYSTEM, "A")
    settings(office, last_issue="17:30")
    clock.at(DAY, 17, 45)
    with pytest.raises(Refused, match="until 17:30 .*closes at 18:00"):
        queue.issue_tag(office, SYSTEM, "B")


def test_a_service_no_counter_serves_gets_no_tag(office):
    for n in (1, 2, 3):
        queue.set_counter_services(office, SYSTEM, n, ["A"])
    with pytest.raises(Refused, match="no counter serves B"):
        queue.issue_tag(office, SYSTEM, "B")


# --- calling ------------------------------------------------------------------------------------


def test_priority_first_then_oldest(office, clock):
    ctx = office
    for code in ("A", "B", "A", "P"):
        queue.issue_tag(ctx, SYSTEM, code)
        clock.advance(minutes=1)
    order = [queue.call_next(ctx, SYSTEM, 1).code for _ in range(4)]
    assert order == ["P001", "A001", "B001", "A002"]
    assert queue.call_next(ctx, SYSTEM, 1) is None


def test_a_counter_only_calls_its_services(office):
    ctx = office
    queue.set_counter_services(ctx, SYSTEM, 2, ["B"])
    queue.issue_tag(ctx, SYSTEM, "A")
    assert queue.call_next(ctx, SYSTEM, 2) is None
    queue.issue_tag(ctx, SYSTEM, "B")
    assert queue.call_next(ctx, SYSTEM, 2).code == "B001"
    with pytest.raises(Refused, match="counter 2 does not serve A"):
        queue.call_tag(ctx, SYSTEM, 2, "A001")


def test_calling_an_empty_queue_changes_nothing(office):
    ctx = office
    queue.issue_tag(ctx, SYSTEM, "A")
    assert queue.call_next(ctx, SYSTEM, 1).code == "A001"
    before = tag_counts(ctx)
    assert queue.call_next(ctx, SYSTEM, 1) is None
    assert tag_counts(ctx) == before
    assert statuses(ctx)["A001"] == ("called", 1)  # still at the counter


@pytest.mark.parametrize("number,needle", [(9, "counter 9 does not exist"), (3, "serves no")])
def test_bad_counters_change_nothing(office, number, needle):
    queue.set_counter_services(office, SYSTEM, 3, [])
    queue.issue_tag(office, SYSTEM, "A")
    before = tag_counts(office)
    with pytest.raises(UsageError, match=needle):
        queue.call_next(office, SYSTEM, number)
    assert tag_counts(office) == before


def test_next_call_finishes_the_current_tag(office):
    ctx = office
    for _ in range(3):
        queue.issue_tag(ctx, SYSTEM, "A")
    queue.call_next(ctx, SYSTEM, 1)
    queue.call_next(ctx, SYSTEM, 1)
    assert statuses(ctx)["A001"] == ("finished", 1)
    assert statuses(ctx)["A002"] == ("called", 1)
    settings(ctx, finish_on_next=False)
    with pytest.raises(Refused, match="A002 is still at counter 1"):
        queue.call_next(ctx, SYSTEM, 1)
    assert statuses(ctx)["A003"] == ("waiting", None)


def test_two_counters_never_get_the_same_tag(office):
    ctx = office
    for _ in range(4):
        queue.issue_tag(ctx, SYSTEM, "A")
    got = [queue.call_next(ctx, SYSTEM, n).code for n in (1, 2, 3)]
    assert got == ["A001", "A002", "A003"]
    with pytest.raises(Refused, match="cannot call A001: it is called"):
        queue.call_tag(ctx, SYSTEM, 2, "A001")


def test_recall_counts_and_no_show_needs_the_recalls(office):
    ctx = office
    settings(ctx, recalls_before_no_show=2)
    queue.issue_tag(ctx, SYSTEM, "A")
    queue.call_next(ctx, SYSTEM, 1)
    with pytest.raises(Refused, match="needs 2 recalls .*has 0"):
        queue.no_show(ctx, SYSTEM, "A001", 1)
    assert queue.recall(ctx, SYSTEM, "A001", 1).recalls == 1
    assert queue.recall(ctx, SYSTEM, "a1", 1).recalls == 2
    assert queue.no_show(ctx, SYSTEM, "A001", 1).status == "no-show"
    with pytest.raises(Refused, match="cannot recall A001: it is a no-show"):
        queue.recall(ctx, SYSTEM, "A001", 1)


def test_park_and_resume(office):
    ctx = office
    queue.issue_tag(ctx, SYSTEM, "A")
    queue.issue_tag(ctx, SYSTEM, "A")
    queue.call_next(ctx, SYSTEM, 1)
    queue.start_serving(ctx, SYSTEM, "A001", 1)
    assert queue.park(ctx, SYSTEM, "A001", 1).status == "parked"
    assert [r.tag for r in queue.parked_tags(ctx, 1)] == ["A001"]
    assert queue.current_tag(ctx, 1) is None
    queue.call_next(ctx, SYSTEM, 1)  # A002 meanwhile
    view = queue.resume(ctx, SYSTEM, "A001", 1)
    assert (view.status, view.counter) == ("called", 1)
    assert statuses(ctx)["A002"] == ("finished", 1)
    assert queue.parked_tags(ctx, 1) == []


def test_a_no_show_who_came_back_is_resumed_by_number(office):
    ctx = office
    settings(ctx, recalls_before_no_show=0)
    queue.issue_tag(ctx, SYSTEM, "B")
    queue.call_next(ctx, SYSTEM, 2)
    queue.no_show(ctx, SYSTEM, "B001", 2)
    assert queue.take_tag(ctx, SYSTEM, 3, "b001").counter == 3
    queue.issue_tag(ctx, SYSTEM, "C")
    assert queue.take_tag(ctx, SYSTEM, 1, "C1").code == "C001"


def test_transfer_keeps_the_number_and_the_place(office, clock):
    ctx = office
    queue.issue_tag(ctx, SYSTEM, "A")  # A001, the oldest
    clock.advance(minutes=5)
    queue.issue_tag(ctx, SYSTEM, "C")  # C001
    queue.call_next(ctx, SYSTEM, 1)  # A001
    moved = queue.transfer(ctx, SYSTEM, "A001", "C", 1)
    assert (moved.code, moved.service, moved.status, moved.counter) == (
        "A001",
        "C",
        "waiting",
        None,
    )
    queue.set_counter_services(ctx, SYSTEM, 2, ["C"])
    assert queue.call_next(ctx, SYSTEM, 2).code == "A001"  # ahead of C001, issued later
    with pytest.raises(Refused, match="already in service C"):
        queue.transfer(ctx, SYSTEM, "A001", "C")


def test_actions_check_where_and_what_the_tag_is(office):
    ctx = office
    queue.issue_tag(ctx, SYSTEM, "A")
    with pytest.raises(Refused, match="cannot finish A001: it is waiting"):
        queue.finish(ctx, SYSTEM, "A001", 1)
    queue.call_next(ctx, SYSTEM, 1)
    before = tag_counts(ctx)
    with pytest.raises(Refused, match="A001 is at counter 1, not at counter 2"):
        queue.recall(ctx, SYSTEM, "A001", 2)
    with pytest.raises(NotFound, match="no tag A999 on 2026-11-23"):
        queue.finish(ctx, SYSTEM, "A999", 1)
    with pytest.raises(UsageError, match="not a tag number"):
        queue.finish(ctx, SYSTEM, "17", 1)
    assert tag_counts(ctx) == before
    assert queue.finish(ctx, SYSTEM, "A001").status == "finished"  # no counter named: anywhere


def test_every_transition_is_timed_and_audited(office, clock):
    ctx = office
    settings(ctx, recalls_before_no_show=1)
    queue.issue_tag(ctx, CLERK, "A")
    steps = [
        lambda: queue.call_next(ctx, CLERK, 1),
        lambda: queue.recall(ctx, CLERK, "A001", 1),
        lambda: queue.start_serving(ctx, CLERK, "A001", 1),
        lambda: queue.park(ctx, CLERK, "A001", 1),
        lambda: queue.resume(ctx, CLERK, "A001", 2),
        lambda: queue.transfer(ctx, CLERK, "A001", "B", 2),
        lambda: queue.call_next(ctx, CLERK, 3),
        lambda: queue.recall(ctx, CLERK, "A001", 3),
        lambda: queue.no_show(ctx, CLERK, "A001", 3),
    ]
    for step in steps:
        clock.advance(seconds=30)
        step()
    events = queue.tag_history(ctx, "A001")
    assert [e.kind for e in events] == [
        "issued",
        "called",
        "recalled",
        "serving",
        "parked",
        "resumed",
        "transferred",
        "called",
        "recalled",
        "no-show",
    ]
    ats = [e.at for e in events]
    assert ats == sorted(ats) and len(set(ats)) == len(ats)
    assert [e.counter for e in events][1:6] == [1, 1, 1, 1, 2]
    assert events[6].detail == "A>B"
    from clerk.domain import audit

    tag_id = queue.list_tags(ctx)[0].id
    with ctx.db.read() as s:
        actions = s.exec(
            select(AuditEvent.action)
            .where(AuditEvent.subject_type == "tag", AuditEvent.subject_id == tag_id)
            .order_by(AuditEvent.id)
        ).all()
        assert audit.verify(s, ctx.audit_key).ok
    assert actions == [f"tag.{e.kind}" for e in events]


# --- estimates, board, counters -----------------------------------------------------------------


def test_wait_estimate_uses_todays_measured_service_times(office, clock):
    ctx = office
    waits = {w.code: w for w in queue.wait_estimates(ctx)}
    assert (waits["A"].seconds_per_tag, waits["A"].measured) == (6 * 60, 0)  # the default
    for minutes in (4, 10, 6):
        queue.issue_tag(ctx, SYSTEM, "A")
        queue.call_next(ctx, SYSTEM, 1)
        clock.advance(minutes=1)
        queue.start_serving(ctx, SYSTEM, queue.current_tag(ctx, 1).code, 1)
        clock.advance(minutes=minutes)
        queue.finish(ctx, SYSTEM, queue.current_tag(ctx, 1).code, 1)
    for _ in range(5):
        queue.issue_tag(ctx, SYSTEM, "A")
    queue._DURATIONS.clear()  # measured again (every DURATIONS_SECONDS: see the next test)
    a = {w.code: w for w in queue.wait_estimates(ctx)}["A"]
    assert (a.waiting, a.counters, a.seconds_per_tag, a.measured) == (5, 3, 360, 3)
    assert a.wait_minutes() == 10  # 5 people × 6 min / 3 counters
    assert a.wait_minutes(ahead=1) == 2
    assert [w.code for w in queue.wait_estimates(ctx, counter=1)] == ["P", "A", "B", "C"]


def test_measured_service_times_are_read_again_after_a_while(office, clock, monkeypatch):
    """The service-time part of the estimate is kept for `DURATIONS_SECONDS` in a process (the
    waiting count is always read afresh)."""
    ctx = office
    ticks = [1000.0]
    monkeypatch.setattr(queue, "monotonic", lambda: ticks[0])

    def serve(minutes: int) -> None:
        queue.issue_tag(ctx, SYSTEM, "A")
        queue.call_next(ctx, SYSTEM, 1)
        queue.start_serving(ctx, SYSTEM, queue.current_tag(ctx, 1).code, 1)
        clock.advance(minutes=minutes)
        queue.finish(ctx, SYSTEM, queue.current_tag(ctx, 1).code, 1)

    def a_now() -> tuple[int, int, int]:
        a = {w.code: w for w in queue.wait_estimates(ctx)}["A"]
        return a.seconds_per_tag // 60, a.measured, a.waiting

    serve(4)
    assert a_now() == (4, 1, 0)
    serve(10)
    queue.issue_tag(ctx, SYSTEM, "A")
    ticks[0] += queue.DURATIONS_SECONDS - 1
    assert a_now() == (4, 1, 1)  # the measure of a moment ago; the new tag counted at once
    ticks[0] += 2
    assert a_now() == (7, 2, 1)


def test_counter_services_need_a_supervisor(office):
    ctx = office
    with pytest.raises(Refused, match="needs supervisor or admin"):
        queue.set_counter_services(ctx, CLERK, 1, ["A"])
    sup = Actor(user_id=None, username="lei", role="supervisor")
    assert queue.set_counter_services(ctx, sup, 1, ["p", "a"]) == ("A", "P")
    with pytest.raises(UsageError, match="unknown service 'X'"):
        queue.set_counter_services(ctx, sup, 1, ["X"])
    lines = {c.number: c.services for c in queue.counters_overview(ctx)}
    assert lines == {1: ("A", "P"), 2: ("A", "B", "C", "P"), 3: ("A", "B", "C", "P")}


def test_counter_services_change_is_an_audit_event_with_before_and_after(office):
    import json

    ctx = office
    sup = Actor(user_id=None, username="lei", role="supervisor", counter=9, terminal="ssh:10.0.0.9")
    queue.set_counter_services(ctx, sup, 2, ["p", "b", "B"])
    queue.set_counter_services(ctx, sup, 2, [])
    with ctx.db.read() as s:
        counter_id = s.exec(
            select(Counter.id)
            .join(Office, Office.id == Counter.office_id)
            .where(Office.code == ctx.config.office.code, Counter.number == 2)
        ).one()
        events = s.exec(
            select(AuditEvent)
            .where(
                AuditEvent.action == "counter.services",
                AuditEvent.subject_type == "counter",
                AuditEvent.subject_id == counter_id,
            )
            .order_by(AuditEvent.id)
        ).all()
    changes = [(json.loads(e.before), json.loads(e.after)) for e in events]
    assert changes == [
        ({"counter": 2, "services": ["A", "B", "C", "P"]}, {"counter": 2, "services": ["B", "P"]}),
        ({"counter": 2, "services": ["B", "P"]}, {"counter": 2, "services": []}),
    ]
    assert {(e.username, e.counter, e.terminal) for e in events} == {("lei", 9, "ssh:10.0.0.9")}
    before = tag_counts(ctx)
    with pytest.raises(UsageError):  # refused: no event
        queue.set_counter_services(ctx, sup, 2, ["A", "X"])
    assert tag_counts(ctx) == before


def test_board_shows_todays_calls_and_rolls_over_at_midnight(office, clock):
    ctx = office
    for _ in range(12):
        queue.issue_tag(ctx, SYSTEM, "A")
    for n in range(12):
        queue.call_next(ctx, SYSTEM, 1 + n % 3)
    queue.recall(ctx, SYSTEM, "A012", 3)
    state = queue.board_state(ctx)
    assert [(c.tag, c.counter, c.kind) for c in state.calls[:2]] == [
        ("A012", 3, "recalled"),
        ("A012", 3, "called"),
    ]
    assert len(state.calls) == 10
    assert [c.event_id for c in state.calls] == sorted(
        (c.event_id for c in state.calls), reverse=True
    )
    clock.at(DAY + timedelta(days=1), 0, 1)
    state = queue.board_state(ctx)
    assert state.day == DAY + timedelta(days=1)
    assert state.calls == () and all(w.waiting == 0 for w in state.waits)


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,code",
    [
        ("A017", "A017"),
        ("a17", "A017"),
        ("Ａ０１７", "A017"),
        (" p 5 ", "P005"),
        ("B1234", "B1234"),
    ],
)
def test_tag_codes_are_normalised(text, code):
    assert queue.parse_tag_code(text) == code


@pytest.mark.parametrize("text", ["", "17", "A", "A0", "AB12", "A12345", "A-1"])
def test_bad_tag_codes(text):
    with pytest.raises(UsageError):
        queue.parse_tag_code(text)


@pytest.mark.parametrize("seed", range(20))
def test_booking_codes_catch_single_typos(seed):
    code = queue.new_booking_code()
    assert queue.check_booking_code(code) == code
    assert queue.check_booking_code(code.lower()[:4] + "-" + code[4:]) == code
    for i in range(8):
        for ch in queue.BOOKING_ALPHABET:
            if ch != code[i]:
                assert queue.check_booking_code(code[:i] + ch + code[i + 1 :]) is None


@pytest.mark.parametrize(
    "text,normal",
    [
        ("1234567(3)", "1234567(3)"),
        ("12345673", "1234567(3)"),
        ("１２３４５６７-３", "1234567(3)"),
        ("p1234567", "P1234567"),
    ],
)
def test_id_numbers_are_normalised(text, normal):
    assert queue.normalise_id_number(text) == normal
