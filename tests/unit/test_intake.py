"""The intake services on SQLite and PostgreSQL: applicants, drafts, checklist, override, lodging.

Each test gets a copy of a database migrated once per backend and session (a file copy; CREATE
DATABASE … TEMPLATE on PostgreSQL), an office seeded by `seed_counter_office` and a frozen clock
(Monday 23 November 2026, 10:00 in Macao).
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from clerk.domain import intake
from clerk.domain.auth import Actor, LoginRefused, hash_password
from clerk.domain.clock import set_clock
from clerk.domain.models import (
    Applicant,
    Application,
    Approval,
    AuditEvent,
    ChecklistEntry,
    Counter,
    CounterService,
    IssuedCard,
    NonPresentation,
    Office,
    Service,
    Tag,
    User,
)
from clerk.domain.policy import Facts
from clerk.errors import NotFound, Refused, UsageError

MACAU = ZoneInfo("Asia/Macau")
DAY = date(2026, 11, 23)
SUPERVISOR_PASSWORD = "super-lei-1"  # noqa: S105 - a test password

# id number, Chinese name, Latin name, birth, sex, marital, origin, card issued, card expires,
# card version, earlier non-presentation dates
PEOPLE = (
    ("1234567(3)", "陳大文", "CHAN TAI MAN", date(1978, 3, 14), "M", "single", "macao",
     date(2017, 2, 1), date(2027, 2, 1), "2013", ()),
    ("5213377(0)", "", "SOUSA, JOÃO MIGUEL DE", date(1969, 7, 30), "M", "divorced", "portugal",
     date(2016, 12, 1), date(2026, 12, 1), "2013", ()),
    ("1487220(9)", "黃志強", "WONG CHI KEONG", date(1975, 1, 8), "M", "widowed", "macao",
     date(2016, 12, 20), date(2026, 12, 20), "2013", ()),
    ("7025561(2)", "何詠詩", "HO WENG SI", date(2011, 5, 21), "F", "single", "macao",
     date(2021, 12, 1), date(2026, 12, 1), "2013", ()),
    ("1290456(8)", "梁家豪", "LEONG KA HOU", date(1982, 6, 6), "M", "married", "macao",
     date(2024, 3, 1), date(2034, 3, 1), "2023",
     (date(2015, 5, 1), date(2018, 5, 1), date(2021, 5, 1))),
    ("5102938(7)", "山田花子", "YAMADA HANAKO", date(1988, 2, 17), "F", "married", "japan",
     date(2017, 1, 10), date(2027, 1, 10), "2013", ()),
    ("1776543(0)", "陳美玲", "CHAN MEI LENG", date(1990, 9, 9), "F", "single", "macao",
     date(2022, 1, 10), date(2032, 1, 10), "2013", ()),
)  # fmt: skip


# --- a migrated database per backend, copied for each test --------------------------------------


@pytest.fixture(scope="session")
def intake_templates(tmp_path_factory):
    return {"folder": tmp_path_factory.mktemp("intake-templates")}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, intake_templates) -> str:
    from tests.conftest import make_ctx

    if request.param == "sqlite":
        template = intake_templates["folder"] / "template.db"
        if not template.exists():
            make_ctx(f"sqlite:///{template}").close()
        shutil.copyfile(template, tmp_path / "clerk.db")
        return f"sqlite:///{tmp_path / 'clerk.db'}"
    import psycopg

    server = request.getfixturevalue("pg_server")
    if "postgresql" not in intake_templates:
        name = server.create_database()
        make_ctx(server.url(name)).close()
        intake_templates["postgresql"] = name
    copy = "i_" + uuid.uuid4().hex[:12]
    with psycopg.connect(
        host=str(server.folder), port=server.port, user="postgres", autocommit=True
    ) as conn:
        conn.execute(
            f'CREATE DATABASE "{copy}" TEMPLATE "{intake_templates["postgresql"]}" '
            "STRATEGY FILE_COPY"
        )
    return server.url(copy)


@pytest.fixture
def clock():
    now = {"at": datetime(2026, 11, 23, 10, 0, tzinfo=MACAU).astimezone(UTC)}
    set_clock(lambda: now["at"])
    yield now
    set_clock(None)


class Office_:
    """What a test needs: the context, the staff as actors, the applicants' ids."""

    def __init__(self, ctx, staff: dict[str, Actor], people: dict[str, int]):
        self.ctx, self.staff, self.people = ctx, staff, people

    @property
    def ana(self) -> Actor:
        return self.staff["ana"]


