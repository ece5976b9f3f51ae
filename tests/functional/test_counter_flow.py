"""The counter flow through Pilot, by keyboard alone: every case to lodging, a minor, a widowed
applicant offering a brief report of death, a loss after three surcharges, a supervisor's
override (at the counter, or asked of the supervisor's desk), a draft resumed after the app died,
and the keystrokes of a standard renewal.

The clock is frozen on Friday 20 November 2026, 11:15 in Macao; the demo office is seeded, and
`add_person` adds applicants whose card history each test needs.
"""

from __future__ import annotations

import io
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import pytest
from rich.console import Console
from sqlmodel import func, select
from textual.worker import WorkerState

from clerk.app import ClerkApp
from clerk.domain import approvals
from clerk.domain.auth import Actor
from clerk.domain.clock import set_clock
from clerk.domain.models import (
    Applicant,
    Application,
    Approval,
    ChecklistEntry,
    IssuedCard,
    NonPresentation,
    User,
)
from clerk.screens.counter import CounterScreen, OverrideModal
from tests.conftest import make_ctx
from tests.functional.shell import login, text_of

FROZEN = datetime(2026, 11, 20, 3, 15, 0, tzinfo=UTC)  # Friday 11:15 in Macao
STANDARD_RENEWAL_KEYS = 9  # docs/benchmarks.md, "Counter flow"
BUSY = (WorkerState.PENDING, WorkerState.RUNNING)


def frozen_demo_office(url: str):
    """The demo office on a frozen clock (the body of the `office` fixtures)."""
    from clerk.domain.demo import seed_demo

    set_clock(lambda: FROZEN)
    ctx = make_ctx(url)
    try:
        seed_demo(ctx)
        yield ctx
    finally:
        ctx.close()
        set_clock(None)


@pytest.fixture
def office(sqlite_url):
    yield from frozen_demo_office(sqlite_url)


def add_person(
    ctx,
    id_number: str,
    name_zh: str,
    name_latin: str,
    born: date,
    *,
    marital: str = "single",
    origin: str = "macao",
    expires: date = date(2027, 1, 15),
    surcharges: tuple[date, ...] = (),
) -> int:
    """An applicant with a valid 2013-version card (by default in its renewal window)."""
    with ctx.db.write() as s:
        person = Applicant(
            id_number=id_number,
            name_zh=name_zh,
            name_latin=name_latin,
            date_of_birth=born,
            sex="F",
            marital_status=marital,
            origin=origin,
        )
        s.add(person)
        s.flush()
        s.add(
            IssuedCard(
                applicant_id=person.id,
                version="2013",
                issued_on=date(expires.year - 10, expires.month, expires.day),
                expires_on=expires,
            )
        )
        for when in surcharges:
            s.add(NonPresentation(applicant_id=person.id, occurred_on=when, note="lost"))
        return person.id


class Keys:
    """Presses keys through Pilot and counts them: the clerk's keys, not the typed data."""

    def __init__(self, app, pilot):
        self.app, self.pilot, self.count = app, pilot, 0

    async def press(self, *keys: str) -> None:
        for key in keys:
            self.count += 1
            await self.pilot.press(key)
            await self.quiet()

    async def quiet(self) -> None:
        """Until no service call runs (one's result may start the next)."""
        while any(worker.state in BUSY for worker in self.app.workers):
            await self.app.workers.wait_for_complete()
            await self.pilot.pause()

    async def type(self, text: str) -> None:
        await self.pilot.press(*text)


async def open_counter(app, pilot, user: str = "ana", password: str = "clerk-ana-1") -> Keys:
    await login(app, pilot, user, password)
    keys = Keys(app, pilot)
    await keys.press("f4")
    assert isinstance(app.screen, CounterScreen)
    return keys


@asynccontextmanager
async def at_the_counter(ctx, counter: int = 1, size: tuple[int, int] = (100, 30)):
    """Ana logged in at `counter`, the counter flow open: yields the app and its `Keys`."""
    app = ClerkApp(ctx, demo=True, counter=counter)
    async with app.run_test(size=size) as pilot:
        yield app, await open_counter(app, pilot)


async def renewal_through_checklist(keys: Keys, id_number: str) -> CounterScreen:
    """Call, identify, a renewal with the facts as they stand, every document seen."""
    await identify(keys, id_number)
    await keys.press("1", "enter")
    await mark_all(keys, "checklist")
    await keys.press("enter")
    return screen(keys.app)


