"""The card service: read a card's chip, compare it with the database, personalise a new card.

- `read_card(reader, profile)` → `CardData`: the holder record, the card serial and the ATR.
- `compare_with_record(card, applicant)` → one `Row` a field, differences flagged;
  `compare_card(ctx, card, application_id=None)` finds the record (by the chip's document number,
  or the application's applicant) and checks an issued card against its personalisation.
- `personalise(ctx, actor, reader, application_id, profile)`: the holder record from the
  Application and Applicant rows, VERIFY with the PIN from the secret store (one attempt only:
  a wrong PIN stops and says how many tries are left), UPDATE BINARY in chunks, READ BINARY back
  and compare byte for byte and by SHA-256, lock, then one transaction records the
  `CardPersonalisation` (done, serial, ATR, profile version, data hash, clerk, counter) with its
  audit event. Any failure is recorded as `failed` with the error and is never marked done; a
  card pulled out halfway must be put back and personalised again from the beginning.

Dates: issue = the office's business day; expiry = issue + the profile's validity years, none
when the policy says a card issued at that age does not expire (`card_expires`).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from clerk.devices.card_profile import (
    CardProfile,
    CardSession,
    HolderRecord,
    card_locked,
    data_hash,
    decode_record,
    encode_record,
    first_difference,
    load_profile,
)
from clerk.devices.reader import CARD_ERRORS, CardFailure, CardRefusal, CardRemoved, Reader
from clerk.domain.codes import ROLES
from clerk.errors import ClerkError, Failure, NotFound, Refused, UsageError
from clerk.i18n import N_

if TYPE_CHECKING:
    from clerk.context import Context
    from clerk.domain.auth import Actor
    from clerk.domain.models import Applicant, Application, CardPersonalisation

log = logging.getLogger(__name__)

# The PIN of the in-process virtual card when no CARD_PIN secret is set (`clerk demo`): a virtual
# card exists only inside this process, so this opens nothing real.
DEMO_PIN = "0000"
PERSONALISABLE = ("lodged", "in-production", "ready")
IDENTITY_FIELDS = (
    # chip field, Applicant attribute
    ("document_number", "id_number"),
    ("name_chinese", "name_zh"),
    ("name_latin", "name_latin"),
    ("date_of_birth", "date_of_birth"),
    ("sex", "sex"),
    ("permanent", "permanent"),
)


# --- readers -----------------------------------------------------------------------------------


def open_reader(ctx: Context, *, virtual: bool | None = None) -> Reader:
    """The configured reader; `virtual=True` (demo) gives the in-process reader with a blank
    reference card, whose PIN is the CARD_PIN secret (or `DEMO_PIN` when none is set)."""
    from clerk.devices.reader import PcscReader, VirtualReader

    cfg = ctx.config.card_reader
    if virtual or (virtual is None and cfg.kind == "virtual"):
        return VirtualReader(blank_card(ctx))
    return PcscReader(cfg.reader)


def blank_card(ctx: Context, profile: CardProfile | None = None):
    """A new, blank reference card for the virtual reader."""
    from clerk.devices.reference_card import ReferenceCard

    profile = profile or load_profile()
    return ReferenceCard(profile, _virtual_pin(ctx, profile))


def _virtual_pin(ctx: Context, profile: CardProfile) -> str:
    from clerk.secrets import get_secret

    return get_secret(profile.pin_secret, ctx.config, required=False) or DEMO_PIN


def _card_pin(ctx: Context, reader: Reader, profile: CardProfile) -> str:
    if reader.virtual:
        return _virtual_pin(ctx, profile)
    from clerk.secrets import get_secret

    return get_secret(profile.pin_secret, ctx.config)  # type: ignore[return-value]


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardData:
    reader: str
    virtual: bool
    atr: str  # hex, upper case
    serial: str  # hex, upper case (the chip's serial; never the random UID)
    locked: bool
    holder: HolderRecord | None  # None: a blank card
    data_hash: str  # SHA-256 of the record's bytes ("" when blank)
    profile_version: str

    def as_json(self) -> dict[str, Any]:
        return {
            "reader": self.reader,
            "virtual": self.virtual,
            "atr": self.atr,
            "serial": self.serial,
            "locked": self.locked,
            "blank": self.holder is None,
            "data_hash": self.data_hash,
            "profile_version": self.profile_version,
            "holder": holder_json(self.holder) if self.holder else None,
        }


def holder_json(holder: HolderRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in holder.__dict__.items():
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, frozenset):
            value = sorted(value)
        out[name] = value
    return out


def read_card(reader: Reader, profile: CardProfile | None = None) -> CardData:
    """Read the card in the reader (no PIN needed to read)."""
    profile = profile or load_profile()
    with reader.connect() as conn:
        session = CardSession(conn, profile)
        session.select()
        serial = session.serial().hex().upper()
        locked = session.locked()
        record = session.read_record()
        atr = conn.atr.hex().upper()
    holder = decode_record(profile, record) if record is not None else None
    return CardData(
        reader=conn.reader,
        virtual=reader.virtual,
        atr=atr,
        serial=serial,
        locked=locked,
        holder=holder,
        data_hash=data_hash(record) if record is not None else "",
        profile_version=profile.version,
    )


# --- comparing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    field: str
    on_card: object
    in_record: object
    differs: bool


@dataclass(frozen=True)
class Comparison:
    applicant_id: int | None
    rows: tuple[Row, ...]
    # the card against the application's personalisation: "matches", "differs", "none" (no
    # card was personalised for it) or "" (no application given)
    personalisation: str = ""

    @property
    def differences(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.differs)


def _norm(value: object) -> object:
    if isinstance(value, str):
        return " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    return value


def _blank() -> CardRefusal:
    return CardRefusal(N_("the card is blank: there is nothing to compare"))


def compare_with_record(card: CardData, applicant: Any) -> tuple[Row, ...]:
    """The chip's identity fields next to a record's (an `Applicant` or any object with its
    attributes). Text is compared after NFKC, case folding and spacing."""
    if card.holder is None:
        raise _blank()
    rows = []
    for chip_field, attribute in IDENTITY_FIELDS:
        on_card = getattr(card.holder, chip_field)
        in_record = getattr(applicant, attribute, None)
        rows.append(Row(chip_field, on_card, in_record, _norm(on_card) != _norm(in_record)))
    return tuple(rows)


def compare_card(ctx: Context, card: CardData, application_id: int | None = None) -> Comparison:
    """Compare with the application's applicant (and its personalisation), or else with the
    applicant whose ID number is the chip's document number."""
    if card.holder is None:
        raise _blank()
    from sqlmodel import select

    from clerk.domain.models import Applicant

    with ctx.db.read() as s:
        verdict = ""
        if application_id is not None:
            application = _application(s, application_id)
            applicant = _applicant_of(s, application)
            done = _done_personalisation(s, application_id)
            if done is None:
                verdict = "none"
            else:
                same = done.card_serial == card.serial and done.data_hash == card.data_hash
                verdict = "matches" if same else "differs"
        else:
            number = card.holder.document_number.strip()
            applicant = s.exec(select(Applicant).where(Applicant.id_number == number)).first()
        if applicant is None:
            raise NotFound(
                f"no applicant with ID number {card.holder.document_number} in the database"
            )
        return Comparison(applicant.id, compare_with_record(card, applicant), verdict)


