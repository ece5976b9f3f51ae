"""The policy engine: pure rules for cases, checklists, fees, dates and eligibility.

Input: `Facts` about an applicant and a case, and the lodging date. Output: checklist items with
reasons, fee lines in integer avos, collection dates, eligibility with reasons. The rules are data
in `data/policy/*.toml`, each file in versions by `effective_from`; the version in force on the
lodging date applies. No database, no Textual, no devices: standard library, and `holidays`
(imported only when a date is computed).

The public names are listed in `_EXPORTS` with the module that defines them and loaded on first
use, so that building the command line (which only needs `clerk.domain.policy.codes`) does not
import the whole engine.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "checklists": ("ChecklistItem", "checklist"),
    "codes": (
        "CASES",
        "CHECKLIST_CODES",
        "EXEMPTIONS",
        "FEE_CODES",
        "LANGUAGES",
        "MARITAL_STATUSES",
        "NATIONALITIES",
        "PHOTO_OPTIONS",
        "REGIONS",
        "SERVICES",
        "WAIVER_CODE",
    ),
    "eligibility": (
        "Eligibility",
        "Reason",
        "card_expires",
        "hk_enrolment_eligibility",
        "needs_ordinary_residence_proof",
        "online_renewal_eligibility",
        "renewal_eligibility",
        "renewal_window_opens",
        "residence_authorisation_document_is_recent",
    ),
    "facts": ("FACT_KEYS", "Facts"),
    "fees": ("CURRENCY", "FeeLine", "Quote", "quote", "surcharge_for"),
    "inventory": ("policy_version", "rules_in_force"),
    "loader": ("PolicyDataError", "policy_dir"),
    "money": ("format_avos",),
    "payments": ("PaymentMethod", "payment_methods"),
    "surcharges": ("next_surcharge_ordinal",),
    "workdays": (
        "ClosedDay",
        "CollectionDate",
        "add_working_days",
        "closed_days",
        "collection_date",
        "is_working_day",
        "working_days_between",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
