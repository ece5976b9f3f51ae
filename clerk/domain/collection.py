"""Document collection: production batches, the receipt scanned at collection, the hand-over.

An application's status: draft → lodged → in-production → ready → collected, or cancelled.

- Production: a supervisor sends paid applications to production and marks them ready when the
  cards come back, in batches (a list, receipts scanned one after another, or a file of receipt
  numbers: `mark_in_production`, `mark_ready`). A line that cannot be matched is reported; the
  others still go through (one transaction for the batch, one audit event per application).
- The receipt: scanned or typed anywhere, normalised (NFKC, digits only) and its check digits
  checked before any lookup (`lookup`). A ready card gets its collection counter (`Lookup.counter`),
  kept for later scans; not ready, already collected, void, cancelled and unknown are each said
  plainly with what to do next.
- The display board's "Collect your card" (`board_lines`): the names sent to a collection counter
  today within the last `BOARD_MINUTES` (the `collection.assign` audit events) whose card is
  still not collected, newest first, as "name → counter N".
- The hand-over (`hand_over`): the clerk confirms the person against the record; when a card
  reader is there, the new card's chip is read and checked against the application's
  personalisation (`check_new_card`). A renewal's former card that has not expired is handed in
  and cancelled; when it cannot be presented any more (lost since lodging), the police loss report
  is recorded and the non-presentation surcharge is charged first through the cashier
  (`charge_surcharge`, a receipt of kind "collection-surcharge"). A representative's name and
  document number are recorded, the receipt's authorisation must be filled in and signed, and the
  original receipt is kept. A minor's card goes to the parent or guardian on record. The card
  becomes the person's valid card (`IssuedCard`), and the application is `collected` with who,
  when and at which counter, audited, in one transaction.
- The supervisor's list of cards ready for longer than `[collection] uncollected_after_days` and
  not collected (`uncollected`).

Choices made where the issue and the seeds are silent:
- A card may be marked ready straight from `lodged` (the production step is optional); only a
  paid application (a valid fee receipt) goes to production or is marked ready.
- The collection counter: the clerk's own counter when they stand at a collection counter, else
  the collection counter with the fewest ready cards assigned today (ties: the lowest number).
  The hand-over itself may happen at any counter; the counter where it happened is recorded.
- The former card must be handed in for every case but a loss, when it was presented at lodging
  and has not expired on the collection day; an expired one is cancelled if brought, else marked
  replaced. A card declared lost at lodging (its surcharge paid then) is marked lost.
- An approved fee exemption of the application also waives the surcharge at collection (the fee
  data lists the non-presentation surcharges among the fees an exemption waives).
- The new card is recorded as a "2023"-version `IssuedCard`, issued on the day it was personalised
  (else the collection day), expiring after the card profile's validity unless the holder was 65
  or over (the policy's `card_expires`).
- Minors (under 18 on the collection day): only the parent or guardian recorded at lodging, by
  their document number.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import func, select

from clerk.domain import audit
from clerk.domain.auth import require_role
from clerk.domain.clock import to_local, utcnow, zone
from clerk.domain.codes import SUPERVISORS
from clerk.domain.models import (
    Applicant,
    Application,
    AuditEvent,
    CardPersonalisation,
    Collection,
    Counter,
    IssuedCard,
    NonPresentation,
    Receipt,
    User,
)
from clerk.domain.office import get_office
from clerk.domain.receipts import check_receipt_number, normalise
from clerk.errors import NotFound, Refused, UsageError
from clerk.i18n import N_, _

if TYPE_CHECKING:
    from sqlmodel import Session

    from clerk.context import Context
    from clerk.domain.auth import Actor
    from clerk.domain.cards import CardData
    from clerk.domain.cashier import FeeLineView, MethodView, Paid, TenderInput

STATUSES = ("draft", "lodged", "in-production", "ready", "collected", "cancelled")
HAND_OVER_ROLES = ("clerk", "supervisor")
READ_ROLES = ("clerk", "supervisor", "admin")
COLLECTORS = ("applicant", "representative", "guardian")
FORMER_CARD_CHOICES = ("handed-in", "not-presented", "")
SURCHARGE_KIND = "collection-surcharge"
NEW_CARD_VERSION = "2023"
ADULT_AGE = 18
APPLICATION_DIGITS = 12  # office (2) + YYMMDD (6) + the day's sequence (4)
MAX_BATCH = 5000
MAX_TEXT = 120
BOARD_LINES = 6  # the display board's "Collect your card": at most this many names
BOARD_MINUTES = 30  # ... sent to their counter within the last this many minutes (today)

STATUS_LABELS = {
    "draft": N_("draft"),
    "lodged": N_("lodged"),
    "in-production": N_("in production"),
    "ready": N_("ready"),
    "collected": N_("collected"),
    "cancelled": N_("cancelled"),
    "void": N_("void receipt"),
}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionSettings:
    """`[collection]` in config.toml."""

    uncollected_after_days: int = 30
    counters: tuple[int, ...] = ()  # () = the counters marked `collection` in the database
    require_card_check: bool = False
    scanner_gap_ms: int = 30


def settings(ctx: Context) -> CollectionSettings:
    section = getattr(ctx.config, "collection", None)
    base = CollectionSettings()
    if section is None:
        return base
    numbers = tuple(
        int(part) for part in str(section.counters).split(",") if part.strip().isdigit()
    )
    return CollectionSettings(
        uncollected_after_days=max(1, int(section.uncollected_after_days)),
        counters=numbers,
        require_card_check=bool(section.require_card_check),
        scanner_gap_ms=int(section.scanner_gap_ms),
    )


# --- plain results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """What a scanned receipt says: the kiosk's and the collection view's first line."""

    receipt: str
    application: str
    application_id: int
    status: str  # lodged | in-production | ready | collected | cancelled | void
    name_zh: str
    name_latin: str
    counter: int | None  # the collection counter to go to (ready cards only)
    promised_on: date | None
    collected_at: datetime | None
    message: str  # in plain words, with what to do next

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.name_zh, self.name_latin) if part)

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def as_json(self) -> dict[str, Any]:
        return {
            "receipt": self.receipt,
            "application": self.application,
            "status": self.status,
            "name": self.name,
            "counter": self.counter,
            "promised_on": self.promised_on.isoformat() if self.promised_on else None,
            "collected_at": self.collected_at.isoformat() if self.collected_at else None,
            "message": self.message,
        }


@dataclass(frozen=True)
class FormerCard:
    id: int
    version: str
    issued_on: date
    expires_on: date | None
    status: str


@dataclass(frozen=True)
class Handed:
    """How a collected card was handed over."""

    collected_at: datetime
    counter: int | None
    clerk: str
    collector: str
    representative_name: str
    representative_id_number: str
    former_card: str
    card_check: str
    receipt_kept: bool


@dataclass(frozen=True)
class Case:
    """Everything the collection view shows for one application."""

    lookup: Lookup
    application_id: int
    number: str
    status: str
    case: str
    service_level: str
    id_number: str
    name_zh: str
    name_latin: str
    date_of_birth: date | None
    sex: str
    age: int | None
    guardian_name: str
    guardian_id_number: str
    guardian_relationship: str
    lodged_on: date | None
    promised_on: date | None
    ready_on: date | None
    former_card: FormerCard | None
    former_card_rule: str  # required | optional | not-required
    former_card_reason: str  # valid | expired | declared-lost | no-card
    surcharge_lines: tuple[FeeLineView, ...] = ()  # due if the former card cannot be presented
    surcharge_receipt: str = ""  # the valid surcharge receipt already charged
    personalised_serial: str = ""  # the serial of the card personalised for it ("" none)
    handed: Handed | None = None

    @property
    def minor(self) -> bool:
        return self.age is not None and self.age < ADULT_AGE

    @property
    def surcharge_avos(self) -> int:
        return sum(line.amount_avos for line in self.surcharge_lines)


@dataclass(frozen=True)
class HandOver:
    """What the clerk confirmed at the counter."""

    identity_checked: bool = False
    collector: str = "applicant"  # applicant | representative | guardian
    representative_name: str = ""
    representative_id_number: str = ""
    authorisation_confirmed: bool = False  # the receipt's authorisation, filled in and signed
    former_card: str = ""  # handed-in | not-presented | "" (none to hand in)
    police_report: str = ""  # the police loss report's reference (not-presented)
    card_serial: str = ""  # the new card's serial, read and checked at the counter


@dataclass(frozen=True)
class Collected:
    application: str
    collected_at: datetime
    counter: int | None
    collector: str
    former_card: str
    card_check: str
    receipt_kept: bool
    new_card_expires_on: date | None


@dataclass(frozen=True)
class CardCheck:
    serial: str
    verdict: str  # matches | no-record | differs
    differences: tuple[str, ...]  # chip fields that differ from the record

    @property
    def ok(self) -> bool:
        return self.verdict in ("matches", "no-record") and not self.differences


@dataclass(frozen=True)
class BatchLine:
    line: int  # 1-based position in the batch (the file's line number)
    code: str  # as given
    changed: bool
    application: str = ""
    status: str = ""  # the application's status after the line
    message: str = ""  # why nothing changed
    ok: bool = True  # False: the line could not be matched or its state forbids the change

    def as_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "code": self.code,
            "ok": self.ok,
            "changed": self.changed,
            "application": self.application,
            "status": self.status,
            "message": self.message,
        }


@dataclass(frozen=True)
class ApplicationRow:
    id: int
    number: str
    receipt: str
    status: str
    id_number: str
    name_zh: str
    name_latin: str
    case: str
    lodged_on: date | None
    promised_on: date | None
    ready_on: date | None
    counter: int | None  # the assigned collection counter
    phone: str = ""
    days_waiting: int | None = None  # uncollected list: days since it was ready

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.name_zh, self.name_latin) if part)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "application": self.number,
            "receipt": self.receipt,
            "status": self.status,
            "id_number": self.id_number,
            "name": self.name,
            "case": self.case,
            "lodged_on": _iso(self.lodged_on),
            "promised_on": _iso(self.promised_on),
            "ready_on": _iso(self.ready_on),
            "counter": self.counter,
        }
        if self.days_waiting is not None:
            out["days_waiting"] = self.days_waiting
            out["phone"] = self.phone
        return out


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- small helpers ------------------------------------------------------------------------------


def _clean(text: str, limit: int = MAX_TEXT) -> str:
    """Typed text: NFKC, printable characters only, single spaces, at most `limit`."""
    text = unicodedata.normalize("NFKC", text or "")
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:limit]


def _age_on(born: date | None, day: date) -> int | None:
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _local_day(instant: datetime | None, tz: str) -> date | None:
    return to_local(instant, tz).date() if instant else None


def _day_start_utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0, 0), zone(tz)).astimezone(UTC)


def _counter_number(s: Session, counter_id: int | None) -> int | None:
    if counter_id is None:
        return None
    return s.exec(select(Counter.number).where(Counter.id == counter_id)).first()


def _counter_id(s: Session, office_id: int, number: int | None) -> int | None:
    if number is None:
        return None
    return s.exec(
        select(Counter.id).where(Counter.office_id == office_id, Counter.number == number)
    ).first()


def _valid_receipt(s: Session, app_id: int, kind: str = "fee") -> Receipt | None:
    from clerk.domain.cashier import _valid_receipt as valid

    return valid(s, app_id, kind)


def _lock_application(s: Session, app_id: int) -> Application:
    app = s.exec(select(Application).where(Application.id == app_id).with_for_update()).first()
    if app is None:
        raise NotFound(_("There is no application {id}.").format(id=app_id))
    return app


# --- the receipt --------------------------------------------------------------------------------


def check_code(code: str) -> str:
    """The 14 digits of a scanned or typed receipt number, check digits verified (no database);
    a misread is a `UsageError` that says what to do."""
    try:
        return check_receipt_number(code).number
    except UsageError as exc:
        raise UsageError(
            _("{problem} Scan it again, or type the 14 digits printed under the barcode.").format(
                problem=exc.message.rstrip(".") + "."
            )
        ) from None


def _find_receipt(s: Session, number: str) -> Receipt:
    receipt = s.exec(select(Receipt).where(Receipt.number == number)).first()
    if receipt is None or receipt.application_id is None:
        raise NotFound(
            _(
                "There is no receipt {number} in this office's records: check the digits under "
                "the barcode with the applicant, or ask the supervisor."
            ).format(number=number)
        )
    return receipt


def _handed(s: Session, app_id: int) -> tuple[Collection, str, int | None] | None:
    row = s.exec(select(Collection).where(Collection.application_id == app_id)).first()
    if row is None:
        return None
    user = s.get(User, row.user_id) if row.user_id else None
    clerk = (user.full_name or user.username) if user else ""
    return row, clerk, _counter_number(s, row.counter_id)


def _collected_message(s: Session, app: Application, tz: str) -> str:
    found = _handed(s, app.id)
    when = to_local(app.collected_at, tz) if app.collected_at else None
    whom = ""
    counter = None
    if found is not None:
        row, _clerk, counter = found
        when = to_local(row.collected_at, tz)
        if row.collector == "representative":
            whom = _("by a representative, {name}").format(name=row.representative_name)
        elif row.collector == "guardian":
            whom = _("by the guardian, {name}").format(name=row.representative_name)
        else:
            whom = _("by the applicant")
    return (
        _(
            "This card was already collected on {when} at counter {counter} {whom}. There is "
            "nothing more to collect; if the applicant disagrees, call the supervisor."
        )
        .format(
            when=f"{when:%Y-%m-%d %H:%M}" if when else "—",
            counter=counter if counter is not None else "—",
            whom=whom,
        )
        .replace("  ", " ")
    )


def _message(
    s: Session, app: Application, receipt: Receipt, counter: int | None, today: date, tz: str
) -> str:
    if receipt.status != "valid":
        other = _valid_receipt(s, app.id)
        said = _("voided") if receipt.status == "void" else _("refunded")
        text = _("Receipt {number} was {said}: it does not collect a card.").format(
            number=receipt.number, said=said
        )
        if other is not None and app.status not in ("cancelled",):
            return (
                text + " " + _("Scan the valid receipt {other} instead.").format(other=other.number)
            )
        return (
            text
            + " "
            + _(
                "The application has no valid receipt: the applicant pays at the cashier again, "
                "or the supervisor explains the refund."
            )
        )
    if app.status == "cancelled":
        day = _local_day(app.cancelled_at, tz)
        return _(
            "Application {number} was cancelled{on}: there is no card to collect. Ask the "
            "supervisor."
        ).format(number=app.number, on=" " + _("on {day}").format(day=day) if day else "")
    if app.status == "collected":
        return _collected_message(s, app, tz)
    if app.status in ("lodged", "in-production"):
        promised = app.promised_on
        if promised is None:
            return _("The card is not ready yet. Come back when the office tells you it is.")
        if promised < today:
            return _(
                "The card is not ready yet, although it was promised for {day}: ask the "
                "supervisor to check the production batch."
            ).format(day=promised.isoformat())
        return _(
            "The card is not ready yet: it is promised for {day}. Come back on or after that "
            "day with this receipt."
        ).format(day=promised.isoformat())
    if app.status == "ready":
        if counter is None:
            return _("The card is ready, but no collection counter is open: ask at reception.")
        return _("The card is ready: please go to counter {counter}.").format(counter=counter)
    return _("Application {number} is {status}: nothing to collect.").format(
        number=app.number or app.id, status=status_label(app.status)
    )


def _collection_counters(s: Session, ctx: Context, office_id: int) -> list[tuple[int, int]]:
    """(counter id, number) of the office's active collection counters, by number."""
    numbers = settings(ctx).counters
    query = select(Counter.id, Counter.number).where(Counter.office_id == office_id, Counter.active)
    query = query.where(Counter.number.in_(numbers)) if numbers else query.where(Counter.collection)
    return [tuple(row) for row in s.exec(query.order_by(Counter.number)).all()]  # type: ignore[misc]