def screen(app) -> CounterScreen:
    assert isinstance(app.screen, CounterScreen)
    return app.screen


async def identify(keys: Keys, id_number: str) -> None:
    """Call the next tag and type the ID number (the clerk's keys: F5 and Enter)."""
    await keys.press("f5")
    assert screen(keys.app).step == "identify"
    await keys.type(id_number)
    await keys.press("enter")
    assert screen(keys.app).step == "case", text_of(keys.app, "#identify-message")


async def mark_all(keys: Keys, step: str, mark: str = "o") -> None:
    counter = screen(keys.app)
    assert counter.step == step
    for _item in counter.draft.items_in(step):
        await keys.press(mark)
    assert all(item.satisfied for item in screen(keys.app).draft.items_in(step))


async def through_items(keys: Keys) -> None:
    """Mark every document of the checklist (and marital) steps and continue to the review."""
    await mark_all(keys, "checklist")
    await keys.press("enter")
    if screen(keys.app).step == "marital":
        await mark_all(keys, "marital")
        await keys.press("enter")
    assert screen(keys.app).step == "review"


def shown(app, selector: str) -> str:
    """The plain text of a Static holding Rich content (tables, styled text), as painted."""
    console = Console(width=app.size.width, record=True, file=io.StringIO())
    console.print(app.screen.query_one(selector).content)
    return console.export_text()


def application(ctx, app_id: int) -> Application:
    with ctx.db.read() as s:
        return s.get(Application, app_id)


# --- the standard renewal, counted ---------------------------------------------------------------


async def test_a_standard_renewal_takes_few_keys(office):
    add_person(office, "1357913(5)", "蔡家明", "CHOI KA MENG", date(1980, 4, 2))
    async with at_the_counter(office) as (app, keys):  # F4 from the home screen: counted
        await identify(keys, "13579135")  # F5 calls the tag; the ID typed, Enter
        await keys.press("1")  # the case: renewal (normal service, no external service)
        assert screen(app).step == "facts"
        await keys.press("enter")  # the facts stand (from the record and the card)
        await keys.press("o", "o")  # the former card and the on-site photo
        await keys.press("enter")
        await keys.press("enter")  # lodge
        counter = screen(app)
        assert counter.lodged is not None, text_of(app, "#review-message")
        assert "continue to payment" in text_of(app, "#review-message")
        assert keys.count == STANDARD_RENEWAL_KEYS <= 25
        lodged = application(office, counter.draft.id)
    assert lodged.status == "lodged" and lodged.number == f"01261120{1:04d}"
    assert lodged.case == "renewal" and lodged.promised_on is not None


# --- every case ---------------------------------------------------------------------------------


CASE_KEYS = {
    "1": "renewal",
    "2": "loss",
    "3": "damage",
    "4": "data-change",
    "5": "to-permanent",
    "6": "foreign-permanent-renewal",
    "7": "former-card-replacement",
    "8": "director-request",
}


async def test_a_day_at_the_counter_lodges_every_case(office):
    """Eight married applicants, one per case, one after the other at the same counter."""
    for n in range(8):
        add_person(office, f"52468{n:02d}(4)", "", f"SILVA, ANA {n}", date(1970, 8, 8),
                   marital="married")  # fmt: skip
    lodged: dict[str, int] = {}
    async with at_the_counter(office, counter=2) as (app, keys):
        for n, (key, case) in enumerate(CASE_KEYS.items()):
            await identify(keys, f"52468{n:02d}(4)")
            await keys.press("e" if case == "loss" else "n", key)  # express for the loss
            counter = screen(app)
            assert counter.step == "facts", (case, text_of(app, "#case-message"))
            assert counter.draft.facts.case == case
            await keys.press("enter")
            assert counter.step == "checklist", (case, text_of(app, "#facts-message"))
            assert "marital" in counter.steps  # married: the evidence step
            await through_items(keys)
            await keys.press("enter")
            assert counter.lodged is not None, (case, text_of(app, "#review-message"))
            lodged[case] = counter.draft.id
            await keys.press("escape")  # the next applicant
            assert counter.step == "call" and counter.draft is None
    for case, app_id in lodged.items():
        row = application(office, app_id)
        assert (row.status, row.case) == ("lodged", case)
        assert row.service_level == ("express" if case == "loss" else "normal")
    assert len(lodged) == 8


# --- a minor ------------------------------------------------------------------------------------


