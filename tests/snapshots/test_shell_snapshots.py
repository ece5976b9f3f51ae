"""Snapshots of the shell at fixed terminal sizes, with the clock frozen."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.widgets import Input

from clerk.app import ClerkApp
from clerk.domain.clock import set_clock
from tests.conftest import make_ctx
from tests.functional.shell import login, settle

FROZEN = datetime(2026, 11, 20, 3, 15, 0, tzinfo=UTC)  # Friday 11:15 in Macao


@pytest.fixture
def frozen_demo(sqlite_url):
    from clerk.domain.demo import seed_demo

    set_clock(lambda: FROZEN)
    ctx = make_ctx(sqlite_url)
    seed_demo(ctx)
    yield ctx
    ctx.close()
    set_clock(None)


def _still(app) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
def test_login_screen(snap_compare, frozen_demo, size):
    app = ClerkApp(frozen_demo, demo=True, counter=3)

    async def before(pilot):
        await settle(app, pilot)
        _still(app)

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
def test_home_screen(snap_compare, frozen_demo, size):
    app = ClerkApp(frozen_demo, demo=True, counter=3)

    async def before(pilot):
        await login(app, pilot)
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


def test_help_screen_in_chinese(snap_compare, frozen_demo):
    app = ClerkApp(frozen_demo, demo=True, counter=2)

    async def before(pilot):
        await login(app, pilot, "mei", "clerk-mei-1")
        await pilot.press("f1")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)