def _choose_counter(
    s: Session, ctx: Context, app: Application, actor: Actor | None, today: date
) -> int | None:
    """The collection counter id for a ready `app` (kept when it still is one)."""
    counters = _collection_counters(s, ctx, app.office_id)
    ids = [cid for cid, _number in counters]
    if not ids:
        return None
    if app.collection_counter_id in ids:
        return app.collection_counter_id
    if actor is not None and actor.counter is not None:
        mine = next((cid for cid, number in counters if number == actor.counter), None)
        if mine is not None:
            return mine
    since = _day_start_utc(today, ctx.tz)
    load = dict(
        s.exec(
            select(Application.collection_counter_id, func.count())
            .where(
                Application.collection_counter_id.in_(ids),
                Application.status == "ready",
                Application.updated_at >= since,
            )
            .group_by(Application.collection_counter_id)
        ).all()
    )
    return min(counters, key=lambda c: (load.get(c[0], 0), c[1]))[0]


def _lookup_of(
    s: Session, app: Application, receipt: Receipt, counter: int | None, today: date, tz: str
) -> Lookup:
    person = s.get(Applicant, app.applicant_id) if app.applicant_id else None
    status = "void" if receipt.status != "valid" else app.status
    return Lookup(
        receipt=receipt.number,
        application=app.number or "",
        application_id=app.id,
        status=status,
        name_zh=person.name_zh if person else "",
        name_latin=person.name_latin if person else "",
        counter=counter if status == "ready" else None,
        promised_on=app.promised_on,
        collected_at=app.collected_at,
        message=_message(s, app, receipt, counter, today, tz),
    )


