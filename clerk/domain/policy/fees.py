"""Fees, surcharges and exemptions, from `data/policy/fees.toml`. Amounts are integer avos.

A version lists its fee entries (`code`, `when`, trilingual `label`, and `amount_avos`, or
`ladder_avos` for the non-presentation surcharge, whose amount depends on how many times the
person already paid it) and an `[exemption]` table naming the fee codes an exemption waives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clerk.domain.policy.codes import (
    EXEMPTIONS,
    FEE_CODES,
    LANGUAGES,
    SURCHARGE_LADDER_CODE,
    WAIVER_CODE,
    in_language,
)
from clerk.domain.policy.conditions import Condition, read_condition
from clerk.domain.policy.facts import Facts
from clerk.domain.policy.loader import Node, Source, Text, Versioned, load, versioned
from clerk.domain.policy.surcharges import next_surcharge_ordinal
from clerk.domain.policy.today import or_today
from clerk.errors import UsageError

CURRENCY = "MOP"
_ORDINAL_PLACEHOLDERS = {"n": 1, "nth": "1st"}


@dataclass(frozen=True)
class FeeLine:
    code: str
    label: Text
    amount_avos: int

    def label_for(self, lang: str) -> str:
        return in_language(self.label, lang)


@dataclass(frozen=True)
class Quote:
    lines: list[FeeLine]
    currency: str = CURRENCY

    @property
    def total_avos(self) -> int:
        return sum(line.amount_avos for line in self.lines)


@dataclass(frozen=True)
class _Fee:
    code: str
    condition: Condition
    label: Text
    amount_avos: int | None = None
    ladder_avos: tuple[int, ...] = ()

    def amount_for(self, nth: int) -> int:
        if self.amount_avos is not None:
            return self.amount_avos
        return self.ladder_avos[min(nth, len(self.ladder_avos)) - 1]

    def label_for_time(self, nth: int) -> Text:
        if not self.ladder_avos:
            return self.label
        return {lang: self.label[lang].format(n=nth, nth=ordinal_en(nth)) for lang in LANGUAGES}


@dataclass(frozen=True)
class _FeeRules:
    fees: tuple[_Fee, ...]
    waives: frozenset[str]
    waiver_labels: dict[str, Text]  # exemption type → label of the waiver line

    def ladder(self) -> _Fee:
        return next(fee for fee in self.fees if fee.code == SURCHARGE_LADDER_CODE)


def ordinal_en(n: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _read_fee(node: Node) -> _Fee:
    code = node.get("code")
    is_ladder = code is not None and code.value == SURCHARGE_LADDER_CODE
    amount_key = "ladder_avos" if is_ladder else "amount_avos"
    node.table(required=("code", "label", amount_key), optional=("when",))
    condition = read_condition(node.get("when"))
    if is_ladder:
        ladder = tuple(step.whole(minimum=0) for step in node.child("ladder_avos").items())
        if not ladder:
            raise node.child("ladder_avos").fail("the ladder needs at least one amount")
        label = node.child("label").text(_ORDINAL_PLACEHOLDERS)
        return _Fee(SURCHARGE_LADDER_CODE, condition, label, ladder_avos=ladder)
    return _Fee(
        code=node.child("code").choice(FEE_CODES),
        condition=condition,
        label=node.child("label").text(),
        amount_avos=node.child("amount_avos").whole(minimum=0),
    )


def _read_version(node: Node) -> _FeeRules:
    fees = tuple(_read_fee(item) for item in node.child("fee").items())
    if not any(fee.code == SURCHARGE_LADDER_CODE for fee in fees):
        raise node.child("fee").fail(f"no {SURCHARGE_LADDER_CODE!r} entry (the surcharge ladder)")
    exemption = node.child("exemption").table(required=("waives", *EXEMPTIONS))
    return _FeeRules(
        fees=fees,
        waives=frozenset(exemption.child("waives").choices(FEE_CODES)),
        waiver_labels={kind: exemption.child(kind).text() for kind in EXEMPTIONS},
    )


def _read_fees(source: Source) -> Versioned[_FeeRules]:
    return versioned(source, _read_version, required=("fee", "exemption"))


def rule_versions() -> Versioned[_FeeRules]:
    return load("fees.toml", _read_fees)


def _rules(on: date | None) -> _FeeRules:
    return rule_versions().in_force(or_today(on))


def surcharge_for(nth_time: int, on: date | None = None) -> int:
    """The non-presentation surcharge, in avos, for the `nth_time` (1 = first) time."""
    if isinstance(nth_time, bool) or not isinstance(nth_time, int) or nth_time < 1:
        raise UsageError(f"the surcharge is counted from the 1st time, not {nth_time!r}")
    return _rules(on).ladder().amount_for(nth_time)


def quote(facts: Facts, on: date | None = None) -> Quote:
    """The fee lines for `facts` under the fees in force on `on` (default: today in Macao).

    An exemption (granted only with a supervisor's approval, which the caller records) adds one
    negative `exemption-waiver` line for the lines the data says it waives.
    """
    rules = _rules(on)
    nth = next_surcharge_ordinal(facts.surcharge_history, facts.first_issued_2023_card)
    lines: list[FeeLine] = []
    for fee in rules.fees:
        if fee.condition.holds(facts) and all(line.code != fee.code for line in lines):
            lines.append(FeeLine(fee.code, fee.label_for_time(nth), fee.amount_for(nth)))
    if facts.exemption is not None:
        waived = sum(line.amount_avos for line in lines if line.code in rules.waives)
        if waived:
            lines.append(FeeLine(WAIVER_CODE, rules.waiver_labels[facts.exemption], -waived))
    return Quote(lines=lines)