def seed_counter_office(ctx, *, supervisor_password: str | None = None) -> Office_:
    """An office with service A, counters 1–2, staff (ana, bea: clerks; sup; admin) and the
    applicants of PEOPLE with their cards and earlier non-presentations."""
    staff: dict[str, Actor] = {}
    people: dict[str, int] = {}
    with ctx.db.write() as s:
        office = Office(code=ctx.config.office.code, name="Test office")
        s.add(office)
        s.flush()
        service = Service(office_id=office.id, code="A", name="ID card renewal")
        s.add(service)
        s.flush()
        for n in (1, 2):
            counter = Counter(office_id=office.id, number=n)
            s.add(counter)
            s.flush()
            s.add(CounterService(counter_id=counter.id, service_id=service.id))
        staff_roles = {"ana": "clerk", "bea": "clerk", "sup": "supervisor", "admin": "admin"}
        for username, role in staff_roles.items():
            wanted = supervisor_password if role == "supervisor" else None
            digest = hash_password(wanted) if wanted else ""
            user = User(username=username, role=role, password_hash=digest)
            s.add(user)
            s.flush()
            staff[username] = Actor(user.id, username, role, counter=1, terminal="test")
        for idn, zh, latin, born, sex, marital, origin, issued, expires, version, lost in PEOPLE:
            person = Applicant(
                id_number=idn,
                name_zh=zh,
                name_latin=latin,
                date_of_birth=born,
                sex=sex,
                marital_status=marital,
                origin=origin,
                nationality="other" if origin == "japan" else "chinese",
            )
            s.add(person)
            s.flush()
            s.add(
                IssuedCard(
                    applicant_id=person.id,
                    version="2013",
                    issued_on=issued - timedelta(days=3650),
                    expires_on=issued,
                    status="replaced",
                )
            )
            s.add(
                IssuedCard(
                    applicant_id=person.id, version=version, issued_on=issued, expires_on=expires
                )
            )
            for when in lost:
                s.add(NonPresentation(applicant_id=person.id, occurred_on=when, note="lost"))
            people[idn] = person.id
    return Office_(ctx, staff, people)


@pytest.fixture
def office(ctx, clock):
    return seed_counter_office(ctx)


def counts(ctx) -> tuple[int, ...]:
    """(applicants, applications, entries, approvals, non-presentations, audit events)."""
    with ctx.db.read() as s:
        return tuple(
            s.exec(select(func.count()).select_from(model)).one()
            for model in (
                Applicant,
                Application,
                ChecklistEntry,
                Approval,
                NonPresentation,
                AuditEvent,
            )
        )


def states(draft) -> dict[str, str]:
    return {item.code: item.state for item in draft.items}


def draft_for(o: Office_, id_number: str, case: str | None = None, service: str = "normal"):
    """Ana's draft for the person, with its case saved when one is given."""
    draft = intake.start_draft(o.ctx, o.ana, o.people[id_number])
    return intake.save_case(o.ctx, o.ana, draft.id, case, service) if case else draft


def mark_all(o: Office_, draft, state: str = "original-seen"):
    for item in draft.items:
        draft = intake.mark_item(o.ctx, o.ana, draft.id, item.code, state)
    return draft


def tag_at_counter(o: Office_, code: str = "A001") -> None:
    with o.ctx.db.write() as s:
        office = s.exec(select(Office)).one()
        service = s.exec(select(Service)).one()
        counter = s.exec(select(Counter).where(Counter.number == 1)).one()
        s.add(
            Tag(
                office_id=office.id,
                day=DAY,
                code=code,
                number=int(code[1:]),
                service_id=service.id,
                status="called",
                counter_id=counter.id,
            )
        )


# --- finding people -----------------------------------------------------------------------------


def test_find_by_id_number_in_any_typed_form(office):
    for typed in ("1234567(3)", "12345673", "１２３４５６７（３）", " 1234567 3 "):
        rows = intake.find_applicants(office.ctx, typed)
        assert [r.name_latin for r in rows] == ["CHAN TAI MAN"]
    assert intake.find_applicants(office.ctx, "1999999(9)") == []