def lookup(ctx: Context, code: str, actor: Actor | None = None) -> Lookup:
    """The receipt scanned at a kiosk or a counter: its application's status, the applicant's
    name and, for a ready card, the collection counter to go to (assigned at the first scan)."""
    number = check_code(code)
    today, tz = ctx.today(), ctx.tz
    with ctx.db.read() as s:
        receipt = _find_receipt(s, number)
        app = s.get(Application, receipt.application_id)
        if app is None:  # pragma: no cover - a foreign key
            raise NotFound(_("There is no application for receipt {number}.").format(number=number))
        needs_counter = receipt.status == "valid" and app.status == "ready"
        if not needs_counter:
            return _lookup_of(s, app, receipt, None, today, tz)
        chosen = _choose_counter(s, ctx, app, actor, today)
        if chosen == app.collection_counter_id:
            return _lookup_of(s, app, receipt, _counter_number(s, chosen), today, tz)
    with ctx.db.write() as s:
        receipt = _find_receipt(s, number)
        app = _lock_application(s, receipt.application_id)
        counter = None
        if receipt.status == "valid" and app.status == "ready":
            chosen = _choose_counter(s, ctx, app, actor, today)
            counter = _counter_number(s, chosen)
            if chosen != app.collection_counter_id:
                before = _counter_number(s, app.collection_counter_id)
                app.collection_counter_id = chosen
                app.updated_at = utcnow()
                s.add(app)
                audit.append(
                    s,
                    ctx.audit_key,
                    actor,
                    "collection.assign",
                    subject_type="application",
                    subject_id=app.id,
                    before={"counter": before},
                    after={"counter": counter, "receipt": receipt.number},
                )
        return _lookup_of(s, app, receipt, counter, today, tz)