async def test_a_minor_with_the_guardian(office):
    add_person(office, "7001234(5)", "何小明", "HO SIO MENG", date(2012, 2, 2))
    async with at_the_counter(office) as (app, keys):
        counter = await renewal_through_checklist(keys, "7001234(5)")
        assert counter.draft.facts.age == 14 and counter.step == "minors"
        await keys.press("enter")  # Enter on the empty guardian's name
        assert "Type the guardian's name" in text_of(app, "#minors-message")
        await keys.type("Ho Tai Man")
        await keys.press("down")
        await keys.type("1234567(3)")
        await keys.press("down", "m")  # the relationship: mother (a letter jumps to it)
        await keys.press("down")  # the parents' items
        await mark_all(keys, "minors", "c")
        await keys.press("enter")
        assert counter.step == "review", text_of(app, "#minors-message")
        assert "Ho Tai Man" in shown(app, "#review-body")
        await keys.press("enter")
        assert counter.lodged is not None, text_of(app, "#review-message")
        lodged = application(office, counter.draft.id)
    assert (lodged.guardian_name, lodged.guardian_id_number, lodged.guardian_relationship) == (
        "Ho Tai Man",
        "1234567(3)",
        "mother",
    )


# --- marital evidence ---------------------------------------------------------------------------


async def test_a_widowed_applicants_brief_report_of_death_is_refused(office):
    add_person(office, "1470258(0)", "黃美華", "WONG MEI WA", date(1960, 6, 6), marital="widowed")
    async with at_the_counter(office) as (app, keys):
        counter = await renewal_through_checklist(keys, "1470258(0)")
        assert counter.step == "marital"
        rules = shown(app, "#marital-rules")
        assert "brief report of death is refused" in rules
        await keys.press("b")  # the applicant offers a brief report of death
        assert "Refused" in text_of(app, "#marital-message")
        death = next(i for i in counter.draft.items if i.code == "spouse-death-certificate")
        assert death.state == "missing" and "brief report" in death.note
        await keys.press("enter", "enter")  # to the review; Enter tries to lodge
        assert counter.lodged is None
        assert "death certificate" in text_of(app, "#review-message")
        assert "(missing)" in text_of(app, "#review-message")
        await keys.press("escape")  # back to the marital evidence: the certificate arrives
        assert counter.step == "marital"
        for item in counter.draft.items_in("marital"):
            if not item.satisfied:
                counter.query_one("#marital-items").move_cursor(
                    row=counter.draft.items_in("marital").index(item)
                )
                await keys.press("o")
        await keys.press("enter", "enter")
        assert counter.lodged is not None, text_of(app, "#review-message")
        app_id = counter.draft.id
    with office.db.read() as s:
        entry = s.exec(
            select(ChecklistEntry).where(
                ChecklistEntry.application_id == app_id,
                ChecklistEntry.code == "spouse-death-certificate",
            )
        ).one()
    assert entry.state == "original-seen"


async def test_married_from_japan_needs_the_household_transcript(office):
    add_person(office, "5551234(9)", "鈴木", "SUZUKI YUKO", date(1985, 1, 1), marital="married",
               origin="japan")  # fmt: skip
    async with at_the_counter(office) as (app, keys):
        counter = await renewal_through_checklist(keys, "5551234(9)")
        assert "Japan, France or Taiwan" in shown(app, "#marital-rules")
        codes = {i.code for i in counter.draft.items_in("marital")}
        assert "household-registration-transcript" in codes


# --- the surcharge ladder -----------------------------------------------------------------------


async def test_a_loss_after_three_surcharges_pays_the_fourth_rung(office):
    pid = add_person(
        office,
        "1122334(4)",
        "林志明",
        "LAM CHI MENG",
        date(1975, 5, 5),
        surcharges=(date(2012, 1, 1), date(2016, 1, 1), date(2020, 1, 1)),
    )
    async with at_the_counter(office) as (app, keys):
        await identify(keys, "1122334(4)")
        assert "surcharges: 3" in shown(app, "#case-history")
        await keys.press("2", "enter")
        await through_items(keys)
        review = shown(app, "#review-body")
        assert "4th time" in review and "1000.00" in review and "1090.00" in review
        await keys.press("enter")
        assert "MOP 1090.00" in text_of(app, "#review-message")
    with office.db.read() as s:
        count = s.exec(select(func.count()).where(NonPresentation.applicant_id == pid)).one()
    assert count == 4


# --- the supervisor's override ------------------------------------------------------------------


