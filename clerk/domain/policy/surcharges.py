"""Counting the non-presentation surcharges of one person (the rung of the fee ladder)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from clerk.errors import UsageError

COUNT_CANNOT_BE_SPLIT = (
    "give the dates of the earlier surcharges, not a count, so that those before the first "
    "2023-version card can be left out"
)


def next_surcharge_ordinal(
    history: int | Iterable[date], first_2023_card_issued: date | None = None
) -> int:
    """Which time (1st, 2nd, …) the next non-presentation surcharge is for this person.

    `history` is the person's earlier non-presentation surcharges: their dates, or a count.
    Seed: "For persons who were first issued with the Macao SAR Resident Identity Card (2023
    version), the surcharge … will be counted as the first time all over again": with
    `first_2023_card_issued`, only the surcharges on or after that date count. A count cannot
    be split by date, so a count above 0 together with that date is refused.
    """
    if isinstance(history, int) and not isinstance(history, bool):
        if history < 0:
            raise UsageError(f"the number of earlier surcharges must be ≥ 0, not {history}")
        if history and first_2023_card_issued is not None:
            raise UsageError(COUNT_CANNOT_BE_SPLIT)
        return history + 1
    dates = list(history)
    if first_2023_card_issued is not None:
        dates = [when for when in dates if when >= first_2023_card_issued]
    return len(dates) + 1
