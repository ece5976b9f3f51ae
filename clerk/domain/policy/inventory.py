"""Which version of each rule file is in force: what an application records when lodged."""

from __future__ import annotations

from datetime import date

from clerk.domain.policy import checklists, eligibility, fees, payments, workdays
from clerk.domain.policy.today import or_today

_RULE_FILES = {
    "checklist": checklists.rule_versions,
    "fees": fees.rule_versions,
    "processing": workdays.rule_versions,
    "eligibility": eligibility.rule_versions,
    "payment-methods": payments.rule_versions,
}


def rules_in_force(on: date | None = None) -> dict[str, date]:
    """Rule file → the `effective_from` of its version in force on `on` (default: today)."""
    day = or_today(on)
    return {name: versions().effective_from(day) for name, versions in _RULE_FILES.items()}


def policy_version(on: date | None = None) -> str:
    """One line naming the versions in force, e.g. `checklist=2000-01-01 fees=2027-01-01 …`."""
    return " ".join(f"{name}={when.isoformat()}" for name, when in rules_in_force(on).items())