async def test_a_supervisor_overrides_a_missing_approval_at_the_counter(office):
    add_person(office, "1999888(7)", "", "COSTA, RUI", date(1966, 9, 9))
    async with at_the_counter(office) as (app, keys):
        await identify(keys, "1999888(7)")
        await keys.press("4", "enter")  # data change: the approval of the alteration blocks
        counter = screen(app)
        assert counter.draft.items_in("checklist")[0].code == "former-card"
        await keys.press("o")  # the former card; the cursor goes to the approval
        assert counter.query_one("#checklist-items").current.code == "alteration-approval"
        await keys.press("m")  # missing; the cursor moves on to the photo
        await keys.press("v")
        assert "nothing to override" in text_of(app, "#checklist-message")
        await keys.press("up", "v")
        await keys.type("sup")
        await keys.press("enter")
        await keys.type("wrong-password")
        await keys.press("enter")
        await keys.type("approval seen in the register")
        await keys.press("enter")
        assert "wrong user name or password" in text_of(app, "#override-message")
        await keys.type("super-lei-1")  # the password again; the rest stays
        await keys.press("enter")
        assert isinstance(app.screen, CounterScreen), text_of(app, "#override-message")
        assert "Override approved" in text_of(app, "#checklist-message")
        states = {i.code: i.state for i in counter.draft.items}
        assert states["alteration-approval"] == "overridden"
        await keys.press("o", "enter", "enter")  # the photo; on; lodge
        assert counter.lodged is not None, text_of(app, "#review-message")
    with office.db.read() as s:
        approval = s.exec(select(Approval)).one()
    assert (approval.kind, approval.reason) == (
        "checklist-override",
        "approval seen in the register",
    )


# --- asking the supervisor's desk instead --------------------------------------------------------


def desk_supervisor(ctx) -> Actor:
    """The supervisor at their desk (the approvals inbox)."""
    with ctx.db.read() as s:
        user = s.exec(select(User).where(User.username == "sup")).one()
    return Actor(user.id, user.username, user.role, user.full_name, terminal="desk")


async def at_the_missing_approval(app, keys: Keys) -> CounterScreen:
    """A data change: the former card seen, the approval of the alteration (it blocks lodging)
    missing, the cursor back on it."""
    await identify(keys, "1999888(7)")
    await keys.press("4", "enter")
    counter = screen(app)
    await keys.press("o", "m", "up")
    assert counter.query_one("#checklist-items").current.code == "alteration-approval"
    return counter


def state_shown(counter: CounterScreen, code: str) -> str:
    """The State cell of one item of the checklist, as shown."""
    return str(counter.query_one("#checklist-items").get_cell(code, "state"))


async def ask_the_desk(app, keys: Keys, reason: str) -> None:
    """V, then only the reason (two fields down: no supervisor here) and F9."""
    await keys.press("v")
    assert isinstance(app.screen, OverrideModal)
    await keys.press("tab", "tab")
    await keys.type(reason)
    await keys.press("f9")


async def test_the_clerk_asks_the_desk_and_lodges_once_it_approves(office):
    add_person(office, "1999888(7)", "", "COSTA, RUI", date(1966, 9, 9))
    sup = desk_supervisor(office)
    async with at_the_counter(office) as (app, keys):
        counter = await at_the_missing_approval(app, keys)
        await keys.press("v")
        assert "F9" in text_of(app, "#override-hint")
        await keys.press("escape")
        await ask_the_desk(app, keys, "approval letter comes by fax")
        assert isinstance(app.screen, CounterScreen), text_of(app, "#override-message")
        message = text_of(app, "#checklist-message")
        assert "Asked the supervisor's desk about" in message
        assert "go on with the other items" in message
        assert "desk: waiting" in state_shown(counter, "alteration-approval")
        assert "waiting for the decision" in shown(app, "#checklist-reason")
        waiting = approvals.inbox(office, sup)
        assert [(r.kind, r.detail, r.reason, r.requested_by) for r in waiting] == [
            ("checklist-override", "alteration-approval", "approval letter comes by fax", "ana")
        ]
        await keys.press("down", "o", "enter")  # the photo meanwhile; on to the review
        assert counter.step == "review"
        assert "waiting for the decision" in text_of(app, "#review-message")
        approvals.approve(office, sup, waiting[0].id)  # at the supervisor's desk
        await keys.press("escape")  # back to the checklist: it is shown as it stands now
        assert counter.step == "checklist"
        assert "overridden" in state_shown(counter, "alteration-approval")
        assert "desk" not in shown(app, "#checklist-reason")
        await keys.press("enter", "enter")  # on; lodge
        assert counter.lodged is not None, text_of(app, "#review-message")
        app_id = counter.draft.id
    with office.db.read() as s:
        approval = s.exec(select(Approval)).one()
        entry = s.exec(
            select(ChecklistEntry).where(
                ChecklistEntry.application_id == app_id,
                ChecklistEntry.code == "alteration-approval",
            )
        ).one()
    assert (approval.status, approval.decided_by, approval.reason) == (
        "approved",
        sup.user_id,
        "approval letter comes by fax",
    )
    assert (entry.state, entry.approval_id) == ("overridden", approval.id)
    assert application(office, app_id).status == "lodged"