# --- the display board --------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardLine:
    """One line of the board's "Collect your card": who was sent to which counter, and when."""

    name_zh: str
    name_latin: str
    counter: int
    assigned_at: datetime

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.name_zh, self.name_latin) if part)


def board_lines(ctx: Context, limit: int = BOARD_LINES) -> list[BoardLine]:
    """The display board's "Collect your card", newest first: the ready cards whose collection
    counter was assigned today within the last `BOARD_MINUTES` and that are still not collected
    (name → counter). Read-only; no actor (the wall screen shows what a kiosk scan says)."""
    limit = max(1, min(int(limit), 50))
    now = utcnow()
    since = max(_day_start_utc(ctx.today(), ctx.tz), now - timedelta(minutes=BOARD_MINUTES))
    assigned_at = func.max(AuditEvent.at)
    with ctx.db.read() as s:
        office = get_office(s, ctx)
        rows = s.exec(
            select(
                Application.id,
                func.coalesce(Applicant.name_zh, ""),
                func.coalesce(Applicant.name_latin, ""),
                Counter.number,
                assigned_at,
            )
            .select_from(AuditEvent)
            .join(Application, Application.id == AuditEvent.subject_id)
            .join(Counter, Counter.id == Application.collection_counter_id)
            .outerjoin(Applicant, Applicant.id == Application.applicant_id)
            .where(
                # the half hour of `at` leads (its index): `|| ''` keeps the planners off the
                # action's index, which would read every assignment ever made at every poll
                AuditEvent.action.concat("") == "collection.assign",
                AuditEvent.subject_type == "application",
                AuditEvent.at >= since,
                Application.office_id == office.id,
                Application.status == "ready",
            )
            .group_by(Application.id, Applicant.name_zh, Applicant.name_latin, Counter.number)
            .order_by(assigned_at.desc(), Application.id.desc())
            .limit(limit)
        ).all()
    return [BoardLine(zh, latin, number, at) for _id, zh, latin, number, at in rows]


# --- the former card ----------------------------------------------------------------------------


def former_card_rule(
    case: str, presented_at_lodging: bool, card: FormerCard | None, today: date
) -> tuple[str, str]:
    """(rule, reason): whether the former card must be handed in at collection.

    rule: required (it must be handed in, or its non-presentation surcharged), optional (an
    expired card: cancelled if brought) or not-required. Pure."""
    if card is None:
        return "not-required", "no-card"
    if case == "loss" or not presented_at_lodging:
        return "not-required", "declared-lost"
    if card.expires_on is not None and card.expires_on < today:
        return "optional", "expired"
    return "required", "valid"


def _former_card(s: Session, app: Application) -> FormerCard | None:
    row = s.exec(
        select(IssuedCard)
        .where(
            IssuedCard.applicant_id == app.applicant_id,
            IssuedCard.status == "valid",
            (IssuedCard.application_id.is_(None)) | (IssuedCard.application_id != app.id),
        )
        .order_by(IssuedCard.issued_on.desc(), IssuedCard.id.desc())
    ).first()
    if row is None:
        return None
    return FormerCard(row.id, row.version, row.issued_on, row.expires_on, row.status)


def _presented_at_lodging(app: Application) -> bool:
    import json

    facts = json.loads(app.facts_json or "{}")
    return bool(facts.get("original_presented", True))


def _rule(s: Session, app: Application, today: date) -> tuple[FormerCard | None, str, str]:
    card = _former_card(s, app)
    rule, reason = former_card_rule(app.case, _presented_at_lodging(app), card, today)
    return card, rule, reason


