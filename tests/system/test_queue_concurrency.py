"""Many clerk processes on one database, on SQLite and on a real PostgreSQL.

8 processes issue and call at once: tag numbers are unique and gapless per service, two counters
never get the same tag, no tag is lost. A process killed in the middle of its calls leaves nothing
half done. A process started "yesterday" issues today's 001 after midnight.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
import traceback
from collections import Counter as Tally
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from clerk.domain import audit, queue
from clerk.domain.auth import SYSTEM
from clerk.domain.clock import set_clock
from clerk.domain.models import Counter, Tag, TagEvent
from tests.conftest import make_ctx
from tests.unit.test_queue import MACAU, make_office

pytestmark = pytest.mark.system

PROCESSES = 8
ROUNDS = 40  # per process: issue one tag, call the next one
DAY = date(2026, 11, 23)
FORK = multiprocessing.get_context("fork")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'clerk.db'}"
    return request.getfixturevalue("pg_url")


def running_clock(local_start: datetime):
    """A clock that starts at `local_start` and runs in real time (shared across forks)."""
    origin, start = time.monotonic(), local_start.astimezone(UTC)
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


@pytest.fixture
def office_url(url):
    set_clock(running_clock(datetime(2026, 11, 23, 10, 0, tzinfo=MACAU)))
    ctx = make_ctx(url)
    make_office(ctx, counters=PROCESSES)
    # an audited change first: two first-ever audit.append calls racing on PostgreSQL both
    # insert the chain's head row (reported to the audit module's owner)
    queue.set_counter_services(ctx, SYSTEM, 1, "ABCP")
    ctx.close()  # no connection crosses the fork
    yield url
    set_clock(None)


def _worker(url: str, index: int, barrier, results) -> None:
    """Issue a tag, call the next one for this counter; then call until nothing is left."""
    from clerk.context import Context

    ctx = Context(db_url=url)
    counter, rng = index + 1, random.Random(index)
    issued, called = [], []
    try:
        barrier.wait(timeout=60)
        for _ in range(ROUNDS):
            issued.append(queue.issue_tag(ctx, SYSTEM, rng.choice("AAABCP")).tag)
            view = queue.call_next(ctx, SYSTEM, counter)
            if view is not None:
                called.append(view.code)
        while (view := queue.call_next(ctx, SYSTEM, counter)) is not None:
            called.append(view.code)
        results.put((index, issued, called, ""))
    except Exception:  # noqa: BLE001 - reported to the parent
        results.put((index, issued, called, traceback.format_exc()))
    finally:
        ctx.close()


def _run_all(url: str) -> list[tuple[int, list[str], list[str]]]:
    barrier, results = FORK.Barrier(PROCESSES), FORK.Queue()
    procs = [
        FORK.Process(target=_worker, args=(url, i, barrier, results)) for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [err for _i, _issued, _called, err in got if err]
    assert not errors, errors[0]
    return [(i, issued, called) for i, issued, called, _err in got]


def test_eight_processes_issue_and_call_at_once(office_url):
    got = _run_all(office_url)
    issued = [code for _i, codes, _c in got for code in codes]
    called = [code for _i, _codes, codes in got for code in codes]
    assert len(issued) == PROCESSES * ROUNDS
    # unique and gapless per service
    for letter, count in Tally(code[0] for code in issued).items():
        numbers = sorted(int(code[1:]) for code in issued if code[0] == letter)
        assert numbers == list(range(1, count + 1)), letter
    # two counters never got the same tag, and every tag was called once
    assert len(called) == len(set(called)), Tally(called).most_common(3)
    ctx = make_ctx(office_url)
    with ctx.db.read() as s:
        rows = s.exec(
            select(Tag.code, Tag.status, Counter.number).join(Counter, Counter.id == Tag.counter_id)
        ).all()
        events = s.exec(
            select(Tag.code, TagEvent.kind, Counter.number)
            .join(Tag, Tag.id == TagEvent.tag_id)
            .outerjoin(Counter, Counter.id == TagEvent.counter_id)
        ).all()
        assert audit.verify(s, ctx.audit_key).ok
    ctx.close()
    assert sorted(code for code, _s, _n in rows) == sorted(issued)  # no tag lost or added
    assert sorted(called) == sorted(issued)
    calls = {(code, number) for code, kind, number in events if kind == "called"}
    for index, _issued, codes in got:  # each call went to the counter that made it
        assert all((code, index + 1) in calls for code in codes)
    kinds = Tally(kind for _code, kind, _n in events)
    assert kinds["issued"] == kinds["called"] == len(issued)
    still_called = [code for code, status, _n in rows if status == "called"]
    assert len(still_called) <= PROCESSES  # one current tag per counter at most
    assert kinds["finished"] == len(issued) - len(still_called)


def _caller(url: str, progress) -> None:
    """Issue and call in a loop until killed."""
    from clerk.context import Context

    ctx = Context(db_url=url)
    while True:
        queue.issue_tag(ctx, SYSTEM, "A")
        queue.call_next(ctx, SYSTEM, 1)
        with progress.get_lock():
            progress.value += 1


def test_a_clerk_process_killed_mid_call_leaves_nothing_half_done(office_url):
    for _ in range(2):  # two clerk processes killed in turn
        progress = FORK.Value("i", 0)
        proc = FORK.Process(target=_caller, args=(office_url, progress))
        proc.start()
        deadline = time.monotonic() + 60
        while progress.value < 15 + random.randint(0, 10) and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    ctx = make_ctx(office_url)
    with ctx.db.read() as s:
        tags = s.exec(select(Tag.id, Tag.status, Tag.counter_id)).all()
        events = Tally(
            (tag_id, kind) for tag_id, kind in s.exec(select(TagEvent.tag_id, TagEvent.kind)).all()
        )
        assert audit.verify(s, ctx.audit_key).ok
    numbers = sorted(int(code[1:]) for (code,) in [(r.tag,) for r in queue.list_tags(ctx)])
    ctx.close()
    assert numbers == list(range(1, len(tags) + 1))  # no gap: a killed issue gave its number back
    for tag_id, status, counter_id in tags:
        assert events[(tag_id, "issued")] == 1
        assert events[(tag_id, "called")] == (0 if status == "waiting" else 1), (tag_id, status)
        assert (counter_id is None) == (status == "waiting")
    assert sum(1 for _i, status, _c in tags if status == "called") <= 1


def _started_yesterday(url: str, now, go_on, results) -> None:
    """A clerk process whose clock the test moves: issues at 17:00, then again after midnight."""
    from clerk.context import Context

    set_clock(lambda: datetime.fromtimestamp(now.value, UTC))
    ctx = Context(db_url=url)
    try:
        before = [queue.issue_tag(ctx, SYSTEM, "B") for _ in range(3)]
        results.put([(t.day, t.tag) for t in before])
        go_on.wait(timeout=60)
        after = [queue.issue_tag(ctx, SYSTEM, "B") for _ in range(2)]
        called = queue.call_next(ctx, SYSTEM, 1)
        results.put(([(t.day, t.tag) for t in after], called.code if called else None))
    except Exception:  # noqa: BLE001
        results.put(traceback.format_exc())
    finally:
        ctx.close()


def test_a_process_started_yesterday_issues_todays_001(url):
    ctx = make_ctx(url)
    make_office(ctx)
    ctx.close()
    evening = datetime(2026, 11, 23, 17, 0, tzinfo=MACAU).timestamp()
    now, go_on, results = FORK.Value("d", evening), FORK.Event(), FORK.Queue()
    proc = FORK.Process(target=_started_yesterday, args=(url, now, go_on, results))
    proc.start()
    try:
        before = results.get(timeout=60)
        assert before == [(DAY, "B001"), (DAY, "B002"), (DAY, "B003")], before
        now.value = datetime(2026, 11, 24, 9, 0, tzinfo=MACAU).timestamp()  # the next morning
        go_on.set()
        after = results.get(timeout=60)
    finally:
        proc.join(timeout=30)
    tomorrow = DAY + timedelta(days=1)
    assert after == ([(tomorrow, "B001"), (tomorrow, "B002")], "B001"), after