# --- personalising -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CardOptions:
    """What the counter decides for the new card beyond the applicant's record."""

    condition_of_stay: str = ""
    limit_of_stay: date | None = None
    symbols: str | None = None  # None: those of the applicant's current card
    applications: frozenset[str] = frozenset()  # opt-in non-immigration applications


@dataclass(frozen=True)
class Personalised:
    application_id: int
    record_id: int
    reader: str
    serial: str
    atr: str
    profile_version: str
    data_hash: str
    bytes_written: int
    commands: int  # APDUs sent
    recovered: bool  # the card was written and locked before; this run only recorded it

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Plan:
    application_id: int
    counter_id: int | None
    holder: HolderRecord


@dataclass
class _Seen:
    """What the card told us before a failure (recorded with it)."""

    serial: str = ""
    atr: str = ""


class VerifyMismatch(CardFailure):
    pass


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _application(s, application_id: int) -> Application:
    from clerk.domain.models import Application

    application = s.get(Application, application_id)
    if application is None:
        raise NotFound(f"no application {application_id}")
    return application


def _applicant_of(s, application: Application) -> Applicant | None:
    from clerk.domain.models import Applicant

    return s.get(Applicant, application.applicant_id) if application.applicant_id else None


def _done_personalisation(s, application_id: int) -> CardPersonalisation | None:
    from sqlmodel import select

    from clerk.domain.models import CardPersonalisation

    return s.exec(
        select(CardPersonalisation)
        .where(
            CardPersonalisation.application_id == application_id,
            CardPersonalisation.status == "done",
        )
        .order_by(CardPersonalisation.id.desc())  # type: ignore[union-attr]
    ).first()


