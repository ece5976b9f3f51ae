"""Hostile files: appointment CSV imports with broken rows, config files with wrong types.

A CSV import reports each broken row by its line and stores the good ones (or, strict, refuses the
whole file and stores nothing); it never raises anything but `UsageError`. A config file (or a
`CLERK_<SECTION>_<KEY>` variable) of the wrong shape or type gives one line naming the file and
the key; nothing else escapes `load_config`.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from clerk.config import Config, load_config
from clerk.domain import queue
from clerk.domain.auth import SYSTEM
from clerk.domain.clock import set_clock
from clerk.domain.models import Appointment
from clerk.errors import ClerkError, UsageError
from tests.unit.test_hostile_forms import Watch
from tests.unit.test_hostile_parsers import HUGE, NAMES_EXT_B, assert_clear, hostile_text, typed
from tests.unit.test_intake import db_url, intake_templates  # noqa: F401 - migrated copies

NOON = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # Monday 23 November 2026, 12:00 in Macao
GOOD_ROW = ["陳大文", "1234567(3)", "A", "2026-11-24", "10:00-10:30"]


# --- appointment CSV ------------------------------------------------------------------------------


def good_row(n: int) -> list[str]:
    return [f"CHAN TAI MAN {n}", f"12345{n % 10}{n % 7}(3)", "A", "2026-11-24", "10:00-10:30"]


def field(value: str, quoting: int) -> str:
    if quoting == 0:
        return value
    if quoting == 1:
        return '"' + value.replace('"', '""') + '"'
    return '"' + value  # an unclosed quote


headers = st.one_of(
    st.just("name,id_number,service,date,slot"),
    st.just("\ufeffName, ID_Number ,SERVICE,date,slot,kind,booking_code"),
    st.just("name;id_number;service;date;slot"),
    st.just("name,id_number,date"),
    st.just(""),
    hostile_text,
)
cells = st.one_of(
    hostile_text, typed, st.sampled_from(GOOD_ROW), st.sampled_from(NAMES_EXT_B), st.just("x" * 200)
)
rows = st.one_of(
    st.integers(0, 50).map(good_row),
    st.lists(cells, max_size=8),
)
csv_files = st.builds(
    lambda header, body, quoting, ending: (
        header
        + ending
        + ending.join(",".join(field(v, quoting[i % 3]) for i, v in enumerate(row)) for row in body)
    ),
    headers,
    st.lists(rows, max_size=8),
    st.lists(st.sampled_from([0, 0, 0, 1, 2]), min_size=3, max_size=3),
    st.sampled_from(["\n", "\r\n", "\r", "\n\n"]),
)


@pytest.fixture
def hall(ctx):
    from tests.unit.test_queue import make_office

    set_clock(lambda: NOON)
    make_office(ctx)
    yield ctx
    set_clock(None)


def appointments(ctx) -> int:
    with ctx.db.read() as s:
        return s.exec(select(func.count()).select_from(Appointment)).one()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(csv_files, st.booleans())
@example("name,id_number,service,date,slot\n" + ",".join(GOOD_ROW) + "\n\x00,,\n", False)
@example(
    'name,id_number,service,date,slot\n"' + "x" * 140_000 + '",1,A,2026-11-24,10:00-10:30', False
)
@example("name,id_number,service,date,slot\rCHAN,1234567(3),A,2026-11-24,10:00-10:30\r", True)
@example("name,id_number,service,date,slot\n" + ",".join(GOOD_ROW) + '\n"broken', True)
@example("name,id_number,service,date,slot\n" + HUGE, False)
def test_a_csv_import_reports_broken_rows_and_keeps_the_good_ones(hall, text, strict):
    ctx = hall
    before = appointments(ctx)
    got = Watch(ctx)(queue.import_appointments, ctx, SYSTEM, text, strict=strict)
    if isinstance(got, ClerkError):
        assert appointments(ctx) == before
        return
    assert appointments(ctx) == before + len(got.imported)
    assert not (strict and got.errors)
    for line, message in got.errors + got.skipped:
        assert isinstance(line, int) and line >= 1
        assert message.strip() and "\n" not in message and "\r" not in message, message


def test_a_csv_with_one_broken_row_stores_the_others(hall):
    ctx = hall
    text = "\n".join(
        [
            "name,id_number,service,date,slot",
            ",".join(good_row(1)),
            "CHAN,1234567(3),A,2026-13-40,10:00-10:30",
            '"unclosed,5213377(0),A,2026-11-24,10:00-10:30',
        ]
    )
    report = queue.import_appointments(ctx, SYSTEM, text)
    assert len(report.imported) == 1 and appointments(ctx) == 1
    assert [line for line, _message in report.errors] == [3, 4]
    with pytest.raises(UsageError, match="nothing imported"):
        queue.import_appointments(ctx, SYSTEM, text.replace(" 1,", " 2,"), strict=True)
    assert appointments(ctx) == 1


# --- config files ---------------------------------------------------------------------------------


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else repr(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date | time | datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise AssertionError(value)


SECTIONS = {name: list(vars(section)) for name, section in Config().sections().items()}
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    hostile_text,
    typed,
    st.sampled_from(
        ["09:00", "²:00", "２５:00", "Asia/Macau", "../../etc", "pt", "cups", "01", "٠١"]
    ),
    st.dates(),
    st.times(),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), scalars, max_size=2),
)
section_names = st.one_of(st.sampled_from([*SECTIONS, "keymap"]), hostile_text)


@st.composite
def config_files(draw) -> str:
    lines = []
    for section in draw(st.lists(section_names, max_size=4, unique=True)):
        lines.append(f"[{json.dumps(section, ensure_ascii=False)}]")
        keys = SECTIONS.get(section, []) + ["colour", "counter.call_next"]
        for key in draw(
            st.lists(st.one_of(st.sampled_from(keys), hostile_text), max_size=4, unique=True)
        ):
            lines.append(f"{json.dumps(key, ensure_ascii=False)} = {toml_value(draw(values))}")
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(hostile_text))  # a broken line
    return "\n".join(lines) + "\n"


environments = st.dictionaries(
    st.one_of(
        st.sampled_from(
            [f"CLERK_{s.upper()}_{k.upper()}" for s, keys in SECTIONS.items() for k in keys]
        ),
        st.just("CLERK_QUEUE_BOARD_POLL_MS"),
    ),
    st.one_of(typed, st.sampled_from(["true", "0", "-1", "²", HUGE, "09:00", "²:00"])).map(
        lambda v: v.replace("\x00", "")  # the environment cannot hold NUL
    ),
    max_size=3,
)


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config_files(), environments)
@example('[office]\nopening = "²:00"\n', {})
@example('[office]\nclosing = "' + "9" * 5000 + ':00"\n', {})
@example('[office]\ncode = "٠١"\n', {})
@example("", {"CLERK_OFFICE_OPENING": "²:00"})
@example("[ui]\nidle_lock_minutes = 1e400\n", {})
@example("[queue]\nboard_poll_ms = -5\nrecalls_before_no_show = -1\n", {})
def test_config_files_of_the_wrong_shape_are_one_line(tmp_path, content, env):
    path = tmp_path / "config.toml"
    path.write_text(content, encoding="utf-8")
    try:
        cfg = load_config(path, env=env)
    except UsageError as exc:
        assert_clear(exc)
        assert str(path) in exc.message or "environment" in exc.message, exc.message
        return
    assert cfg.office.code.isascii() and cfg.office.code.isdigit() and len(cfg.office.code) == 2
    for key in ("opening", "closing"):
        hh, mm = getattr(cfg.office, key).split(":")
        assert hh.isascii() and mm.isascii() and int(hh) < 24 and int(mm) < 60


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=200))
@example(b"\xff\xfe[office]")
@example(b"[office]\x00\ncode = '01'")
def test_config_files_of_random_bytes_are_one_line(tmp_path, raw):
    path = tmp_path / "config.toml"
    path.write_bytes(raw)
    try:
        load_config(path, env={})
    except UsageError as exc:
        assert_clear(exc)