def _personalised(s: Session, app_id: int) -> CardPersonalisation | None:
    return s.exec(
        select(CardPersonalisation)
        .where(CardPersonalisation.application_id == app_id, CardPersonalisation.status == "done")
        .order_by(CardPersonalisation.id.desc())
    ).first()


# --- the collection view ------------------------------------------------------------------------


def open_receipt(ctx: Context, actor: Actor, code: str) -> Case:
    """The collection view of a scanned or typed receipt (the lookup, then the case)."""
    require_role(actor, *READ_ROLES)
    found = lookup(ctx, code, actor)
    return _case(ctx, found)


def _case(ctx: Context, found: Lookup) -> Case:
    from clerk.domain.cashier import collection_surcharge_lines

    today, tz = ctx.today(), ctx.tz
    with ctx.db.read() as s:
        app = s.get(Application, found.application_id)
        person = s.get(Applicant, app.applicant_id) if app.applicant_id else None
        card, rule, reason = _rule(s, app, today)
        lines: tuple = ()
        surcharge = None
        if app.status == "ready" and rule == "required":
            lines = tuple(collection_surcharge_lines(s, app, today))
            surcharge = _valid_receipt(s, app.id, SURCHARGE_KIND)
        done = _personalised(s, app.id)
        handed = None
        got = _handed(s, app.id)
        if got is not None:
            row, clerk, counter = got
            handed = Handed(
                collected_at=row.collected_at,
                counter=counter,
                clerk=clerk,
                collector=row.collector,
                representative_name=row.representative_name,
                representative_id_number=row.representative_id_number,
                former_card=row.former_card,
                card_check=row.card_check,
                receipt_kept=row.receipt_kept,
            )
        born = person.date_of_birth if person else None
        return Case(
            lookup=found,
            application_id=app.id,
            number=app.number or "",
            status=app.status,
            case=app.case,
            service_level=app.service_level,
            id_number=person.id_number if person else "",
            name_zh=person.name_zh if person else "",
            name_latin=person.name_latin if person else "",
            date_of_birth=born,
            sex=person.sex if person else "",
            age=_age_on(born, today),
            guardian_name=app.guardian_name,
            guardian_id_number=app.guardian_id_number,
            guardian_relationship=app.guardian_relationship,
            lodged_on=app.lodged_on,
            promised_on=app.promised_on,
            ready_on=_local_day(app.ready_at, tz),
            former_card=card,
            former_card_rule=rule,
            former_card_reason=reason,
            surcharge_lines=lines,
            surcharge_receipt=surcharge.number if surcharge else "",
            personalised_serial=done.card_serial if done else "",
            handed=handed,
        )


def reload_case(ctx: Context, actor: Actor, code: str) -> Case:
    """The collection view again (after a payment or a hand-over), without a new assignment."""
    require_role(actor, *READ_ROLES)
    number = check_code(code)
    today, tz = ctx.today(), ctx.tz
    with ctx.db.read() as s:
        receipt = _find_receipt(s, number)
        app = s.get(Application, receipt.application_id)
        counter = _counter_number(s, app.collection_counter_id)
        found = _lookup_of(s, app, receipt, counter, today, tz)
    return _case(ctx, found)


# --- the new card -------------------------------------------------------------------------------


def check_new_card(ctx: Context, actor: Actor, app_id: int, card: CardData) -> CardCheck:
    """The card read at the counter against the application: the personalisation on record (its
    serial and data) and the applicant's record (every identity field)."""
    from clerk.domain.cards import compare_card

    require_role(actor, *HAND_OVER_ROLES)
    compared = compare_card(ctx, card, app_id)
    verdict = {"matches": "matches", "none": "no-record"}.get(compared.personalisation, "differs")
    return CardCheck(card.serial, verdict, tuple(row.field for row in compared.differences))


def _new_card(
    s: Session, ctx: Context, app: Application, person: Applicant, former: FormerCard | None
) -> IssuedCard:
    from clerk.devices.card_profile import load_profile
    from clerk.domain.policy import card_expires
    from clerk.domain.policy.eligibility import add_years

    done = _personalised(s, app.id)
    issued = _local_day(done.at, ctx.tz) if done else ctx.today()
    age = _age_on(person.date_of_birth, issued)
    expires = None
    if age is None or card_expires(age, issued):
        expires = add_years(issued, load_profile().validity_years)
    symbols = ""
    if former is not None:
        symbols = s.get(IssuedCard, former.id).symbols
    elif person.permanent:
        symbols = "***"
    return IssuedCard(
        applicant_id=person.id,
        version=NEW_CARD_VERSION,
        issued_on=issued,
        expires_on=expires,
        symbols=symbols,
        status="valid",
        application_id=app.id,
    )


# --- the hand-over ------------------------------------------------------------------------------


def _refuse_status(app: Application, s: Session, tz: str, today: date) -> None:
    if app.status == "ready":
        return
    receipt = _valid_receipt(s, app.id)
    if receipt is None:
        raise Refused(
            _("Application {number} is {status}: nothing to hand over.").format(
                number=app.number, status=status_label(app.status)
            )
        )
    raise Refused(_message(s, app, receipt, None, today, tz))