async def test_a_refusal_at_the_desk_keeps_lodging_blocked(office):
    add_person(office, "1999888(7)", "", "COSTA, RUI", date(1966, 9, 9))
    sup = desk_supervisor(office)
    async with at_the_counter(office) as (app, keys):
        counter = await at_the_missing_approval(app, keys)
        await ask_the_desk(app, keys, "approval letter comes by fax")
        assert isinstance(app.screen, CounterScreen), text_of(app, "#override-message")
        await ask_the_desk(app, keys, "asked again")  # the desk was asked already
        assert isinstance(app.screen, OverrideModal)
        assert "already asked about this item" in text_of(app, "#override-message")
        await keys.press("escape")
        (request,) = approvals.inbox(office, sup)
        approvals.refuse(office, sup, request.id, "no such letter in the register")
        await keys.press("down", "o", "enter")  # the photo; on to the review
        assert counter.step == "review"
        refusal = "The supervisor's desk refused (sup): no such letter in the register"
        assert refusal in text_of(app, "#review-message")
        await keys.press("enter")  # lodge: still blocked, the refusal shown
        assert counter.lodged is None
        assert "Cannot lodge yet" in text_of(app, "#review-message")
        assert refusal in text_of(app, "#review-message")
        await keys.press("escape")
        assert "desk: refused" in state_shown(counter, "alteration-approval")
        app_id = counter.draft.id
    with office.db.read() as s:
        statuses = s.exec(select(Approval.status)).all()
    assert statuses == ["refused"]
    assert application(office, app_id).status == "draft"


async def test_asking_the_desk_without_a_reason_asks_nothing(office):
    add_person(office, "1999888(7)", "", "COSTA, RUI", date(1966, 9, 9))
    async with at_the_counter(office) as (app, keys):
        counter = await at_the_missing_approval(app, keys)
        await keys.press("v", "f9")  # nothing typed
        assert isinstance(app.screen, OverrideModal)
        assert "Type the reason" in text_of(app, "#override-message")
        assert app.focused is app.screen.query_one("#override-reason")
        await keys.type("  ")
        await keys.press("f9")  # blanks are no reason either
        assert isinstance(app.screen, OverrideModal)
        assert "Type the reason" in text_of(app, "#override-message")
        await keys.press("escape")
        assert "missing" in state_shown(counter, "alteration-approval")
    with office.db.read() as s:
        assert s.exec(select(func.count()).select_from(Approval)).one() == 0


# --- bad input at the field ---------------------------------------------------------------------


async def test_bad_input_gets_a_message_at_the_field(office):
    add_person(office, "1010101(1)", "", "KO, LEI", date(1990, 1, 1), expires=date(2030, 1, 1))
    async with at_the_counter(office) as (app, keys):
        await keys.press("f5")
        await keys.type("2101010(1)")
        await keys.press("enter")
        assert "the first digit is 1, 5 or 7" in text_of(app, "#identify-message")
        field = app.screen.query_one("#identify-input")
        field.value = ""
        await keys.type("1010101(1)")
        await keys.press("enter", "1")
        assert screen(app).step == "case"
        assert "renewal opens 180 days before" in text_of(app, "#case-message")
        await keys.press("3")  # damage instead
        assert screen(app).step == "facts"
        app.screen.query_one("#fact-born").value = "2023-01-01"
        await keys.press("enter")
        assert screen(app).step == "facts"
        assert "counter serves applicants aged 5 or over" in text_of(app, "#facts-message")
        assert application(office, screen(app).draft.id).step == "facts"  # nothing saved


async def test_a_new_applicant_is_added_in_place(office):
    async with at_the_counter(office) as (app, keys):
        await keys.press("f5")
        await keys.type("7123456(1)")
        await keys.press("enter")
        assert "not on record" in text_of(app, "#identify-message")
        await keys.type("區嘉欣")
        await keys.press("down")
        await keys.type("au ka ian")
        await keys.press("down")
        await keys.type("2001-05-21")
        await keys.press("down", "right", "enter")  # sex F; add them
        assert screen(app).step == "case", text_of(app, "#identify-message")
        assert screen(app).draft.applicant.name_latin == "AU KA IAN"


