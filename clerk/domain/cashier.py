"""The cashier: fees of a lodged application, tenders, receipts, the cash drawer, voids, refunds.

Every function that changes something owns its transaction: the change and its audit event
commit together or not at all. A payment writes its receipt number (the office's gapless daily
sequence), the receipt, the payment, its fee lines and tenders and the audit event in ONE write
transaction, so a crash at any point leaves a complete payment or none (and no gap: a rolled-back
transaction gives its number back).

Rules (the policy engine's where it has them):
- The fee lines are the policy quote of the application's stored facts on its lodging date, with
  the person's non-presentation history from the database (the row the lodging itself recorded
  is not history) and the exemption a supervisor approved (the quote's waiver line then zeroes
  the lines the policy waives). Total = the sum of the lines.
- Tenders are the policy's payment methods: one, or a split between two different methods. Cash
  asks for the amount tendered and gives change (never negative); the other methods need the
  terminal's transaction reference.
- No payment without the clerk's open drawer session of today. One open session per clerk.
- The drawer closes with a blind count by denomination: the expected amounts by tender are
  computed and shown only once the count is stored; a variance beyond the threshold needs a
  supervisor's acknowledgement (an `Approval` of kind "variance").
- A void (same business day) or a refund needs a supervisor's password at that moment, for that
  one receipt, with a reason code. Nothing is deleted: the receipt is marked void/refunded and a
  reversal payment (negative lines and tenders) is recorded in the acting clerk's drawer.

Choices made where the issue and the seeds are silent:
- Paying does not change the application's status: "paid" means it has a valid receipt
  (`valid_receipt`). A voided or refunded application can be paid again (a new receipt).
- A supervisor never approves their own void, refund, exemption or variance (four eyes).
- An exemption that waives everything still gives a receipt (total 0, no tender): the applicant
  needs its barcode to collect the card.
- Cash change must stay below the largest note (MOP 1000): more is a typing mistake.
- The float is typed as an amount; the closing count is by denomination.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import func, select

from clerk.domain import audit, policy
from clerk.domain.approvals import (
    check_four_eyes,
    close_request,
    open_request,
    pending_request,
    withdraw_requests,
)
from clerk.domain.auth import confirm_supervisor, require_role
from clerk.domain.clock import to_local, utcnow
from clerk.domain.codes import SUPERVISORS
from clerk.domain.identity import visible
from clerk.domain.models import (
    Applicant,
    Application,
    Approval,
    AuditHead,
    CashMovement,
    Counter,
    DrawerSession,
    IssuedCard,
    NonPresentation,
    Office,
    Payment,
    PaymentLine,
    Receipt,
    Tender,
    User,
)
from clerk.domain.office import get_office
from clerk.domain.receipts import MAX_SEQUENCE, check_receipt_number, make_receipt_number
from clerk.domain.sequences import next_number
from clerk.errors import Failure, NotFound, Refused, UsageError
from clerk.i18n import N_, _

if TYPE_CHECKING:
    from sqlmodel import Session

    from clerk.context import Context
    from clerk.documents.receipt import ReceiptData
    from clerk.documents.z_report import ZReportData
    from clerk.domain.auth import Actor
    from clerk.domain.policy import Facts, PaymentMethod

CASHIER_ROLES = ("clerk", "supervisor")  # an administrator is IT, not a cashier
READ_ROLES = ("clerk", "supervisor", "admin")
PAYABLE = ("lodged", "in-production", "ready")
MAX_TENDERS = 2
MAX_REFERENCE = 40
MAX_REASON = 200
MAX_COUNT = 100_000  # pieces of one denomination
MAX_AMOUNT_AVOS = 10_000_000  # MOP 100,000: anything above is a typing mistake
REVERSALS = ("void", "refund")
REVERSED_STATUS = {"void": "void", "refund": "refunded"}
LANGS = ("zh_Hant", "pt", "en")

DEFAULT_VOID_REASONS = ("wrong-amount", "wrong-applicant", "wrong-tender", "duplicate")
DEFAULT_REFUND_REASONS = (
    "application-withdrawn",
    "overcharged",
    "exemption-approved-later",
    "duplicate",
)
REASON_LABELS = {
    "wrong-amount": N_("Wrong amount"),
    "wrong-applicant": N_("Wrong applicant"),
    "wrong-tender": N_("Wrong payment method"),
    "duplicate": N_("Paid twice"),
    "application-withdrawn": N_("Application withdrawn"),
    "overcharged": N_("Overcharged"),
    "exemption-approved-later": N_("Exemption approved after payment"),
}
HQ_ADDRESS = "Avenida da Praia Grande, n.º 804, Edifício China Plaza, 1.º andar, Macau"


def reason_label(code: str) -> str:
    return _(REASON_LABELS[code]) if code in REASON_LABELS else code


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CashierSettings:
    """`[cashier]` in config.toml (every key optional)."""

    variance_threshold_avos: int = 1000  # |counted − expected| above this needs a supervisor
    void_reasons: tuple[str, ...] = DEFAULT_VOID_REASONS
    refund_reasons: tuple[str, ...] = DEFAULT_REFUND_REASONS
    max_float_avos: int = 1_000_000  # MOP 10,000
    collection_address: str = HQ_ADDRESS  # printed on the receipt under "where to collect"

    def reasons(self, kind: str) -> tuple[str, ...]:
        return self.void_reasons if kind == "void" else self.refund_reasons


def _codes(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    codes = tuple(c.strip() for c in value or () if c.strip())
    return codes or default


def settings(ctx: Context) -> CashierSettings:
    """The cashier settings of the config (`ctx.config.cashier`), defaults where absent."""
    section = getattr(ctx.config, "cashier", None)
    base = CashierSettings()
    if section is None:
        return base
    threshold = getattr(section, "variance_threshold_avos", base.variance_threshold_avos)
    max_float = getattr(section, "max_float_avos", base.max_float_avos)
    return CashierSettings(
        variance_threshold_avos=max(0, int(threshold)),
        void_reasons=_codes(getattr(section, "void_reasons", None), base.void_reasons),
        refund_reasons=_codes(getattr(section, "refund_reasons", None), base.refund_reasons),
        max_float_avos=max(0, int(max_float)),
        collection_address=getattr(section, "collection_address", "") or base.collection_address,
    )


# --- money in and out of text -------------------------------------------------------------------

_AMOUNT = re.compile(r"^(?P<whole>\d{1,9})(?:\.(?P<cents>\d{1,2}))?$")


def parse_amount(text: str | int, what: str = "") -> int:
    """Avos from `90`, `90.5`, `90.50`, `MOP 1,000` (full-width digits too); never a float."""
    if isinstance(text, int) and not isinstance(text, bool):
        avos = text
    else:
        raw = unicodedata.normalize("NFKC", str(text or ""))
        cleaned = re.sub(r"(?i)mop|\$|,|\s", "", raw)
        found = _AMOUNT.match(cleaned)
        label = what or _("Amount")
        if not cleaned:
            raise UsageError(_("{what}: type an amount, e.g. 90 or 90.50.").format(what=label))
        if found is None:
            raise UsageError(
                _("{what}: {text} is not an amount in patacas (e.g. 90 or 90.50).").format(
                    what=label, text=" ".join(raw.split())
                )
            )
        avos = int(found["whole"]) * 100 + int((found["cents"] or "0").ljust(2, "0"))
    if avos < 0 or avos > MAX_AMOUNT_AVOS:
        raise UsageError(
            _("{what}: MOP {amount} is out of range.").format(
                what=what or _("Amount"), amount=policy.format_avos(avos)
            )
        )
    return avos


def _clean(text: str, limit: int) -> str:
    return " ".join(visible(text).split())[:limit]


# --- denominations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Denomination:
    kind: str  # note | coin
    avos: int

    @property
    def label(self) -> str:
        """ "1000", "0.50": as printed on the piece."""
        return policy.format_avos(self.avos).removesuffix(".00")

    @property
    def code(self) -> str:
        """ "note-1000", "coin-0.50": the key of a count."""
        return f"{self.kind}-{self.label}"


# MOP notes 1000, 500, 100, 50, 20, 10; coins 10, 5, 2, 1, 0.50, 0.20, 0.10 (in avos)
DENOMINATIONS = tuple(
    [Denomination("note", a) for a in (100000, 50000, 10000, 5000, 2000, 1000)]
    + [Denomination("coin", a) for a in (1000, 500, 200, 100, 50, 20, 10)]
)
LARGEST_NOTE_AVOS = DENOMINATIONS[0].avos


def count_total(counts: Mapping[str, int]) -> int:
    by_code = {d.code: d.avos for d in DENOMINATIONS}
    return sum(by_code[code] * n for code, n in counts.items())


def check_counts(counts: Mapping[str, int | str]) -> dict[str, int]:
    """Every denomination's count (missing ones are 0); a bad one is a `UsageError`."""
    known = {d.code for d in DENOMINATIONS}
    unknown = sorted(repr(code) for code in set(counts) - known)
    if unknown:
        raise UsageError(
            f"unknown denomination {', '.join(unknown)} (valid: "
            f"{', '.join(d.code for d in DENOMINATIONS)})"
        )
    checked: dict[str, int] = {}
    for d in DENOMINATIONS:
        value = counts.get(d.code, 0)
        if isinstance(value, str):
            text = unicodedata.normalize("NFKC", value).strip() or "0"
            value = int(text) if text.isascii() and text.isdigit() and len(text) < 9 else -1
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
            raise UsageError(
                _("{what}: the count must be a whole number from 0 to {max}.").format(
                    what=d.code, max=MAX_COUNT
                )
            )
        checked[d.code] = value
    return checked


