"""Users, argon2 passwords, lockout, roles (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clerk.domain import audit
from clerk.domain.auth import (
    SYSTEM,
    LoginRefused,
    add_user,
    authenticate,
    confirm_supervisor,
    require_role,
    set_password,
)
from clerk.domain.clock import set_clock
from clerk.errors import Refused, UsageError


@pytest.fixture
def frozen():
    now = [datetime(2026, 11, 21, 2, 0, tzinfo=UTC)]
    set_clock(lambda: now[0])
    yield now
    set_clock(None)


def test_add_and_login(ctx):
    add_user(ctx, SYSTEM, "Ana", "clerk", "s3cret-pass", full_name="Ana Chan")
    actor = authenticate(ctx, "ana", "s3cret-pass", counter=3, terminal="tty1")
    assert (actor.username, actor.role, actor.counter) == ("ana", "clerk", 3)
    with ctx.db.read() as s:
        from clerk.domain.models import User

        stored = s.get(User, actor.user_id)
        assert stored.password_hash.startswith("$argon2id$")
        assert "s3cret-pass" not in stored.password_hash


@pytest.mark.parametrize(
    "name,role,pw,needle",
    [
        ("a", "clerk", "password-1", "user name"),
        ("ana", "boss", "password-1", "unknown role"),
        ("ana", "clerk", "short", "at least 8"),
        ("ana", "clerk", " padded-pass ", "spaces"),
    ],
)
def test_add_user_rejects_bad_input(ctx, name, role, pw, needle):
    with pytest.raises(UsageError, match=needle):
        add_user(ctx, SYSTEM, name, role, pw)


def test_duplicate_user_is_refused(ctx):
    add_user(ctx, SYSTEM, "ana", "clerk", "password-1")
    with pytest.raises(UsageError, match="already exists"):
        add_user(ctx, SYSTEM, "ana", "supervisor", "password-2")


def test_only_an_admin_adds_users(ctx):
    clerk = add_user(ctx, SYSTEM, "ana", "clerk", "password-1")
    with pytest.raises(Refused):
        add_user(ctx, clerk, "joao", "clerk", "password-2")


def test_five_failures_lock_the_account_for_a_while(ctx, frozen):
    add_user(ctx, SYSTEM, "ana", "clerk", "password-1")
    for _ in range(4):
        with pytest.raises(LoginRefused, match="wrong user name or password"):
            authenticate(ctx, "ana", "nope-nope")
    with pytest.raises(LoginRefused, match="locked for 15 min"):
        authenticate(ctx, "ana", "nope-nope")
    # even the right password is refused while locked
    with pytest.raises(LoginRefused, match="locked"):
        authenticate(ctx, "ana", "password-1")
    frozen[0] += timedelta(minutes=16)
    assert authenticate(ctx, "ana", "password-1").username == "ana"


def test_a_success_resets_the_failure_count(ctx):
    add_user(ctx, SYSTEM, "ana", "clerk", "password-1")
    for _ in range(4):
        with pytest.raises(LoginRefused):
            authenticate(ctx, "ana", "wrong-one")
    authenticate(ctx, "ana", "password-1")
    for _ in range(4):
        with pytest.raises(LoginRefused, match="wrong user"):
            authenticate(ctx, "ana", "wrong-one")


def test_unknown_user_is_the_same_message(ctx):
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        authenticate(ctx, "ghost", "whatever-1")


def test_password_reset_unlocks(ctx):
    add_user(ctx, SYSTEM, "ana", "clerk", "password-1")
    for _ in range(5):
        with pytest.raises(LoginRefused):
            authenticate(ctx, "ana", "wrong-one")
    set_password(ctx, SYSTEM, "ana", "password-2")
    assert authenticate(ctx, "ana", "password-2").username == "ana"


def test_supervisor_confirmation_needs_a_supervisor(ctx):
    add_user(ctx, SYSTEM, "ana", "clerk", "password-1")
    add_user(ctx, SYSTEM, "sup", "supervisor", "password-2")
    assert confirm_supervisor(ctx, "sup", "password-2", counter=3).role == "supervisor"
    with pytest.raises(Refused, match="needs supervisor or admin"):
        confirm_supervisor(ctx, "ana", "password-1")


def test_require_role():
    require_role(SYSTEM, "admin")
    with pytest.raises(Refused):
        require_role(SYSTEM, "clerk")


def test_logins_and_failures_are_audited(ctx):
    add_user(ctx, SYSTEM, "ana", "clerk", "password-1")
    authenticate(ctx, "ana", "password-1", counter=2)
    with pytest.raises(LoginRefused):
        authenticate(ctx, "ana", "bad-password")
    from sqlmodel import select

    from clerk.domain.models import AuditEvent

    with ctx.db.read() as s:
        actions = s.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["user.add", "login", "login.failed"]
        assert audit.verify(s, ctx.audit_key).ok