def test_find_by_partial_names_in_any_case_and_accent(office):
    ctx = office.ctx
    assert {r.id_number for r in intake.find_applicants(ctx, "陳")} == {"1234567(3)", "1776543(0)"}
    assert [r.name_zh for r in intake.find_applicants(ctx, "大文")] == ["陳大文"]
    assert [r.id_number for r in intake.find_applicants(ctx, "joao sousa")] == ["5213377(0)"]
    assert [r.id_number for r in intake.find_applicants(ctx, "JOÃO")] == ["5213377(0)"]
    assert [r.name_latin for r in intake.find_applicants(ctx, "chan")] == [
        "CHAN MEI LENG",
        "CHAN TAI MAN",
    ]
    assert len(intake.find_applicants(ctx, "chan", limit=1)) == 1
    with pytest.raises(UsageError, match="not a Macao ID card number"):
        intake.find_applicants(ctx, "2234567(3)")
    with pytest.raises(UsageError, match="Type an ID card number or a name"):
        intake.find_applicants(ctx, " %_ ")  # punctuation, never a LIKE wildcard


def test_identify_finds_one_lists_many_or_offers_a_new_applicant(office):
    ctx = office.ctx
    one = intake.identify(ctx, "12345673")
    assert one.applicant.name_zh == "陳大文" and one.history.card_version == "2013"
    assert intake.identify(ctx, "梁家豪").applicant.id_number == "1290456(8)"  # one match: taken
    many = intake.identify(ctx, "chan")
    assert many.applicant is None and len(many.matches) == 2
    new = intake.identify(ctx, "7123456 (1)")
    assert new.applicant is None and new.new_id_number == "7123456(1)"


def test_history_counts_surcharges_after_the_first_2023_card(office):
    history = intake.applicant_history(office.ctx, office.people["1290456(8)"])
    assert [card.version for card in history.cards] == ["2023", "2013"]
    assert history.current_card.expires_on == date(2034, 3, 1)
    assert len(history.surcharges) == 3
    assert history.first_2023_card == date(2024, 3, 1)
    assert history.next_surcharge == 1  # the 2023 card reset the ladder
    chan = intake.applicant_history(office.ctx, office.people["1234567(3)"])
    assert chan.surcharges == () and chan.next_surcharge == 1


# --- applicants ---------------------------------------------------------------------------------


def test_a_new_applicant_is_created_in_place_and_audited(office):
    ctx = office.ctx
    person = intake.create_applicant(
        ctx,
        office.ana,
        "７１２３４５６（１）",
        name_zh=" 區 嘉欣 ",
        name_latin="au  ka ian",
        date_of_birth="21/05/2001",
        sex="f",
    )
    assert (person.id_number, person.name_zh, person.name_latin) == (
        "7123456(1)",
        "區嘉欣",
        "AU KA IAN",
    )
    assert person.date_of_birth == date(2001, 5, 21) and person.sex == "F"
    assert [r.id for r in intake.find_applicants(ctx, "ka ian")] == [person.id]
    with ctx.db.read() as s:
        event = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "applicant.create" and event.subject_id == person.id
    assert event.username == "ana"
    with pytest.raises(UsageError, match="already on record"):
        intake.create_applicant(ctx, office.ana, "7123456(1)", name_latin="X", sex="M",
                                date_of_birth="2000-01-01")  # fmt: skip


@pytest.mark.parametrize(
    ("born", "message"),
    [
        ("2027-01-01", "is in the future"),
        ("2023-02-30", "not a date of the calendar"),
        ("31/31/1990", "not a date of the calendar"),
        ("yesterday", "not a date; type YYYY-MM-DD"),
        ("1850-01-01", "would make the applicant 176 years old"),
        ("2022-06-01", "The applicant is 4: the counter serves applicants aged 5 or over"),
        ("", "Type the date of birth"),
    ],
)
def test_an_impossible_birth_date_changes_nothing(office, born, message):
    before = counts(office.ctx)
    with pytest.raises(UsageError, match=message):
        intake.create_applicant(
            office.ctx, office.ana, "7123456(1)", name_latin="AU", sex="F", date_of_birth=born
        )
    assert counts(office.ctx) == before


