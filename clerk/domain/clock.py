"""Time: UTC inside, the office's local date for business.

The business day is computed at each call (never cached), so a process left running past midnight
starts the next day's sequences at 001. Tests move time with `set_clock`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def set_clock(now: Callable[[], datetime] | None) -> None:
    """Replace the source of the current instant (aware UTC datetimes); None restores it."""
    global _now
    _now = now if now is not None else (lambda: datetime.now(UTC))


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime (how instants are stored)."""
    return _now().astimezone(UTC)


@lru_cache(maxsize=8)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_now(tz: str) -> datetime:
    return _now().astimezone(zone(tz))


def business_day(tz: str) -> date:
    """Today's date at the office."""
    return local_now(tz).date()


def to_local(instant: datetime, tz: str) -> datetime:
    """A stored UTC instant in the office's time zone (naive values are taken as UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone(tz))