# --- tenders (pure) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderInput:
    """What the clerk typed for one tender. `amount_avos` None: the rest of the amount due."""

    method: str
    amount_avos: int | None = None
    tendered_avos: int | None = None  # cash handed over (None: exactly the amount)
    reference: str = ""  # the terminal's transaction reference (non-cash)


@dataclass(frozen=True)
class SettledTender:
    method: str
    amount_avos: int
    tendered_avos: int | None
    reference: str
    is_cash: bool

    @property
    def change_avos(self) -> int:
        return (self.tendered_avos - self.amount_avos) if self.tendered_avos is not None else 0


@dataclass(frozen=True)
class Settlement:
    total_avos: int
    tenders: tuple[SettledTender, ...]

    @property
    def change_avos(self) -> int:
        return sum(t.change_avos for t in self.tenders)


def _money(avos: int) -> str:
    return policy.format_avos(avos)


def _amounts(total: int, tenders: Sequence[TenderInput]) -> list[int]:
    open_ = [i for i, t in enumerate(tenders) if t.amount_avos is None]
    if len(open_) > 1:
        raise UsageError(_("Type the amount of the first tender of a split."))
    fixed = sum(t.amount_avos or 0 for t in tenders)
    amounts = [t.amount_avos if t.amount_avos is not None else total - fixed for t in tenders]
    for amount in amounts:
        if amount is None or amount <= 0:
            raise UsageError(
                _("Each tender must pay part of the MOP {total} due.").format(total=_money(total))
            )
    if sum(amounts) != total:
        raise UsageError(
            _("The tenders add up to MOP {paid}; MOP {total} is due.").format(
                paid=_money(sum(amounts)), total=_money(total)
            )
        )
    return amounts


def settle(
    total_avos: int, tenders: Sequence[TenderInput], methods: Mapping[str, PaymentMethod]
) -> Settlement:
    """Check the tenders against the amount due and work out the change (pure)."""
    if total_avos < 0:
        raise Failure(f"a negative amount due ({total_avos} avos) is a bug in the fee lines")
    if total_avos == 0:
        if tenders:
            raise UsageError(_("Nothing is due: no tender is taken."))
        return Settlement(0, ())
    if not tenders:
        raise UsageError(_("Choose how the applicant pays."))
    if len(tenders) > MAX_TENDERS:
        raise UsageError(_("A payment is split between two methods at most."))
    codes = [t.method for t in tenders]
    for code in codes:
        if code not in methods:
            raise UsageError(
                _("Unknown payment method {code} (valid: {valid}).").format(
                    code=code, valid=", ".join(methods)
                )
            )
    if len(set(codes)) != len(codes):
        raise UsageError(_("A split tender uses two different methods."))
    settled = []
    for tender, amount in zip(tenders, _amounts(total_avos, tenders), strict=True):
        method = methods[tender.method]
        if method.is_cash:
            tendered = amount if tender.tendered_avos is None else tender.tendered_avos
            if tendered < amount:
                raise UsageError(
                    _("Cash tendered MOP {tendered} is less than the MOP {amount} due in cash.")
                    .format(tendered=_money(tendered), amount=_money(amount))
                )  # fmt: skip
            if tendered - amount >= LARGEST_NOTE_AVOS:
                raise UsageError(
                    _("Change of MOP {change}? Check the amount tendered.").format(
                        change=_money(tendered - amount)
                    )
                )
            settled.append(SettledTender(method.code, amount, tendered, "", True))
            continue
        reference = _clean(tender.reference, MAX_REFERENCE + 1)
        if not reference:
            raise UsageError(
                _("{method}: type the terminal's transaction reference.").format(
                    method=method.label_for("en")
                )
            )
        if len(reference) > MAX_REFERENCE or not reference.isprintable():
            raise UsageError(
                _("The terminal reference is at most {n} printable characters.").format(
                    n=MAX_REFERENCE
                )
            )
        settled.append(SettledTender(method.code, amount, None, reference, False))
    return Settlement(total_avos, tuple(settled))


def methods_on(day: date) -> dict[str, PaymentMethod]:
    return {m.code: m for m in policy.payment_methods(day)}


# --- plain results ------------------------------------------------------------------------------


