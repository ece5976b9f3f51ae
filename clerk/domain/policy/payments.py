"""The payment methods accepted at the counter, from `data/policy/payment-methods.toml`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from clerk.domain.policy.codes import in_language
from clerk.domain.policy.loader import Node, Source, Text, Versioned, load, versioned
from clerk.domain.policy.today import or_today

_CODE = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class PaymentMethod:
    code: str
    label: Text
    is_cash: bool  # counted in the cash drawer at cash-up
    needs_reference: bool  # the cashier records the terminal's transaction reference

    def label_for(self, lang: str) -> str:
        return in_language(self.label, lang)


def _read_method(node: Node) -> PaymentMethod:
    node.table(required=("code", "label", "is_cash", "needs_reference"))
    code = node.child("code").string()
    if not _CODE.match(code):
        raise node.child("code").fail(f"{code!r} is not a code (lower case, digits, dashes)")
    return PaymentMethod(
        code=code,
        label=node.child("label").text(),
        is_cash=node.child("is_cash").boolean(),
        needs_reference=node.child("needs_reference").boolean(),
    )


def _read_version(node: Node) -> tuple[PaymentMethod, ...]:
    methods = tuple(_read_method(item) for item in node.child("method").items())
    codes = [method.code for method in methods]
    for index, code in enumerate(codes):
        if code in codes[:index]:
            raise node.child("method").child(index).child("code").fail(f"{code!r} twice")
    return methods


def _read(source: Source) -> Versioned[tuple[PaymentMethod, ...]]:
    return versioned(source, _read_version, required=("method",))


def payment_methods(on: date | None = None) -> list[PaymentMethod]:
    """The methods accepted at the counter on `on` (default: today in Macao), in display order."""
    return list(rule_versions().in_force(or_today(on)))


def rule_versions() -> Versioned[tuple[PaymentMethod, ...]]:
    return load("payment-methods.toml", _read)
