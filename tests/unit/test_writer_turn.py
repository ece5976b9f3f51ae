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


def _writer(url: str, who: str, rounds: int) -> None:
    db = Database(url)
    for _ in range(rounds):
        with db.write() as s:
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


def test_processes_and_threads_take_whole_turns(sqlite_url):
    db = _db(sqlite_url)
    procs = [FORK.Process(target=_writer, args=(sqlite_url, f"p{i}", 30)) for i in range(4)]
    threads = [threading.Thread(target=_writer, args=(sqlite_url, f"t{i}", 30)) for i in range(3)]
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


def _hold(url: str, ready, release) -> None:
    db = Database(url)
    with db.write() as s:
        s.execute(text("INSERT INTO t VALUES ('holder', 1)"))
        ready.set()
        release.wait(30)


def test_a_writer_that_holds_its_turn_too_long_gives_a_busy_message(sqlite_url):
    """A clerk process stopped in the middle of a write: the others get the clear busy line
    after the busy timeout, and their turn again once it goes on."""
    db = _db(sqlite_url, timeout_ms=300)
    ready, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold, args=(sqlite_url, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(Failure, match="busy"), db.write() as s:
            s.execute(text("INSERT INTO t VALUES ('waiter', 1)"))
    finally:
        release.set()
        holder.join(30)
    with db.write() as s:
        s.execute(text("INSERT INTO t VALUES ('waiter', 2)"))
    assert _rows(db) == [("holder", 1), ("waiter", 2)]


def test_synchronous_is_full_unless_normal_is_chosen(sqlite_url, tmp_path):
    from clerk.config import Config
    from clerk.context import Context

    assert Config().database.sqlite_synchronous == "full"
    ctx = Context(db_url=f"sqlite:///{tmp_path / 'normal.db'}")
    ctx.config.database.sqlite_synchronous = "normal"
    with _db(sqlite_url).engine.connect() as full, ctx.db.engine.connect() as normal:
        assert full.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert normal.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    ctx.close()
    with pytest.raises(UsageError, match="full or normal"):
        Database(sqlite_url, synchronous="off")
