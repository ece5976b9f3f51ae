"""Working days and collection dates.

Seed: ../shared/seeds/macao-bir-renewal.txt, "Processing Time" and the office hours ("Closed on
Saturday, Sunday and government holidays"). The expected dates below were counted by hand on the
2026 calendar of Macao government holidays.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk.domain.policy import (
    SERVICES,
    add_working_days,
    closed_days,
    collection_date,
    is_working_day,
    working_days_between,
)
from clerk.errors import UsageError


@pytest.mark.parametrize(
    ("service", "working_days", "expected"),
    [
        ("normal", 15, date(2026, 3, 11)),
        ("express", 10, date(2026, 3, 4)),
        ("special-express", 3, date(2026, 2, 23)),
    ],
)
def test_processing_time_across_chinese_new_year(service, working_days, expected):
    """Seed: "Normal Service: 15 working days." "Express Service: 10 working days." "Special
    Express Service: Within 3 working days." "The abovementioned collection date is counted from
    the day after the day of receiving the application and all necessary documents by DSI."

    Lodged Friday 13 Feb 2026: the 16th (Chinese New Year's Eve, closed in the afternoon only)
    counts, the 17th to 19th (Chinese New Year) and the weekends do not."""
    result = collection_date(date(2026, 2, 13), service)
    assert result.working_days == working_days
    assert result.collection_date == expected


def test_counting_starts_the_day_after_lodging():
    # Thursday 30 April 2026 → Friday 1 May is Labour Day: 4, 5, 6 May.
    assert collection_date(date(2026, 4, 30), "special-express").collection_date == date(2026, 5, 6)
    # Lodged on a Saturday (kiosk): Monday is the first working day.
    assert collection_date(date(2026, 5, 2), "special-express").collection_date == date(2026, 5, 6)


def test_compensatory_rest_days_are_closures():
    # Good Friday 3 Apr, Easter Saturday and Ching Ming on 4–5 Apr, compensated on 6 and 7 Apr.
    assert add_working_days(date(2026, 4, 2), 3) == date(2026, 4, 10)
    for day in (3, 6, 7):
        assert not is_working_day(date(2026, 4, day))


def test_afternoon_closures_are_working_days():
    """FACTS: entries named "(Afternoon)" (New Year's Eve, Chinese New Year's Eve) are afternoon
    closures: the office works that morning."""
    assert is_working_day(date(2026, 2, 16))  # Chinese New Year's Eve (Afternoon)
    assert is_working_day(date(2026, 12, 31))  # New Year's Eve (Afternoon)
    assert not is_working_day(date(2026, 12, 24))  # Christmas Eve: a government holiday
    # Tuesday 29 Dec 2026 → 30th, 31st (morning open), then 1 Jan and the weekend → 4 Jan 2027.
    assert add_working_days(date(2026, 12, 29), 3) == date(2027, 1, 4)


def test_weekends_are_not_working_days():
    """Seed: "Office hours: Monday to Friday, 09:00 – 18:00 (Closed on Saturday, Sunday and
    government holidays)" """
    assert is_working_day(date(2026, 5, 8))  # Friday
    assert not is_working_day(date(2026, 5, 9))
    assert not is_working_day(date(2026, 5, 10))


def test_government_category_days_close_the_office():
    """The default (public) category has 10 days in 2026; the office closes on 28."""
    closures = closed_days(2026)
    assert len(closures) == 26  # 28 entries minus the two afternoon closures
    assert date(2026, 11, 2) in {closure.day for closure in closures}  # All Souls' Day
    assert all(closure.source == "holidays" for closure in closures)


def test_office_closures_from_holidays_extra(policy_copy: Path):
    """`data/policy/holidays-extra.toml` adds newly announced closures; edits apply at once."""
    lodged = date(2026, 5, 2)
    assert collection_date(lodged, "special-express").collection_date == date(2026, 5, 6)
    (policy_copy / "holidays-extra.toml").write_text(
        "[[closure]]\n"
        "date = 2026-05-05\n"
        'name = { zh_Hant = "颱風", pt = "Tufão", en = "Typhoon closure" }\n',
        encoding="utf-8",
    )
    assert not is_working_day(date(2026, 5, 5))
    assert collection_date(lodged, "special-express").collection_date == date(2026, 5, 7)
    office = [closure for closure in closed_days(2026) if closure.source == "office"]
    assert [(c.day, c.name) for c in office] == [(date(2026, 5, 5), "Typhoon closure")]


def test_processing_times_are_versioned(append_rules):
    append_rules(
        "processing.toml",
        "[[version]]\neffective_from = 2026-06-01\n"
        "[version.working_days]\nnormal = 12\nexpress = 8\nspecial-express = 2\n",
    )
    assert collection_date(date(2026, 5, 29), "normal").working_days == 15
    assert collection_date(date(2026, 6, 1), "normal").working_days == 12


def test_unknown_service_names_the_valid_ones():
    with pytest.raises(UsageError, match="normal, express, special-express"):
        collection_date(date(2026, 5, 4), "overnight")


def test_negative_working_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 5, 4), -1)


# --- properties ---------------------------------------------------------------------------------

dates = st.dates(date(2000, 1, 1), date(2098, 12, 1))
counts = st.integers(0, 40)


@settings(max_examples=150, deadline=None)
@given(dates, st.integers(1, 40))
def test_the_result_is_the_nth_working_day_after(day, n):
    result = add_working_days(day, n)
    assert result > day
    assert is_working_day(result)
    assert working_days_between(day, result) == n
    assert working_days_between(day, result - timedelta(days=1)) == n - 1


@settings(max_examples=150, deadline=None)
@given(dates, dates, counts)
def test_adding_working_days_is_monotonic_in_the_start(first, second, n):
    early, late = sorted((first, second))
    assert add_working_days(early, n) <= add_working_days(late, n)


@settings(max_examples=150, deadline=None)
@given(dates, counts, counts)
def test_adding_working_days_is_monotonic_and_additive_in_the_count(day, a, b):
    assert add_working_days(day, min(a, b)) <= add_working_days(day, max(a, b))
    assert add_working_days(add_working_days(day, a), b) == add_working_days(day, a + b)


@settings(max_examples=100, deadline=None)
@given(dates, st.sampled_from(SERVICES))
def test_the_collection_date_is_always_a_working_day(lodged, service):
    result = collection_date(lodged, service)
    assert is_working_day(result.collection_date)
    assert result.working_days == {"normal": 15, "express": 10, "special-express": 3}[service]
    assert result.collection_date == add_working_days(lodged, result.working_days)
    assert add_working_days(lodged, 0) == lodged
