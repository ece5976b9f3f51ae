"""The lodging date when the caller gives none: today at the office, asked at every call."""

from __future__ import annotations

from datetime import date

OFFICE_TIME_ZONE = "Asia/Macau"


def or_today(on: date | None) -> date:
    """`on`, or today's date in Macao (never cached: a process may run past midnight)."""
    if on is not None:
        return on
    from clerk.domain.clock import business_day

    return business_day(OFFICE_TIME_ZONE)