def test_an_applicant_is_corrected_in_place(office):
    ctx, pid = office.ctx, office.people["1234567(3)"]
    changed = intake.update_applicant(ctx, office.ana, pid, name_latin="chan tai-man")
    assert changed.name_latin == "CHAN TAI-MAN" and changed.name_zh == "陳大文"
    assert [r.id for r in intake.find_applicants(ctx, "tai-man")] == [pid]
    with ctx.db.read() as s:
        event = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "applicant.update"
    assert json.loads(event.before) == {"name_latin": "CHAN TAI MAN"}
    with pytest.raises(UsageError, match="cannot change id_number"):
        intake.update_applicant(ctx, office.ana, pid, id_number="1111111(1)")
    with pytest.raises(Refused):
        intake.update_applicant(ctx, office.staff["admin"], pid, phone="1")


# --- drafts -------------------------------------------------------------------------------------


def test_a_draft_starts_from_the_record_and_the_tag(office):
    tag_at_counter(office)
    ctx, pid = office.ctx, office.people["5102938(7)"]
    draft = intake.start_draft(ctx, office.ana, pid, "A001")
    assert draft.step == "case" and draft.tag_code == "A001" and draft.status == "draft"
    assert (draft.facts.marital, draft.facts.origin, draft.facts.age) == ("married", "japan", 38)
    assert draft.card_expires_on == date(2027, 1, 10) and draft.asks_expiry
    # married, from Japan: the engine asks the household registration transcript
    assert "household-registration-transcript" in states(draft)
    assert draft.steps == ("call", "identify", "case", "facts", "checklist", "marital", "review")
    assert {i.code for i in draft.items_in("marital")} == {
        "marriage-certificate",
        "spouse-id-copy",
        "household-registration-transcript",
    }
    with ctx.db.read() as s:
        assert s.exec(select(Tag.applicant_id)).one() == pid
    again = intake.start_draft(ctx, office.ana, pid)
    assert again.id == draft.id  # the clerk's open draft is resumed, not doubled
    other = intake.start_draft(ctx, office.staff["bea"], pid)
    assert other.id != draft.id
    with pytest.raises(NotFound, match="no tag A009"):
        intake.start_draft(ctx, office.ana, office.people["1234567(3)"], "A009")


def test_renewal_outside_the_window_is_refused_at_the_case(office):
    ctx = office.ctx
    draft = draft_for(office, "1776543(0)")  # expires 2032
    before = counts(ctx)
    with pytest.raises(UsageError, match="expires on 2032-01-10; renewal opens 180 days before"):
        intake.save_case(ctx, office.ana, draft.id, "renewal")
    assert counts(ctx) == before
    loss = intake.save_case(ctx, office.ana, draft.id, "loss", "express")
    assert (loss.facts.case, loss.facts.service, loss.step) == ("loss", "express", "facts")
    assert "police-loss-report" in states(loss)


def test_facts_are_saved_and_the_checklist_follows(office):
    ctx = office.ctx
    draft = draft_for(office, "1234567(3)", "renewal")
    assert "origin" not in draft.relevant and "residence_authorisation" in draft.relevant
    draft = intake.mark_item(ctx, office.ana, draft.id, "former-card", "original-seen")
    draft = intake.mark_item(ctx, office.ana, draft.id, "photo", "original-seen")
    draft = intake.save_facts(
        ctx,
        office.ana,
        draft.id,
        {"marital": "married", "spouse_origin": "taiwan", "photo": "studio"},
        date_of_birth="1978-03-14",
        card_expires_on="2027-02-01",
    )
    assert draft.step == "checklist" and draft.facts.spouse_origin == "taiwan"
    assert "origin" in draft.relevant and "spouse_origin" in draft.relevant
    got = states(draft)
    assert got["former-card"] == "original-seen"  # same item: its mark is kept
    assert got["photo"] == "pending"  # on-site photo became a studio photo: a new item
    assert got["household-registration-transcript"] == "pending"
    stored = intake.load_draft(ctx, office.ana, draft.id)
    assert stored.facts == draft.facts and stored.step == "checklist"
    with ctx.db.read() as s:
        app = s.get(Application, draft.id)
        assert json.loads(app.facts_json)["spouse_origin"] == "taiwan"
        assert Facts.from_mapping(json.loads(app.facts_json)).marital == "married"


