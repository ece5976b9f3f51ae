"""kill -9 in the middle of lodging, on SQLite and PostgreSQL (`tests/system/crash.py`).

Ana's clerk process lodges her drafts (ready to lodge: renewals with every document seen) one
after the other and is killed with SIGKILL at least 50 times, with short random pauses inside the
lodging transaction (after the application number is taken, before the audit event). Meanwhile
Bea's process (the bystander) lodges her own drafts, then keeps marking a checklist item. After:
every application is a whole draft or a whole lodged application (number, promised date, policy
version and its one audit event), the day's application numbers run 1..n without a gap (the day's
counter says n), the audit chain verifies and SQLite's integrity check is ok.
"""

from __future__ import annotations

import random
from collections import Counter as Tally

import pytest
from sqlmodel import select

from clerk.domain.models import (
    Applicant,
    Application,
    ChecklistEntry,
    DailyCounter,
    IssuedCard,
    NonPresentation,
)
from tests.system import crash
from tests.system.crash import Marks, Scenario, slowed
from tests.system.test_crash_tags import START, running_clock

pytestmark = pytest.mark.system

KILLS = 55
MINE, THEIRS = 400, 150  # drafts ready to lodge: the killed clerk's, the bystander's
COPIED = ("id", "search_key", "id_number", "created_at", "updated_at")


def drafts_of(ctx, user_id: int) -> list[int]:
    with ctx.db.read() as s:
        return list(
            s.exec(
                select(Application.id)
                .where(Application.user_id == user_id, Application.status == "draft")
                .order_by(Application.id)
            ).all()
        )


class Lodging(Scenario):
    kill_after = (0.02, 0.5)  # a lodging takes ~50–100 ms on a busy machine

    def __init__(self, ctx, params):
        from clerk.domain.auth import Actor
        from clerk.domain.clock import set_clock

        super().__init__(ctx, params)
        set_clock(running_clock(params["start"]))
        self.ana = Actor(params["ana"], "ana", "clerk", counter=1)
        self.bea = Actor(params["bea"], "bea", "clerk", counter=2)
        self.theirs = list(params["theirs"])
        self.toggled = False

    def todo(self):
        return [i for i in drafts_of(self.ctx, self.ana.user_id) if i != self.params["spare"]]

    def warm_up(self) -> None:
        from clerk.domain import intake

        intake.review(self.ctx, self.ana, self.todo()[0])  # rules loaded, statements compiled

    def work(self, todo, marks: Marks, rng: random.Random) -> None:
        from clerk.domain import intake

        intake.next_number = slowed(intake.next_number, rng, after=True)
        intake.audit.append = slowed(intake.audit.append, rng)
        marks.ready()
        for app_id in todo:
            marks.begin()
            intake.lodge(self.ctx, self.ana, app_id)
            marks.done()

    def bystander_step(self, rng: random.Random) -> None:
        from clerk.domain import intake

        if self.theirs:
            intake.lodge(self.ctx, self.bea, self.theirs.pop(0))
            return
        self.toggled = not self.toggled
        mark = "copy-received" if self.toggled else "original-seen"
        intake.mark_item(self.ctx, self.bea, self.params["toggle"], "former-card", mark)


def copy_drafts(ctx, template: int, user_id: int, count: int, first: int) -> list[int]:
    """`count` copies of a ready draft, each for a copy of its applicant (and cards)."""
    ids = []
    with ctx.db.write() as s:
        app = s.get(Application, template)
        person = s.get(Applicant, app.applicant_id)
        cards = s.exec(select(IssuedCard).where(IssuedCard.applicant_id == person.id)).all()
        entries = s.exec(
            select(ChecklistEntry).where(ChecklistEntry.application_id == app.id)
        ).all()
        for n in range(first, first + count):
            twin = Applicant(
                **person.model_dump(exclude=set(COPIED)), id_number=f"7{n:06d}({n % 10})"
            )
            s.add(twin)
            s.flush()
            for card in cards:
                s.add(
                    IssuedCard(
                        **card.model_dump(exclude={"id", "applicant_id"}), applicant_id=twin.id
                    )
                )
            copy = Application(
                **app.model_dump(exclude={"id", "applicant_id", "user_id"}),
                applicant_id=twin.id,
                user_id=user_id,
            )
            s.add(copy)
            s.flush()
            for entry in entries:
                s.add(
                    ChecklistEntry(
                        **entry.model_dump(exclude={"id", "application_id"}),
                        application_id=copy.id,
                    )
                )
            ids.append(copy.id)
    return ids


@pytest.fixture
def counter(ctx):
    from clerk.domain import intake
    from clerk.domain.clock import set_clock
    from tests.unit.test_intake import draft_for, mark_all, seed_counter_office

    set_clock(running_clock(START))
    office = seed_counter_office(ctx)
    template = mark_all(office, draft_for(office, "1234567(3)", "renewal"))
    assert intake.review(ctx, office.ana, template.id).draft.blockers == ()
    bea = office.staff["bea"]
    office.mine = copy_drafts(ctx, template.id, office.ana.user_id, MINE, 0)
    office.theirs = copy_drafts(ctx, template.id, bea.user_id, THEIRS + 1, MINE)
    office.spare = template.id
    yield office
    set_clock(None)


def test_kill_9_during_lodging_leaves_whole_applications_and_no_gaps(counter):
    ctx = counter.ctx
    params = {
        "start": START,
        "ana": counter.ana.user_id,
        "bea": counter.staff["bea"].user_id,
        "theirs": counter.theirs[1:],
        "toggle": counter.theirs[0],
        "spare": counter.spare,
    }
    summary = crash.run_harness(
        "tests.system.test_crash_lodging:Lodging", ctx.db.url, params, KILLS
    )
    crash.check_summary(summary, 50)
    with ctx.db.read() as s:
        apps = s.exec(select(Application)).all()
        counted = s.exec(
            select(DailyCounter.value).where(DailyCounter.kind == "application")
        ).first()
        surcharged = s.exec(select(NonPresentation.application_id)).all()
    lodged = [a for a in apps if a.status == "lodged"]
    assert len(lodged) >= 20, "too few lodged to mean anything"
    crash.assert_gapless([int(a.number[-4:]) for a in lodged], "application numbers")
    assert counted == len(lodged)  # no number handed out and lost
    for app in apps:
        if app.status == "lodged":
            assert app.number and app.lodged_on and app.promised_on and app.policy_version
            assert app.step == "lodged" and app.lodged_at is not None
        else:
            assert app.status == "draft" and app.number is None and app.lodged_on is None
    lodge_events = Tally(crash.audited(ctx, "application.lodge"))
    assert lodge_events == Tally(a.id for a in lodged)  # one audit event each, drafts none
    assert set(surcharged) - {None} <= {a.id for a in lodged}  # the seeded losses have none
    crash.check_chain_and_integrity(ctx)
    print(crash.report_line(ctx, "lodging", summary))
