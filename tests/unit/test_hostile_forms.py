"""Hostile input at the services behind every form field, on SQLite and PostgreSQL.

Each call either succeeds with clean values (and the audit chain holds), or is refused with a
`UsageError`/`Refused` and one clear line, and then NOTHING in the database changed: every row of
every table is compared before and after (`db_state`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel, select, text

from clerk.domain import audit, cashier, intake, queue
from clerk.domain.auth import SYSTEM
from clerk.domain.clock import set_clock
from clerk.domain.models import AuditEvent
from clerk.errors import ClerkError, Refused, UsageError
from tests.unit.test_hostile_parsers import (
    CONTROLS,
    HUGE,
    NAMES_EXT_B,
    assert_clear,
    digitish,
    hostile_text,
    typed,
)
from tests.unit.test_intake import db_url, intake_templates  # noqa: F401 - migrated copies

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # Monday 23 November 2026, 12:00 in Macao
DB_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
names = st.one_of(hostile_text, st.sampled_from(NAMES_EXT_B), st.just("陳" + "\x00" + "大文"))
dates_typed = st.one_of(typed, st.dates().map(str), st.just("1980-05-17"))


def db_state(ctx) -> dict[str, str]:
    """A digest of every table's rows: equal digests, nothing written."""
    state = {}
    with ctx.db.read() as s:
        for table in SQLModel.metadata.sorted_tables:
            rows = s.execute(text(f'SELECT * FROM "{table.name}" ORDER BY 1')).all()
            state[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    return state


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# A refused login or approval is written down: its audit event and the user's failure count.
REFUSAL_TABLES = ("auditevent", "audithead", "user")


def last_audit_id(ctx) -> int:
    with ctx.db.read() as s:
        return s.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc())).first() or 0


def written_beyond_refusals(ctx, before: dict[str, str], last_id: int) -> list[str]:
    """The tables a refused call changed, besides the audit events of refusals (and failed
    passwords) it may record: [] when it wrote nothing else."""
    wrote = changed(before, db_state(ctx))
    with ctx.db.read() as s:
        actions = s.exec(select(AuditEvent.action).where(AuditEvent.id > last_id)).all()
    if set(wrote) <= set(REFUSAL_TABLES) and all(
        action.endswith((".refused", ".failed")) for action in actions
    ):
        return []
    return wrote


class Watch:
    """Runs service calls on hostile input: a refused call must leave every row as it was."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.state = db_state(ctx)

    def __call__(self, call, *args, **kwargs):
        """The call's result, or its refusal (a clear message, nothing written)."""
        try:
            result = call(*args, **kwargs)
        except (UsageError, Refused) as exc:
            assert_clear(exc)
            after = db_state(self.ctx)
            assert changed(self.state, after) == [], f"refused ({exc.message}) but wrote"
            return exc
        self.state = db_state(self.ctx)
        return result


def chain_ok(ctx) -> None:
    with ctx.db.read() as s:
        result = audit.verify(s, ctx.audit_key)
    assert result.ok, result.problem


def visible(value: str) -> bool:
    return not any(ch in value for ch in CONTROLS if ch not in " ")


# --- the counter: applicants, facts, guardian, checklist ----------------------------------------


@pytest.fixture
def desk(ctx):
    from tests.unit.test_intake import DAY, seed_counter_office

    set_clock(lambda: NOON)
    office = seed_counter_office(ctx)
    assert ctx.today() == DAY
    yield office
    set_clock(None)


@DB_SETTINGS
@given(
    id_number=st.one_of(typed, st.just("7123456(1)")),
    name_zh=names,
    name_latin=names,
    born=dates_typed,
    sex=st.one_of(st.sampled_from(["M", "F", "m", " f ", "Ｍ", "X", ""]), hostile_text),
    phone=hostile_text,
)
@example(
    id_number="7123456(1)",
    name_zh="陳\x00𠮷",
    name_latin="CHAN\x1b[31m TAI",
    born="1980-05-17",
    sex="M",
    phone="\x00",
)
@example(
    id_number="7123456(1)", name_zh="𠀋𡈽", name_latin="", born="1980-05-17", sex="F", phone=""
)
def test_a_new_applicant_from_hostile_fields(
    desk, id_number, name_zh, name_latin, born, sex, phone
):
    ctx, ana = desk.ctx, desk.ana
    attempt = Watch(ctx)
    got = attempt(
        intake.create_applicant,
        ctx,
        ana,
        id_number,
        name_zh=name_zh,
        name_latin=name_latin,
        date_of_birth=born,
        sex=sex,
        phone=phone,
    )
    if isinstance(got, ClerkError):
        return
    assert visible(got.name_zh) and visible(got.name_latin), got
    assert got.id_number.isascii()
    # the person is found again by what was typed: the number, and each word of the names
    assert intake.identify(ctx, id_number).applicant.id == got.id
    for name in (name_zh, name_latin):
        if intake.is_id_number_attempt(name) or not intake.name_words(name):
            continue
        assert got.id in [row.id for row in intake.find_applicants(ctx, name, limit=200)]
    chain_ok(ctx)
    with ctx.db.write() as s:  # the next example starts from the same people
        s.execute(text("DELETE FROM applicant WHERE id = :id"), {"id": got.id})