def _check_collector(
    h: HandOver, app: Application, person: Applicant, today: date
) -> tuple[str, str, str]:
    """(collector, representative's name, representative's document number), checked."""
    from clerk.domain.identity import parse_document_number

    collector = h.collector or "applicant"
    if collector not in COLLECTORS:
        raise UsageError(f"unknown collector {collector!r} (valid: {', '.join(COLLECTORS)})")
    age = _age_on(person.date_of_birth, today)
    minor = age is not None and age < ADULT_AGE
    if minor and collector != "guardian":
        raise Refused(
            _(
                "The applicant is a minor ({age}): the card goes to the parent or guardian on "
                "record ({name})."
            ).format(age=age, name=app.guardian_name or "—")
        )
    if collector == "applicant":
        return collector, "", ""
    name = _clean(h.representative_name)
    if not name:
        raise UsageError(_("Type the name of the person collecting, as on their document."))
    document = parse_document_number(h.representative_id_number)
    if document == person.id_number:
        raise UsageError(
            _("That is the applicant's own ID number: the applicant collects in person.")
        )
    if collector == "guardian":
        if not minor:
            raise Refused(
                _(
                    "The applicant is an adult: someone else collects as an authorised "
                    "representative."
                )
            )
        if not app.guardian_id_number:
            raise Refused(
                _(
                    "No parent or guardian was recorded for this minor at lodging: the "
                    "supervisor decides who may collect."
                )
            )
        if document != parse_document_number(app.guardian_id_number):
            raise Refused(
                _(
                    "Document {document} is not that of the parent or guardian on record "
                    "({name}, {recorded}): a minor's card goes to them only."
                ).format(document=document, name=app.guardian_name, recorded=app.guardian_id_number)
            )
        return collector, name, document
    if not h.authorisation_confirmed:
        raise Refused(
            _(
                "The authorisation on the receipt must be filled in and signed by the applicant "
                "(as on their ID card) before a representative collects."
            )
        )
    return collector, name, document


def hand_over(ctx: Context, actor: Actor, app_id: int, h: HandOver) -> Collected:
    """Hand the ready card over: checks who collects, the former card and the new card, then
    records the collection, the cards' new states and the audit event in one transaction."""
    require_role(actor, *HAND_OVER_ROLES)
    if h.former_card not in FORMER_CARD_CHOICES:
        raise UsageError(
            f"unknown former card choice {h.former_card!r} (valid: handed-in, not-presented)"
        )
    if not h.identity_checked:
        raise UsageError(
            _("Confirm the identity first: compare the person and their document with the record.")
        )
    police_report = _clean(h.police_report, 60)
    card_serial = _clean(h.card_serial, 64).upper()
    config = settings(ctx)
    today, tz = ctx.today(), ctx.tz
    now = utcnow()
    with ctx.db.write() as s:
        app = _lock_application(s, app_id)
        _refuse_status(app, s, tz, today)
        person = s.get(Applicant, app.applicant_id) if app.applicant_id else None
        if person is None:
            raise Refused(_("Application {number} has no applicant.").format(number=app.number))
        collector, rep_name, rep_document = _check_collector(h, app, person, today)
        former, rule, reason = _rule(s, app, today)
        surcharge = None
        if rule == "required":
            if h.former_card not in ("handed-in", "not-presented"):
                raise UsageError(
                    _(
                        "The former card has not expired: it is handed in to be cancelled, or, "
                        "if it cannot be presented, the police loss report is seen and the "
                        "surcharge charged."
                    )
                )
            if h.former_card == "not-presented":
                if not police_report:
                    raise UsageError(_("Type the reference of the police loss report."))
                surcharge = _valid_receipt(s, app.id, SURCHARGE_KIND)
                if surcharge is None:
                    raise Refused(
                        _(
                            "The former card cannot be presented: charge the non-presentation "
                            "surcharge first."
                        )
                    )
        done = _personalised(s, app.id)
        if card_serial:
            if done is not None and done.card_serial.upper() != card_serial:
                raise Refused(
                    _(
                        "This is NOT the card personalised for application {number} (serial "
                        "{serial}): do not hand it over."
                    ).format(number=app.number, serial=card_serial)
                )
            card_check = "matches" if done is not None else "no-record"
        else:
            if config.require_card_check and done is not None:
                raise Refused(_("Read the new card in the card reader before handing it over."))
            card_check = "not-read"
        # the former card
        if former is None:
            outcome, card_status = "not-required", None
        elif h.former_card == "handed-in":
            outcome, card_status = "cancelled", "cancelled"
        elif rule == "required":
            outcome, card_status = "not-presented", "lost"
        else:
            outcome = "not-required"
            card_status = "lost" if reason == "declared-lost" else "replaced"
        if former is not None and card_status is not None:
            row = s.get(IssuedCard, former.id)
            row.status = card_status
            s.add(row)
        new_card = _new_card(s, ctx, app, person, former)
        s.add(new_card)
        office = get_office(s, ctx)
        counter_id = _counter_id(s, office.id, actor.counter)
        receipt = _valid_receipt(s, app.id)
        collection = Collection(
            application_id=app.id,
            counter_id=counter_id,
            user_id=actor.user_id,
            collected_at=now,
            receipt_id=receipt.id if receipt else None,
            collector=collector,
            by_representative=collector != "applicant",
            representative_name=rep_name,
            representative_id_number=rep_document,
            authorisation_confirmed=collector == "representative" and h.authorisation_confirmed,
            receipt_kept=collector == "representative",
            identity_checked=True,
            card_serial=card_serial,
            card_check=card_check,
            former_card=outcome,
            former_card_id=former.id if former else None,
            police_report=police_report if outcome == "not-presented" else "",
            surcharge_receipt_id=surcharge.id if surcharge else None,
        )
        s.add(collection)
        app.status = "collected"
        app.collected_at = now
        app.updated_at = now
        s.add(app)
        s.flush()
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "application.collect",
            subject_type="application",
            subject_id=app.id,
            before={"status": "ready"},
            after={
                "status": "collected",
                "collection": collection.id,
                "collector": collector,
                "representative": rep_document,
                "receipt_kept": collection.receipt_kept,
                "former_card": outcome,
                "police_report": collection.police_report,
                "surcharge_receipt": surcharge.number if surcharge else None,
                "card_check": card_check,
                "card_serial": card_serial,
                "new_card": new_card.id,
            },
            at=now,
        )
        return Collected(
            application=app.number or "",
            collected_at=now,
            counter=actor.counter,
            collector=collector,
            former_card=outcome,
            card_check=card_check,
            receipt_kept=collection.receipt_kept,
            new_card_expires_on=new_card.expires_on,
        )


