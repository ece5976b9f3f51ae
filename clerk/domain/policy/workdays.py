"""Working days and collection dates.

A working day is a weekday that is neither a Macao government holiday (the `holidays` package,
categories optional + government; its "(Afternoon)" entries are afternoon closures, so the
office works that day) nor a closure listed in `data/policy/holidays-extra.toml`.
The processing times per service are in `data/policy/processing.toml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from clerk.domain.policy.codes import SERVICES, check_choice
from clerk.domain.policy.loader import Node, Source, Text, Versioned, load, versioned

AFTERNOON_MARK = "(Afternoon)"
_HOLIDAY_CATEGORIES = ("optional", "government")
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CollectionDate:
    collection_date: date
    working_days: int


@dataclass(frozen=True)
class ClosedDay:
    day: date
    name: str  # English
    source: str  # "holidays" (the package) or "office" (holidays-extra.toml)


@dataclass(frozen=True)
class _ExtraClosure:
    day: date
    name: Text


def _government_calendar(year: int):
    import holidays  # slow to import: only when a date is computed

    return holidays.country_holidays(
        "MO", categories=_HOLIDAY_CATEGORIES, years=year, language="en_US"
    )


@cache
def _government_closures(year: int) -> frozenset[date]:
    """The days of `year` the government closes for the whole day (fixed by the package)."""
    calendar = _government_calendar(year)
    return frozenset(
        day
        for day in calendar
        if any(AFTERNOON_MARK not in name for name in calendar.get_list(day))
    )


def _read_extra(source: Source) -> tuple[_ExtraClosure, ...]:
    root = source.root().table(optional=("closure",))
    if "closure" not in root.value:
        return ()
    closures = []
    for node in root.child("closure").items():
        node.table(required=("date", "name"))
        closures.append(_ExtraClosure(node.child("date").day(), node.child("name").text()))
    return tuple(closures)


def _office_closures() -> frozenset[date]:
    return frozenset(closure.day for closure in load("holidays-extra.toml", _read_extra))


def _is_open(day: date, office_closures: frozenset[date]) -> bool:
    return (
        day.weekday() < 5
        and day not in office_closures
        and day not in _government_closures(day.year)
    )


def is_working_day(day: date) -> bool:
    """True when the office is open on `day` (at least in the morning)."""
    return _is_open(day, _office_closures())


def add_working_days(day: date, n: int) -> date:
    """The `n`th working day after `day` (`day` itself for n = 0); `day` need not be one."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"the number of working days must be a whole number ≥ 0, not {n!r}")
    office_closures = _office_closures()
    counted = 0
    while counted < n:
        day += _ONE_DAY
        if _is_open(day, office_closures):
            counted += 1
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after `start` up to and including `end`."""
    office_closures = _office_closures()
    days = (start + timedelta(days=offset) for offset in range(1, (end - start).days + 1))
    return sum(1 for day in days if _is_open(day, office_closures))


def _read_processing_version(node: Node) -> dict[str, int]:
    table = node.child("working_days").table(required=SERVICES)
    return {service: table.child(service).whole(minimum=1) for service in SERVICES}


def _read_processing(source: Source) -> Versioned[dict[str, int]]:
    return versioned(source, _read_processing_version, required=("working_days",))


def processing_days(service: str, on: date) -> int:
    """The working days a service takes, under the rules in force on `on`."""
    check_choice("service", service, SERVICES)
    return rule_versions().in_force(on)[service]


def rule_versions() -> Versioned[dict[str, int]]:
    return load("processing.toml", _read_processing)


def collection_date(lodged: date, service: str) -> CollectionDate:
    """When the card can be collected: the last of the service's working days, counted from
    the day after the application and all its documents were received on `lodged`."""
    working_days = processing_days(service, lodged)
    return CollectionDate(add_working_days(lodged, working_days), working_days)


def closed_days(year: int) -> list[ClosedDay]:
    """The whole-day closures of `year` besides weekends (some fall on one): government
    holidays from the package and office closures from `holidays-extra.toml`."""
    calendar = _government_calendar(year)
    days = [
        ClosedDay(day, "; ".join(calendar.get_list(day)), "holidays")
        for day in sorted(_government_closures(year))
    ]
    for closure in load("holidays-extra.toml", _read_extra):
        if closure.day.year == year:
            days.append(ClosedDay(closure.day, closure.name["en"], "office"))
    return sorted(days, key=lambda closed: closed.day)
