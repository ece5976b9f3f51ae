"""The codes of the policy contract (CLI flags, `--json` keys, data files, database values).

They are stable: scripts, kiosks and stored records depend on them. The data files in
`data/policy/` may only use these codes; the loader rejects any other.
"""

from __future__ import annotations

LANGUAGES = ("zh_Hant", "pt", "en")
DEFAULT_LANGUAGE = "en"

CASES = (
    "renewal",
    "loss",
    "damage",
    "data-change",
    "to-permanent",
    "foreign-permanent-renewal",
    "former-card-replacement",
    "director-request",
)
SERVICES = ("normal", "express", "special-express")
MARITAL_STATUSES = ("single", "married", "divorced", "widowed")
REGIONS = ("macao", "mainland", "hong-kong", "taiwan", "japan", "france", "portugal", "other")
NATIONALITIES = ("chinese", "portuguese", "other")
PHOTO_OPTIONS = ("studio", "onsite", "my-photo")
EXEMPTIONS = ("unemployment", "poverty", "disability")

CHECKLIST_CODES = (
    "former-card",
    "police-loss-report",
    "residence-authorisation",
    "photo",
    "birth-certificate",
    "guardian-present",
    "parents-id-copies",
    "marriage-certificate",
    "spouse-id-copy",
    "household-registration-transcript",
    "divorce-proof",
    "spouse-death-certificate",
    "translation",
    "residence-7-years-proof",
    "residence-authorisation-7-years",
    "talent-committee-document",
    "domicile-declaration-approval",
    "ordinary-residence-proof",
    "alteration-approval",
    "director-approval",
    "exemption-form",
    "unemployment-declaration",
    "dsal-registration-receipts",
    "ias-beneficiary-card",
    "ias-disability-card",
)

FEE_CODES = (
    "application-fee",
    "former-card-replacement-fee",
    "express-service",
    "special-express-service",
    "non-presentation-surcharge",
    "former-card-non-presentation-surcharge",
    "external-service",
)
WAIVER_CODE = "exemption-waiver"
SURCHARGE_LADDER_CODE = "non-presentation-surcharge"

ELIGIBILITY_REASONS = (
    "card-does-not-expire",
    "renewal-window-not-open",
    "not-permanent",
    "under-age",
    "identity-data-change",
    "interdicted",
    "lost-card",
    "card-not-valid",
    "no-enrolment-symbol",
)


def check_choice(kind: str, value: object, valid: tuple[str, ...]) -> str:
    """`value` if it is one of `valid`, else a `UsageError` naming the valid values."""
    if isinstance(value, str) and value in valid:
        return value
    from clerk.errors import UsageError

    raise UsageError(f"unknown {kind} {value!r} (valid: {', '.join(valid)})")


def in_language(text: dict[str, str], lang: str) -> str:
    """The `lang` string of a trilingual text (`zh_Hant`, `pt` or `en`)."""
    return text[check_choice("language", lang, LANGUAGES)]