def holder_record(
    ctx: Context,
    application_id: int,
    profile: CardProfile | None = None,
    options: CardOptions | None = None,
) -> HolderRecord:
    """What a card for this application holds if personalised today."""
    profile = profile or load_profile()
    with ctx.db.read() as s:
        return _plan(s, ctx, None, application_id, profile, options or CardOptions(), True).holder


def _plan(
    s,
    ctx: Context,
    actor: Actor | None,
    application_id: int,
    profile: CardProfile,
    options: CardOptions,
    again: bool,
) -> _Plan:
    from sqlmodel import select

    from clerk.domain.models import Counter, IssuedCard
    from clerk.domain.policy import card_expires
    from clerk.domain.policy.eligibility import add_years

    application = _application(s, application_id)
    if application.status not in PERSONALISABLE:
        raise Refused(
            f"application {application_id} is {application.status}: only a lodged application "
            "gets a card"
        )
    applicant = _applicant_of(s, application)
    if applicant is None:
        raise Refused(f"application {application_id} has no applicant")
    done = _done_personalisation(s, application_id)
    if done is not None and not again:
        raise Refused(
            f"application {application_id} already has a personalised card (serial "
            f"{done.card_serial}); personalise again only for a replacement (--again)"
        )
    if applicant.permanent and (options.condition_of_stay or options.limit_of_stay):
        raise UsageError("a permanent resident has no condition or limit of stay")
    today = ctx.today()
    born = applicant.date_of_birth
    expires = born is None or card_expires(age_on(born, today), today)
    symbols = options.symbols
    if symbols is None:
        symbols = s.exec(
            select(IssuedCard.symbols)
            .where(IssuedCard.applicant_id == applicant.id, IssuedCard.status == "valid")
            .order_by(IssuedCard.issued_on.desc())  # type: ignore[attr-defined]
        ).first() or ("***" if applicant.permanent else "")
    holder = HolderRecord(
        document_number=applicant.id_number,
        name_chinese=applicant.name_zh,
        name_latin=applicant.name_latin,
        date_of_birth=born,
        sex=applicant.sex,
        issue_date=today,
        expiry_date=add_years(today, profile.validity_years) if expires else None,
        permanent=applicant.permanent,
        symbols=symbols,
        condition_of_stay=options.condition_of_stay.strip(),
        limit_of_stay=options.limit_of_stay,
        applications=frozenset(options.applications),
    )
    counter_id = None
    if actor is not None and actor.counter is not None:
        counter_id = s.exec(
            select(Counter.id).where(
                Counter.office_id == application.office_id, Counter.number == actor.counter
            )
        ).first()
    return _Plan(application_id, counter_id, holder)


def personalise(
    ctx: Context,
    actor: Actor,
    reader: Reader,
    application_id: int,
    profile: CardProfile | None = None,
    *,
    options: CardOptions | None = None,
    again: bool = False,
) -> Personalised:
    from clerk.domain.auth import require_role

    require_role(actor, *ROLES)
    profile = profile or load_profile()
    with ctx.db.read() as s:
        plan = _plan(s, ctx, actor, application_id, profile, options or CardOptions(), again)
    record = encode_record(profile, plan.holder)  # a value the card cannot hold: nothing done
    pin = _card_pin(ctx, reader, profile)
    seen = _Seen()
    try:
        written, commands, recovered, reader_name = _write_card(reader, profile, pin, record, seen)
    except CardRemoved as exc:
        _record_failure(ctx, actor, plan, profile, seen, exc)
        raise CardRemoved(
            N_(
                "the card was removed during personalisation; nothing was recorded as done: "
                "put it back and personalise again (it starts from the beginning)"
            )
        ) from exc
    except CARD_ERRORS as exc:
        _record_failure(ctx, actor, plan, profile, seen, exc)
        raise
    digest = data_hash(record)
    try:
        record_id = _record(
            ctx,
            actor,
            plan,
            {
                "status": "done",
                "card_serial": seen.serial,
                "atr": seen.atr,
                "profile_version": profile.version,
                "data_hash": digest,
            },
            {"reader": reader_name, "recovered": recovered},
        )
    except ClerkError as exc:
        raise Failure(
            f"the card {seen.serial} was written, verified and locked, but the database could "
            f"not record it ({exc.message}); personalise again with the same card to record it"
        ) from exc
    return Personalised(
        application_id=application_id,
        record_id=record_id,
        reader=reader_name,
        serial=seen.serial,
        atr=seen.atr,
        profile_version=profile.version,
        data_hash=digest,
        bytes_written=0 if recovered else len(record),
        commands=commands,
        recovered=recovered,
    )


