"""The audit chain: intact, edited, deleted, truncated, wrong key."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import select

from clerk.domain import audit
from clerk.domain.auth import SYSTEM


def _append(ctx, n: int) -> str:
    with ctx.db.write() as s:
        for i in range(n):
            last = audit.append(s, ctx.audit_key, SYSTEM, "test.event", after={"i": i})
    return last.hash


def _verify(ctx, key=None, expect=None):
    with ctx.db.read() as s:
        return audit.verify(s, key or ctx.audit_key, expected_last_hash=expect)


def _drop_guards(ctx):
    with ctx.db.write() as s:
        if ctx.db.is_sqlite:
            s.execute(text("DROP TRIGGER auditevent_no_update"))
            s.execute(text("DROP TRIGGER auditevent_no_delete"))
        else:
            s.execute(text("DROP TRIGGER auditevent_append_only ON auditevent"))


def test_intact_chain(ctx):
    last = _append(ctx, 5)
    result = _verify(ctx, expect=last)
    assert result.ok and result.checked == 5 and result.last_hash == last


def test_wrong_key_breaks_at_the_first_event(ctx):
    _append(ctx, 3)
    result = _verify(ctx, key=b"another key")
    assert not result.ok and result.broken_id == 1


def test_edited_row_is_found(ctx):
    _append(ctx, 5)
    _drop_guards(ctx)
    with ctx.db.write() as s:
        s.execute(text("UPDATE auditevent SET after = '{\"i\": 99}' WHERE id = 3"))
    result = _verify(ctx)
    assert not result.ok and result.broken_id == 3


def test_deleted_row_is_found(ctx):
    _append(ctx, 5)
    _drop_guards(ctx)
    with ctx.db.write() as s:
        s.execute(text("DELETE FROM auditevent WHERE id = 2"))
    result = _verify(ctx)
    assert not result.ok and result.broken_id == 2


def test_truncated_tail_is_found_by_the_head_and_the_report_hash(ctx):
    printed = _append(ctx, 5)
    _drop_guards(ctx)
    with ctx.db.write() as s:
        s.execute(text("DELETE FROM auditevent WHERE id > 3"))
    assert not _verify(ctx).ok  # the head row still says 5
    with ctx.db.write() as s:  # a careful attacker rewinds the head too …
        s.execute(
            text(
                "UPDATE audithead SET seq = 3, last_hash = "
                "(SELECT hash FROM auditevent WHERE id = 3)"
            )
        )
    assert _verify(ctx).ok
    result = _verify(ctx, expect=printed)  # … but the hash on the daily report is gone
    assert not result.ok and "report" in result.problem


@pytest.mark.parametrize("n", [0, 1])
def test_small_chains(ctx, n):
    _append(ctx, n) if n else None
    assert _verify(ctx).ok


# --- where an event happened ----------------------------------------------------------------


def test_terminal_name_is_the_ssh_client_or_the_tty(monkeypatch):
    from clerk import app

    monkeypatch.setenv("SSH_CLIENT", "10.0.0.7 51234 22")
    assert app._terminal_name() == "ssh:10.0.0.7"
    monkeypatch.setenv("SSH_CLIENT", "fe80::7 51234 22")
    assert app._terminal_name() == "ssh:fe80::7"
    monkeypatch.setattr(app.os, "ttyname", lambda fd: "/dev/pts/3" if fd == 0 else "?")
    for unset in (None, "", "   "):  # not over SSH: the terminal device
        if unset is None:
            monkeypatch.delenv("SSH_CLIENT", raising=False)
        else:
            monkeypatch.setenv("SSH_CLIENT", unset)
        assert app._terminal_name() == "/dev/pts/3", repr(unset)

    def no_tty(fd):
        raise OSError(25, "Inappropriate ioctl for device")

    monkeypatch.setattr(app.os, "ttyname", no_tty)
    assert app._terminal_name() == "local"


def test_an_event_records_the_counter_and_terminal_and_they_are_chained(ctx):
    from clerk.domain.auth import Actor
    from clerk.domain.models import AuditEvent

    ana = Actor(user_id=None, username="ana", role="clerk", counter=3, terminal="ssh:10.0.0.7")
    joao = Actor(user_id=None, username="joao", role="clerk", counter=5, terminal="/dev/pts/4")
    with ctx.db.write() as s:
        audit.append(s, ctx.audit_key, ana, "test.where", subject_type="tag", subject_id=7)
        audit.append_many(
            s,
            ctx.audit_key,
            [{"actor": joao, "action": "test.many"}, {"actor": ana.at(counter=4), "action": "x"}],
        )
        audit.append(s, ctx.audit_key, None, "test.nobody")
    with ctx.db.read() as s:
        rows = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    where = [(e.id, e.username, e.counter, e.terminal, e.action) for e in rows]
    assert where == [
        (1, "ana", 3, "ssh:10.0.0.7", "test.where"),
        (2, "joao", 5, "/dev/pts/4", "test.many"),
        (3, "ana", 4, "ssh:10.0.0.7", "x"),
        (4, "system", None, "", "test.nobody"),
    ]
    assert _verify(ctx).ok
    _drop_guards(ctx)  # "where" is part of the hash: moving an event elsewhere is found
    with ctx.db.write() as s:
        s.execute(text("UPDATE auditevent SET terminal = 'ssh:10.0.0.8' WHERE id = 1"))
    result = _verify(ctx)
    assert not result.ok and result.broken_id == 1
    with ctx.db.write() as s:
        s.execute(text("UPDATE auditevent SET terminal = 'ssh:10.0.0.7' WHERE id = 1"))
        s.execute(text("UPDATE auditevent SET counter = 1 WHERE id = 3"))
    result = _verify(ctx)
    assert not result.ok and result.broken_id == 3


# --- `clerk db restore` is an audit event -------------------------------------------------------


def _newest(ctx):
    from clerk.domain.models import AuditEvent

    with ctx.db.read() as s:
        return s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def test_restore_appends_an_event_to_the_restored_database(ctx, tmp_path, capsys):
    import getpass
    import json

    from clerk.cli import main

    _append(ctx, 3)
    backup = ctx.db.backup(tmp_path / "saved" / "monday.backup")
    _append(ctx, 4)  # lost by the restore
    ctx.db.dispose()
    code = main(["--db", ctx.db.url, "db", "restore", str(backup), "--yes"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    assert f"database restored from {backup}" in out
    event = _newest(ctx)
    assert (event.id, event.action, event.username, event.user_id) == (
        4,
        "db.restore",
        "system",
        None,
    )
    assert (event.counter, event.terminal) == (None, "cli")
    assert json.loads(event.after) == {"from": "monday.backup", "os_user": getpass.getuser()}
    result = _verify(ctx, expect=event.hash)
    assert result.ok and result.checked == 4  # the backup's 3 events, then the restore


def test_restore_without_the_audit_key_changes_nothing(sqlite_ctx, tmp_path, capsys, monkeypatch):
    from clerk.cli import main

    _append(sqlite_ctx, 2)
    backup = sqlite_ctx.db.backup(tmp_path / "copy.db")
    _append(sqlite_ctx, 1)
    sqlite_ctx.db.dispose()
    monkeypatch.delenv("CLERK_AUDIT_KEY")
    code = main(["--db", sqlite_ctx.db.url, "db", "restore", str(backup), "--yes"])
    _, err = capsys.readouterr()
    assert code == 1 and "secret AUDIT_KEY is not set" in err and err.count("\n") == 1
    assert _newest(sqlite_ctx).id == 3  # not restored: the restore could not have been recorded
