"""Appointments and online tags on SQLite and PostgreSQL: add, CSV import, check-in, slot order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clerk.domain import queue
from clerk.domain.auth import SYSTEM
from clerk.errors import NotFound, Refused, UsageError
from tests.unit import test_queue as shared
from tests.unit.test_queue import DAY, tag_counts

clock = shared.clock
db_url = shared.db_url
migrated_templates = shared.migrated_templates
office = shared.office


def book(ctx, id_number="1234567(3)", service="A", slot="10:00-10:30", day=DAY, **extra):
    req = queue.appointment_request(
        name=extra.pop("name", "陳大文"),
        id_number=id_number,
        service=service,
        day=day,
        slot=slot,
        **extra,
    )
    return queue.add_appointment(ctx, SYSTEM, req)


def test_check_in_by_booking_code_or_id_number(office):
    ctx = office
    a = book(ctx)
    b = book(ctx, id_number="5213377(0)", service="B", slot="10:00-10:15", name="SOUSA, JOÃO")
    assert queue.check_booking_code(a.booking_code) == a.booking_code
    by_code = queue.check_in(ctx, SYSTEM, a.booking_code.lower())
    assert (by_code.tag, by_code.appointment.booking_code, by_code.late) == (
        "A001",
        a.booking_code,
        False,
    )
    by_id = queue.check_in(ctx, SYSTEM, "5213377-0")
    assert (by_id.tag, by_id.appointment.name) == ("B001", "SOUSA, JOÃO")
    with pytest.raises(Refused, match="already checked-in .*tag A001"):
        queue.check_in(ctx, SYSTEM, a.booking_code)
    assert b.status == "booked"
    assert [(i.booking_code, i.status, tag) for i, tag in queue.list_appointments(ctx)] == [
        (a.booking_code, "checked-in", "A001"),  # same slot start: in booking order
        (b.booking_code, "checked-in", "B001"),
    ]


def test_check_in_refusals_change_nothing(office):
    ctx = office
    later = book(ctx, day=DAY + timedelta(days=2))
    before = tag_counts(ctx)
    with pytest.raises(Refused, match=f"{later.booking_code} is for 2026-11-25, not today"):
        queue.check_in(ctx, SYSTEM, later.booking_code)
    with pytest.raises(NotFound, match="no appointment today"):
        queue.check_in(ctx, SYSTEM, "1234567(3)")  # booked, but not for today
    with pytest.raises(UsageError, match="neither a booking code"):
        queue.check_in(ctx, SYSTEM, "hello")
    typo = later.booking_code[:-1] + ("0" if later.booking_code[-1] != "0" else "1")
    with pytest.raises(NotFound, match="typing error"):
        queue.check_in(ctx, SYSTEM, typo)
    assert tag_counts(ctx) == before


def test_an_appointment_in_its_slot_goes_ahead_of_walk_ins(office, clock):
    ctx = office
    settings = queue.QueueSettings(appointment_grace_minutes=10)
    ctx.config.queue = settings
    clock.at(DAY, 9, 40)
    for _ in range(3):
        queue.issue_tag(ctx, SYSTEM, "A")  # A001..A003 walk-ins
    clock.at(DAY, 9, 50)
    book(ctx, slot="10:00-10:20")
    early = queue.check_in(ctx, SYSTEM, "1234567(3)")  # A004, 10 minutes early
    assert early.ahead == 3
    assert queue.call_next(ctx, SYSTEM, 1).code == "A001"  # before the slot: walk-in order
    clock.at(DAY, 10, 0)
    called = queue.call_next(ctx, SYSTEM, 2)
    assert called.code == "A004" and called.appointment.slot == "10:00–10:20"
    assert queue.call_next(ctx, SYSTEM, 3).code == "A002"


def test_a_missed_slot_falls_back_to_the_walk_in_order(office, clock):
    ctx = office
    ctx.config.queue = queue.QueueSettings(appointment_grace_minutes=10)
    book(ctx, slot="10:00-10:20")
    clock.at(DAY, 10, 31)  # slot end + grace has passed
    queue.issue_tag(ctx, SYSTEM, "A")  # A001, a walk-in
    late = queue.check_in(ctx, SYSTEM, "1234567(3)")
    assert (late.tag, late.late) == ("A002", True)
    assert queue.call_next(ctx, SYSTEM, 1).code == "A001"
    assert queue.call_next(ctx, SYSTEM, 1).code == "A002"


def test_within_the_grace_window_it_still_goes_first(office, clock):
    ctx = office
    ctx.config.queue = queue.QueueSettings(appointment_grace_minutes=10)
    book(ctx, slot="10:00-10:20")
    clock.at(DAY, 10, 25)
    queue.issue_tag(ctx, SYSTEM, "A")
    assert queue.check_in(ctx, SYSTEM, "1234567(3)").late is False
    assert queue.call_next(ctx, SYSTEM, 1).code == "A002"


@pytest.mark.parametrize(
    "fields,needle",
    [
        ({"name": " "}, "name is empty"),
        ({"id_number": "x"}, "not an ID number"),
        ({"slot": "10:30-10:00"}, "ends before it starts"),
        ({"slot": "25:00-26:00"}, "not a time of day"),
        ({"slot": "07:00-07:30"}, "outside opening hours"),
        ({"service": "Z"}, "unknown service"),
        ({"day": DAY - timedelta(days=1)}, "in the past"),
    ],
)
def test_bad_appointments_are_refused(office, fields, needle):
    before = tag_counts(office)
    with pytest.raises(UsageError, match=needle):
        book(office, **fields)
    assert tag_counts(office) == before
    assert queue.list_appointments(office, DAY - timedelta(days=1)) == []


CSV = """name,id_number,service,date,slot,booking_code
陳大文,1234567(3),A,2026-11-24,10:00-10:30,
LEI SIO MUI,13049185,B,2026-11-24,10:30-11:00,
broken,12,A,2026-11-24,10:00-10:30,
HO WENG SI,7025561(2),Q,2026-11-24,11:00-11:30,
WONG,1487220(9),C,2026-11-24,11:00-11:30,WEB-1234

