"""The counter's queue screen through Pilot: call, recall, no-show refusal, park, resume,
transfer, a scanned tag number, finish; and a supervisor changing the counter's services."""

from __future__ import annotations

import pytest

from clerk.app import ClerkApp
from clerk.domain import queue
from clerk.domain.auth import SYSTEM, Actor
from clerk.screens.queue_panel import QueueScreen
from clerk.widgets.tag_panel import PickModal, TagPanel
from tests.functional.shell import settle
from tests.unit import test_queue as shared

clock = shared.clock
db_url = shared.sqlite_db_url  # the UI holds no SQL: the services run on both in tests/unit
migrated_templates = shared.migrated_templates
office = shared.office

ANA = Actor(user_id=None, username="ana", role="clerk", full_name="Ana Chan 陳安娜", counter=2)
LEI = Actor(user_id=None, username="sup", role="supervisor", full_name="Lei Ka Man", counter=3)


async def open_from_home(app, pilot, actor: Actor, key: str, screen_type):
    """Log `actor` in (as the login screen does), then open a screen from home with `key`."""
    await settle(app, pilot)
    app.logged_in(actor)
    await settle(app, pilot)
    await pilot.press(key)
    await settle(app, pilot)
    assert isinstance(app.screen, screen_type)
    return app.screen


async def open_queue(app, pilot, actor: Actor) -> TagPanel:
    return (await open_from_home(app, pilot, actor, "f2", QueueScreen)).query_one(TagPanel)


def message(panel: TagPanel) -> str:
    return str(panel.query_one("#tag-message").render())


def footer_keys(app) -> set[str]:
    return {
        key for key, (_node, _b, enabled, _tip) in app.screen.active_bindings.items() if enabled
    }


async def test_the_counter_works_its_queue_with_the_function_keys(office):
    ctx = office
    for code in ("A", "A", "B"):
        queue.issue_tag(ctx, SYSTEM, code)
    app = ClerkApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        panel = await open_queue(app, pilot, ANA)
        assert panel.view is None and "f6" not in footer_keys(app)
        await pilot.press("f5")
        await settle(app, pilot)
        assert (panel.view.code, panel.view.counter, panel.view.status) == ("A001", 2, "called")
        assert {"f6", "f7", "f8", "f9", "f3", "f2"} <= footer_keys(app)
        await pilot.press("f6")
        await settle(app, pilot)
        assert panel.view.recalls == 1
        await pilot.press("f9")  # a no-show needs two recalls
        await settle(app, pilot)
        assert "needs 2 recalls" in message(panel) and panel.view.status == "called"
        await pilot.press("f3")  # park A001
        await settle(app, pilot)
        assert panel.view is None
        assert "A001" in str(app.screen.query_one("#queue-parked").render())
        await pilot.press("f5")  # A002
        await settle(app, pilot)
        await pilot.press("f2")  # transfer A002 …
        await settle(app, pilot)
        assert isinstance(app.screen, PickModal)
        await pilot.press("down", "enter")  # … to C (B, C, P are offered)
        await settle(app, pilot)
        assert panel.view is None and "A002 sent to service C" in message(panel)
        await pilot.press("f4")  # resume the parked A001
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert (panel.view.code, panel.view.status) == ("A001", "called")
        await pilot.press("f7", "f8")  # serving, finished
        await settle(app, pilot)
        assert panel.view is None
        await pilot.press(*"ｂ1", "enter")  # a tag number typed (full-width) or scanned
        await settle(app, pilot)
        assert panel.view.code == "B001"
        await pilot.press(*"Z9", "enter")
        await settle(app, pilot)
        assert "no tag Z009" in message(panel) and panel.view.code == "B001"
    statuses = {r.tag: (r.status, r.service) for r in queue.list_tags(ctx)}
    assert statuses == {
        "A001": ("finished", "A"),
        "A002": ("waiting", "C"),
        "B001": ("called", "B"),
    }


async def test_nothing_waiting_says_so_and_the_tag_stays(office):
    ctx = office
    queue.issue_tag(ctx, SYSTEM, "A")
    queue.call_next(ctx, SYSTEM, 2)
    app = ClerkApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await open_queue(app, pilot, ANA)
        assert panel.view.code == "A001"  # the counter's tag, found again
        await pilot.press("f5")
        await settle(app, pilot)
        assert "Nobody is waiting" in message(panel) and panel.view.code == "A001"
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, QueueScreen)


@pytest.mark.parametrize("actor,serves", [(LEI, ("A", "P")), (ANA, ("A", "B", "C", "P"))])
async def test_only_a_supervisor_changes_the_counters_services(office, actor, serves):
    ctx = office
    app = ClerkApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_queue(app, pilot, actor)
        assert ("f12" in footer_keys(app)) is actor.is_supervisor
        await pilot.press("f12")
        await settle(app, pilot)
        if actor.is_supervisor:
            field = app.screen.query_one("#services-input")
            assert field.value == "A,B,C,P"
            field.value = ""
            await pilot.press(*"a p", "enter")
            await settle(app, pilot)
    lines = {c.number: c.services for c in queue.counters_overview(ctx)}
    assert lines[actor.counter] == serves