def charge_surcharge(
    ctx: Context,
    actor: Actor,
    app_id: int,
    tenders: Sequence[TenderInput],
    police_report: str,
    *,
    expected_total_avos: int | None = None,
) -> Paid:
    """The former card cannot be presented at collection: with the police loss report's
    reference, charge the non-presentation surcharge into the clerk's open drawer (its own
    receipt, kind "collection-surcharge") and record the non-presentation, in one transaction."""
    from clerk.domain import cashier

    require_role(actor, *cashier.CASHIER_ROLES)
    reference = _clean(police_report, 60)
    if not reference:
        raise UsageError(_("Type the reference of the police loss report."))
    day = ctx.today()
    with ctx.db.write() as s:
        app = _lock_application(s, app_id)
        _refuse_status(app, s, ctx.tz, day)
        _former, rule, _reason = _rule(s, app, day)
        if rule != "required":
            raise Refused(
                _("Application {number} has no former card to hand in: no surcharge.").format(
                    number=app.number
                )
            )
        already = _valid_receipt(s, app.id, SURCHARGE_KIND)
        if already is not None:
            raise Refused(
                _("The surcharge is already paid: receipt {receipt}.").format(
                    receipt=already.number
                )
            )
        drawer = cashier._open_session(s, actor, day)
        lines = cashier.collection_surcharge_lines(s, app, day)
        paid = cashier.write_payment(
            s,
            ctx,
            actor,
            app,
            drawer,
            lines,
            tenders,
            day=day,
            at=utcnow(),
            expected_total_avos=expected_total_avos,
            kind=SURCHARGE_KIND,
        )
        recorded = s.exec(
            select(NonPresentation.id).where(NonPresentation.application_id == app.id)
        ).first()
        if recorded is None:
            s.add(
                NonPresentation(
                    applicant_id=app.applicant_id,
                    occurred_on=day,
                    application_id=app.id,
                    note=f"not presented at collection; police report {reference}",
                )
            )
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "collection.former-card-not-presented",
            subject_type="application",
            subject_id=app.id,
            after={"police_report": reference, "receipt": paid.receipt_number},
        )
        return paid


def payment_methods(ctx: Context) -> tuple[MethodView, ...]:
    """Today's payment methods (the surcharge's tender), in the policy's order."""
    from clerk.domain import policy
    from clerk.domain.cashier import MethodView

    return tuple(
        MethodView(m.code, dict(m.label), m.is_cash, m.needs_reference)
        for m in policy.payment_methods(ctx.today())
    )


# --- production batches -------------------------------------------------------------------------


def _resolve(s: Session, code: str) -> tuple[Application | None, Receipt | None, str]:
    """(application, receipt scanned, problem) of one batch line: a receipt number (14 digits)
    or an application number (12)."""
    digits = normalise(code)
    if len(digits) == APPLICATION_DIGITS and digits.isascii() and digits.isdigit():
        app = s.exec(
            select(Application).where(Application.number == digits).with_for_update()
        ).first()
        if app is None:
            return None, None, _("no application {number}").format(number=digits)
        return app, None, ""
    try:
        number = check_receipt_number(code).number
    except UsageError as exc:
        return None, None, exc.message
    receipt = s.exec(select(Receipt).where(Receipt.number == number)).first()
    if receipt is None or receipt.application_id is None:
        return None, None, _("no receipt {number}").format(number=number)
    app = _lock_application(s, receipt.application_id)
    if receipt.status != "valid":
        return (
            app,
            receipt,
            _("receipt {number} is {status}").format(number=number, status=receipt.status),
        )
    return app, receipt, ""


TARGETS = {
    # target status → (statuses it may come from, audit action, timestamp field)
    "in-production": (("lodged",), "application.in-production", "in_production_at"),
    "ready": (("lodged", "in-production"), "application.ready", "ready_at"),
}


def _batch(
    ctx: Context, actor: Actor, codes: Iterable[str], target: str, *, source: str
) -> list[BatchLine]:
    require_role(actor, *SUPERVISORS)
    allowed, action, stamp = TARGETS[target]
    items = list(codes)
    if len(items) > MAX_BATCH:
        raise UsageError(f"a batch has at most {MAX_BATCH} lines, not {len(items)}")
    results: list[BatchLine] = []
    now = utcnow()
    with ctx.db.write() as s:
        for n, raw in enumerate(items, 1):
            code = raw.strip()
            if not code or code.startswith("#"):
                continue
            app, _receipt, problem = _resolve(s, code)
            ok = False  # already there: nothing to do, nothing wrong
            if app is not None and not problem:
                if app.status == target:
                    ok, problem = True, _("already {status}").format(status=status_label(target))
                elif app.status not in allowed:
                    problem = _("it is {status}").format(status=status_label(app.status))
                elif _valid_receipt(s, app.id) is None:
                    problem = _("not paid")
            if problem:
                number, status = (app.number or "", app.status) if app else ("", "")
                results.append(BatchLine(n, code, False, number, status, problem, ok))
                continue
            before = app.status
            app.status = target
            setattr(app, stamp, now)
            app.updated_at = now
            s.add(app)
            audit.append(
                s,
                ctx.audit_key,
                actor,
                action,
                subject_type="application",
                subject_id=app.id,
                before={"status": before},
                after={"status": target, "code": code, "source": source},
                at=now,
            )
            results.append(BatchLine(n, code, True, app.number, target, ""))
    return results


def mark_ready(
    ctx: Context, actor: Actor, codes: Iterable[str], *, source: str = "batch"
) -> list[BatchLine]:
    """The cards of these receipts (or application numbers) came back from production: the
    applications become ready. Each line is reported; bad ones change nothing."""
    return _batch(ctx, actor, codes, "ready", source=source)