"""


def test_import_reports_broken_rows_by_line_and_keeps_the_rest(office):
    ctx = office
    report = queue.import_appointments(ctx, SYSTEM, CSV)
    assert len(report.imported) == 3 and "WEB-1234" in report.imported
    assert [line for line, _ in report.errors] == [4, 5]
    assert "not an ID number" in report.errors[0][1] and "unknown service" in report.errors[1][1]
    again = queue.import_appointments(ctx, SYSTEM, CSV)  # the same file twice adds nothing
    assert again.imported == [] and [n for n, _ in again.skipped] == [2, 3, 6]
    rows = queue.list_appointments(ctx, DAY + timedelta(days=1))
    assert sorted(i.id_number for i, _ in rows) == ["1234567(3)", "1304918(5)", "1487220(9)"]


def test_strict_import_is_all_or_nothing(office):
    with pytest.raises(UsageError, match="nothing imported: 2 broken row.*line 4"):
        queue.import_appointments(office, SYSTEM, CSV, strict=True)
    assert queue.list_appointments(office, DAY + timedelta(days=1)) == []


def test_import_needs_the_columns(office):
    with pytest.raises(UsageError, match="lacks slot"):
        queue.import_appointments(office, SYSTEM, "name,id_number,service,date\nx,1,A,2026-11-24\n")


def test_kept_and_missed_appointments_are_told_apart(office, clock):
    ctx = office
    clock.at(DAY, 8, 50)
    kept = book(ctx, slot="09:00-09:30")
    missed = book(ctx, id_number="5213377(0)", slot="09:00-09:30")
    clock.at(DAY, 9, 10)
    queue.check_in(ctx, SYSTEM, kept.booking_code)
    queue.call_next(ctx, SYSTEM, 1)
    queue.finish(ctx, SYSTEM, "A001", 1)
    clock.at(DAY, 9, 40)  # within the grace: not missed yet
    assert {i.booking_code: i.status for i, _t in queue.list_appointments(ctx)}[
        missed.booking_code
    ] == "booked"
    clock.at(DAY, 10, 0)
    statuses = {i.booking_code: i.status for i, _t in queue.list_appointments(ctx)}
    assert statuses == {kept.booking_code: "kept", missed.booking_code: "missed"}
