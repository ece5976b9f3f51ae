"""Who may do what, and when: renewal window, non-expiring cards, online renewal, the HK
e-channel style enrolment. Limits and the trilingual reasons are in `data/policy/eligibility.toml`.

Each check returns an `Eligibility`: `eligible`, and the reasons it fails (all of them, so the
counter can say everything at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from clerk.domain.policy.codes import (
    ELIGIBILITY_REASONS,
    LANGUAGES,
    NATIONALITIES,
    check_choice,
    in_language,
)
from clerk.domain.policy.loader import Node, Source, Text, Versioned, load, versioned
from clerk.domain.policy.today import or_today

_PLACEHOLDERS = {"opens": "", "expiry": "", "days": 0, "age": 0, "min_age": 0, "symbols": ""}


@dataclass(frozen=True)
class Reason:
    code: str
    text: Text

    def text_for(self, lang: str) -> str:
        return in_language(self.text, lang)


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reasons: tuple[Reason, ...] = ()  # why not; empty when eligible

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)


@dataclass(frozen=True)
class _Limits:
    renewal_window_days: int
    non_expiring_age_at_issue: int
    online_renewal_min_age: int
    residence_authorisation_document_days: int
    foreign_permanent_proof_after_years: int
    hk_enrolment_min_age: int
    hk_enrolment_symbols: tuple[str, ...]
    reasons: dict[str, Text]

    def fail(self, code: str, **values: object) -> Reason:
        template = self.reasons[code]
        return Reason(code, {lang: template[lang].format(**values) for lang in LANGUAGES})


_WHOLE_LIMITS = (
    "renewal_window_days",
    "non_expiring_age_at_issue",
    "online_renewal_min_age",
    "residence_authorisation_document_days",
    "foreign_permanent_proof_after_years",
    "hk_enrolment_min_age",
)


def _read_version(node: Node) -> _Limits:
    reasons = node.child("reasons").table(required=ELIGIBILITY_REASONS)
    symbols = tuple(symbol.string() for symbol in node.child("hk_enrolment_symbols").items())
    return _Limits(
        **{name: node.child(name).whole(minimum=0) for name in _WHOLE_LIMITS},
        hk_enrolment_symbols=symbols,
        reasons={code: reasons.child(code).text(_PLACEHOLDERS) for code in ELIGIBILITY_REASONS},
    )


def _read(source: Source) -> Versioned[_Limits]:
    keys = (*_WHOLE_LIMITS, "hk_enrolment_symbols", "reasons")
    return versioned(source, _read_version, required=keys)


def rule_versions() -> Versioned[_Limits]:
    return load("eligibility.toml", _read)


def _limits(on: date | None) -> tuple[_Limits, date]:
    day = or_today(on)
    return rule_versions().in_force(day), day


def add_years(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def card_expires(age_at_issue: int, on: date | None = None) -> bool:
    """False for the card of a holder aged 65 or over on its issue date (it does not expire)."""
    return age_at_issue < _limits(on)[0].non_expiring_age_at_issue


def renewal_window_opens(expiry: date, on: date | None = None) -> date:
    """The first day a card expiring on `expiry` may be renewed (expired cards may be too)."""
    return expiry - timedelta(days=_limits(on)[0].renewal_window_days)


def _expiry_reasons(
    limits: _Limits, day: date, expiry: date | None, age_at_issue: int | None
) -> list[Reason]:
    if expiry is None or (
        age_at_issue is not None and age_at_issue >= limits.non_expiring_age_at_issue
    ):
        return [limits.fail("card-does-not-expire", age=limits.non_expiring_age_at_issue)]
    opens = expiry - timedelta(days=limits.renewal_window_days)
    if day < opens:
        return [
            limits.fail(
                "renewal-window-not-open",
                opens=opens.isoformat(),
                expiry=expiry.isoformat(),
                days=limits.renewal_window_days,
            )
        ]
    return []


def _result(reasons: list[Reason]) -> Eligibility:
    return Eligibility(eligible=not reasons, reasons=tuple(reasons))


def renewal_eligibility(
    expiry: date | None, on: date | None = None, *, age_at_issue: int | None = None
) -> Eligibility:
    """May the card be renewed on `on`: from 180 days before `expiry`, or after it expired.

    `expiry` None, or a holder aged 65+ when the card was issued: the card does not expire.
    """
    limits, day = _limits(on)
    return _result(_expiry_reasons(limits, day, expiry, age_at_issue))


def online_renewal_eligibility(
    *,
    expiry: date | None,
    age: int | None,
    permanent: bool = True,
    identity_data_change: bool = False,
    interdicted: bool = False,
    lost: bool = False,
    age_at_issue: int | None = None,
    on: date | None = None,
) -> Eligibility:
    """Renewal through the Macao One Account: a permanent resident aged 18+ (on the new card's
    issue date, `age`; None: an adult whose age was not stated) whose card expires within the
    window or has expired, with no change of identity data, not interdicted, and not replacing a
    lost card."""
    limits, day = _limits(on)
    reasons = _expiry_reasons(limits, day, expiry, age_at_issue)
    if not permanent:
        reasons.append(limits.fail("not-permanent"))
    if age is not None and age < limits.online_renewal_min_age:
        reasons.append(limits.fail("under-age", age=age, min_age=limits.online_renewal_min_age))
    if identity_data_change:
        reasons.append(limits.fail("identity-data-change"))
    if interdicted:
        reasons.append(limits.fail("interdicted"))
    if lost:
        reasons.append(limits.fail("lost-card"))
    return _result(reasons)


def hk_enrolment_eligibility(
    *,
    age: int,
    permanent: bool,
    symbols: str | Iterable[str] = "",
    card_valid: bool = True,
    on: date | None = None,
) -> Eligibility:
    """Enrolment of a Hong Kong resident for the automated clearance service (e-channel style):
    aged 18 or above, holding a valid HK permanent identity card or a valid HK identity card
    bearing `***` or `R` (`symbols`: the symbols printed on the card, e.g. "***AZ")."""
    limits, _ = _limits(on)
    printed = symbols if isinstance(symbols, str) else " ".join(symbols)
    reasons = []
    if age < limits.hk_enrolment_min_age:
        reasons.append(limits.fail("under-age", age=age, min_age=limits.hk_enrolment_min_age))
    if not card_valid:
        reasons.append(limits.fail("card-not-valid"))
    if not permanent and not any(symbol in printed for symbol in limits.hk_enrolment_symbols):
        reasons.append(
            limits.fail("no-enrolment-symbol", symbols=" / ".join(limits.hk_enrolment_symbols))
        )
    return _result(reasons)


def residence_authorisation_document_is_recent(issued: date, on: date | None = None) -> bool:
    """A residence authorisation document must be issued within 90 days before the application
    (and not after it)."""
    limits, day = _limits(on)
    return day - timedelta(days=limits.residence_authorisation_document_days) <= issued <= day


def needs_ordinary_residence_proof(
    nationality: str, last_issued: date, on: date | None = None, *, permanent: bool = True
) -> bool:
    """A permanent holder of foreign nationality whose card was last issued more than 3 years
    before the application proves ordinary residence since then (`foreign-permanent-renewal`)."""
    check_choice("nationality", nationality, NATIONALITIES)
    limits, day = _limits(on)
    foreign = nationality != "chinese"
    return (
        permanent
        and foreign
        and day > add_years(last_issued, limits.foreign_permanent_proof_after_years)
    )