def mark_in_production(
    ctx: Context, actor: Actor, codes: Iterable[str], *, source: str = "batch"
) -> list[BatchLine]:
    """These paid applications' cards went to production."""
    return _batch(ctx, actor, codes, "in-production", source=source)


def cancel_application(ctx: Context, actor: Actor, code: str, reason: str) -> BatchLine:
    """A supervisor cancels a lodged application (no card will be collected). Its receipts stay
    as they are: a refund goes through the cashier."""
    require_role(actor, *SUPERVISORS)
    reason = _clean(reason, 200)
    if not reason:
        raise UsageError(_("Say why the application is cancelled (kept in the audit trail)."))
    now = utcnow()
    with ctx.db.write() as s:
        app, _receipt, problem = _resolve(s, code)
        if app is None:
            raise NotFound(problem)
        if app.status not in ("lodged", "in-production", "ready"):
            raise Refused(
                _("Application {number} is {status}: it cannot be cancelled.").format(
                    number=app.number, status=status_label(app.status)
                )
            )
        before = app.status
        app.status = "cancelled"
        app.cancelled_at = app.updated_at = now
        s.add(app)
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "application.cancel",
            subject_type="application",
            subject_id=app.id,
            before={"status": before},
            after={"status": "cancelled", "reason": reason},
            at=now,
        )
        return BatchLine(1, code, True, app.number or "", "cancelled", reason)


# --- lists --------------------------------------------------------------------------------------


def _rows_query():
    receipt = (
        select(func.max(Receipt.number))
        .where(
            Receipt.application_id == Application.id,
            Receipt.status == "valid",
            Receipt.kind == "fee",
        )
        .correlate(Application)
        .scalar_subquery()
    )
    return (
        select(
            Application.id,
            Application.number,
            func.coalesce(receipt, ""),
            Application.status,
            Applicant.id_number,
            Applicant.name_zh,
            Applicant.name_latin,
            Application.case,
            Application.lodged_on,
            Application.promised_on,
            Application.ready_at,
            Counter.number,
            Applicant.phone,
        )
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(Counter, Counter.id == Application.collection_counter_id)
    )


def _row(values: Sequence[Any], tz: str, today: date | None = None) -> ApplicationRow:
    (app_id, number, receipt, status, idn, zh, latin, case, lodged, promised, ready_at, counter,
     phone) = values  # fmt: skip
    ready_on = _local_day(ready_at, tz)
    waiting = (today - ready_on).days if today and ready_on else None
    return ApplicationRow(
        app_id, number or "", receipt, status, idn, zh, latin, case, lodged, promised, ready_on,
        counter, phone, waiting,
    )  # fmt: skip


def list_applications(
    ctx: Context, actor: Actor, status: str, *, limit: int = 500
) -> list[ApplicationRow]:
    """The office's applications in `status` (oldest first), as column tuples with a limit."""
    require_role(actor, *READ_ROLES)
    if status not in STATUSES or status == "draft":
        valid = ", ".join(s for s in STATUSES if s != "draft")
        raise UsageError(f"unknown status {status!r} (valid: {valid})")
    limit = max(1, min(int(limit), 10000))
    with ctx.db.read() as s:
        office = get_office(s, ctx)
        rows = s.exec(
            _rows_query()
            .where(Application.office_id == office.id, Application.status == status)
            .order_by(Application.lodged_on, Application.number)
            .limit(limit)
        ).all()
    return [_row(row, ctx.tz) for row in rows]


def uncollected(
    ctx: Context, actor: Actor, days: int | None = None, *, limit: int = 1000
) -> list[ApplicationRow]:
    """Ready cards not collected within `days` (default `[collection] uncollected_after_days`)
    of being ready, longest waiting first: the supervisor's list."""
    require_role(actor, *READ_ROLES)
    days = settings(ctx).uncollected_after_days if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise UsageError(f"the number of days is a whole number ≥ 0, not {days!r}")
    today, tz = ctx.today(), ctx.tz
    cutoff = _day_start_utc(today - timedelta(days=days - 1), tz) if days else utcnow()
    with ctx.db.read() as s:
        office = get_office(s, ctx)
        rows = s.exec(
            _rows_query()
            .where(
                Application.office_id == office.id,
                Application.status == "ready",
                Application.ready_at < cutoff,
            )
            .order_by(Application.ready_at, Application.number)
            .limit(max(1, min(int(limit), 10000)))
        ).all()
    return [_row(row, tz, today) for row in rows]


@dataclass(frozen=True)
class Summary:
    """Counts by status (the collection desk's header and the supervisor's glance)."""

    counts: dict[str, int] = field(default_factory=dict)
    uncollected: int = 0
    collected_today: int = 0


def summary(ctx: Context, actor: Actor) -> Summary:
    require_role(actor, *READ_ROLES)
    today, tz = ctx.today(), ctx.tz
    cutoff = _day_start_utc(today - timedelta(days=settings(ctx).uncollected_after_days - 1), tz)
    with ctx.db.read() as s:
        office = get_office(s, ctx)
        counts = dict(
            s.exec(
                select(Application.status, func.count())
                .where(Application.office_id == office.id, Application.status != "draft")
                .group_by(Application.status)
            ).all()
        )
        late = s.exec(
            select(func.count())
            .select_from(Application)
            .where(
                Application.office_id == office.id,
                Application.status == "ready",
                Application.ready_at < cutoff,
            )
        ).one()
        collected = s.exec(
            select(func.count())
            .select_from(Collection)
            .join(Application, Application.id == Collection.application_id)
            .where(
                Application.office_id == office.id,
                Collection.collected_at >= _day_start_utc(today, tz),
            )
        ).one()
    return Summary({k: int(v) for k, v in counts.items()}, int(late), int(collected))
