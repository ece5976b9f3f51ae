"""SQLite writers take turns on an flock: across processes, across threads, and never for ever."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from sqlalchemy import text

from clerk.db import Database
from clerk.errors import Failure, UsageError

FORK = multiprocessing.get_context("fork")


def _db(url: str, timeout_ms: int = 10000) -> Database:
    db = Database(url, busy_timeout_ms=timeout_ms)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (who TEXT, step INTEGER)")
    return db


def _writer(url: str, who: str, rounds: int, method: str = "write") -> None:
    db = Database(url)
    for _ in range(rounds):
        with getattr(db, method)() as s:
            # two rows a turn; another writer slipping in between would interleave them
            s.execute(text("INSERT INTO t VALUES (:w, 1)"), {"w": who})
            time.sleep(0.001)
            s.execute(text("INSERT INTO t VALUES (:w, 2)"), {"w": who})
    db.dispose()


def _rows(db: Database) -> list[tuple[str, int]]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(text("SELECT who, step FROM t ORDER BY rowid"))]


def _assert_whole_turns(rows: list[tuple[str, int]], expected: int) -> None:
    assert len(rows) == expected
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        assert first[1] == 1 and second == (first[0], 2)


# `write_core`: the same transaction on a bare Core connection (the queue's hot writes)
WRITES = pytest.mark.parametrize("method", ["write", "write_core"])


@WRITES
def test_processes_and_threads_take_whole_turns(sqlite_url, method):
    db = _db(sqlite_url)
    procs = [FORK.Process(target=_writer, args=(sqlite_url, f"p{i}", 30, method)) for i in range(4)]
    threads = [
        threading.Thread(target=_writer, args=(sqlite_url, f"t{i}", 30, method)) for i in range(3)
    ]
    for worker in (*procs, *threads):
        worker.start()
    for worker in (*procs, *threads):
        worker.join(60)
    assert all(p.exitcode == 0 for p in procs)
    _assert_whole_turns(_rows(db), 7 * 30 * 2)


def test_a_nested_write_in_one_thread_fails_instead_of_hanging(sqlite_url):
    db = _db(sqlite_url, timeout_ms=300)
    other = Database(sqlite_url, busy_timeout_ms=300)  # a second object for the same file
    with pytest.raises(Failure, match="busy"), db.write() as s:
        s.execute(text("INSERT INTO t VALUES ('outer', 1)"))
        with other.write() as inner:
            inner.execute(text("INSERT INTO t VALUES ('inner', 1)"))
    assert _rows(db) == []


def _catch(fn, errors: list) -> None:
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        errors.append(exc)


def _hold(url: str, ready, release) -> None:
    db = Database(url)
    with db.write() as s:
        s.execute(text("INSERT INTO t VALUES ('holder', 1)"))
        ready.set()
        release.wait(30)


@pytest.mark.parametrize("waiter", ["main thread", "worker thread", "helper thread"])
def test_a_writer_that_holds_its_turn_too_long_gives_a_busy_message(
    sqlite_url, waiter, monkeypatch
):
    """A clerk process stopped in the middle of a write: the others get the clear busy line
    after the busy timeout, and their turn again once it goes on. The wait is interrupted by
    the watchdog's signal in the waiting thread (main or worker: the TUI writes from workers),
    or given up by the waiter where no signal could be set up (the helper thread's flock)."""
    from clerk import turns

    if waiter == "helper thread":
        monkeypatch.setattr(turns, "_interrupter", lambda: None)
    else:
        turns.prepare_in_main_thread()
        assert turns._interrupter() is not None
    db = _db(sqlite_url, timeout_ms=300)
    ready, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold, args=(sqlite_url, ready, release))
    holder.start()

    def write() -> None:
        with db.write() as s:
            s.execute(text("INSERT INTO t VALUES ('waiter', 1)"))

    try:
        assert ready.wait(30)
        if waiter == "worker thread":
            errors: list[BaseException] = []
            worker = threading.Thread(target=lambda: _catch(write, errors))
            started = time.monotonic()
            worker.start()
            worker.join(30)
            assert not worker.is_alive() and time.monotonic() - started < 5
            assert len(errors) == 1 and isinstance(errors[0], Failure)
            assert "busy" in str(errors[0])
        else:
            with pytest.raises(Failure, match="busy"):
                write()
    finally:
        release.set()
        holder.join(30)
    with db.write() as s:
        s.execute(text("INSERT INTO t VALUES ('waiter', 2)"))
    assert _rows(db) == [("holder", 1), ("waiter", 2)]


@WRITES
def test_full_syncs_the_wal_after_the_turn_and_normal_does_not(
    sqlite_url, tmp_path, monkeypatch, method
):
    """Group commit: at `full` (the default) the WAL is synced once the commit is done and the
    writers' turn handed on — before `write()` returns — and not at all at `normal`."""
    import fcntl
    import os

    from clerk.config import Config
    from clerk.context import Context

    assert Config().database.sqlite_synchronous == "full"
    full = _db(sqlite_url)
    ctx = Context(db_url=f"sqlite:///{tmp_path / 'normal.db'}")
    ctx.config.database.sqlite_synchronous = "normal"
    normal = _db(ctx.db.url)
    normal.synchronous = ctx.db.synchronous
    synced: list[tuple[str, bool]] = []
    real_sync = os.fdatasync

    def spy(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        probe = os.open(str(full_path) + ".write-lock", os.O_RDWR | os.O_CREAT)
        try:  # the turn is free while this process syncs
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(probe, fcntl.LOCK_UN)
            free = True
        except BlockingIOError:
            free = False
        finally:
            os.close(probe)
        synced.append((path, free))
        real_sync(fd)

    from pathlib import Path

    full_path = Path(sqlite_url.removeprefix("sqlite:///")).resolve()
    monkeypatch.setattr(os, "fdatasync", spy)
    with getattr(full, method)() as s:
        s.execute(text("INSERT INTO t VALUES ('full', 1)"))
    assert synced == [(str(full_path) + "-wal", True)]
    with getattr(normal, method)() as s:
        s.execute(text("INSERT INTO t VALUES ('normal', 1)"))
    # rolled back: nothing to sync
    with pytest.raises(ZeroDivisionError), getattr(full, method)() as s:
        s.execute(text("INSERT INTO t VALUES ('full', 2)"))
        raise ZeroDivisionError
    assert len(synced) == 1
    with full.engine.connect() as conn:  # SQLite's own sync per commit stays off
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    assert _rows(full) == [("full", 1)]
    ctx.close()
    with pytest.raises(UsageError, match="full or normal"):
        Database(sqlite_url, synchronous="off")