@DB_SETTINGS
@given(
    field=st.sampled_from(["name_zh", "name_latin", "date_of_birth", "sex", "phone", "id", "x"]),
    value=st.one_of(names, dates_typed, st.none()),
)
def test_correcting_an_applicant_with_hostile_values(desk, field, value):
    ctx = desk.ctx
    person = desk.people["1234567(3)"]
    attempt = Watch(ctx)
    got = attempt(intake.update_applicant, ctx, desk.ana, person, **{field: value})
    if not isinstance(got, ClerkError):
        assert visible(got.name_zh) and visible(got.name_latin)
        chain_ok(ctx)


@DB_SETTINGS
@given(typed)
@example("陳\x00")
@example("\x00")
@example("1234567\x00")
@example("%_\\")
def test_identify_and_search_with_hostile_text(desk, query):
    ctx = desk.ctx
    attempt = Watch(ctx)
    attempt(intake.identify, ctx, query)
    attempt(intake.find_applicants, ctx, query)


@DB_SETTINGS
@given(
    values=st.dictionaries(
        st.one_of(st.sampled_from(intake.FACT_FIELDS), hostile_text),
        st.one_of(
            hostile_text,
            st.booleans(),
            st.none(),
            st.integers(),
            st.sampled_from(["married", "macao"]),
        ),
        max_size=4,
    ),
    born=dates_typed,
    expiry=st.one_of(dates_typed, st.none()),
)
def test_facts_from_hostile_fields(desk, values, born, expiry):
    ctx = desk.ctx
    draft = intake.start_draft(ctx, desk.ana, desk.people["1234567(3)"])
    attempt = Watch(ctx)
    attempt(
        intake.save_facts,
        ctx,
        desk.ana,
        draft.id,
        values,
        date_of_birth=born,
        card_expires_on=expiry,
    )


@DB_SETTINGS
@given(
    case=st.one_of(st.sampled_from(["renewal", "damage", "loss"]), hostile_text),
    service=st.one_of(st.sampled_from(["normal", "express"]), hostile_text),
    code=st.one_of(st.sampled_from(["former-card", "photo"]), hostile_text),
    mark=st.one_of(st.sampled_from(intake.MARKS), hostile_text),
    note=hostile_text,
    guardian=names,
    guardian_id=typed,
    relationship=st.one_of(st.sampled_from(intake.RELATIONSHIPS), hostile_text),
)
def test_case_checklist_and_guardian_from_hostile_fields(
    desk, case, service, code, mark, note, guardian, guardian_id, relationship
):
    ctx, ana = desk.ctx, desk.ana
    draft = intake.start_draft(ctx, ana, desk.people["7025561(2)"])  # a minor
    attempt = Watch(ctx)
    attempt(intake.save_case, ctx, ana, draft.id, case, service)
    attempt(intake.mark_item, ctx, ana, draft.id, code, mark, note)
    got = attempt(intake.save_guardian, ctx, ana, draft.id, guardian, guardian_id, relationship)
    if not isinstance(got, ClerkError):
        assert visible(got.guardian_name) and got.guardian_id_number.isascii()


# --- the cashier: amounts, tenders, drawer --------------------------------------------------------


@pytest.fixture
def till(ctx):
    from tests.unit.test_cashier import NOW, build_world

    set_clock(lambda: NOW)
    world = build_world(ctx)
    world.open()
    yield world
    set_clock(None)


amounts = st.one_of(typed, st.integers(-(10**9), 10**9), st.just(HUGE))