class Labelled:
    """A thing with a label in each language (`labels`: language → text)."""

    labels: dict[str, str]

    def label_for(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en", "")


@dataclass(frozen=True)
class FeeLineView(Labelled):
    code: str
    labels: dict[str, str]  # by language
    amount_avos: int
    waived: bool = False  # the exemption's waiver line


@dataclass(frozen=True)
class MethodView(Labelled):
    code: str
    labels: dict[str, str]
    is_cash: bool
    needs_reference: bool


@dataclass(frozen=True)
class ExemptionView:
    claimed: str | None  # the kind marked at intake (the application's facts)
    kind: str | None  # the kind of the latest decision
    status: str  # none | approved | refused
    decided_by: str = ""
    approval_id: int | None = None
    # kind → the evidence items the policy's checklist adds for it (titles by language)
    evidence: dict[str, tuple[dict[str, str], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceiptRow:
    id: int
    number: str
    application: str
    total_avos: int
    status: str
    issued_at: datetime
    printed_count: int
    clerk: str
    counter: int | None


@dataclass(frozen=True)
class Due:
    """What the payment screen shows for one application."""

    application_id: int
    number: str
    status: str
    name_zh: str
    name_latin: str
    id_number: str
    case: str
    service_level: str
    external_service: bool
    lodged_on: date | None
    promised_on: date | None
    lines: tuple[FeeLineView, ...]
    total_avos: int
    exemption: ExemptionView
    methods: tuple[MethodView, ...]
    receipt: ReceiptRow | None  # the valid receipt when already paid

    @property
    def paid(self) -> bool:
        return self.receipt is not None


@dataclass(frozen=True)
class Paid:
    receipt_id: int
    receipt_number: str
    application_id: int
    total_avos: int
    change_avos: int
    tenders: tuple[SettledTender, ...]


@dataclass(frozen=True)
class DrawerView:
    """A drawer session as the clerk sees it while it is open: no amounts beyond the float
    (the count is blind)."""

    id: int
    status: str  # open | counted | closed
    username: str
    counter: int | None
    day: date
    opened_at: datetime
    float_avos: int
    payments: int
    reversals: int
    movements: int


@dataclass(frozen=True)
class ExpectedLine(Labelled):
    method: str
    labels: dict[str, str]
    expected_avos: int
    counted_avos: int | None  # cash only


@dataclass(frozen=True)
class CountResult:
    """Revealed after the blind count is stored."""

    session_id: int
    status: str  # closed | counted (awaits the supervisor's acknowledgement)
    counted_avos: int
    expected: tuple[ExpectedLine, ...]
    expected_cash_avos: int
    variance_avos: int
    threshold_avos: int
    needs_acknowledgement: bool


@dataclass(frozen=True)
class Printed:
    number: str
    copy: bool
    where: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Rendered:
    number: str
    pdf: bytes
    copy: bool
    warnings: tuple[str, ...]


# --- lookups ------------------------------------------------------------------------------------


def _counter_id(s: Session, office_id: int, number: int | None) -> int | None:
    if number is None:
        return None
    return s.exec(
        select(Counter.id).where(Counter.office_id == office_id, Counter.number == number)
    ).first()


def _application(s: Session, app_id: int, *, lock: bool) -> Application:
    query = select(Application).where(Application.id == app_id)
    app = s.exec(query.with_for_update() if lock else query).first()
    if app is None:
        raise NotFound(_("There is no application {id}.").format(id=app_id))
    return app


def find_application(ctx: Context, number: str) -> int:
    """The id of the application with this number (typed or scanned; NFKC)."""
    text = "".join(unicodedata.normalize("NFKC", number or "").split())
    if not text:
        raise UsageError(_("Type the application number."))
    with ctx.db.read() as s:
        found = s.exec(select(Application.id).where(Application.number == text)).first()
    if found is None:
        raise NotFound(_("There is no application {number}.").format(number=text))
    return found


def _valid_receipt(s: Session, app_id: int, kind: str = "fee") -> Receipt | None:
    """The application's newest valid receipt of `kind` (fee: the one that collects the card)."""
    return s.exec(
        select(Receipt)
        .where(Receipt.application_id == app_id, Receipt.status == "valid", Receipt.kind == kind)
        .order_by(Receipt.id.desc())
    ).first()


def valid_receipt(ctx: Context, app_id: int) -> str | None:
    """The number of the application's valid receipt (None: not paid)."""
    with ctx.db.read() as s:
        receipt = _valid_receipt(s, app_id)
        return receipt.number if receipt else None


def _payable(s: Session, app_id: int, *, lock: bool = True) -> Application:
    app = _application(s, app_id, lock=lock)
    if app.status not in PAYABLE:
        raise Refused(
            _("Application {number} is {status}: only a lodged application is paid.").format(
                number=app.number or app.id, status=app.status
            )
        )
    receipt = _valid_receipt(s, app.id)
    if receipt is not None:
        raise Refused(
            _("Application {number} is already paid: receipt {receipt}.").format(
                number=app.number, receipt=receipt.number
            )
        )
    return app


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _stored_facts(app: Application) -> dict[str, Any]:
    stored = json.loads(app.facts_json or "{}")
    base = {
        "case": app.case,
        "service": app.service_level,
        "external_service": app.external_service,
    }
    return {**base, **stored}


def _facts(s: Session, app: Application, on: date) -> Facts:
    """The application's facts (exemption left out) with the person's surcharge history."""
    stored = _stored_facts(app)
    for key in ("prior_surcharges", "prior_surcharge_dates", "first_issued_2023_card", "age"):
        stored.pop(key, None)
    stored["exemption"] = None
    facts = policy.Facts.from_mapping(stored)
    person = s.get(Applicant, app.applicant_id) if app.applicant_id else None
    if person is None:
        return facts
    dates = s.exec(
        select(NonPresentation.occurred_on)
        .where(
            NonPresentation.applicant_id == person.id,
            NonPresentation.occurred_on <= on,
            (NonPresentation.application_id.is_(None)) | (NonPresentation.application_id != app.id),
        )
        .order_by(NonPresentation.occurred_on)
        .limit(500)
    ).all()
    first_2023 = (
        person.first_2023_card_issued_on
        or s.exec(
            select(func.min(IssuedCard.issued_on)).where(
                IssuedCard.applicant_id == person.id, IssuedCard.version == "2023"
            )
        ).first()
    )
    return facts.with_changes(
        age=_age_on(person.date_of_birth, on) if person.date_of_birth else None,
        prior_surcharges=0,
        prior_surcharge_dates=tuple(dates),
        first_issued_2023_card=first_2023,
    )


def _exemption_decision(s: Session, app_id: int) -> Approval | None:
    return s.exec(
        select(Approval)
        .where(
            Approval.kind == "exemption",
            Approval.subject_type == "application",
            Approval.subject_id == app_id,
            Approval.status.in_(("approved", "refused")),
        )
        .order_by(Approval.id.desc())
    ).first()


def _exemption_kind(approval: Approval | None) -> str | None:
    if approval is None:
        return None
    return json.loads(approval.detail or "{}").get("exemption")


def _lodged_on(app: Application, today: date) -> date:
    return app.lodged_on or today


def fee_lines(
    s: Session, app: Application, today: date
) -> tuple[list[FeeLineView], Approval | None]:
    """The fee lines of `app` (inside the caller's transaction) and the approved exemption
    they apply, if any: the policy's quote on the lodging date."""
    on = _lodged_on(app, today)
    facts = _facts(s, app, on)
    decision = _exemption_decision(s, app.id)
    approved = decision if decision is not None and decision.status == "approved" else None
    quote = policy.quote(facts.with_changes(exemption=_exemption_kind(approved)), on)
    lines = [
        FeeLineView(line.code, dict(line.label), line.amount_avos, line.code == policy.WAIVER_CODE)
        for line in quote.lines
    ]
    return lines, approved


def _evidence(facts: Facts, on: date) -> dict[str, tuple[dict[str, str], ...]]:
    base = {item.code for item in policy.checklist(facts.with_changes(exemption=None), on)}
    return {
        kind: tuple(
            dict(item.title)
            for item in policy.checklist(facts.with_changes(exemption=kind), on)
            if item.code not in base
        )
        for kind in policy.EXEMPTIONS
    }


def _receipt_rows(s: Session, query) -> list[ReceiptRow]:
    return [ReceiptRow(*row) for row in s.exec(query).all()]


def _receipts_query():
    return (
        select(
            Receipt.id,
            Receipt.number,
            func.coalesce(Application.number, ""),
            Receipt.total_avos,
            Receipt.status,
            Receipt.issued_at,
            Receipt.printed_count,
            func.coalesce(User.username, ""),
            Counter.number,
        )
        .outerjoin(Application, Application.id == Receipt.application_id)
        .outerjoin(User, User.id == Receipt.user_id)
        .outerjoin(Counter, Counter.id == Receipt.counter_id)
    )


# --- the amount due -----------------------------------------------------------------------------


def payment_due(ctx: Context, actor: Actor, app_id: int) -> Due:
    """The fee lines, the total, the exemption's state and the tenders of an application."""
    require_role(actor, *READ_ROLES)
    today = ctx.today()
    with ctx.db.read() as s:
        app = _application(s, app_id, lock=False)
        if app.status == "draft":
            raise Refused(_("Application {id} is not lodged yet.").format(id=app.id))
        person = s.get(Applicant, app.applicant_id) if app.applicant_id else None
        on = _lodged_on(app, today)
        lines, _approved = fee_lines(s, app, today)
        decision = _exemption_decision(s, app.id)
        decider = s.get(User, decision.decided_by) if decision and decision.decided_by else None
        facts = _facts(s, app, on)
        claimed = _stored_facts(app).get("exemption")
        receipt = _valid_receipt(s, app.id)
        receipt_row = None
        if receipt is not None:
            receipt_row = _receipt_rows(s, _receipts_query().where(Receipt.id == receipt.id))[0]
    exemption = ExemptionView(
        claimed=claimed if claimed in policy.EXEMPTIONS else None,
        kind=_exemption_kind(decision),
        status=decision.status if decision else "none",
        decided_by=(decider.full_name or decider.username) if decider else "",
        approval_id=decision.id if decision else None,
        evidence=_evidence(facts, on),
    )
    methods = tuple(
        MethodView(m.code, dict(m.label), m.is_cash, m.needs_reference)
        for m in policy.payment_methods(today)
    )
    return Due(
        application_id=app.id,
        number=app.number or "",
        status=app.status,
        name_zh=person.name_zh if person else "",
        name_latin=person.name_latin if person else "",
        id_number=person.id_number if person else "",
        case=app.case,
        service_level=app.service_level,
        external_service=app.external_service,
        lodged_on=app.lodged_on,
        promised_on=app.promised_on,
        lines=tuple(lines),
        total_avos=sum(line.amount_avos for line in lines),
        exemption=exemption,
        methods=methods,
        receipt=receipt_row,
    )


# --- supervisors at the counter -----------------------------------------------------------------


def _approver(ctx: Context, actor: Actor, supervisor: str, password: str) -> Actor:
    """The supervisor who types their password at the clerk's counter (never the clerk)."""
    if not (supervisor or "").strip() or not password:
        raise UsageError(_("The supervisor types their user name and password."))
    approver = confirm_supervisor(
        ctx, supervisor, password, counter=actor.counter, terminal=actor.terminal
    )
    if approver.user_id == actor.user_id:
        raise Refused(_("Another supervisor must approve: nobody approves their own request."))
    return approver


def _approval(
    kind: str,
    status: str,
    subject_type: str,
    subject_id: int,
    detail: dict[str, Any],
    reason: str,
    requested_by: int | None,
    decided_by: int | None,
) -> Approval:
    now = utcnow()
    return Approval(
        kind=kind,
        status=status,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=json.dumps(detail, sort_keys=True, ensure_ascii=False),
        reason=reason,
        requested_by=requested_by,
        requested_at=now,
        decided_by=decided_by,
        decided_at=now,
    )


def decide_exemption(
    ctx: Context,
    actor: Actor,
    app_id: int,
    kind: str,
    supervisor: str,
    password: str,
    *,
    approve: bool,
    reason: str = "",
) -> ExemptionView:
    """The clerk marked a fee exemption claim; a supervisor approves or refuses it at the
    counter (their password now). The latest decision applies to the fee lines."""
    require_role(actor, *CASHIER_ROLES)
    kind = policy.codes.check_choice("exemption", kind, policy.EXEMPTIONS)
    reason = _clean(reason, MAX_REASON)
    with ctx.db.read() as s:
        _payable(s, app_id, lock=False)
    approver = _approver(ctx, actor, supervisor, password)
    exemption_decided(ctx, actor, approver, app_id, kind, approve=approve, reason=reason)
    return payment_due(ctx, actor, app_id).exemption


def _decided(
    s: Session,
    request: Approval | None,
    kind: str,
    status: str,
    subject: tuple[str, int],
    detail: dict[str, Any],
    reason: str,
    requested_by: int | None,
    approver: Actor,
) -> Approval:
    """The approval that records a supervisor's decision: the request that waited for it
    (closed now, once), or a new one when nothing was asked before (decided at the counter)."""
    if request is not None:
        check_four_eyes(request.requested_by, approver)
        return close_request(s, request, status, approver.user_id, reason, detail)
    check_four_eyes(requested_by, approver)
    approval = _approval(kind, status, *subject, detail, reason, requested_by, approver.user_id)
    s.add(approval)
    s.flush()
    return approval


def _request(s: Session, request_id: int | None, kinds: tuple[str, ...], subject: tuple[str, int]):
    """The pending request a decision closes: the one named (from the supervisor's inbox), else
    the subject's own pending request, if any."""
    if request_id is None:
        return pending_request(s, kinds, *subject)
    row = s.exec(select(Approval).where(Approval.id == request_id).with_for_update()).first()
    if row is None or row.kind not in kinds or (row.subject_type, row.subject_id) != subject:
        raise NotFound(_("There is no such request {id}.").format(id=request_id))
    return row


def exemption_decided(
    ctx: Context,
    actor: Actor,
    approver: Actor,
    app_id: int,
    kind: str,
    *,
    approve: bool,
    reason: str = "",
    request: int | None = None,
) -> int:
    """Record a supervisor's decision on an application's exemption (the approver already
    proved who they are: a password at the counter, or their own login at the desk); closes
    the application's pending exemption request. Returns the approval id."""
    require_role(approver, *SUPERVISORS)
    kind = policy.codes.check_choice("exemption", kind, policy.EXEMPTIONS)
    reason = _clean(reason, MAX_REASON)
    status = "approved" if approve else "refused"
    with ctx.db.write() as s:
        app = _payable(s, app_id)
        subject = ("application", app.id)
        approval = _decided(
            s,
            _request(s, request, ("exemption",), subject),
            "exemption",
            status,
            subject,
            {"exemption": kind, "application": app.number},
            reason,
            actor.user_id,
            approver,
        )
        audit.append(
            s,
            ctx.audit_key,
            actor,
            f"payment.exemption-{status}",
            subject_type="application",
            subject_id=app.id,
            after={
                "exemption": kind,
                "approval": approval.id,
                "supervisor": approver.username,
                "reason": reason,
            },
        )
        return approval.id


# --- drawer -------------------------------------------------------------------------------------


def _my_session(s: Session, actor: Actor, *, lock: bool = False) -> DrawerSession | None:
    query = (
        select(DrawerSession)
        .where(
            DrawerSession.user_id == actor.user_id,
            DrawerSession.status.in_(("open", "counted")),
        )
        .order_by(DrawerSession.id.desc())
    )
    return s.exec(query.with_for_update() if lock else query).first()


def _open_session(s: Session, actor: Actor, day: date, *, lock: bool = True) -> DrawerSession:
    session = _my_session(s, actor, lock=lock)
    if session is None or session.status != "open":
        raise Refused(_("Open your cash drawer first (count the float): no payment without it."))
    if session.day != day:
        raise Refused(
            _("Your drawer of {day} is still open: count and close it before taking money today.")
            .format(day=session.day.isoformat())
        )  # fmt: skip
    return session


def _drawer_view(s: Session, session: DrawerSession) -> DrawerView:
    user = s.get(User, session.user_id)
    counter = s.get(Counter, session.counter_id) if session.counter_id else None
    kinds = dict(
        s.exec(
            select(Payment.kind, func.count())
            .where(Payment.drawer_session_id == session.id)
            .group_by(Payment.kind)
        ).all()
    )
    movements = s.exec(
        select(func.count())
        .select_from(CashMovement)
        .where(CashMovement.drawer_session_id == session.id)
    ).one()
    return DrawerView(
        id=session.id,
        status=session.status,
        username=user.username if user else "",
        counter=counter.number if counter else None,
        day=session.day,
        opened_at=session.opened_at,
        float_avos=session.float_avos,
        payments=kinds.get("payment", 0),
        reversals=kinds.get("reversal", 0),
        movements=movements,
    )


def current_drawer(ctx: Context, actor: Actor) -> DrawerView | None:
    """The clerk's drawer session that is open or awaits the supervisor (None: none)."""
    require_role(actor, *CASHIER_ROLES)
    with ctx.db.read() as s:
        session = _my_session(s, actor)
        return _drawer_view(s, session) if session else None


def open_drawer(ctx: Context, actor: Actor, float_avos: int | str) -> DrawerView:
    """Open the clerk's drawer session with the float they counted."""
    require_role(actor, *CASHIER_ROLES)
    amount = parse_amount(float_avos, _("Float"))
    limit = settings(ctx).max_float_avos
    if amount > limit:
        raise UsageError(
            _("A float of MOP {amount} is above the MOP {limit} allowed.").format(
                amount=_money(amount), limit=_money(limit)
            )
        )
    day = ctx.today()
    with ctx.db.write() as s:
        s.exec(select(User.id).where(User.id == actor.user_id).with_for_update()).first()
        existing = _my_session(s, actor)
        if existing is not None:
            raise Refused(
                _("Your drawer of {day} is already open.").format(day=existing.day.isoformat())
            )
        office = get_office(s, ctx)
        session = DrawerSession(
            office_id=office.id,
            user_id=actor.user_id,
            counter_id=_counter_id(s, office.id, actor.counter),
            day=day,
            float_avos=amount,
        )
        s.add(session)
        s.flush()
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "drawer.open",
            subject_type="drawersession",
            subject_id=session.id,
            after={"float_avos": amount, "day": day.isoformat()},
        )
        return _drawer_view(s, session)


def cash_movement(
    ctx: Context, actor: Actor, kind: str, amount: int | str, reason: str
) -> DrawerView:
    """Cash put into (`in`) or taken out of (`out`) the open drawer, with a reason."""
    require_role(actor, *CASHIER_ROLES)
    if kind not in ("in", "out"):
        raise UsageError(f"a cash movement is in or out, not {kind!r}")
    avos = parse_amount(amount)
    if avos == 0:
        raise UsageError(_("Type the amount of cash moved."))
    reason = _clean(reason, MAX_REASON)
    if not reason:
        raise UsageError(_("Say why the cash is moved (kept with the drawer)."))
    with ctx.db.write() as s:
        session = _open_session(s, actor, ctx.today())
        movement = CashMovement(
            drawer_session_id=session.id,
            kind=kind,
            amount_avos=avos,
            reason=reason,
            user_id=actor.user_id,
        )
        s.add(movement)
        s.flush()
        audit.append(
            s,
            ctx.audit_key,
            actor,
            f"drawer.cash-{kind}",
            subject_type="drawersession",
            subject_id=session.id,
            after={"amount_avos": avos, "reason": reason, "movement": movement.id},
        )
        return _drawer_view(s, session)


def drawer_expected(s: Session, session: DrawerSession) -> tuple[dict[str, int], int]:
    """(tender method → amount taken in this session, expected cash in the drawer), inside the
    caller's transaction."""
    by_method = dict(
        s.exec(
            select(Tender.method, func.sum(Tender.amount_avos))
            .join(Payment, Payment.id == Tender.payment_id)
            .where(Payment.drawer_session_id == session.id)
            .group_by(Tender.method)
        ).all()
    )
    moved = dict(
        s.exec(
            select(CashMovement.kind, func.sum(CashMovement.amount_avos))
            .where(CashMovement.drawer_session_id == session.id)
            .group_by(CashMovement.kind)
        ).all()
    )
    cash_codes = [m.code for m in policy.payment_methods(session.day) if m.is_cash]
    cash = sum(int(by_method.get(code, 0)) for code in cash_codes)
    expected_cash = session.float_avos + int(moved.get("in", 0)) - int(moved.get("out", 0)) + cash
    return {k: int(v) for k, v in by_method.items()}, expected_cash


def _count_result(session: DrawerSession, threshold: int) -> CountResult:
    stored = json.loads(session.expected_json or "{}")
    methods = {m.code: m for m in policy.payment_methods(session.day)}
    lines = []
    for code, amount in stored.get("tenders", {}).items():
        method = methods.get(code)
        labels = dict(method.label) if method else {"en": code}
        is_cash = bool(method and method.is_cash)
        lines.append(ExpectedLine(code, labels, amount, session.counted_avos if is_cash else None))
    variance = session.variance_avos or 0
    return CountResult(
        session_id=session.id,
        status=session.status,
        counted_avos=session.counted_avos or 0,
        expected=tuple(lines),
        expected_cash_avos=session.expected_avos or 0,
        variance_avos=variance,
        threshold_avos=threshold,
        needs_acknowledgement=session.status == "counted",
    )


def count_drawer(ctx: Context, actor: Actor, counts: Mapping[str, int | str]) -> CountResult:
    """Store the clerk's blind count by denomination; only then are the expected amounts by
    tender computed and returned. Within the threshold the session closes; beyond it, it waits
    for a supervisor's acknowledgement (`acknowledge_variance`). No recount after this."""
    require_role(actor, *CASHIER_ROLES)
    checked = check_counts(counts)
    counted = count_total(checked)
    threshold = settings(ctx).variance_threshold_avos
    now = utcnow()
    with ctx.db.write() as s:
        session = _my_session(s, actor, lock=True)
        if session is None or session.status != "open":
            raise Refused(_("There is no open drawer to count."))
        by_method, expected_cash = drawer_expected(s, session)
        for method in policy.payment_methods(session.day):
            if method.is_cash:
                by_method.setdefault(method.code, 0)
        session.count_json = json.dumps(checked, sort_keys=True)
        session.counted_avos = counted
        session.counted_at = now
        session.expected_avos = expected_cash
        session.expected_json = json.dumps({"tenders": by_method, "cash": expected_cash})
        session.variance_avos = counted - expected_cash
        within = abs(session.variance_avos) <= threshold
        session.status = "closed" if within else "counted"
        session.closed_at = now if within else None
        if not within:  # the supervisor's inbox lists it until somebody acknowledges it
            session.approval_id = open_request(
                s,
                "variance",
                "drawersession",
                session.id,
                {"variance_avos": session.variance_avos, "expected_avos": expected_cash},
                actor.user_id,
            ).id
        s.add(session)
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "drawer.count",
            subject_type="drawersession",
            subject_id=session.id,
            after={
                "counted_avos": counted,
                "expected_cash_avos": expected_cash,
                "variance_avos": session.variance_avos,
                "status": session.status,
            },
        )
        return _count_result(session, threshold)


def acknowledge_variance(
    ctx: Context, actor: Actor, supervisor: str, password: str, reason: str = ""
) -> CountResult:
    """A supervisor acknowledges the clerk's counted variance (their password now); the
    session closes."""
    require_role(actor, *CASHIER_ROLES)
    reason = _clean(reason, MAX_REASON)
    if not reason:
        raise UsageError(_("Say why the drawer is out (kept with the approval)."))
    with ctx.db.read() as s:
        if (session := _my_session(s, actor)) is None or session.status != "counted":
            raise Refused(_("No counted drawer waits for a supervisor."))
        session_id = session.id
    approver = _approver(ctx, actor, supervisor, password)
    return variance_acknowledged(ctx, actor, approver, session_id, reason)


def variance_acknowledged(
    ctx: Context,
    actor: Actor,
    approver: Actor,
    session_id: int,
    reason: str,
    *,
    request: int | None = None,
) -> CountResult:
    """Record a supervisor's acknowledgement of a counted drawer's variance (the approver
    already proved who they are) and close the session and its variance request."""
    require_role(approver, *SUPERVISORS)
    reason = _clean(reason, MAX_REASON)
    if not reason:
        raise UsageError(_("Say why the drawer is out (kept with the approval)."))
    threshold = settings(ctx).variance_threshold_avos
    with ctx.db.write() as s:
        session = s.exec(
            select(DrawerSession).where(DrawerSession.id == session_id).with_for_update()
        ).first()
        if session is None or session.status != "counted":
            raise Refused(_("No counted drawer waits for a supervisor."))
        subject = ("drawersession", session.id)
        approval = _decided(
            s,
            _request(s, request, ("variance",), subject),
            "variance",
            "approved",
            subject,
            {"variance_avos": session.variance_avos, "expected_avos": session.expected_avos},
            reason,
            session.user_id,
            approver,
        )
        session.approval_id = approval.id
        session.status = "closed"
        session.closed_at = utcnow()
        s.add(session)
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "drawer.variance-acknowledged",
            subject_type="drawersession",
            subject_id=session.id,
            after={
                "variance_avos": session.variance_avos,
                "approval": approval.id,
                "supervisor": approver.username,
                "reason": reason,
            },
        )
        return _count_result(session, threshold)


