"""The app shell through Pilot: login, lockout, help, keymap, idle lock, language, errors."""

from __future__ import annotations

import time

import pytest

from clerk.app import ClerkApp
from clerk.screens.help import HelpScreen
from clerk.screens.home import HomeScreen
from clerk.screens.lock import LockScreen
from clerk.screens.login import LoginScreen
from tests.functional.shell import login, settle, text_of


async def test_login_wrong_then_right(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=3)
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await login(app, pilot, "ana", "not-her-password")
        assert isinstance(app.screen, LoginScreen)
        assert "wrong user name or password" in text_of(app, "#login-message")
        assert app.screen.query_one("#password").value == ""  # cleared after a failure
        await pilot.press(*"clerk-ana-1", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.actor.username == "ana" and app.actor.counter == 3
        assert "waiting in all" in text_of(app, "#home-message")


async def test_unknown_counter_is_refused(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=42)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        assert isinstance(app.screen, LoginScreen)
        assert "Counter 42 does not exist" in text_of(app, "#login-message")


async def test_lockout_after_five_failures(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot, "joao", "bad-password")
        for _ in range(4):
            await pilot.press(*"bad-password", "enter")
            await settle(app, pilot)
        assert "locked" in text_of(app, "#login-message")
        await pilot.press(*"clerk-joao-1", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen)  # the right password waits out the lock


async def test_f1_lists_every_key_with_its_id(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-keys")
        ids = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert {"home.refresh", "app.help", "app.lock", "app.quit", "app.language"} <= ids
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_keymap_from_config_remaps_a_binding(sqlite_url, tmp_path):
    from clerk.context import Context
    from clerk.domain.demo import seed_demo

    cfg = tmp_path / "c.toml"
    cfg.write_text('[keymap]\n"app.help" = "f12"\n')
    ctx = Context(db_url=sqlite_url, config_path=str(cfg))
    ctx.db.upgrade()
    seed_demo(ctx)
    app = ClerkApp(ctx, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f12")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_idle_lock_and_unlock(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        app._last_input = time.monotonic() - app.idle_seconds - 1
        app._check_idle()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"wrong-password", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, LockScreen)
        assert "wrong" in text_of(app, "#lock-message")
        await pilot.press(*"clerk-ana-1", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_ctrl_l_locks_and_ctrl_o_logs_out(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen) and app.actor is None


async def test_language_is_a_per_user_setting(demo_ctx):
    from clerk.domain.auth import authenticate

    app = ClerkApp(demo_ctx, demo=True, counter=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        assert app.language == "en"
        await pilot.press("f10")
        await settle(app, pilot)
        assert app.language == "zh_Hant"
        assert "歡迎" in text_of(app, "#welcome")
    assert authenticate(demo_ctx, "ana", "clerk-ana-1").language == "zh_Hant"


async def test_mei_logs_in_in_chinese(demo_ctx):
    app = ClerkApp(demo_ctx, demo=True, counter=2)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot, "mei", "clerk-mei-1")
        assert app.language == "zh_Hant"
        descriptions = {b.binding.description for b in app.active_bindings.values()}
        assert "說明" in descriptions  # F1 Help


async def test_an_unexpected_error_is_logged_not_shown(demo_ctx, tmp_path):
    app = ClerkApp(demo_ctx, demo=True, counter=1)

    def broken():
        raise RuntimeError("boom 1234567(3)")

    async with app.run_test(size=(100, 30)) as pilot:
        await login(app, pilot)
        app.screen.call_service(broken)
        await settle(app, pilot)
        assert app.is_running and isinstance(app.screen, HomeScreen)
        shown = " ".join(str(n.message) for n in app._notifications)
        assert "Unexpected error" in shown and "boom" not in shown
    from clerk.logs import log_dir

    log = (log_dir() / "clerk.log").read_text()
    assert "RuntimeError: boom 12****7(3)" in log  # masked


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_home_fits(demo_ctx, size):
    app = ClerkApp(demo_ctx, demo=True, counter=1)
    async with app.run_test(size=size) as pilot:
        await login(app, pilot)
        table = app.screen.query_one("#queue")
        assert table.row_count == 4
        assert table.region.bottom <= size[1]