@DB_SETTINGS
@given(
    method=st.one_of(st.sampled_from(["cash", "mpay", "credit-card"]), hostile_text),
    amount=st.one_of(st.none(), st.integers(-(10**6), 10**8)),
    tendered=st.one_of(st.none(), st.integers(-(10**6), 10**8)),
    reference=st.one_of(hostile_text, st.just("\x00")),
    typed_amount=amounts,
)
def test_payments_from_hostile_tenders(till, method, amount, tendered, reference, typed_amount):
    ctx, ana = till.ctx, till.actors["ana"]
    app = till.lodge()
    attempt = Watch(ctx)
    parsed = attempt(cashier.parse_amount, typed_amount, "Amount")
    if isinstance(parsed, int):
        amount = parsed
    tender = cashier.TenderInput(method, amount, tendered, reference)
    got = attempt(cashier.take_payment, ctx, ana, app, [tender])
    if not isinstance(got, ClerkError):
        chain_ok(ctx)


@DB_SETTINGS
@given(
    number=st.one_of(typed, st.just("01261123\x000001")),
    kind=st.one_of(st.sampled_from(["in", "out", "void", "refund"]), hostile_text),
    amount=amounts,
    reason=st.one_of(hostile_text, st.sampled_from(cashier.DEFAULT_VOID_REASONS)),
)
def test_drawer_and_receipt_fields_from_hostile_input(till, number, kind, amount, reason):
    ctx, ana = till.ctx, till.actors["ana"]
    attempt = Watch(ctx)
    attempt(cashier.find_application, ctx, number)
    attempt(cashier.cash_movement, ctx, ana, kind, amount, reason)
    attempt(cashier.reverse_receipt, ctx, ana, number, kind, reason, "sup", "x" * 9)
    attempt(cashier.receipt_data, ctx, ana, number)


@DB_SETTINGS
@given(
    counts=st.dictionaries(
        st.sampled_from([d.code for d in cashier.DENOMINATIONS]),
        st.one_of(typed, st.integers(-3, 10**6)),
        max_size=4,
    ),
    float_=amounts,
)
def test_float_and_blind_count_from_hostile_input(till, counts, float_):
    ctx, mei = till.ctx, till.actors["mei"]
    attempt = Watch(ctx)
    if cashier.current_drawer(ctx, mei) is None:
        attempt(cashier.open_drawer, ctx, mei, float_)
    if cashier.current_drawer(ctx, mei) is not None:
        got = attempt(cashier.count_drawer, ctx, mei, counts)
        if not isinstance(got, ClerkError):
            chain_ok(ctx)


# --- the queue: tags, services, appointments -----------------------------------------------------


@pytest.fixture
def hall(ctx):
    from tests.unit.test_queue import make_office

    set_clock(lambda: NOON)
    make_office(ctx)
    queue.issue_tag(ctx, SYSTEM, "A")
    yield ctx
    set_clock(None)


@DB_SETTINGS
@given(code=typed, counter=st.integers(-3, 5), services=st.one_of(typed, st.just("ABCP")))
@example(code="A\x00001", counter=1, services="A\x00")
@example(code="Ａ００１", counter=1, services="ａｂ")
def test_tag_fields_from_hostile_input(hall, code, counter, services):
    ctx = hall
    attempt = Watch(ctx)
    attempt(queue.issue_tag, ctx, SYSTEM, code)
    attempt(queue.take_tag, ctx, SYSTEM, counter, code)
    attempt(queue.tag_history, ctx, code)
    attempt(queue.check_in, ctx, SYSTEM, code)
    attempt(queue.set_counter_services, ctx, SYSTEM, counter, services)


@DB_SETTINGS
@given(
    name=names,
    id_number=st.one_of(typed, st.just("1234567(3)")),
    service=st.one_of(st.sampled_from(["A", "b", "Ｃ"]), hostile_text),
    day=st.one_of(digitish, st.just("2026-11-24")),
    slot=st.one_of(typed, st.just("10:00-10:30"), st.just("10:00–10:30")),
    kind=st.one_of(st.just("appointment"), hostile_text),
    booking=st.one_of(st.just(""), typed),
)
def test_appointments_from_hostile_fields(hall, name, id_number, service, day, slot, kind, booking):
    ctx = hall
    attempt = Watch(ctx)
    req = attempt(
        queue.appointment_request,
        name=name,
        id_number=id_number,
        service=service,
        day=day,
        slot=slot,
        kind=kind,
        booking_code=booking,
    )
    if isinstance(req, ClerkError):
        return
    got = attempt(queue.add_appointment, ctx, SYSTEM, req)
    if not isinstance(got, ClerkError):
        assert visible(got.name) and got.id_number.isascii()
        assert (got.slot_start + got.slot_end).isascii()
        chain_ok(ctx)