def _write_card(
    reader: Reader, profile: CardProfile, pin: str, record: bytes, seen: _Seen
) -> tuple[int, int, bool, str]:
    """(bytes written, APDUs, recovered, reader name); raises on any failure."""
    with reader.connect() as conn:
        seen.atr = conn.atr.hex().upper()
        session = CardSession(conn, profile)
        session.select()
        seen.serial = session.serial().hex().upper()
        if session.locked():
            # Written and locked before, but not recorded (e.g. the database failed): the same
            # bytes on the card are verified now; anything else is somebody else's card.
            if session.read_record() != record:
                raise card_locked()
            return 0, session.apdus, True, conn.reader
        session.verify(pin)
        session.write_record(record)
        back = session.read_bytes(len(record))
        if back != record or data_hash(back) != data_hash(record):
            raise VerifyMismatch(
                N_(
                    "the card gave back other bytes than written (first at byte {at}); it was "
                    "not locked: personalise it again"
                ),
                at=first_difference(back, record),
            )
        session.lock()
        if not session.locked():
            raise CardFailure(N_("the card did not lock; use another card"))
        return len(record), session.apdus, False, conn.reader


def _record_failure(
    ctx: Context,
    actor: Actor,
    plan: _Plan,
    profile: CardProfile,
    seen: _Seen,
    exc: ClerkError,
) -> None:
    row = {
        "status": "failed",
        "card_serial": seen.serial,
        "atr": seen.atr,
        "profile_version": profile.version,
        "error": exc.message,
    }
    try:
        _record(ctx, actor, plan, row, {"error": exc.message})
    except ClerkError:
        log.exception("could not record the failed personalisation of %s", plan.application_id)


def _record(
    ctx: Context, actor: Actor, plan: _Plan, values: dict[str, Any], extra: dict[str, Any]
) -> int:
    """One CardPersonalisation row and its audit event, in one transaction."""
    from clerk.domain import audit
    from clerk.domain.models import CardPersonalisation

    row = CardPersonalisation(
        application_id=plan.application_id,
        user_id=actor.user_id,
        counter_id=plan.counter_id,
        **values,
    )
    action = "card.personalise" if row.status == "done" else "card.personalise.failed"
    with ctx.db.write() as s:
        s.add(row)
        s.flush()
        audit.append(
            s,
            ctx.audit_key,
            actor,
            action,
            subject_type="application",
            subject_id=plan.application_id,
            after={
                "personalisation": row.id,
                "serial": row.card_serial,
                "profile_version": row.profile_version,
                "data_hash": row.data_hash,
                **extra,
            },
        )
        return row.id  # type: ignore[return-value]


def personalisations(ctx: Context, application_id: int) -> list[dict[str, Any]]:
    """The personalisation attempts of an application, oldest first."""
    from sqlmodel import select

    from clerk.domain.models import CardPersonalisation

    with ctx.db.read() as s:
        _application(s, application_id)
        rows = s.exec(
            select(CardPersonalisation)
            .where(CardPersonalisation.application_id == application_id)
            .order_by(CardPersonalisation.id)  # type: ignore[arg-type]
        ).all()
        return [
            {
                "id": r.id,
                "status": r.status,
                "serial": r.card_serial,
                "profile_version": r.profile_version,
                "data_hash": r.data_hash,
                "error": r.error,
                "at": r.at.isoformat(),
            }
            for r in rows
        ]