async def test_find_by_name_lists_the_matches(office):
    async with at_the_counter(office) as (app, keys):
        await keys.press("ctrl+n")  # without a tag
        await keys.type("au")
        await keys.press("enter")
        matches = app.screen.query_one("#identify-matches")
        assert matches.row_count == 2 and app.focused is matches  # AU IEONG MENG, AU KA IAN
        await keys.press("down", "enter")
        assert screen(app).step == "case"
        assert screen(app).draft.applicant.name_latin == "AU KA IAN"


# --- nothing is lost ----------------------------------------------------------------------------


async def test_a_draft_is_resumed_after_the_app_died(office, sqlite_url):
    add_person(office, "5080808(8)", "歐美", "AU MEI", date(1988, 8, 8))
    async with at_the_counter(office, counter=3) as (app, keys):
        await identify(keys, "5080808(8)")
        await keys.press("2")  # a loss
        await keys.press("down", "down", "down", "down", "s")  # the photo: from a studio
        await keys.press("enter")
        assert screen(app).step == "checklist"
        await keys.press("o")  # the police report seen
        app_id = screen(app).draft.id
    # the terminal dropped: a new process on the same database
    ctx = make_ctx(sqlite_url)
    try:
        async with at_the_counter(ctx, counter=3) as (again, keys):
            drafts = again.screen.query_one("#call-drafts")
            assert drafts.row_count == 1 and again.focused is drafts
            await keys.press("enter")  # resume
            counter = screen(again)
            assert (counter.draft.id, counter.step) == (app_id, "checklist")
            assert counter.draft.facts.case == "loss" and counter.draft.facts.photo == "studio"
            states = {i.code: i.state for i in counter.draft.items}
            assert states["police-loss-report"] == "original-seen"
            await keys.press("escape")  # the facts as they were typed
            assert again.screen.query_one("#fact-photo").value == "studio"
            await keys.press("enter")
            await through_items(keys)
            await keys.press("enter")
            assert counter.lodged is not None, text_of(again, "#review-message")
    finally:
        ctx.close()
    assert application(office, app_id).status == "lodged"


async def test_escape_goes_back_without_losing_input(office):
    add_person(office, "1212121(2)", "", "LEI, ANA", date(1991, 1, 1), marital="married")
    async with at_the_counter(office, size=(80, 24)) as (app, keys):
        await identify(keys, "1212121(2)")
        await keys.press("2")
        await keys.press("down", "down", "right")  # the origin: not yet saved
        origin = app.screen.query_one("#fact-origin").value
        await keys.press("escape")
        assert screen(app).step == "case"
        await keys.press("escape")
        assert screen(app).step == "identify"
        await keys.press("enter")  # the same applicant: the same draft, where it stood
        assert screen(app).step == "facts"
        assert app.screen.query_one("#fact-origin").value == origin != "macao"
        bar = str(app.screen.query_one("#counter-steps").render())
        assert "Facts" in bar and "left" in bar


# --- identify by reading the presented card ------------------------------------------------------


async def test_ctrl_r_reads_the_card_and_finds_the_applicant(office):
    from clerk.devices.card_profile import load_profile
    from clerk.devices.reader import VirtualReader
    from clerk.devices.reference_card import ReferenceCard, demo_holder

    card = ReferenceCard.personalised(load_profile(), "0000", demo_holder(date(2026, 11, 20)))
    async with at_the_counter(office) as (app, keys):
        app.card_reader = VirtualReader(card)
        await keys.press("f5")
        assert screen(app).step == "identify"
        await keys.press("ctrl+r")
        assert screen(app).step == "case", text_of(app, "#identify-message")
        assert screen(app).query_one("#identify-input").value == "1234567(3)"


async def test_ctrl_r_with_a_blank_card_says_so(office):
    from clerk.devices.card_profile import load_profile
    from clerk.devices.reader import VirtualReader
    from clerk.devices.reference_card import ReferenceCard

    async with at_the_counter(office) as (app, keys):
        app.card_reader = VirtualReader(ReferenceCard(load_profile(), "0000"))
        await keys.press("f5")
        await keys.press("ctrl+r")
        assert screen(app).step == "identify"
        assert "blank" in text_of(app, "#identify-message")
