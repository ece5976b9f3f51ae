"""kill -9 in the middle of tag calls, on SQLite and PostgreSQL (`tests/system/crash.py`).

Counter 1's clerk process calls the next tag in a loop (each call finishes the counter's current
tag) and is killed with SIGKILL at least 50 times, with short random pauses inside the call's
transaction. Meanwhile the bystander process plays reception and counter 2: it issues tags and
calls them. Afterwards every tag's status agrees with its timed events, every event has its
audit event, each service's numbers run 1..n without a gap (the day's counter says n), a counter
holds at most one tag, the audit chain verifies and SQLite's integrity check is ok.
"""

from __future__ import annotations

import random
from collections import Counter as Tally
from datetime import datetime

import pytest
from sqlmodel import select

from clerk.domain.models import AuditEvent, DailyCounter, Service, Tag, TagEvent
from tests.system import crash
from tests.system.crash import Marks, Scenario, slowed

pytestmark = pytest.mark.system

KILLS = 55
WAITING = 150  # tags issued before the first kill
START = "2026-11-23T10:00:00+08:00"  # a Monday morning in Macao


def running_clock(start: str):
    from tests.system.test_queue_concurrency import running_clock as clock

    return clock(datetime.fromisoformat(start))


class TagCalls(Scenario):
    def __init__(self, ctx, params):
        from clerk.domain.auth import Actor
        from clerk.domain.clock import set_clock

        super().__init__(ctx, params)
        set_clock(running_clock(params["start"]))  # the forks share it
        self.clerk = Actor(None, "ana", "clerk", counter=1)
        self.reception = Actor(None, "reception", "clerk", terminal="kiosk")
        self.other = Actor(None, "joao", "clerk", counter=2)

    def warm_up(self) -> None:
        from clerk.domain import queue

        queue.wait_estimates(self.ctx)  # settings, services and counters loaded

    def work(self, todo, marks: Marks, rng: random.Random) -> None:
        from clerk.domain import queue

        queue._take = slowed(queue._take, rng)
        queue.audit.append = slowed(queue.audit.append, rng, most=0.002)
        marks.ready()
        while True:
            marks.begin()
            queue.call_next(self.ctx, self.clerk, 1)
            marks.done()

    def bystander_step(self, rng: random.Random) -> None:
        from clerk.domain import queue

        if rng.random() < 0.6:
            queue.issue_tag(self.ctx, self.reception, rng.choice("AABCP"))
        else:
            queue.call_next(self.ctx, self.other, 2)


@pytest.fixture
def hall(ctx):
    from clerk.domain import queue
    from clerk.domain.auth import SYSTEM
    from clerk.domain.clock import set_clock
    from tests.unit.test_queue import make_office

    set_clock(running_clock(START))
    make_office(ctx, counters=2)
    for n in range(WAITING):
        queue.issue_tag(ctx, SYSTEM, "AABCP"[n % 5])
    yield ctx
    set_clock(None)


def test_kill_9_during_tag_calls_leaves_every_tag_whole(hall):
    ctx = hall
    summary = crash.run_harness(
        "tests.system.test_crash_tags:TagCalls", ctx.db.url, {"start": START}, KILLS
    )
    crash.check_summary(summary, 50)
    with ctx.db.read() as s:
        tags = s.exec(
            select(Tag.id, Tag.code, Tag.number, Tag.status, Tag.counter_id, Service.code).join(
                Service, Service.id == Tag.service_id
            )
        ).all()
        events = s.exec(select(TagEvent.tag_id, TagEvent.kind)).all()
        audits = s.exec(
            select(AuditEvent.subject_id, AuditEvent.action).where(AuditEvent.subject_type == "tag")
        ).all()
        counters = dict(
            s.exec(
                select(DailyCounter.key, DailyCounter.value).where(DailyCounter.kind == "tag")
            ).all()
        )
    assert len(tags) > WAITING  # the bystander issued more
    for service in {row[5] for row in tags}:
        numbers = [row[2] for row in tags if row[5] == service]
        crash.assert_gapless(numbers, f"tags of service {service}")
        assert counters[service] == len(numbers)  # no number handed out and lost
    # each timed event has its audit event, and nothing else was audited about tags
    assert Tally((tag, f"tag.{kind}") for tag, kind in events) == Tally(map(tuple, audits))
    kinds = Tally(events)
    current = Tally()
    for tag_id, code, _number, status, counter_id, _service in tags:
        assert kinds[(tag_id, "issued")] == 1, code
        assert kinds[(tag_id, "called")] == (0 if status == "waiting" else 1), (code, status)
        assert kinds[(tag_id, "finished")] == (1 if status == "finished" else 0), (code, status)
        assert status in ("waiting", "called", "finished"), (code, status)
        assert (counter_id is None) == (status == "waiting"), (code, status)
        if status == "called":
            current[counter_id] += 1
    assert all(n == 1 for n in current.values()), current  # one current tag per counter
    called_by_the_killed = sum(1 for t in tags if t[3] != "waiting")
    assert called_by_the_killed >= 10, "too few calls to mean anything"
    crash.check_chain_and_integrity(ctx)
    print(crash.report_line(ctx, "tag calls", summary))