@pytest.mark.parametrize(
    ("values", "born", "expiry", "message"),
    [
        ({}, "2023-01-01", "2027-02-01", "The applicant is 3"),
        ({}, "1978-03-14", "2029-02-01", "expires on 2029-02-01; renewal opens"),
        ({}, "1978-03-14", "", "Type the expiry date printed on the presented card"),
        ({}, "1978-03-14", "2027-13-01", "not a date of the calendar"),
        ({"marital": "engaged"}, "1978-03-14", "2027-02-01", "unknown marital status 'engaged'"),
        ({"colour": "red"}, "1978-03-14", "2027-02-01", "unknown fact colour"),
    ],
)
def test_bad_facts_change_nothing(office, values, born, expiry, message):
    ctx = office.ctx
    draft = draft_for(office, "1234567(3)", "renewal")
    before = counts(ctx)
    with pytest.raises(UsageError, match=message):
        intake.save_facts(ctx, office.ana, draft.id, values, date_of_birth=born,
                          card_expires_on=expiry)  # fmt: skip
    assert counts(ctx) == before
    assert intake.load_draft(ctx, office.ana, draft.id) == draft


def test_only_the_drafts_clerk_or_a_supervisor_works_on_it(office):
    ctx = office.ctx
    draft = draft_for(office, "1234567(3)")
    with pytest.raises(Refused, match="ana's draft"):
        intake.save_case(ctx, office.staff["bea"], draft.id, "loss")
    with pytest.raises(Refused, match="needs clerk or supervisor"):
        intake.load_draft(ctx, office.staff["admin"], draft.id)
    assert intake.save_case(ctx, office.staff["sup"], draft.id, "loss").facts.case == "loss"
    with pytest.raises(NotFound):
        intake.load_draft(ctx, office.ana, 999)


# --- checklist ----------------------------------------------------------------------------------


def test_marks_and_the_brief_report_of_death(office):
    ctx = office.ctx
    draft = draft_for(office, "1487220(9)", "renewal")  # widowed
    assert {i.code for i in draft.items_in("marital")} == {
        "marriage-certificate",
        "spouse-death-certificate",
    }
    draft = intake.refuse_brief_report(ctx, office.ana, draft.id)
    item = next(i for i in draft.items if i.code == "spouse-death-certificate")
    assert item.state == "missing" and "brief report of death" in item.note and item.holds_lodging
    draft = intake.mark_item(ctx, office.ana, draft.id, "marriage-certificate", "copy-received")
    assert states(draft)["marriage-certificate"] == "copy-received"
    with pytest.raises(UsageError, match="unknown mark 'seen'"):
        intake.mark_item(ctx, office.ana, draft.id, "photo", "seen")
    with pytest.raises(NotFound, match="no item divorce-proof"):
        intake.mark_item(ctx, office.ana, draft.id, "divorce-proof", "missing")
    single = draft_for(office, "1234567(3)")
    with pytest.raises(NotFound, match="no item spouse-death-certificate"):
        intake.refuse_brief_report(ctx, office.ana, single.id)


