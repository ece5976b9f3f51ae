"""The counter's intake: from the applicant at the counter to a lodged application.

Every function that changes something owns its transaction: the change and its audit event
commit together, or nothing does. Bad input raises `UsageError` (a clear message, nothing
written); a rule or a role saying no raises `Refused`.

The rules are the policy engine's (`clerk.domain.policy`): the checklist and its reasons, the
fees and the surcharge ladder, the collection date, the renewal window, which facts matter for a
case. This module only feeds the engine the facts and the person's history, and keeps the draft.

A draft is saved at every step (`Application.status == "draft"`, `step` = where it stands), so a
clerk whose terminal dropped logs in again and resumes it (`my_drafts`, `load_draft`). A draft
created before today's business day is stale: the supervisor's desk lists them (`stale_drafts`).

Choices made where the issue and the seeds are silent:
- An applicant under 5 years of age is refused at this counter (`MIN_AGE`, the issue's figure).
- The renewal window is checked for the renewal case only, against the expiry of the card the
  applicant presents (pre-filled from the card on record).
- A checklist mark is kept while its item stays the same; when the facts turn the item into
  another variant (e.g. the former card "presented" becomes "not presented"), it starts again
  as pending.
- A supervisor's override applies to one blocking item of one application.
- Lodging records a non-presentation (the surcharge ladder's next rung) exactly when the engine's
  quote carries the non-presentation surcharge, and copies the verified marital status, origin
  and nationality to the applicant's record.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from clerk.domain import approvals, audit, policy
from clerk.domain.auth import require_role
from clerk.domain.clock import utcnow
from clerk.domain.codes import SUPERVISORS
from clerk.domain.identity import (
    is_id_number_attempt,
    name_words,
    normalise_chinese_name,
    normalise_latin_name,
    parse_document_number,
    parse_id_number,
    visible,
)
from clerk.domain.models import (
    Applicant,
    Application,
    Approval,
    ChecklistEntry,
    IssuedCard,
    NonPresentation,
    Tag,
    User,
)
from clerk.domain.office import get_office
from clerk.domain.policy.codes import check_choice
from clerk.domain.policy.facts import MAX_AGE
from clerk.domain.sequences import next_number
from clerk.errors import NotFound, Refused, UsageError
from clerk.i18n import N_, _

if TYPE_CHECKING:
    from sqlmodel import Session

    from clerk.context import Context
    from clerk.domain.auth import Actor
    from clerk.domain.policy import CollectionDate, Facts, Quote

# --- codes --------------------------------------------------------------------------------------

STEPS = ("call", "identify", "case", "facts", "checklist", "marital", "minors", "review")
DRAFT_STEPS = STEPS[2:]  # a draft exists once the applicant is identified
# which step shows which checklist items (the others are on the checklist step)
MARITAL_CODES = (
    "marriage-certificate",
    "spouse-id-copy",
    "household-registration-transcript",
    "divorce-proof",
    "spouse-death-certificate",
)
MINOR_CODES = ("guardian-present", "parents-id-copies")
MARKS = ("original-seen", "copy-received", "missing", "pending")
SATISFIED = ("original-seen", "copy-received", "overridden")
RELATIONSHIPS = ("father", "mother", "guardian")
SEXES = ("M", "F")
MIN_AGE = 5  # the issue: an applicant under 5 is bad input at the counter
WINDOW_CASES = ("renewal",)  # the renewal window applies to these cases
INTAKE_ROLES = ("clerk", "supervisor")  # an administrator is IT, not a counter clerk
DEATH_CERTIFICATE = "spouse-death-certificate"
BRIEF_REPORT_REFUSED = N_("brief report of death presented: refused, it is not accepted as proof")
# the facts a clerk may be asked, in the order the form shows them
FACT_FIELDS = (
    "marital",
    "origin",
    "spouse_origin",
    "nationality",
    "residence_authorisation",
    "talent_scheme",
    "original_presented",
    "foreign_language_docs",
    "birth_record_changed",
    "photo",
    "exemption",
)
_DATE_FORMATS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
    re.compile(r"^(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})$"),
)


# --- plain results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicantView:
    id: int
    id_number: str
    name_zh: str
    name_latin: str
    date_of_birth: date | None
    sex: str
    nationality: str
    origin: str
    marital_status: str
    permanent: bool
    phone: str

    def age_on(self, day: date) -> int | None:
        return age_on(self.date_of_birth, day) if self.date_of_birth else None


@dataclass(frozen=True)
class ApplicantRow:
    """One search result."""

    id: int
    id_number: str
    name_zh: str
    name_latin: str
    date_of_birth: date | None


@dataclass(frozen=True)
class CardRow:
    version: str
    issued_on: date
    expires_on: date | None
    status: str
    symbols: str


@dataclass(frozen=True)
class History:
    """What the office knows of the person: cards (newest first) and non-presentations."""

    cards: tuple[CardRow, ...]
    surcharges: tuple[tuple[date, str], ...]  # (date, note), oldest first
    first_2023_card: date | None
    next_surcharge: int  # which time the next non-presentation surcharge would be

    @property
    def current_card(self) -> CardRow | None:
        return next((card for card in self.cards if card.status == "valid"), None)

    @property
    def card_version(self) -> str:
        card = self.current_card or (self.cards[0] if self.cards else None)
        return card.version if card else ""


@dataclass(frozen=True)
class Identified:
    """What the identify field found: one applicant, a list of names, or a new ID number."""

    applicant: ApplicantView | None = None
    history: History | None = None
    matches: tuple[ApplicantRow, ...] = ()
    new_id_number: str = ""


@dataclass(frozen=True)
class Item:
    """A checklist item of a draft: the engine's item and the clerk's mark."""

    code: str
    title: dict[str, str]  # by language
    reason: dict[str, str]
    blocking: bool
    state: str
    note: str
    approval_id: int | None

    @property
    def group(self) -> str:
        if self.code in MARITAL_CODES:
            return "marital"
        return "minors" if self.code in MINOR_CODES else "checklist"

    @property
    def satisfied(self) -> bool:
        return self.state in SATISFIED

    @property
    def holds_lodging(self) -> bool:
        return self.blocking and not self.satisfied

    def title_for(self, lang: str) -> str:
        return self.title.get(lang) or self.title["en"]

    def reason_for(self, lang: str) -> str:
        return self.reason.get(lang) or self.reason["en"]


@dataclass(frozen=True)
class Draft:
    id: int
    status: str
    step: str
    steps: tuple[str, ...]  # the steps of this application (marital and minors when needed)
    applicant: ApplicantView
    history: History
    facts: Facts
    relevant: tuple[str, ...]  # the facts that matter for the case (FACT_FIELDS order)
    card_expires_on: date | None
    asks_expiry: bool  # the renewal window applies to the case
    guardian_name: str
    guardian_id_number: str
    guardian_relationship: str
    items: tuple[Item, ...]
    tag_code: str
    number: str
    created_on: date | None
    stale: bool

    def items_in(self, group: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.group == group)

    @property
    def asks_death_certificate(self) -> bool:
        """The engine asks the spouse's death certificate (a widowed applicant): a brief report
        of death offered instead is refused (`refuse_brief_report`)."""
        return any(item.code == DEATH_CERTIFICATE for item in self.items)

    @property
    def blockers(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.holds_lodging)


@dataclass(frozen=True)
class Review:
    draft: Draft
    quote: Quote
    collection: CollectionDate
    lodged_on: date
    policy_version: str


@dataclass(frozen=True)
class Lodged:
    application_id: int
    number: str
    lodged_on: date
    promised_on: date
    total_avos: int
    non_presentation: bool


@dataclass(frozen=True)
class DraftRow:
    id: int
    id_number: str
    name_zh: str
    name_latin: str
    case: str
    step: str
    username: str
    created_on: date | None
    updated_at: datetime
    stale: bool


# --- parsing ------------------------------------------------------------------------------------


def age_on(born: date, day: date) -> int:
    """Whole years from `born` to `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def parse_day(value: str | date | None, what: str) -> date | None:
    """A date typed as YYYY-MM-DD, YYYYMMDD or DD/MM/YYYY (full-width digits too); "" → None."""
    if value is None or isinstance(value, date):
        return value
    text = "".join(unicodedata.normalize("NFKC", value).split())
    if not text:
        return None
    for shape in _DATE_FORMATS:
        found = shape.match(text)
        if found:
            try:
                return date(int(found["y"]), int(found["m"]), int(found["d"]))
            except ValueError:
                raise UsageError(
                    _("{what}: {text} is not a date of the calendar.").format(what=what, text=text)
                ) from None
    raise UsageError(
        _("{what}: {text} is not a date; type YYYY-MM-DD or DD/MM/YYYY.").format(
            what=what, text=text
        )
    )


def check_birth_date(value: str | date | None, today: date) -> date:
    """A possible date of birth of an applicant at the counter today."""
    what = _("Date of birth")
    born = parse_day(value, what)
    if born is None:
        raise UsageError(_("Type the date of birth."))
    if born > today:
        raise UsageError(
            _("{what}: {day} is in the future.").format(what=what, day=born.isoformat())
        )
    age = age_on(born, today)
    if age > MAX_AGE:
        raise UsageError(
            _("{what}: {day} would make the applicant {age} years old.").format(
                what=what, day=born.isoformat(), age=age
            )
        )
    if age < MIN_AGE:
        raise UsageError(
            _("The applicant is {age}: the counter serves applicants aged {min} or over.").format(
                age=age, min=MIN_AGE
            )
        )
    return born


def _clean_text(value: str, limit: int = 120) -> str:
    return " ".join(visible(value).split())[:limit]


# --- the renewal window -------------------------------------------------------------------------


def _check_window(
    case: str, expiry: date | None, card: CardRow | None, born: date | None, day: date, lang: str
) -> None:
    """Refuse a renewal whose card is outside the engine's renewal window."""
    if case not in WINDOW_CASES or expiry is None:
        return
    age_at_issue = None
    if card is not None and born is not None and card.expires_on == expiry:
        age_at_issue = age_on(born, card.issued_on)
    verdict = policy.renewal_eligibility(expiry, day, age_at_issue=age_at_issue)
    if not verdict.eligible:
        raise UsageError(" ".join(reason.text_for(lang) for reason in verdict.reasons))


# --- which facts matter -------------------------------------------------------------------------


def _choices(name: str) -> tuple[Any, ...]:
    if name in ("marital",):
        return policy.MARITAL_STATUSES
    if name in ("origin", "spouse_origin"):
        return policy.REGIONS
    if name == "nationality":
        return policy.NATIONALITIES
    if name == "photo":
        return policy.PHOTO_OPTIONS
    if name == "exemption":
        return (None, *policy.EXEMPTIONS)
    return (False, True)


def fact_choices(name: str) -> tuple[Any, ...]:
    """The values a fact of `FACT_FIELDS` takes (flags: False, True; exemption: None first)."""
    if name not in FACT_FIELDS:
        raise UsageError(f"unknown fact {name!r}")
    return _choices(name)


def _outcome(facts: Facts, on: date) -> tuple[Any, ...]:
    items = tuple((i.code, i.blocking, i.title["en"]) for i in policy.checklist(facts, on))
    lines = tuple((line.code, line.amount_avos) for line in policy.quote(facts, on).lines)
    return items, lines


def _matters(name: str, facts: Facts, on: date) -> bool:
    base = _outcome(facts, on)
    current = getattr(facts, name)
    return any(
        _outcome(facts.with_changes(**{name: value}), on) != base
        for value in _choices(name)
        if value != current
    )


def relevant_facts(facts: Facts, on: date) -> tuple[str, ...]:
    """The facts that matter for this case now: those whose change would change the engine's
    checklist or quote (so the form asks only them; e.g. the origins only of married people).

    A fact masked by another one's value still counts (the applicant's origin matters although
    the spouse's origin already asks for the household registration transcript): it is probed
    again with each other fact back at its ordinary default.
    """
    ordinary = policy.Facts()
    wanted = []
    for name in FACT_FIELDS:
        others = (
            facts.with_changes(**{other: getattr(ordinary, other)})
            for other in FACT_FIELDS
            if other != name and getattr(facts, other) != getattr(ordinary, other)
        )
        if _matters(name, facts, on) or any(_matters(name, reset, on) for reset in others):
            wanted.append(name)
    return tuple(wanted)


def warm_up(day: date) -> None:
    """Load the rules and the holiday calendar before the first applicant (a moment's work
    the first time; the counter screen runs it off the UI thread when it opens)."""
    relevant_facts(policy.Facts(), day)
    policy.collection_date(day, policy.SERVICES[0])
    policy.policy_version(day)


# --- reading helpers ----------------------------------------------------------------------------


def _applicant_view(a: Applicant) -> ApplicantView:
    return ApplicantView(
        a.id,
        a.id_number,
        a.name_zh,
        a.name_latin,
        a.date_of_birth,
        a.sex,
        a.nationality,
        a.origin,
        a.marital_status,
        a.permanent,
        a.phone,
    )


def _history(s: Session, applicant: Applicant) -> History:
    cards = tuple(
        CardRow(*row)
        for row in s.exec(
            select(
                IssuedCard.version,
                IssuedCard.issued_on,
                IssuedCard.expires_on,
                IssuedCard.status,
                IssuedCard.symbols,
            )
            .where(IssuedCard.applicant_id == applicant.id)
            .order_by(IssuedCard.issued_on.desc(), IssuedCard.id.desc())
            .limit(50)
        ).all()
    )
    surcharges = tuple(
        (when, note)
        for when, note in s.exec(
            select(NonPresentation.occurred_on, NonPresentation.note)
            .where(NonPresentation.applicant_id == applicant.id)
            .order_by(NonPresentation.occurred_on, NonPresentation.id)
            .limit(500)
        ).all()
    )
    first_2023 = applicant.first_2023_card_issued_on or min(
        (card.issued_on for card in cards if card.version == "2023"), default=None
    )
    dates = [when for when, _note in surcharges]
    return History(cards, surcharges, first_2023, policy.next_surcharge_ordinal(dates, first_2023))


def _facts_of(app: Application, history: History, born: date | None, day: date) -> Facts:
    """The stored facts, with the person's age today and surcharge history from the database."""
    stored = json.loads(app.facts_json or "{}")
    stored.pop("prior_surcharges", None)
    facts = policy.Facts.from_mapping(stored)
    return facts.with_changes(
        age=age_on(born, day) if born else None,
        prior_surcharges=0,
        prior_surcharge_dates=tuple(when for when, _note in history.surcharges),
        first_issued_2023_card=history.first_2023_card,
    )


def _store_facts(app: Application, facts: Facts) -> None:
    app.facts_json = json.dumps(facts.to_mapping(), sort_keys=True, ensure_ascii=False)
    app.case = facts.case
    app.service_level = facts.service
    app.external_service = facts.external_service


def _items(s: Session, app_id: int, facts: Facts, day: date) -> tuple[Item, ...]:
    entries = {
        e.code: e
        for e in s.exec(select(ChecklistEntry).where(ChecklistEntry.application_id == app_id))
    }
    items = []
    for it in policy.checklist(facts, day):
        entry = entries.get(it.code)
        items.append(
            Item(
                it.code,
                dict(it.title),
                dict(it.reasons),
                it.blocking,
                entry.state if entry else "pending",
                entry.note if entry else "",
                entry.approval_id if entry else None,
            )
        )
    return tuple(items)


def _steps(facts: Facts, items: Iterable[Item]) -> tuple[str, ...]:
    groups = {item.group for item in items}
    return tuple(
        step
        for step in STEPS
        if (step != "marital" or "marital" in groups) and (step != "minors" or facts.is_minor)
    )


def _draft(s: Session, app: Application, day: date) -> Draft:
    applicant = s.get(Applicant, app.applicant_id)
    history = _history(s, applicant)
    facts = _facts_of(app, history, applicant.date_of_birth, day)
    items = _items(s, app.id, facts, day)
    tag_code = ""
    if app.tag_id is not None:
        tag_code = s.exec(select(Tag.code).where(Tag.id == app.tag_id)).first() or ""
    steps = _steps(facts, items)
    step = app.step if app.step in steps else next(st for st in DRAFT_STEPS if st in steps)
    return Draft(
        id=app.id,
        status=app.status,
        step=step,
        steps=steps,
        applicant=_applicant_view(applicant),
        history=history,
        facts=facts,
        relevant=relevant_facts(facts, day),
        card_expires_on=app.card_expires_on,
        asks_expiry=facts.case in WINDOW_CASES,
        guardian_name=app.guardian_name,
        guardian_id_number=app.guardian_id_number,
        guardian_relationship=app.guardian_relationship,
        items=items,
        tag_code=tag_code,
        number=app.number or "",
        created_on=app.created_on,
        stale=app.status == "draft" and app.created_on is not None and app.created_on < day,
    )


def _sync_items(s: Session, app_id: int, facts: Facts, day: date) -> None:
    """Make the draft's entries the engine's items for `facts` (marks of unchanged items kept)."""
    wanted = {item.code: item for item in policy.checklist(facts, day)}
    now = utcnow()
    for entry in s.exec(select(ChecklistEntry).where(ChecklistEntry.application_id == app_id)):
        item = wanted.pop(entry.code, None)
        if item is None:
            s.delete(entry)
            continue
        if entry.title != item.title["en"] or entry.blocking != item.blocking:
            entry.state, entry.note, entry.approval_id = "pending", "", None
        entry.title, entry.reason, entry.blocking, entry.updated_at = (
            item.title["en"],
            item.reason,
            item.blocking,
            now,
        )
        s.add(entry)
    for item in wanted.values():
        s.add(
            ChecklistEntry(
                application_id=app_id,
                code=item.code,
                title=item.title["en"],
                reason=item.reason,
                blocking=item.blocking,
                updated_at=now,
            )
        )
    s.flush()


def _application(s: Session, actor: Actor, app_id: int, *, lock: bool = True) -> Application:
    """The application, if the actor may work on it (its clerk, or a supervisor)."""
    require_role(actor, *INTAKE_ROLES)
    query = select(Application).where(Application.id == app_id)
    app = s.exec(query.with_for_update() if lock else query).first()
    if app is None:
        raise NotFound(_("There is no application {id}.").format(id=app_id))
    if app.user_id != actor.user_id and not actor.is_supervisor:
        owner = s.exec(select(User.username).where(User.id == app.user_id)).first() or "?"
        raise Refused(_("This application is {user}'s draft.").format(user=owner))
    return app


def _draft_for_change(s: Session, actor: Actor, app_id: int) -> Application:
    app = _application(s, actor, app_id)
    if app.status != "draft":
        raise Refused(
            _("Application {number} is already {status}.").format(
                number=app.number or app.id, status=app.status
            )
        )
    return app


def _touch(
    s: Session,
    ctx: Context,
    actor: Actor,
    app: Application,
    action: str,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    app.updated_at = utcnow()
    s.add(app)
    s.flush()
    audit.append(
        s,
        ctx.audit_key,
        actor,
        action,
        subject_type="application",
        subject_id=app.id,
        before=before,
        after=after,
    )


def _next_step(steps: tuple[str, ...], step: str) -> str:
    later = [st for st in steps if STEPS.index(st) > STEPS.index(step)]
    return later[0] if later else "review"


# --- applicants ---------------------------------------------------------------------------------


def find_applicants(ctx: Context, text: str, limit: int = 20) -> list[ApplicantRow]:
    """By ID number (exact, any typed form) or by partial names, Chinese or Latin, in any case
    and with or without accents (every word typed must appear)."""
    limit = max(1, min(limit, 200))
    columns = (
        Applicant.id,
        Applicant.id_number,
        Applicant.name_zh,
        Applicant.name_latin,
        Applicant.date_of_birth,
    )
    if is_id_number_attempt(text):
        query = select(*columns).where(Applicant.id_number == parse_id_number(text))
    else:
        words = name_words(text)
        if not words:
            raise UsageError(_("Type an ID card number or a name."))
        query = select(*columns)
        for word in words:
            query = query.where(Applicant.search_key.contains(word, autoescape=True))
        query = query.order_by(Applicant.name_latin, Applicant.name_zh, Applicant.id)
    with ctx.db.read() as s:
        return [ApplicantRow(*row) for row in s.exec(query.limit(limit)).all()]


def identify(ctx: Context, text: str) -> Identified:
    """The identify field: an ID number finds one applicant (or is new), a name lists matches
    (a single match is taken at once)."""
    if is_id_number_attempt(text):
        id_number = parse_id_number(text)
        with ctx.db.read() as s:
            found = s.exec(select(Applicant).where(Applicant.id_number == id_number)).first()
            if found is None:
                return Identified(new_id_number=id_number)
            return Identified(_applicant_view(found), _history(s, found))
    matches = find_applicants(ctx, text)
    if len(matches) == 1:
        return applicant_with_history(ctx, matches[0].id)
    return Identified(matches=tuple(matches))


def applicant_with_history(ctx: Context, applicant_id: int) -> Identified:
    with ctx.db.read() as s:
        found = s.get(Applicant, applicant_id)
        if found is None:
            raise NotFound(_("There is no applicant {id}.").format(id=applicant_id))
        return Identified(_applicant_view(found), _history(s, found))


def applicant_history(ctx: Context, applicant_id: int) -> History:
    """Earlier cards (with their version), non-presentation surcharges, the next rung."""
    history = applicant_with_history(ctx, applicant_id).history
    assert history is not None
    return history


def _applicant_values(
    ctx: Context,
    *,
    name_zh: str,
    name_latin: str,
    date_of_birth: str | date | None,
    sex: str,
    phone: str = "",
) -> dict[str, Any]:
    values = {
        "name_zh": normalise_chinese_name(name_zh)[:60],
        "name_latin": normalise_latin_name(name_latin)[:120],
        "date_of_birth": check_birth_date(date_of_birth, ctx.today()),
        "sex": (sex or "").strip().upper(),
        "phone": _clean_text(phone, 30),
    }
    if not values["name_zh"] and not values["name_latin"]:
        raise UsageError(_("Type the name: in Chinese, in Latin letters, or both."))
    if values["sex"] not in SEXES:
        raise UsageError(_("Sex: M or F, as on the card."))
    return values


def _public(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def create_applicant(
    ctx: Context,
    actor: Actor,
    id_number: str,
    *,
    name_zh: str = "",
    name_latin: str = "",
    date_of_birth: str | date | None = None,
    sex: str = "",
    phone: str = "",
) -> ApplicantView:
    """A person the office has no record of, created at the counter."""
    require_role(actor, *INTAKE_ROLES)
    number = parse_id_number(id_number)
    values = _applicant_values(
        ctx,
        name_zh=name_zh,
        name_latin=name_latin,
        date_of_birth=date_of_birth,
        sex=sex,
        phone=phone,
    )
    with ctx.db.write() as s:
        if s.exec(select(Applicant.id).where(Applicant.id_number == number)).first():
            raise UsageError(_("{number} is already on record.").format(number=number))
        person = Applicant(id_number=number, **values)
        s.add(person)
        s.flush()
        audit.append(
            s,
            ctx.audit_key,
            actor,
            "applicant.create",
            subject_type="applicant",
            subject_id=person.id,
            after={"id_number": number, **_public(values)},
        )
        return _applicant_view(person)


def update_applicant(
    ctx: Context, actor: Actor, applicant_id: int, **changes: Any
) -> ApplicantView:
    """Correct an applicant's names, date of birth, sex or phone (each checked)."""
    require_role(actor, *INTAKE_ROLES)
    allowed = ("name_zh", "name_latin", "date_of_birth", "sex", "phone")
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise UsageError(f"cannot change {', '.join(unknown)} (valid: {', '.join(allowed)})")
    with ctx.db.write() as s:
        person = s.get(Applicant, applicant_id)
        if person is None:
            raise NotFound(_("There is no applicant {id}.").format(id=applicant_id))
        current = {name: getattr(person, name) for name in allowed}
        values = _applicant_values(ctx, **{**current, **changes})
        _update_person(s, ctx, actor, person, values)
        return _applicant_view(person)


def _update_person(
    s: Session, ctx: Context, actor: Actor, person: Applicant, values: Mapping[str, Any]
) -> None:
    before = {k: getattr(person, k) for k in values if getattr(person, k) != values[k]}
    if not before:
        return
    for name, value in values.items():
        setattr(person, name, value)
    person.updated_at = utcnow()
    s.add(person)
    s.flush()
    audit.append(
        s,
        ctx.audit_key,
        actor,
        "applicant.update",
        subject_type="applicant",
        subject_id=person.id,
        before=_public(before),
        after=_public({k: values[k] for k in before}),
    )


# --- drafts -------------------------------------------------------------------------------------


def start_draft(
    ctx: Context, actor: Actor, applicant_id: int, tag_code: str | None = None
) -> Draft:
    """Open a draft for the applicant (served under `tag_code`, today's tag at this counter).

    The clerk's own open draft for the same person is resumed instead of a second one.
    """
    require_role(actor, *INTAKE_ROLES)
    day = ctx.today()
    with ctx.db.write() as s:
        person = s.get(Applicant, applicant_id)
        if person is None:
            raise NotFound(_("There is no applicant {id}.").format(id=applicant_id))
        mine = s.exec(
            select(Application)
            .where(
                Application.applicant_id == applicant_id,
                Application.user_id == actor.user_id,
                Application.status == "draft",
            )
            .order_by(Application.id.desc())
            .limit(1)
        ).first()
        if mine is not None:
            return _draft(s, mine, day)
        office = get_office(s, ctx)
        tag = None
        if tag_code:
            tag = s.exec(
                select(Tag).where(Tag.office_id == office.id, Tag.day == day, Tag.code == tag_code)
            ).first()
            if tag is None:
                raise NotFound(_("There is no tag {code} today.").format(code=tag_code))
        history = _history(s, person)
        facts = policy.Facts(
            marital=_known(person.marital_status, policy.MARITAL_STATUSES, "single"),
            origin=_known(person.origin, policy.REGIONS, "macao"),
            nationality=_known(person.nationality, policy.NATIONALITIES, "chinese"),
        )
        card = history.current_card
        app = Application(
            office_id=office.id,
            applicant_id=person.id,
            tag_id=tag.id if tag else None,
            user_id=actor.user_id,
            counter_id=tag.counter_id if tag else None,
            step="case",
            created_on=day,
            card_expires_on=card.expires_on if card else None,
        )
        _store_facts(app, facts)
        s.add(app)
        s.flush()
        if tag is not None and tag.applicant_id is None:
            tag.applicant_id = person.id
            s.add(tag)
        _sync_items(s, app.id, _facts_of(app, history, person.date_of_birth, day), day)
        _touch(
            s,
            ctx,
            actor,
            app,
            "application.start",
            after={"applicant": person.id_number, "tag": tag_code or ""},
        )
        return _draft(s, app, day)


def _known(value: str, valid: tuple[str, ...], default: str) -> str:
    return value if value in valid else default


def load_draft(ctx: Context, actor: Actor, app_id: int) -> Draft:
    day = ctx.today()
    with ctx.db.read() as s:
        return _draft(s, _application(s, actor, app_id, lock=False), day)


def _save(
    ctx: Context,
    actor: Actor,
    app_id: int,
    step: str,
    change,
) -> Draft:
    """Apply `change(s, app, person, history, facts, day) -> (facts, audit_after)` to a draft,
    re-sync its checklist, move it past `step`, audit, and return it."""
    day = ctx.today()
    with ctx.db.write() as s:
        app = _draft_for_change(s, actor, app_id)
        person = s.get(Applicant, app.applicant_id)
        history = _history(s, person)
        facts = _facts_of(app, history, person.date_of_birth, day)
        new_facts, after = change(s, app, person, history, facts, day)
        new_facts = _facts_of_after(new_facts, person, day)
        _store_facts(app, new_facts)
        _sync_items(s, app.id, new_facts, day)
        steps = _steps(new_facts, _items(s, app.id, new_facts, day))
        before = app.step
        app.step = _next_step(steps, step)
        _touch(
            s,
            ctx,
            actor,
            app,
            "application.step",
            before={"step": before},
            after={"step": app.step, "saved": step, **after},
        )
        return _draft(s, app, day)


def _facts_of_after(facts: Facts, person: Applicant, day: date) -> Facts:
    born = person.date_of_birth
    return facts.with_changes(age=age_on(born, day) if born else None)


def save_case(
    ctx: Context,
    actor: Actor,
    app_id: int,
    case: str,
    service: str = "normal",
    external_service: bool = False,
) -> Draft:
    """The case, the service level and the external service (step "case")."""
    case = check_choice("case", case, policy.CASES)
    service = check_choice("service", service, policy.SERVICES)
    if not isinstance(external_service, bool):
        raise UsageError("external_service must be true or false")

    def change(s, app, person, history, facts, day):
        _check_window(
            case,
            app.card_expires_on,
            history.current_card,
            person.date_of_birth,
            day,
            actor.language,
        )
        new = facts.with_changes(case=case, service=service, external_service=external_service)
        return new, {"case": case, "service": service, "external_service": external_service}

    return _save(ctx, actor, app_id, "case", change)


def save_facts(
    ctx: Context,
    actor: Actor,
    app_id: int,
    values: Mapping[str, Any],
    *,
    date_of_birth: str | date | None,
    card_expires_on: str | date | None = None,
) -> Draft:
    """The facts of the case (step "facts"): `values` by fact name (FACT_FIELDS), the date of
    birth (kept on the applicant's record) and, for a renewal, the presented card's expiry."""
    unknown = sorted(set(values) - set(FACT_FIELDS))
    if unknown:
        raise UsageError(f"unknown fact {', '.join(unknown)} (valid: {', '.join(FACT_FIELDS)})")
    today = ctx.today()
    born = check_birth_date(date_of_birth, today)
    expiry = parse_day(card_expires_on, _("Card expiry"))
    cleaned = {k: (None if k == "exemption" and v in ("", None) else v) for k, v in values.items()}

    def change(s, app, person, history, facts, day):
        new = policy.Facts.from_mapping({**facts.to_mapping(), **cleaned, "age": None})
        if new.case in WINDOW_CASES and expiry is None:
            raise UsageError(_("Type the expiry date printed on the presented card."))
        _check_window(new.case, expiry, history.current_card, born, day, actor.language)
        _update_person(s, ctx, actor, person, {"date_of_birth": born})
        app.card_expires_on = expiry if new.case in WINDOW_CASES else app.card_expires_on
        changed = {
            k: v for k, v in new.to_mapping().items() if k in FACT_FIELDS and v != getattr(facts, k)
        }
        return new, {"facts": changed}

    return _save(ctx, actor, app_id, "facts", change)


def set_step(ctx: Context, actor: Actor, app_id: int, step: str) -> Draft:
    """The clerk finished `step` (checklist, marital evidence): the draft moves past it."""
    if step not in DRAFT_STEPS:
        raise UsageError(f"unknown step {step!r} (valid: {', '.join(DRAFT_STEPS)})")
    return _save(ctx, actor, app_id, step, lambda s, app, person, h, facts, day: (facts, {}))


def save_guardian(
    ctx: Context, actor: Actor, app_id: int, name: str, id_number: str, relationship: str
) -> Draft:
    """The parent or guardian accompanying a minor (step "minors")."""
    name = _clean_text(name)
    if not name:
        raise UsageError(_("Type the guardian's name."))
    document = parse_document_number(id_number)
    if relationship not in RELATIONSHIPS:
        raise UsageError(_("Relationship: one of {valid}.").format(valid=", ".join(RELATIONSHIPS)))

    def change(s, app, person, history, facts, day):
        if not facts.is_minor:
            raise Refused(_("The applicant is not a minor: no guardian is recorded."))
        if document == person.id_number:
            raise UsageError(_("The guardian's document is the applicant's own."))
        app.guardian_name = name
        app.guardian_id_number = document
        app.guardian_relationship = relationship
        return facts, {"guardian": document, "relationship": relationship}

    return _save(ctx, actor, app_id, "minors", change)


# --- checklist ----------------------------------------------------------------------------------


def _entry(s: Session, app: Application, code: str) -> ChecklistEntry:
    entry = s.exec(
        select(ChecklistEntry).where(
            ChecklistEntry.application_id == app.id, ChecklistEntry.code == code
        )
    ).first()
    if entry is None:
        raise NotFound(_("The checklist of this application has no item {code}.").format(code=code))
    return entry


def _set_entry(
    ctx: Context,
    actor: Actor,
    app_id: int,
    code: str,
    apply,
    action: str,
    audit_as: Actor | None = None,
) -> Draft:
    day = ctx.today()
    with ctx.db.write() as s:
        app = _draft_for_change(s, actor, app_id)
        entry = _entry(s, app, code)
        before = {"code": code, "state": entry.state, "note": entry.note}
        extra = apply(s, app, entry) or {}
        entry.updated_at = utcnow()
        s.add(entry)
        _touch(
            s,
            ctx,
            audit_as or actor,
            app,
            action,
            before=before,
            after={"code": code, "state": entry.state, "note": entry.note, **extra},
        )
        return _draft(s, app, day)


def mark_item(
    ctx: Context, actor: Actor, app_id: int, code: str, state: str, note: str = ""
) -> Draft:
    """The clerk's mark on one item: original seen, copy received, missing (or pending again)."""
    if state not in MARKS:
        raise UsageError(f"unknown mark {state!r} (valid: {', '.join(MARKS)})")

    def apply(s, app, entry):
        entry.state = state
        entry.note = _clean_text(note, 200)

    return _set_entry(ctx, actor, app_id, code, apply, "checklist.mark")


def refuse_brief_report(ctx: Context, actor: Actor, app_id: int) -> Draft:
    """A widowed applicant offers a brief report of death: it is not accepted as proof; the
    spouse's death certificate stays missing (the item exists only when the engine asks it)."""
    return mark_item(ctx, actor, app_id, DEATH_CERTIFICATE, "missing", BRIEF_REPORT_REFUSED)


def override_item(
    ctx: Context,
    actor: Actor,
    app_id: int,
    code: str,
    supervisor: Actor,
    reason: str,
    *,
    request: int | None = None,
) -> Draft:
    """A supervisor lets one blocking item of one application be lodged without its document.

    `supervisor` comes from `auth.confirm_supervisor` (their password typed at the counter) or
    is the supervisor at their desk deciding the clerk's request `request`
    (`clerk.domain.approvals`). An `Approval` of kind "checklist-override" records who asked,
    who approved and why.
    """
    require_role(supervisor, *SUPERVISORS)
    reason = _clean_text(reason, 300)
    if len(reason) < 3:
        raise UsageError(_("Type the reason for the override."))

    def apply(s, app, entry):
        if not entry.blocking:
            raise Refused(_("This item does not block lodging: nothing to override."))
        if entry.state in SATISFIED:
            raise Refused(_("This item is already satisfied."))
        now = utcnow()
        detail = {"code": entry.code, "state": entry.state}
        # a request to the supervisor's desk about this item is closed by this decision
        pending = approvals.pending_request(
            s, ("checklist-override",), "application", app.id, code=entry.code
        )
        if request is not None and (pending is None or pending.id != request):
            raise Refused(
                _("Request {id} was decided already: refresh the list.").format(id=request)
            )
        if pending is not None:
            approvals.check_four_eyes(pending.requested_by, supervisor)
            approval = approvals.close_request(
                s, pending, "approved", supervisor.user_id, reason, detail
            )
        else:
            approval = Approval(
                kind="checklist-override",
                status="approved",
                subject_type="application",
                subject_id=app.id,
                detail=json.dumps(detail),
                reason=reason,
                requested_by=actor.user_id,
                requested_at=now,
                decided_by=supervisor.user_id,
                decided_at=now,
            )
            s.add(approval)
            s.flush()
        entry.state = "overridden"
        entry.approval_id = approval.id
        return {"approval": approval.id, "clerk": actor.username, "reason": reason}

    # checked as the clerk (their draft), audited as the supervisor at the clerk's counter
    where = supervisor.at(actor.counter, actor.terminal)
    return _set_entry(ctx, actor, app_id, code, apply, "checklist.override", audit_as=where)


def override_with_password(
    ctx: Context,
    actor: Actor,
    app_id: int,
    code: str,
    username: str,
    password: str,
    reason: str,
) -> Draft:
    """The supervisor types their name and password at the clerk's counter (checked and audited
    by `confirm_supervisor`), then `override_item`."""
    from clerk.domain.auth import confirm_supervisor

    if len(_clean_text(reason, 300)) < 3:
        raise UsageError(_("Type the reason for the override."))
    if not username.strip() or not password:
        raise UsageError(_("The supervisor types their user name and password."))
    supervisor = confirm_supervisor(
        ctx, username, password, counter=actor.counter, terminal=actor.terminal
    )
    return override_item(ctx, actor, app_id, code, supervisor, reason)


# --- review and lodging -------------------------------------------------------------------------


def _lodging_problems(app: Application, draft: Draft, lang: str) -> list[str]:
    problems = []
    if draft.applicant.date_of_birth is None:
        problems.append(_("the date of birth is missing (step Facts)"))
    if draft.facts.is_minor and not (app.guardian_name and app.guardian_relationship):
        problems.append(_("the guardian of the minor is not recorded (step Minors)"))
    for item in draft.blockers:
        state = _("missing") if item.state == "missing" else _("not checked")
        problems.append(f"{item.title_for(lang)} ({state})")
    return problems


def review(ctx: Context, actor: Actor, app_id: int) -> Review:
    """Everything the clerk confirms before lodging: applicant, case, checklist, fees, date."""
    day = ctx.today()
    with ctx.db.read() as s:
        draft = _draft(s, _application(s, actor, app_id, lock=False), day)
    return Review(
        draft=draft,
        quote=policy.quote(draft.facts, day),
        collection=policy.collection_date(day, draft.facts.service),
        lodged_on=day,
        policy_version=policy.policy_version(day),
    )


def lodge(ctx: Context, actor: Actor, app_id: int) -> Lodged:
    """Lodge the draft: refused while a blocking item is not satisfied (or overridden), or a
    minor's guardian is not recorded. The application gets its number (office, YYMMDD, the
    day's 4-digit sequence), its promised collection date and the rules' versions."""
    day = ctx.today()
    lang = actor.language
    with ctx.db.write() as s:
        app = _draft_for_change(s, actor, app_id)
        draft = _draft(s, app, day)
        person = s.get(Applicant, app.applicant_id)
        _check_window(
            draft.facts.case,
            app.card_expires_on,
            draft.history.current_card,
            person.date_of_birth,
            day,
            lang,
        )
        problems = _lodging_problems(app, draft, lang)
        if problems:
            raise Refused(_("Cannot lodge yet: {problems}.").format(problems="; ".join(problems)))
        office = get_office(s, ctx)
        sequence = next_number(s, office.id, "application", day)
        if sequence > 9999:
            raise Refused(_("The office has lodged 9999 applications today: the day is full."))
        number = f"{office.code}{day:%y%m%d}{sequence:04d}"
        quote = policy.quote(draft.facts, day)
        promised = policy.collection_date(day, draft.facts.service).collection_date
        now = utcnow()
        app.number = number
        app.status = "lodged"
        app.step = "lodged"
        app.lodged_at = now
        app.lodged_on = day
        app.promised_on = promised
        app.policy_version = policy.policy_version(day)
        _store_facts(app, draft.facts)
        surcharged = any(line.code == "non-presentation-surcharge" for line in quote.lines)
        if surcharged:
            s.add(
                NonPresentation(
                    applicant_id=person.id,
                    occurred_on=day,
                    application_id=app.id,
                    note=f"{draft.facts.case}: original not presented",
                )
            )
        facts = draft.facts
        # the supervisor's inbox: an exemption claimed waits for a decision; override requests
        # about this draft are moot now that it lodges
        approvals.withdraw_requests(
            s, ("checklist-override",), "application", app.id, "lodged without it"
        )
        if facts.exemption:
            approvals.open_request(
                s,
                "exemption",
                "application",
                app.id,
                {"exemption": facts.exemption, "application": number},
                actor.user_id,
            )
        _update_person(
            s,
            ctx,
            actor,
            person,
            {
                "marital_status": facts.marital,
                "origin": facts.origin,
                "nationality": facts.nationality,
            },
        )
        _touch(
            s,
            ctx,
            actor,
            app,
            "application.lodge",
            before={"status": "draft"},
            after={
                "status": "lodged",
                "number": number,
                "case": facts.case,
                "service": facts.service,
                "promised_on": promised.isoformat(),
                "total_avos": quote.total_avos,
                "overridden": [i.code for i in draft.items if i.state == "overridden"],
                "non_presentation": surcharged,
            },
        )
        return Lodged(app.id, number, day, promised, quote.total_avos, surcharged)


# --- lists --------------------------------------------------------------------------------------


def _draft_rows(s: Session, query, day: date) -> list[DraftRow]:
    rows = s.exec(query).all()
    return [
        DraftRow(
            app_id,
            id_number,
            zh,
            latin,
            case,
            step,
            username or "",
            created_on,
            updated_at,
            created_on is not None and created_on < day,
        )
        for app_id, id_number, zh, latin, case, step, username, created_on, updated_at in rows
    ]


def _drafts_query(limit: int):
    return (
        select(
            Application.id,
            Applicant.id_number,
            Applicant.name_zh,
            Applicant.name_latin,
            Application.case,
            Application.step,
            User.username,
            Application.created_on,
            Application.updated_at,
        )
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(User, User.id == Application.user_id)
        .where(Application.status == "draft")
        .order_by(Application.updated_at.desc(), Application.id.desc())
        .limit(max(1, min(limit, 500)))
    )


def my_drafts(ctx: Context, actor: Actor, limit: int = 50) -> list[DraftRow]:
    """The clerk's own open drafts, newest first, to resume (stale ones flagged)."""
    require_role(actor, *INTAKE_ROLES)
    day = ctx.today()
    with ctx.db.read() as s:
        return _draft_rows(s, _drafts_query(limit).where(Application.user_id == actor.user_id), day)


def stale_drafts(ctx: Context, actor: Actor, limit: int = 200) -> list[DraftRow]:
    """For the supervisor's desk: every draft begun before today's business day."""
    require_role(actor, *SUPERVISORS)
    day = ctx.today()
    with ctx.db.read() as s:
        return _draft_rows(s, _drafts_query(limit).where(Application.created_on < day), day)
