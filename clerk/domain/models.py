"""SQLModel tables for the whole office.

Conventions:
- Money: integer avos (`*_avos` columns). Never float.
- Instants: aware UTC datetimes (`clerk.domain.clock.utcnow()`); timestamptz on PostgreSQL,
  UTC text on SQLite, read back as aware UTC on both.
- Business days: `date` columns named `day`/`*_on`, the office's local date when the thing happened.
- Codes (case, status, role, tender…) are short strings; the valid values live in the services
  and the policy data, so adding one needs no migration.
- Daily sequences (tags, receipts, applications) come from `DailyCounter` rows updated with
  INSERT … ON CONFLICT DO UPDATE … RETURNING in the same transaction that uses the number.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from clerk.domain.clock import utcnow


def _text() -> Column:
    return Column(Text, nullable=True)


# --- office, counters, services -----------------------------------------------------------------


class Office(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=2, unique=True)
    name: str = ""
    name_zh: str = ""
    name_pt: str = ""
    timezone: str = "Asia/Macau"


class Counter(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("office_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    number: int
    name: str = ""
    active: bool = True
    collection: bool = False  # hands over finished cards


class Service(SQLModel, table=True):
    """A queue category with a letter prefix (A renewal, B collection, …)."""

    __table_args__ = (UniqueConstraint("office_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    code: str = Field(max_length=1)
    name: str = ""
    name_zh: str = ""
    name_pt: str = ""
    priority: int = 0  # higher is called first
    daily_cap: int | None = None
    active: bool = True


class CounterService(SQLModel, table=True):
    """Which counters serve which services (changeable while the office runs)."""

    counter_id: int = Field(foreign_key="counter.id", primary_key=True)
    service_id: int = Field(foreign_key="service.id", primary_key=True)


class DailyCounter(SQLModel, table=True):
    """Gapless per-day sequences: kind 'tag' (key = service code), 'receipt', 'application'."""

    office_id: int = Field(foreign_key="office.id", primary_key=True)
    kind: str = Field(primary_key=True, max_length=16)
    key: str = Field(default="", primary_key=True, max_length=16)
    day: date = Field(primary_key=True)
    value: int = 0


# --- people -------------------------------------------------------------------------------------


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    full_name: str = ""
    role: str = Field(default="clerk", max_length=16)  # clerk | supervisor | admin
    password_hash: str = ""
    language: str = Field(default="en", max_length=8)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class Applicant(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    id_number: str = Field(unique=True, max_length=16)  # e.g. 1234567(8), normalised
    name_zh: str = Field(default="", index=True)
    name_latin: str = Field(default="", index=True)
    date_of_birth: date | None = None
    sex: str = Field(default="", max_length=1)
    nationality: str = "chinese"
    origin: str = "macao"
    marital_status: str = "single"
    permanent: bool = True
    phone: str = ""
    first_2023_card_issued_on: date | None = None  # resets the non-presentation ladder
    # both names folded for partial, case- and accent-insensitive search (`fold_name`); kept
    # up to date on every insert and update, whoever writes the row
    search_key: str = Field(default="", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


@event.listens_for(Applicant, "before_insert")
@event.listens_for(Applicant, "before_update")
def _fold_applicant_names(_mapper, _connection, applicant: Applicant) -> None:
    from clerk.domain.identity import fold_name

    applicant.search_key = fold_name(applicant.name_zh, applicant.name_latin)


class IssuedCard(SQLModel, table=True):
    """An identity card the applicant holds or held (history shown at the counter)."""

    id: int | None = Field(default=None, primary_key=True)
    applicant_id: int = Field(foreign_key="applicant.id", index=True)
    version: str = ""  # e.g. "2013", "2023", "non-electronic"
    issued_on: date
    expires_on: date | None = None  # None: holder 65+ at issue, does not expire
    symbols: str = ""  # e.g. "***", "R"
    status: str = "valid"  # valid | cancelled | lost | replaced
    application_id: int | None = Field(default=None, foreign_key="application.id")


class NonPresentation(SQLModel, table=True):
    """A time the original card could not be presented (the surcharge ladder counts these)."""

    id: int | None = Field(default=None, primary_key=True)
    applicant_id: int = Field(foreign_key="applicant.id", index=True)
    occurred_on: date
    application_id: int | None = Field(default=None, foreign_key="application.id")
    note: str = ""


# --- queue --------------------------------------------------------------------------------------


class Appointment(SQLModel, table=True):
    __table_args__ = (Index("ix_appointment_day", "office_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id")
    booking_code: str = Field(unique=True, max_length=16)
    name: str = ""
    id_number: str = Field(default="", index=True, max_length=16)
    service_id: int = Field(foreign_key="service.id")
    day: date
    slot_start: str = Field(max_length=5)  # HH:MM local
    slot_end: str = Field(max_length=5)
    kind: str = "appointment"  # appointment | online-tag
    status: str = "booked"  # booked | checked-in | kept | missed | cancelled
    checked_in_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Tag(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("office_id", "day", "code"),
        Index("ix_tag_waiting", "office_id", "day", "status", "service_id"),
        # the queue report and the dashboard read only this index (no row lookups)
        Index(
            "ix_tag_report",
            "office_id",
            "day",
            "service_id",
            "status",
            "recalls",
            "issued_at",
            "called_at",
            "serving_at",
            "finished_at",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id")
    day: date
    code: str = Field(max_length=8)  # "A017": the prefix of the service that issued it
    number: int
    service_id: int = Field(foreign_key="service.id")  # current service (after a transfer)
    status: str = "waiting"  # waiting | called | serving | parked | finished | no-show
    priority: int = 0
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    user_id: int | None = Field(default=None, foreign_key="user.id")
    recalls: int = 0
    issued_at: datetime = Field(default_factory=utcnow)
    called_at: datetime | None = None
    serving_at: datetime | None = None
    finished_at: datetime | None = None
    applicant_id: int | None = Field(default=None, foreign_key="applicant.id")


class TagEvent(SQLModel, table=True):
    """Every transition of a tag, timed (issued, called, recalled, serving, parked, …)."""

    id: int | None = Field(default=None, primary_key=True)
    tag_id: int = Field(foreign_key="tag.id", index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(max_length=16)
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    user_id: int | None = Field(default=None, foreign_key="user.id")
    detail: str = ""


# --- applications -------------------------------------------------------------------------------


class Application(SQLModel, table=True):
    __table_args__ = (
        Index("ix_application_status", "status", "lodged_on"),
        Index("ix_application_user_status", "user_id", "status"),
        # lodged by case and service level, from the index alone (the date leads: with the office
        # first, SQLite would take it for "waiting since" too, instead of ix_application_status)
        Index("ix_application_lodged", "lodged_on", "case", "service_level", "office_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, unique=True, max_length=20)  # given at lodging
    office_id: int = Field(foreign_key="office.id")
    applicant_id: int | None = Field(default=None, foreign_key="applicant.id", index=True)
    tag_id: int | None = Field(default=None, foreign_key="tag.id")
    case: str = Field(default="renewal", max_length=32)
    service_level: str = Field(default="normal", max_length=16)
    external_service: bool = False
    facts_json: str = Field(default="{}", sa_column=_text())
    status: str = "draft"  # draft | lodged | in-production | ready | collected | cancelled
    step: str = ""  # where a draft stands, to resume
    user_id: int | None = Field(default=None, foreign_key="user.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    guardian_name: str = ""
    guardian_id_number: str = ""
    guardian_relationship: str = ""
    card_expires_on: date | None = None  # the presented card's expiry (renewal window check)
    policy_version: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    created_on: date | None = None
    lodged_at: datetime | None = None
    lodged_on: date | None = None
    promised_on: date | None = None
    in_production_at: datetime | None = None  # the card went to production (supervisor)
    ready_at: datetime | None = None  # the card came back from production (supervisor)
    collected_at: datetime | None = None  # handed over (details in `Collection`)
    cancelled_at: datetime | None = None
    # the collection counter the applicant is sent to, assigned at the first scan of the receipt
    # once the card is ready (`clerk.domain.collection`)
    collection_counter_id: int | None = Field(default=None, foreign_key="counter.id")


class ChecklistEntry(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("application_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    code: str = Field(max_length=48)
    title: str = ""
    reason: str = Field(default="", sa_column=_text())
    blocking: bool = True
    state: str = "pending"  # pending | original-seen | copy-received | missing | overridden
    note: str = ""  # e.g. a document refused (a brief report of death for a widowed applicant)
    approval_id: int | None = Field(default=None, foreign_key="approval.id")
    updated_at: datetime = Field(default_factory=utcnow)


# --- cashier ------------------------------------------------------------------------------------


class DrawerSession(SQLModel, table=True):
    __table_args__ = (Index("ix_drawersession_day", "office_id", "day"),)  # takings reports
    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="office.id")
    user_id: int = Field(foreign_key="user.id", index=True)
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    day: date
    opened_at: datetime = Field(default_factory=utcnow)
    float_avos: int = 0
    status: str = "open"  # open | counted (variance awaits a supervisor) | closed
    closed_at: datetime | None = None
    count_json: str = Field(default="", sa_column=_text())  # blind count by denomination
    counted_at: datetime | None = None
    expected_json: str = Field(default="", sa_column=_text())  # by tender, fixed at the count
    counted_avos: int | None = None
    expected_avos: int | None = None
    variance_avos: int | None = None
    approval_id: int | None = Field(default=None, foreign_key="approval.id")


class CashMovement(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    drawer_session_id: int = Field(foreign_key="drawersession.id", index=True)
    kind: str = "in"  # in | out
    amount_avos: int
    reason: str = ""
    user_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow)


class Receipt(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("office_id", "day", "sequence"),)
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=20)  # office+YYMMDD+seq+mod 97-10 check
    office_id: int = Field(foreign_key="office.id")
    day: date
    sequence: int
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    total_avos: int = 0
    status: str = "valid"  # valid | void | refunded
    issued_at: datetime = Field(default_factory=utcnow)
    printed_count: int = 0
    user_id: int | None = Field(default=None, foreign_key="user.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    # fee: the application's fees (the receipt brought back to collect the card);
    # collection-surcharge: the non-presentation surcharge charged at collection
    kind: str = Field(default="fee", max_length=24)


class Payment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    receipt_id: int = Field(foreign_key="receipt.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="application.id")
    drawer_session_id: int | None = Field(default=None, foreign_key="drawersession.id", index=True)
    kind: str = "payment"  # payment | reversal
    total_avos: int = 0
    change_avos: int = 0
    user_id: int | None = Field(default=None, foreign_key="user.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    at: datetime = Field(default_factory=utcnow, index=True)
    approval_id: int | None = Field(default=None, foreign_key="approval.id")
    reason: str = ""


class PaymentLine(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    code: str = Field(max_length=48)
    label: str = ""  # English; the receipt prints all three
    label_zh: str = ""
    label_pt: str = ""
    amount_avos: int
    waived: bool = False


class Tender(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    method: str = Field(max_length=24)  # cash | credit-card | unionpay-quickpass | …
    amount_avos: int
    tendered_avos: int | None = None  # cash handed over
    reference: str = ""


# --- approvals, cards, collection, audit --------------------------------------------------------


class Approval(SQLModel, table=True):
    __table_args__ = (Index("ix_approval_status", "status", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)  # exemption | checklist-override | void | refund | variance
    status: str = "pending"  # pending | approved | refused
    subject_type: str = ""
    subject_id: int | None = None
    detail: str = Field(default="", sa_column=_text())
    reason: str = ""
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    requested_at: datetime = Field(default_factory=utcnow)
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = None


class CardPersonalisation(SQLModel, table=True):
    __table_args__ = (
        Index("ix_cardpersonalisation_at", "at", "counter_id", "status", "application_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    status: str = "done"  # done | failed
    card_serial: str = ""
    atr: str = ""
    profile_version: str = ""
    data_hash: str = ""
    error: str = ""
    user_id: int | None = Field(default=None, foreign_key="user.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    at: datetime = Field(default_factory=utcnow)


class Collection(SQLModel, table=True):
    """The hand-over of a finished card (one per application; see `clerk.domain.collection`)."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", unique=True)
    counter_id: int | None = Field(default=None, foreign_key="counter.id")  # where handed over
    user_id: int | None = Field(default=None, foreign_key="user.id")  # the clerk who handed it
    collected_at: datetime = Field(default_factory=utcnow)
    receipt_id: int | None = Field(default=None, foreign_key="receipt.id")  # the fee receipt
    collector: str = Field(default="applicant", max_length=16)  # applicant|representative|guardian
    by_representative: bool = False  # collector is not the applicant (representative or guardian)
    representative_name: str = ""
    representative_id_number: str = ""
    authorisation_confirmed: bool = False  # the receipt's authorisation is filled in and signed
    receipt_kept: bool = False  # the original receipt stays with the office (a representative)
    identity_checked: bool = False  # the clerk confirmed the person against the record
    card_serial: str = ""  # the new card's chip serial, when it was read at the hand-over
    card_check: str = Field(default="", max_length=16)  # matches | not-read | no-record
    former_card: str = ""  # cancelled | not-presented | not-required
    former_card_id: int | None = Field(default=None, foreign_key="issuedcard.id")
    police_report: str = ""  # the police loss report's reference (former card not presented)
    surcharge_receipt_id: int | None = Field(default=None, foreign_key="receipt.id")


class AuditEvent(SQLModel, table=True):
    """Append-only, HMAC hash-chained (see `clerk.domain.audit`)."""

    __table_args__ = (Index("ix_auditevent_username", "username"),)  # the audit viewer's filter
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = None
    username: str = ""
    counter: int | None = None
    terminal: str = ""
    action: str = Field(max_length=48, index=True)
    subject_type: str = ""
    subject_id: int | None = None
    before: str = Field(default="", sa_column=_text())
    after: str = Field(default="", sa_column=_text())
    prev_hash: str = ""
    hash: str = ""


class AuditHead(SQLModel, table=True):
    """One row: the newest link of the audit chain (locked while appending)."""

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    last_hash: str = ""