def test_a_supervisor_overrides_one_item_of_one_application(ctx, clock):
    o = seed_counter_office(ctx, supervisor_password=SUPERVISOR_PASSWORD)
    first = intake.start_draft(ctx, o.ana, o.people["1487220(9)"])
    second = intake.start_draft(ctx, o.ana, o.people["5213377(0)"])
    code = "spouse-death-certificate"
    intake.mark_item(ctx, o.ana, first.id, code, "missing")
    with pytest.raises(Refused, match="needs supervisor or admin"):
        intake.override_item(ctx, o.ana, first.id, code, o.staff["bea"], "urgent")
    with pytest.raises(LoginRefused):
        intake.override_with_password(ctx, o.ana, first.id, code, "sup", "wrong-pass", "urgent")
    with pytest.raises(UsageError, match="reason"):
        intake.override_with_password(ctx, o.ana, first.id, code, "sup", SUPERVISOR_PASSWORD, "")
    with pytest.raises(Refused, match="does not block"):
        intake.override_with_password(
            ctx, o.ana, first.id, "photo", "sup", SUPERVISOR_PASSWORD, "on-site photo"
        )
    draft = intake.override_with_password(
        ctx, o.ana, first.id, code, "sup", SUPERVISOR_PASSWORD, "certificate follows by mail"
    )
    item = next(i for i in draft.items if i.code == code)
    assert item.state == "overridden" and item.approval_id is not None and not item.holds_lodging
    assert states(intake.load_draft(ctx, o.ana, second.id))["former-card"] == "pending"
    with ctx.db.read() as s:
        approval = s.get(Approval, item.approval_id)
        event = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (approval.kind, approval.status, approval.subject_id) == (
        "checklist-override",
        "approved",
        first.id,
    )
    assert approval.requested_by == o.ana.user_id and approval.decided_by == o.staff["sup"].user_id
    assert json.loads(approval.detail)["code"] == code
    assert (event.action, event.username, event.counter) == ("checklist.override", "sup", 1)
    assert json.loads(event.after)["clerk"] == "ana"
    with pytest.raises(Refused, match="already satisfied"):
        intake.override_item(ctx, o.ana, first.id, code, o.staff["sup"], "again")


# --- lodging ------------------------------------------------------------------------------------


def test_lodging_waits_for_blocking_items_then_numbers_the_application(office):
    ctx = office.ctx
    draft = draft_for(office, "1234567(3)", "renewal")
    before = counts(ctx)
    with pytest.raises(Refused, match=r"Cannot lodge yet: Former Macao SAR .*\(not checked\)"):
        intake.lodge(ctx, office.ana, draft.id)
    assert counts(ctx) == before
    draft = intake.mark_item(ctx, office.ana, draft.id, "former-card", "missing")
    with pytest.raises(Refused, match=r"\(missing\)"):
        intake.lodge(ctx, office.ana, draft.id)
    draft = intake.mark_item(ctx, office.ana, draft.id, "former-card", "original-seen")
    shown = intake.review(ctx, office.ana, draft.id)
    assert shown.quote.total_avos == 9000 and shown.collection.working_days == 15
    lodged = intake.lodge(ctx, office.ana, draft.id)  # the on-site photo does not block
    assert lodged.number == "01" + "261123" + "0001"
    assert lodged.promised_on == shown.collection.collection_date
    assert lodged.total_avos == 9000 and not lodged.non_presentation
    with ctx.db.read() as s:
        app = s.get(Application, draft.id)
    assert (app.status, app.lodged_on, app.promised_on) == ("lodged", DAY, lodged.promised_on)
    assert app.lodged_at is not None and "checklist=" in app.policy_version
    with pytest.raises(Refused, match="already lodged"):
        intake.lodge(ctx, office.ana, draft.id)
    with pytest.raises(Refused, match="already lodged"):
        intake.mark_item(ctx, office.ana, draft.id, "photo", "missing")
    second = draft_for(office, "1776543(0)", "damage", "special-express")
    assert intake.lodge(ctx, office.ana, mark_all(office, second).id).number.endswith("0002")


def test_a_loss_after_three_surcharges_pays_the_fourth_rung(office):
    ctx = office.ctx
    pid = office.people["1290456(8)"]
    with ctx.db.write() as s:  # the person's 2023 card is forgotten: the old surcharges count
        for card in s.exec(select(IssuedCard).where(IssuedCard.applicant_id == pid)):
            card.version = "2013"
            s.add(card)
    draft = intake.start_draft(ctx, office.ana, pid)
    draft = intake.save_case(ctx, office.ana, draft.id, "loss")
    assert draft.history.next_surcharge == 4
    draft = mark_all(office, draft)
    shown = intake.review(ctx, office.ana, draft.id)
    surcharge = next(x for x in shown.quote.lines if x.code == "non-presentation-surcharge")
    assert surcharge.amount_avos == 100000 and "4th time" in surcharge.label["en"]
    lodged = intake.lodge(ctx, office.ana, draft.id)
    assert lodged.non_presentation and lodged.total_avos == 9000 + 100000
    history = intake.applicant_history(ctx, pid)
    assert history.surcharges[-1][0] == DAY and history.next_surcharge == 5


