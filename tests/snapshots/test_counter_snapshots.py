"""Snapshots of every step of the counter flow at 100×30 and 80×24, with the clock frozen.

The drafts are prepared through the intake services before the app starts; the app then resumes
them from the Call step (Enter on the draft), so each snapshot shows the step as a clerk sees it.
"""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import Input

from clerk.app import ClerkApp
from clerk.domain import intake
from clerk.domain.auth import Actor
from clerk.domain.models import User
from tests.functional.shell import login, settle
from tests.functional.test_counter_flow import add_person, frozen_demo_office

SIZES = [(80, 24), (100, 30)]


@pytest.fixture
def office(sqlite_url):
    yield from frozen_demo_office(sqlite_url)


def ana(ctx) -> Actor:
    from sqlmodel import select

    with ctx.db.read() as s:
        user = s.exec(select(User).where(User.username == "ana")).one()
        return Actor(user.id, user.username, user.role, counter=1, language="en")


def _still(app) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False


def draft_at(ctx, step: str) -> None:
    """One draft of ana's, saved up to `step`."""
    clerk = ana(ctx)
    if step == "marital":
        pid = add_person(ctx, "1470258(0)", "黃美華", "WONG MEI WA", date(1960, 6, 6),
                         marital="widowed")  # fmt: skip
    elif step == "minors":
        pid = add_person(ctx, "7001234(5)", "何小明", "HO SIO MENG", date(2012, 2, 2))
    else:
        pid = add_person(ctx, "5551234(9)", "鈴木優子", "SUZUKI YUKO", date(1985, 1, 1),
                         marital="married", origin="japan")  # fmt: skip
    draft = intake.start_draft(ctx, clerk, pid)
    if step == "case":
        return
    draft = intake.save_case(ctx, clerk, draft.id, "renewal", "express")
    if step == "facts":
        return
    draft = intake.save_facts(
        ctx,
        clerk,
        draft.id,
        {"spouse_origin": "taiwan"} if step not in ("marital", "minors") else {},
        date_of_birth=draft.applicant.date_of_birth,
        card_expires_on=draft.card_expires_on,
    )
    for item in draft.items_in("checklist"):
        draft = intake.mark_item(ctx, clerk, draft.id, item.code, "original-seen")
    if step == "checklist":
        intake.mark_item(ctx, clerk, draft.id, "photo", "pending")
        return
    draft = intake.set_step(ctx, clerk, draft.id, "checklist")
    if step == "marital":
        intake.mark_item(ctx, clerk, draft.id, "marriage-certificate", "copy-received")
        intake.refuse_brief_report(ctx, clerk, draft.id)
        return
    if step == "minors":
        intake.mark_item(ctx, clerk, draft.id, "guardian-present", "original-seen")
        return
    for item in draft.items_in("marital"):
        draft = intake.mark_item(ctx, clerk, draft.id, item.code, "original-seen")
    intake.set_step(ctx, clerk, draft.id, "marital")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("step", ["case", "facts", "checklist", "marital", "minors", "review"])
def test_counter_step(snap_compare, office, step, size):
    draft_at(office, step)
    app = ClerkApp(office, demo=True, counter=1)

    async def before(pilot):
        await login(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        await pilot.press("enter")  # resume the draft where it stands
        await settle(app, pilot)
        assert app.screen.step == step
        _still(app)

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_counter_call_step(snap_compare, office, size):
    draft_at(office, "case")  # a draft to resume is listed
    app = ClerkApp(office, demo=True, counter=1)

    async def before(pilot):
        await login(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        await pilot.press("f5")  # the next tag; the flow moves to Identify …
        await settle(app, pilot)
        await pilot.press("escape")  # … and back to the call, to see the tag
        await settle(app, pilot)
        assert app.screen.step == "call"

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_counter_identify_a_new_applicant(snap_compare, office, size):
    app = ClerkApp(office, demo=True, counter=1)

    async def before(pilot):
        await login(app, pilot)
        await pilot.press("f4", "f5")
        await settle(app, pilot)
        await pilot.press(*"7123456(1)", "enter")
        await settle(app, pilot)
        await pilot.press(*"區嘉欣")
        _still(app)

    assert snap_compare(app, terminal_size=size, run_before=before)
