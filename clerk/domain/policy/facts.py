"""What the counter knows about an applicant and the case: the input of every rule.

The field names are the CLI flags with dashes as underscores, which are also the keys of
`--facts FILE.json` (`no_original` there stands for `original_presented = False`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from clerk.domain.policy.codes import (
    CASES,
    EXEMPTIONS,
    MARITAL_STATUSES,
    NATIONALITIES,
    PHOTO_OPTIONS,
    REGIONS,
    SERVICES,
    check_choice,
)
from clerk.domain.policy.surcharges import COUNT_CANNOT_BE_SPLIT
from clerk.errors import UsageError

MAX_AGE = 150

# fact → (what it is called in messages, its codes); `exemption` may also be None
CHOICE_FACTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "case": ("case", CASES),
    "marital": ("marital status", MARITAL_STATUSES),
    "origin": ("origin", REGIONS),
    "spouse_origin": ("spouse origin", REGIONS),
    "nationality": ("nationality", NATIONALITIES),
    "photo": ("photo option", PHOTO_OPTIONS),
    "exemption": ("exemption", EXEMPTIONS),
    "service": ("service", SERVICES),
}
_FLAGS = (
    "residence_authorisation",
    "talent_scheme",
    "original_presented",
    "foreign_language_docs",
    "birth_record_changed",
    "external_service",
)


@dataclass(frozen=True)
class Facts:
    """The facts of one application; every field has the ordinary default.

    `age` None means an adult whose age was not stated. `first_issued_2023_card` is the date
    the person was first issued the 2023-version card: non-presentation surcharges before it
    no longer count (give `prior_surcharge_dates` then, since a bare count cannot be split).
    """

    case: str = "renewal"
    age: int | None = None
    marital: str = "single"
    origin: str = "macao"
    spouse_origin: str = "macao"
    nationality: str = "chinese"
    residence_authorisation: bool = False
    talent_scheme: bool = False
    original_presented: bool = True
    foreign_language_docs: bool = False
    birth_record_changed: bool = False
    photo: str = "onsite"
    exemption: str | None = None
    service: str = "normal"
    prior_surcharges: int = 0
    prior_surcharge_dates: tuple[date, ...] = ()
    first_issued_2023_card: date | None = None
    external_service: bool = False

    def __post_init__(self) -> None:
        for name, (kind, valid) in CHOICE_FACTS.items():
            if name != "exemption" or self.exemption is not None:
                check_choice(kind, getattr(self, name), valid)
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name} must be true or false")
        if self.age is not None:
            _check_count("age", self.age, MAX_AGE)
        _check_count("prior_surcharges", self.prior_surcharges)
        dates = self.prior_surcharge_dates
        if not isinstance(dates, tuple) or not all(_is_date(d) for d in dates):
            raise UsageError("prior_surcharge_dates must be a tuple of dates")
        if dates and self.prior_surcharges not in (0, len(dates)):
            raise UsageError(
                f"prior_surcharges is {self.prior_surcharges} but "
                f"{len(dates)} prior surcharge dates were given"
            )
        if self.first_issued_2023_card is not None:
            if not _is_date(self.first_issued_2023_card):
                raise UsageError("first_issued_2023_card must be a date (YYYY-MM-DD)")
            if self.prior_surcharges and not dates:
                raise UsageError(COUNT_CANNOT_BE_SPLIT)

    @property
    def is_minor(self) -> bool:
        return self.age is not None and self.age < 18

    @property
    def subject_to_residence_authorisation(self) -> bool:
        """Holders under the talent scheme hold a residence authorisation too."""
        return self.residence_authorisation or self.talent_scheme

    @property
    def former_card_presented(self) -> bool:
        """A lost card cannot be presented, whatever `original_presented` says."""
        return self.original_presented and self.case != "loss"

    @property
    def surcharge_history(self) -> tuple[date, ...] | int:
        """What `next_surcharge_ordinal` needs: the dates when known, else the count."""
        return self.prior_surcharge_dates or self.prior_surcharges

    def with_changes(self, **changes: Any) -> Facts:
        return dataclasses.replace(self, **changes)

    def to_mapping(self) -> dict[str, Any]:
        """A JSON-ready mapping (dates as `YYYY-MM-DD`) that `from_mapping` reads back."""
        mapping: dict[str, Any] = dataclasses.asdict(self)
        mapping["prior_surcharge_dates"] = [d.isoformat() for d in self.prior_surcharge_dates]
        if self.first_issued_2023_card is not None:
            mapping["first_issued_2023_card"] = self.first_issued_2023_card.isoformat()
        return mapping

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Facts:
        """Facts from CLI options or a `--facts` JSON object (dates as `YYYY-MM-DD` strings).

        An unknown key or value raises `UsageError` naming the valid ones.
        """
        if not isinstance(mapping, Mapping):
            raise UsageError("the facts must be an object of fact names and values")
        values = dict(mapping)
        for key in values:
            if key not in FACT_KEYS:
                raise UsageError(f"unknown fact {key!r} (valid: {', '.join(FACT_KEYS)})")
        if "no_original" in values:
            no_original = values.pop("no_original")
            if not isinstance(no_original, bool):
                raise UsageError("no_original must be true or false")
            if "original_presented" in values and values["original_presented"] == no_original:
                raise UsageError("no_original and original_presented contradict each other")
            values["original_presented"] = not no_original
        if values.get("first_issued_2023_card") is not None:
            values["first_issued_2023_card"] = parse_date(
                values["first_issued_2023_card"], "first_issued_2023_card"
            )
        if "prior_surcharge_dates" in values:
            values["prior_surcharge_dates"] = _parse_dates(values["prior_surcharge_dates"])
        return cls(**values)


FACT_KEYS = (
    *(field.name for field in dataclasses.fields(Facts)),
    "no_original",
)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not hasattr(value, "hour")


def _check_count(name: str, value: object, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{name} must be a whole number ≥ 0, not {value!r}")
    if maximum is not None and value > maximum:
        raise UsageError(f"{name} must be at most {maximum}, not {value}")


def parse_date(value: object, name: str) -> date:
    """A `date` from a date or a `YYYY-MM-DD` string; anything else is a `UsageError`."""
    if _is_date(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise UsageError(f"{name} must be a date YYYY-MM-DD, not {value!r}")


def _parse_dates(values: object) -> tuple[date, ...]:
    if isinstance(values, str):
        values = [part for part in values.split(",") if part.strip()]
    if not isinstance(values, Iterable):
        raise UsageError("prior_surcharge_dates must be a list of dates YYYY-MM-DD")
    return tuple(parse_date(value, "prior_surcharge_dates") for value in values)