def test_the_2023_card_resets_the_ladder(office):
    ctx = office.ctx
    draft = mark_all(office, draft_for(office, "1290456(8)", "loss"))
    shown = intake.review(ctx, office.ana, draft.id)
    surcharge = next(x for x in shown.quote.lines if x.code == "non-presentation-surcharge")
    assert surcharge.amount_avos == 30000 and "1st time" in surcharge.label["en"]


def test_a_minor_needs_the_guardian(office):
    ctx = office.ctx
    draft = draft_for(office, "7025561(2)", "renewal")
    assert draft.facts.is_minor and "minors" in draft.steps
    assert {i.code for i in draft.items_in("minors")} == {"guardian-present", "parents-id-copies"}
    draft = mark_all(office, draft)
    with pytest.raises(Refused, match="guardian of the minor is not recorded"):
        intake.lodge(ctx, office.ana, draft.id)
    for name, number, relation, message in (
        ("", "1234567(3)", "father", "guardian's name"),
        ("Ho Man", "1234567", "father", "has 7 digits"),
        ("Ho Man", "1234567(3)", "uncle", "Relationship: one of father, mother, guardian"),
        ("Ho Man", "7025561(2)", "father", "the applicant's own"),
    ):
        with pytest.raises(UsageError, match=message):
            intake.save_guardian(ctx, office.ana, draft.id, name, number, relation)
    draft = intake.save_guardian(ctx, office.ana, draft.id, " Ho  Man ", "a123456(7)", "father")
    assert (draft.guardian_name, draft.guardian_id_number, draft.step) == (
        "Ho Man",
        "A123456(7)",
        "review",
    )
    assert intake.lodge(ctx, office.ana, draft.id).number.endswith("0001")
    adult = draft_for(office, "1234567(3)")
    with pytest.raises(Refused, match="not a minor"):
        intake.save_guardian(ctx, office.ana, adult.id, "X", "1234567(3)", "father")


def test_lodging_copies_the_verified_facts_to_the_applicant(office):
    ctx, pid = office.ctx, office.people["5213377(0)"]
    draft = intake.start_draft(ctx, office.ana, pid)
    draft = intake.save_case(ctx, office.ana, draft.id, "data-change")
    draft = intake.save_facts(
        ctx, office.ana, draft.id, {"marital": "married"}, date_of_birth="1969-07-30"
    )
    intake.lodge(ctx, office.ana, mark_all(office, draft).id)
    with ctx.db.read() as s:
        assert s.get(Applicant, pid).marital_status == "married"


# --- resuming -----------------------------------------------------------------------------------


def test_drafts_to_resume_and_stale_ones_for_the_supervisor(office, clock):
    ctx = office.ctx
    mine = draft_for(office, "1234567(3)")
    intake.save_case(ctx, office.ana, mine.id, "loss")
    intake.start_draft(ctx, office.staff["bea"], office.people["5213377(0)"])
    rows = intake.my_drafts(ctx, office.ana)
    assert [(r.id, r.case, r.step, r.stale) for r in rows] == [(mine.id, "loss", "facts", False)]
    assert intake.stale_drafts(ctx, office.staff["sup"]) == []
    clock["at"] += timedelta(days=1)
    assert [r.stale for r in intake.my_drafts(ctx, office.ana)] == [True]
    assert intake.load_draft(ctx, office.ana, mine.id).stale
    stale = intake.stale_drafts(ctx, office.staff["sup"])
    assert {(r.username, r.id_number) for r in stale} == {
        ("ana", "1234567(3)"),
        ("bea", "5213377(0)"),
    }
    with pytest.raises(Refused):
        intake.stale_drafts(ctx, office.ana)


def test_which_facts_matter_comes_from_the_engine():
    day = DAY
    single = intake.relevant_facts(Facts(age=40), day)
    assert "origin" not in single and "spouse_origin" not in single
    married = intake.relevant_facts(Facts(age=40, marital="married"), day)
    assert {"origin", "spouse_origin"} <= set(married)
    loss = intake.relevant_facts(Facts(case="loss"), day)
    assert "original_presented" not in loss  # a lost card is never presented
    assert "nationality" in intake.relevant_facts(Facts(case="to-permanent"), day)
    assert intake.fact_choices("exemption")[0] is None
    with pytest.raises(UsageError):
        intake.fact_choices("colour")