def last_session_id(ctx: Context, actor: Actor) -> int | None:
    """The clerk's newest drawer session (open or not)."""
    require_role(actor, *READ_ROLES)
    with ctx.db.read() as s:
        return s.exec(
            select(DrawerSession.id)
            .where(DrawerSession.user_id == actor.user_id)
            .order_by(DrawerSession.id.desc())
        ).first()


def sessions_of_day(
    ctx: Context, actor: Actor, day: date | None = None
) -> list[tuple[int, str, str, int]]:
    """(session id, username, status, variance or 0) of the office's drawers on `day`
    (supervisors and administrators)."""
    require_role(actor, "supervisor", "admin")
    day = day or ctx.today()
    with ctx.db.read() as s:
        office = get_office(s, ctx)
        rows = s.exec(
            select(
                DrawerSession.id,
                User.username,
                DrawerSession.status,
                func.coalesce(DrawerSession.variance_avos, 0),
            )
            .join(User, User.id == DrawerSession.user_id)
            .where(DrawerSession.office_id == office.id, DrawerSession.day == day)
            .order_by(DrawerSession.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


# --- payment ------------------------------------------------------------------------------------


def record_payment(
    s: Session,
    ctx: Context,
    actor: Actor,
    app: Application,
    drawer: DrawerSession,
    tenders: Sequence[TenderInput],
    *,
    day: date,
    at: datetime,
    expected_total_avos: int | None = None,
) -> Paid:
    """The payment of `app` inside the caller's write transaction (the demo records past days
    with it); `take_payment` is the service."""
    lines, approved = fee_lines(s, app, day)
    # an exemption still waiting for a supervisor is moot once the fee is paid without it
    withdraw_requests(s, ("exemption",), "application", app.id, "paid without a decision")
    return write_payment(
        s,
        ctx,
        actor,
        app,
        drawer,
        lines,
        tenders,
        day=day,
        at=at,
        approved=approved,
        expected_total_avos=expected_total_avos,
    )


def write_payment(
    s: Session,
    ctx: Context,
    actor: Actor,
    app: Application,
    drawer: DrawerSession,
    lines: Sequence[FeeLineView],
    tenders: Sequence[TenderInput],
    *,
    day: date,
    at: datetime,
    approved: Approval | None = None,
    expected_total_avos: int | None = None,
    kind: str = "fee",
) -> Paid:
    """Receipt number, receipt, payment, `lines`, tenders and audit event of a payment for `app`,
    inside the caller's write transaction. `kind`: "fee" (`record_payment`) or
    "collection-surcharge" (`clerk.domain.collection.charge_surcharge`)."""
    total = sum(line.amount_avos for line in lines)
    if expected_total_avos is not None and expected_total_avos != total:
        raise Refused(
            _("The amount due changed to MOP {total}: check the fee lines again.").format(
                total=_money(total)
            )
        )
    settlement = settle(total, tenders, methods_on(day))
    office = get_office(s, ctx)
    sequence = next_number(s, office.id, "receipt", day)
    if sequence > MAX_SEQUENCE:
        raise Refused(_("The office has issued 9999 receipts today: the day is full."))
    number = make_receipt_number(office.code, day, sequence)
    counter_id = _counter_id(s, office.id, actor.counter)
    receipt = Receipt(
        number=number,
        office_id=office.id,
        day=day,
        sequence=sequence,
        application_id=app.id,
        total_avos=total,
        issued_at=at,
        user_id=actor.user_id,
        counter_id=counter_id,
        kind=kind,
    )
    s.add(receipt)
    s.flush()
    payment = Payment(
        receipt_id=receipt.id,
        application_id=app.id,
        drawer_session_id=drawer.id,
        kind="payment",
        total_avos=total,
        change_avos=settlement.change_avos,
        user_id=actor.user_id,
        counter_id=counter_id,
        at=at,
        approval_id=approved.id if approved else None,
    )
    s.add(payment)
    s.flush()
    _add_lines(s, payment.id, lines)
    _add_tenders(s, payment.id, settlement.tenders)
    audit.append(
        s,
        ctx.audit_key,
        actor,
        "payment.take" if kind == "fee" else f"payment.{kind}",
        subject_type="receipt",
        subject_id=receipt.id,
        after={
            "receipt": number,
            "application": app.number,
            "total_avos": total,
            "change_avos": settlement.change_avos,
            "tenders": [[t.method, t.amount_avos] for t in settlement.tenders],
            "exemption": approved.id if approved else None,
        },
        at=at,
    )
    return Paid(receipt.id, number, app.id, total, settlement.change_avos, settlement.tenders)


SURCHARGE_CODES = ("non-presentation-surcharge", "former-card-non-presentation-surcharge")


def collection_surcharge_lines(s: Session, app: Application, day: date) -> list[FeeLineView]:
    """The fee lines when the former card cannot be presented at collection (inside the caller's
    transaction): the policy's non-presentation surcharge for `app`'s case on `day`, on the
    rung of the person's ladder (earlier non-presentations of other applications counted), and
    the part of it the application's approved exemption waives, as its waiver line."""
    facts = _facts(s, app, day).with_changes(original_presented=False)
    quote = policy.quote(facts, day)
    lines = [
        FeeLineView(line.code, dict(line.label), line.amount_avos)
        for line in quote.lines
        if line.code in SURCHARGE_CODES
    ]
    decision = _exemption_decision(s, app.id)
    kind = _exemption_kind(decision) if decision and decision.status == "approved" else None
    if kind and lines:
        # the waiver of the surcharge alone: the quote's waiver with it minus without it
        def waiver(f: Facts) -> policy.FeeLine | None:
            found = policy.quote(f.with_changes(exemption=kind), day).lines
            return next((line for line in found if line.code == policy.WAIVER_CODE), None)

        with_it, without = waiver(facts), waiver(facts.with_changes(original_presented=True))
        waived = (with_it.amount_avos if with_it else 0) - (without.amount_avos if without else 0)
        if with_it is not None and waived:
            lines.append(FeeLineView(with_it.code, dict(with_it.label), waived, True))
    return lines


def _add_lines(s: Session, payment_id: int, lines: Iterable[FeeLineView], sign: int = 1) -> None:
    for line in lines:
        s.add(
            PaymentLine(
                payment_id=payment_id,
                code=line.code,
                label=line.labels.get("en", ""),
                label_zh=line.labels.get("zh_Hant", ""),
                label_pt=line.labels.get("pt", ""),
                amount_avos=sign * line.amount_avos,
                waived=line.waived,
            )
        )


def _add_tenders(s: Session, payment_id: int, tenders: Iterable[SettledTender]) -> None:
    for tender in tenders:
        s.add(
            Tender(
                payment_id=payment_id,
                method=tender.method,
                amount_avos=tender.amount_avos,
                tendered_avos=tender.tendered_avos,
                reference=tender.reference,
            )
        )


def take_payment(
    ctx: Context,
    actor: Actor,
    app_id: int,
    tenders: Sequence[TenderInput],
    *,
    expected_total_avos: int | None = None,
) -> Paid:
    """Take the fee of a lodged application into the clerk's open drawer and issue its receipt
    (number, receipt, payment, lines, tenders and audit event in one transaction).
    `expected_total_avos`: the total the clerk saw; refused when the fees changed since."""
    require_role(actor, *CASHIER_ROLES)
    day = ctx.today()
    with ctx.db.write() as s:
        app = _payable(s, app_id)
        drawer = _open_session(s, actor, day)
        return record_payment(
            s,
            ctx,
            actor,
            app,
            drawer,
            tenders,
            day=day,
            at=utcnow(),
            expected_total_avos=expected_total_avos,
        )


# --- receipts: list, void, refund ---------------------------------------------------------------


def list_receipts(
    ctx: Context, actor: Actor, day: date | None = None, *, limit: int = 1000
) -> list[ReceiptRow]:
    """The office's receipts of `day` (default today) in number order."""
    require_role(actor, *READ_ROLES)
    day = day or ctx.today()
    with ctx.db.read() as s:
        office = get_office(s, ctx)
        return _receipt_rows(
            s,
            _receipts_query()
            .where(Receipt.office_id == office.id, Receipt.day == day)
            .order_by(Receipt.sequence)
            .limit(max(1, min(limit, 10000))),
        )


def session_receipts(ctx: Context, actor: Actor, session_id: int) -> list[ReceiptRow]:
    """The receipts paid or reversed in one drawer session, in number order."""
    require_role(actor, *READ_ROLES)
    with ctx.db.read() as s:
        ids = select(Payment.receipt_id).where(Payment.drawer_session_id == session_id)
        return _receipt_rows(
            s, _receipts_query().where(Receipt.id.in_(ids)).order_by(Receipt.day, Receipt.sequence)
        )


def _receipt_by_number(s: Session, code: str, *, lock: bool = False) -> Receipt:
    number = check_receipt_number(code).number
    query = select(Receipt).where(Receipt.number == number)
    receipt = s.exec(query.with_for_update() if lock else query).first()
    if receipt is None:
        raise NotFound(_("There is no receipt {number}.").format(number=number))
    return receipt


def _check_reversal(receipt: Receipt, kind: str, today: date) -> None:
    if receipt.status != "valid":
        raise Refused(
            _("Receipt {number} is already {status}.").format(
                number=receipt.number, status=receipt.status
            )
        )
    if kind == "void" and receipt.day != today:
        raise Refused(
            _("Receipt {number} is of {day}: only today's receipts are voided; refund it.").format(
                number=receipt.number, day=receipt.day.isoformat()
            )
        )


def reverse_receipt(
    ctx: Context,
    actor: Actor,
    number: str,
    kind: str,
    reason: str,
    supervisor: str,
    password: str,
    *,
    terminal_reference: str = "",
) -> ReceiptRow:
    """Void (today's) or refund a receipt with a supervisor's password for this receipt, and a
    reason code. The receipt is kept and marked; a reversal payment (negative lines and tenders)
    goes into the acting clerk's open drawer. A card tender needs the terminal's reference of
    the void or refund."""
    require_role(actor, *CASHIER_ROLES)
    reason, reference = check_reversal_request(ctx, kind, reason, terminal_reference)
    today = ctx.today()
    with ctx.db.read() as s:
        _check_reversal(_receipt_by_number(s, number), kind, today)
        _open_session(s, actor, today, lock=False)
    approver = _approver(ctx, actor, supervisor, password)
    return reversal_approved(ctx, actor, approver, number, kind, reason, reference)


def check_reversal_request(
    ctx: Context, kind: str, reason: str, terminal_reference: str = ""
) -> tuple[str, str]:
    """(reason code, terminal reference) of a void or refund, checked."""
    if kind not in REVERSALS:
        raise UsageError(f"unknown reversal {kind!r} (valid: {', '.join(REVERSALS)})")
    valid = settings(ctx).reasons(kind)
    if reason not in valid:
        raise UsageError(_("Choose a reason code: {valid}.").format(valid=", ".join(valid)))
    return reason, _clean(terminal_reference, MAX_REFERENCE)


def check_reversible(ctx: Context, actor: Actor, number: str, kind: str) -> tuple[int, str]:
    """(receipt id, receipt number) when `actor` could reverse the receipt now (valid, a void
    only on its day, the actor's drawer open): what a request to the supervisor's desk checks."""
    require_role(actor, *CASHIER_ROLES)
    today = ctx.today()
    with ctx.db.read() as s:
        receipt = _receipt_by_number(s, number)
        _check_reversal(receipt, kind, today)
        _open_session(s, actor, today, lock=False)
        return receipt.id, receipt.number


def reversal_approved(
    ctx: Context,
    actor: Actor,
    approver: Actor,
    number: str,
    kind: str,
    reason: str,
    reference: str = "",
    *,
    request: int | None = None,
    audit_as: Actor | None = None,
) -> ReceiptRow:
    """Reverse a receipt into `actor`'s open drawer, approved by `approver` (who already proved
    who they are), and close the receipt's pending void/refund request (`request`: the one the
    supervisor's inbox decides). `audit_as`: who acts, when not `actor` (the desk)."""
    require_role(actor, *CASHIER_ROLES)
    require_role(approver, *SUPERVISORS)
    reason, reference = check_reversal_request(ctx, kind, reason, reference)
    today = ctx.today()
    with ctx.db.write() as s:
        receipt = _receipt_by_number(s, number, lock=True)
        _check_reversal(receipt, kind, today)
        drawer = _open_session(s, actor, today)
        original = s.exec(
            select(Payment).where(Payment.receipt_id == receipt.id, Payment.kind == "payment")
        ).one()
        tenders = s.exec(select(Tender).where(Tender.payment_id == original.id)).all()
        methods = methods_on(receipt.day)
        cards = {t.id for t in tenders if not (t.method in methods and methods[t.method].is_cash)}
        if cards and not reference:
            raise UsageError(_("Type the terminal's reference of the card refund."))
        subject = ("receipt", receipt.id)
        approval = _decided(
            s,
            _request(s, request, REVERSALS, subject),
            kind,
            "approved",
            subject,
            {"receipt": receipt.number, "total_avos": receipt.total_avos},
            reason,
            actor.user_id,
            approver,
        )
        reversal = Payment(
            receipt_id=receipt.id,
            application_id=receipt.application_id,
            drawer_session_id=drawer.id,
            kind="reversal",
            total_avos=-receipt.total_avos,
            user_id=actor.user_id,
            counter_id=_counter_id(s, receipt.office_id, actor.counter),
            approval_id=approval.id,
            reason=reason,
        )
        s.add(reversal)
        s.flush()
        lines = s.exec(select(PaymentLine).where(PaymentLine.payment_id == original.id)).all()
        _add_lines(s, reversal.id, (_line_view(line) for line in lines), sign=-1)
        _add_tenders(
            s,
            reversal.id,
            (
                SettledTender(
                    t.method,
                    -t.amount_avos,
                    None,
                    reference if t.id in cards else "",
                    t.id not in cards,
                )
                for t in tenders
            ),
        )
        status = REVERSED_STATUS[kind]
        s.execute(update(Receipt).where(Receipt.id == receipt.id).values(status=status))
        audit.append(
            s,
            ctx.audit_key,
            audit_as or actor,
            f"receipt.{kind}",
            subject_type="receipt",
            subject_id=receipt.id,
            before={"status": "valid"},
            after={
                "status": status,
                "reason": reason,
                "approval": approval.id,
                "supervisor": approver.username,
                "clerk": actor.username,
                "reversal": reversal.id,
                "total_avos": -receipt.total_avos,
            },
        )
        return _receipt_rows(s, _receipts_query().where(Receipt.id == receipt.id))[0]


def _line_view(line: PaymentLine) -> FeeLineView:
    labels = {"zh_Hant": line.label_zh, "pt": line.label_pt, "en": line.label}
    return FeeLineView(line.code, labels, line.amount_avos, line.waived)


# --- documents ----------------------------------------------------------------------------------


def _three(row: Office) -> tuple[str, str, str]:
    return (row.name_zh, row.name_pt, row.name)


def receipt_data(ctx: Context, actor: Actor, code: str) -> tuple[ReceiptData, int]:
    """The plain data of a receipt for the document, and how often it was printed."""
    from clerk.documents.receipt import ReceiptData, ReceiptLine, ReceiptTender

    require_role(actor, *READ_ROLES)
    with ctx.db.read() as s:
        receipt = _receipt_by_number(s, code)
        office = s.get(Office, receipt.office_id)
        app = s.get(Application, receipt.application_id) if receipt.application_id else None
        person = s.get(Applicant, app.applicant_id) if app and app.applicant_id else None
        user = s.get(User, receipt.user_id) if receipt.user_id else None
        counter = s.get(Counter, receipt.counter_id) if receipt.counter_id else None
        payment = s.exec(
            select(Payment).where(Payment.receipt_id == receipt.id, Payment.kind == "payment")
        ).one()
        lines = s.exec(
            select(PaymentLine).where(PaymentLine.payment_id == payment.id).order_by(PaymentLine.id)
        ).all()
        tenders = s.exec(
            select(Tender).where(Tender.payment_id == payment.id).order_by(Tender.id)
        ).all()
        printed = receipt.printed_count
    methods = {m.code: m for m in policy.payment_methods(receipt.day)}

    def method_labels(code: str) -> tuple[str, str, str]:
        m = methods.get(code)
        return tuple(m.label[lang] for lang in LANGS) if m else (code, code, code)  # type: ignore[return-value]

    data = ReceiptData(
        number=receipt.number,
        status=receipt.status,
        office_names=_three(office),
        collection_address=settings(ctx).collection_address,
        application_number=app.number or "" if app else "",
        name_zh=person.name_zh if person else "",
        name_latin=person.name_latin if person else "",
        id_number=person.id_number if person else "",
        case=app.case if app else "",
        service_level=app.service_level if app else "normal",
        lines=tuple(
            ReceiptLine((line.label_zh, line.label_pt, line.label), line.amount_avos, line.waived)
            for line in lines
        ),
        total_avos=receipt.total_avos,
        tenders=tuple(
            ReceiptTender(method_labels(t.method), t.amount_avos, t.tendered_avos, t.reference)
            for t in tenders
        ),
        change_avos=payment.change_avos,
        clerk=(user.full_name or user.username) if user else "",
        counter=counter.number if counter else None,
        issued_local=to_local(receipt.issued_at, office.timezone),
        promised_on=app.promised_on if app else None,
    )
    return data, printed


def render_receipt(ctx: Context, actor: Actor, code: str, *, copy: bool | None = None) -> Rendered:
    """The receipt's PDF; a COPY when it was printed before (unless `copy` says otherwise)."""
    from clerk.documents.receipt import receipt_warnings
    from clerk.documents.receipt import render_receipt as render

    data, printed = receipt_data(ctx, actor, code)
    is_copy = printed > 0 if copy is None else copy
    pdf = render(data, copy=is_copy)
    return Rendered(data.number, pdf, is_copy, tuple(receipt_warnings(data)))


def print_receipt(ctx: Context, actor: Actor, code: str) -> Printed:
    """Print the receipt on the configured printer. The first print is the original, every
    later one a COPY. A print failure raises `Failure` and changes nothing: print again."""
    from clerk.devices.printer import print_pdf

    rendered = render_receipt(ctx, actor, code)
    done = print_pdf(rendered.pdf, ctx.config.printer, title=f"receipt-{rendered.number}")
    with ctx.db.write() as s:
        receipt = _receipt_by_number(s, rendered.number, lock=True)
        s.execute(
            update(Receipt)
            .where(Receipt.id == receipt.id)
            .values(printed_count=Receipt.printed_count + 1)
        )
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "receipt.print",
            subject_type="receipt",
            subject_id=receipt.id,
            after={"copy": rendered.copy, "where": done.where},
        )
    return Printed(rendered.number, rendered.copy, done.where, rendered.warnings)


def _counted_session(s: Session, actor: Actor, session_id: int) -> DrawerSession:
    """A counted or closed session the actor may see (their own; any for a supervisor)."""
    session = s.get(DrawerSession, session_id)
    if session is None:
        raise NotFound(_("There is no drawer session {id}.").format(id=session_id))
    if session.user_id != actor.user_id and actor.role not in ("supervisor", "admin"):
        raise Refused(_("A clerk sees the count and the Z report of their own drawer only."))
    if session.status == "open":
        raise Refused(_("The drawer is still open: its amounts are shown after the count."))
    return session


def z_report(ctx: Context, actor: Actor, session_id: int | None = None) -> ZReportData:
    """The Z report of a counted or closed drawer session (default: the clerk's newest).
    A clerk sees their own; supervisors and administrators any."""
    from clerk.documents.z_report import (
        CountLine,
        MovementLine,
        ReceiptSummary,
        TenderTotal,
        ZReportData,
    )

    require_role(actor, *READ_ROLES)
    session_id = session_id or last_session_id(ctx, actor)
    if session_id is None:
        raise NotFound(_("There is no drawer session to report."))
    with ctx.db.read() as s:
        session = _counted_session(s, actor, session_id)
        office = s.get(Office, session.office_id)
        user = s.get(User, session.user_id)
        counter = s.get(Counter, session.counter_id) if session.counter_id else None
        approval = s.get(Approval, session.approval_id) if session.approval_id else None
        approver = s.get(User, approval.decided_by) if approval and approval.decided_by else None
        movements = s.exec(
            select(CashMovement)
            .where(CashMovement.drawer_session_id == session.id)
            .order_by(CashMovement.id)
        ).all()
        head = s.get(AuditHead, 1)
        rows = s.exec(
            select(Payment.kind, Receipt.number, Receipt.status, Payment.total_avos)
            .join(Receipt, Receipt.id == Payment.receipt_id)
            .where(Payment.drawer_session_id == session.id)
            .order_by(Payment.id)
        ).all()
    tz = office.timezone
    result = _count_result(session, settings(ctx).variance_threshold_avos)
    counts = json.loads(session.count_json or "{}")
    return ZReportData(
        office_names=_three(office),
        session_id=session.id,
        clerk=(user.full_name or user.username) if user else "",
        counter=counter.number if counter else None,
        day=session.day,
        opened_local=to_local(session.opened_at, tz),
        counted_local=to_local(session.counted_at, tz) if session.counted_at else None,
        closed_local=to_local(session.closed_at, tz) if session.closed_at else None,
        status=session.status,
        float_avos=session.float_avos,
        movements=tuple(
            MovementLine(m.kind, m.amount_avos, m.reason, to_local(m.at, tz)) for m in movements
        ),
        counts=tuple(
            CountLine(d.kind, d.label, counts.get(d.code, 0), d.avos * counts.get(d.code, 0))
            for d in DENOMINATIONS
        ),
        counted_avos=result.counted_avos,
        tenders=tuple(
            TenderTotal(
                tuple(line.labels.get(lang, line.method) for lang in LANGS), line.expected_avos
            )  # fmt: skip
            for line in result.expected
        ),
        expected_cash_avos=result.expected_cash_avos,
        variance_avos=result.variance_avos,
        threshold_avos=result.threshold_avos,
        acknowledged_by=(approver.full_name or approver.username) if approver else "",
        acknowledgement_reason=approval.reason if approval else "",
        receipts=tuple(
            ReceiptSummary(kind, number, status, total) for kind, number, status, total in rows
        ),
        audit_head=head.last_hash if head else "",
    )


def count_result(ctx: Context, actor: Actor, session_id: int) -> CountResult:
    """The revealed count of a counted or closed session."""
    require_role(actor, *READ_ROLES)
    with ctx.db.read() as s:
        session = _counted_session(s, actor, session_id)
    return _count_result(session, settings(ctx).variance_threshold_avos)


def print_z_report(ctx: Context, actor: Actor, session_id: int | None = None) -> Printed:
    """Print the Z report of a counted or closed session (default: the clerk's newest)."""
    from clerk.devices.printer import print_pdf
    from clerk.documents.z_report import render_z_report

    data = z_report(ctx, actor, session_id)
    done = print_pdf(render_z_report(data), ctx.config.printer, title=f"z-{data.session_id}")
    return Printed(str(data.session_id), False, done.where, ())
