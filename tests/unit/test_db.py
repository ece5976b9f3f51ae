"""The database layer on SQLite and PostgreSQL: migrations, sequences, pragmas, backup/restore."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date

import pytest
from sqlalchemy import text

from clerk.db import Database, normalise_url
from clerk.domain.sequences import current_number, next_number
from clerk.errors import Failure, UsageError


def test_upgrade_twice_is_a_noop(ctx):
    before, after = ctx.db.upgrade()
    assert before == after == ctx.db.head_revision()
    ctx.db.require_current()


def test_fresh_database_is_refused_until_upgraded(sqlite_url):
    db = Database(sqlite_url)
    with pytest.raises(Failure, match="clerk db upgrade"):
        db.require_current()


def test_sqlite_pragmas_and_owner_only_file(sqlite_ctx, sqlite_url):
    import os
    from pathlib import Path

    with sqlite_ctx.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # NORMAL: at `full` the writer syncs the WAL itself after the turn (test_writer_turn)
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    "url,needle",
    [
        ("nonsense", "not a database URL"),
        ("mysql://u@h/db", "unsupported database"),
        ("sqlite://", "in-memory"),
        ("postgresql+asyncpg://u@h/db", "unsupported PostgreSQL driver"),
        ("postgresql://u@h", "names no database"),
    ],
)
def test_bad_urls_get_one_clear_line(url, needle):
    with pytest.raises(UsageError, match=needle) as err:
        normalise_url(url)
    assert "\n" not in err.value.message


def test_postgres_url_gets_psycopg_driver():
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")


def test_daily_sequence_counts_per_key_and_day(ctx):
    from clerk.domain.models import Office

    with ctx.db.write() as s:
        office = Office(code="01", name="x")
        s.add(office)
        s.flush()
        oid = office.id
    day, other = date(2026, 11, 20), date(2026, 11, 21)
    with ctx.db.write() as s:
        assert [next_number(s, oid, "tag", day, "A") for _ in range(3)] == [1, 2, 3]
        assert next_number(s, oid, "tag", day, "B") == 1
        assert next_number(s, oid, "tag", other, "A") == 1
    # a rolled-back transaction gives its number back: no gaps
    with pytest.raises(RuntimeError), ctx.db.write() as s:
        assert next_number(s, oid, "tag", day, "A") == 4
        raise RuntimeError("crash before commit")
    with ctx.db.write() as s:
        assert next_number(s, oid, "tag", day, "A") == 4
    # the same on a bare Core connection (the queue's hot writes)
    with pytest.raises(RuntimeError), ctx.db.write_core() as conn:
        assert next_number(conn, oid, "tag", day, "A") == 5
        raise RuntimeError("crash before commit")
    with ctx.db.write_core() as conn:
        assert next_number(conn, oid, "tag", day, "A") == 5
    with ctx.db.read() as s:
        assert current_number(s, oid, "tag", day, "A") == 5


def test_concurrent_sequences_are_unique_and_gapless(ctx):
    """Threads, each with its own connection, draw numbers at once: 1..N exactly."""
    from clerk.domain.models import Office

    with ctx.db.write() as s:
        office = Office(code="01")
        s.add(office)
        s.flush()
        oid = office.id
    day, got, errors = date(2026, 11, 21), [], []

    def worker():
        try:
            for _ in range(25):
                with ctx.db.write() as s:
                    got.append(next_number(s, oid, "receipt", day))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(got) == list(range(1, 101))


def test_backup_and_restore_sqlite(sqlite_ctx, tmp_path):
    from clerk.domain.auth import SYSTEM, add_user, list_users

    add_user(sqlite_ctx, SYSTEM, "ana", "clerk", "password-1")
    backup = sqlite_ctx.db.backup(tmp_path / "b" / "copy.db")
    assert sqlite3.connect(backup).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    add_user(sqlite_ctx, SYSTEM, "joao", "clerk", "password-2")
    assert len(list_users(sqlite_ctx)) == 2
    sqlite_ctx.db.restore(backup)
    assert [u[0] for u in list_users(sqlite_ctx)] == ["ana"]


def test_restore_refuses_a_file_that_is_not_a_backup(sqlite_ctx, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(UsageError):
        sqlite_ctx.db.restore(junk)


def test_backup_and_restore_postgres(pg_url, tmp_path):
    from clerk.domain.auth import SYSTEM, add_user, list_users
    from tests.conftest import make_ctx

    ctx = make_ctx(pg_url)
    add_user(ctx, SYSTEM, "ana", "clerk", "password-1")
    backup = ctx.db.backup(tmp_path / "pg.dump")
    assert backup.stat().st_size > 0
    add_user(ctx, SYSTEM, "joao", "clerk", "password-2")
    ctx.db.restore(backup)
    assert [u[0] for u in list_users(ctx)] == ["ana"]
    ctx.close()


def test_audit_table_refuses_update_and_delete(ctx):
    from clerk.domain.auth import SYSTEM, add_user

    add_user(ctx, SYSTEM, "ana", "clerk", "password-1")
    for sql in ("UPDATE auditevent SET action = 'x'", "DELETE FROM auditevent"):
        with pytest.raises(Exception, match="append-only"), ctx.db.write() as s:
            s.execute(text(sql))
