"""`clerk db backup` while clerks work, then a restore drill, on SQLite and PostgreSQL.

Two clerk processes take payments (and cash movements once their applications run out) while
`clerk db backup` runs twice through the real command line. Each backup is restored into a fresh
database and checked there: the audit chain verifies and is a prefix of the live one (its newest
event is the live event of the same number), every receipt has its whole payment and its audit
event, every cash movement its audit event, the day's receipt numbers have no gap, and
each table holds at least what the live one held when the backup began and at most what it held
when it ended. Then the drill: with the clerks stopped, `clerk db restore` puts the last backup
over the live database, which then holds exactly the backup's rows plus the restore's own audit
event (`db.restore`, chained after the backup's newest event), and `clerk audit verify` passes.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

import pytest
from sqlmodel import SQLModel, select, text

from clerk.context import Context
from clerk.domain.models import AuditEvent
from tests.system import crash
from tests.system.crash import Scenario
from tests.system.test_payment_crash import Payments, check_payments

pytestmark = pytest.mark.system

BACKUPS = 2
APPLICATIONS = 200


class Clerk(Scenario):
    """A clerk at work (the bystander machinery of the crash tests, never killed here)."""

    bystander_rest = (0.01, 0.03)  # ~30 payments a second each: still paying during the backups

    def __init__(self, ctx, params):
        from clerk.domain.auth import Actor

        super().__init__(ctx, params)
        self.actor = Actor(params["user"], params["name"], "clerk", counter=params["counter"])
        self.apps = list(params["apps"])

    def bystander_step(self, rng: random.Random) -> None:
        from clerk.domain import cashier

        if self.apps:
            tenders = Payments.tenders(rng.randrange(2))
            cashier.take_payment(self.ctx, self.actor, self.apps.pop(0), tenders)
        else:
            cashier.cash_movement(self.ctx, self.actor, rng.choice(["in", "out"]), 100, "change")


def clerk_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clerk", *args],
        cwd=crash.ROOT,
        env={**os.environ, "PYTHONPATH": str(crash.ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def row_counts(ctx) -> dict[str, int]:
    with ctx.db.read() as s:
        return {
            table.name: s.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def fresh_url(ctx, tmp_path, name: str) -> str:
    if ctx.db.is_sqlite:
        return f"sqlite:///{tmp_path / name}.db"
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(ctx.db.url)
    new = f"r_{name}_{os.getpid()}"
    with psycopg.connect(
        host=url.query["host"], port=int(url.query["port"]), user="postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{new}"')
    return url.set(database=new).render_as_string(hide_password=False)


def test_backups_while_clerks_work_restore_whole(ctx, tmp_path):
    from clerk.domain import audit, cashier, policy
    from clerk.domain.demo_payments import lodge_directly
    from clerk.domain.models import Applicant, Office
    from tests.unit.test_cashier import DAY, NOW, build_world

    world = build_world(ctx)
    with ctx.db.write() as s:
        office = s.get(Office, world.office_id)
        people = [s.get(Applicant, pid) for pid in world.people.values()]
        apps = [
            lodge_directly(
                s, office, people[n % len(people)], policy.Facts(), DAY,
                user_id=None, counter_id=None, at=NOW,
            ).id
            for n in range(APPLICATIONS)
        ]  # fmt: skip
    clerks = []
    for n, name in enumerate(("ana", "joao")):
        actor = world.actors[name]
        cashier.open_drawer(ctx, actor, 100000)
        params = {"user": actor.user_id, "name": name, "counter": n + 1, "apps": apps[n::2]}
        clerks.append(Clerk(ctx, params))
    ctx.db.dispose()
    workers = [crash.start_bystander(clerk, seed=n) for n, clerk in enumerate(clerks)]
    backups = []
    try:
        for n in range(BACKUPS):
            time.sleep(0.4)
            before = row_counts(ctx)
            path = tmp_path / f"backup-{n}.{'db' if ctx.db.is_sqlite else 'dump'}"
            done = clerk_cli("--db", ctx.db.url, "db", "backup", str(path))
            assert done.returncode == 0, done.stderr
            backups.append((path, before, row_counts(ctx)))
    finally:
        reports = [crash.stop_bystander(pid, fd) for pid, fd in workers]
    assert all(r["errors"] == [] and r["ops"] > 0 for r in reports), reports

    with ctx.db.read() as s:
        live = dict(s.exec(select(AuditEvent.id, AuditEvent.hash)).all())
    restored = []
    for n, (path, before, after) in enumerate(backups):
        copy = Context(db_url=fresh_url(ctx, tmp_path, f"restored{n}"))
        try:
            copy.db.restore(path)
            copy.db.require_current()
            counts = row_counts(copy)
            restored.append(counts)
            for table, count in counts.items():  # a moment between the start and the end
                assert before[table] <= count <= after[table], (n, table, before, counts, after)
            receipts = check_payments(copy)
            events = crash.check_chain_and_integrity(copy)
            with copy.db.read() as s:
                newest = audit.verify(s, copy.audit_key).last_hash
            assert live[events] == newest  # the copy's chain is a prefix of the live one
        finally:
            copy.close()
        print(f"{ctx.db.dialect} backup {n}: {receipts} receipts, {events} audit events")

    # the drill: clerks stopped, the live database restored from the last backup
    ctx.db.dispose()
    done = clerk_cli("--db", ctx.db.url, "db", "restore", str(backups[-1][0]), "--yes")
    assert done.returncode == 0, done.stderr
    verified = clerk_cli("--db", ctx.db.url, "audit", "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout
    # the backup's rows exactly, and one audit event more: the restore itself, on the chain
    assert row_counts(ctx) == {**restored[-1], "auditevent": restored[-1]["auditevent"] + 1}
    assert check_payments(ctx) == receipts
    assert crash.check_chain_and_integrity(ctx) == events + 1
    with ctx.db.read() as s:
        tail = s.exec(select(AuditEvent).where(AuditEvent.id >= events).order_by(AuditEvent.id))
        last_kept, restore = tail.all()
    assert last_kept.hash == live[events]  # the live chain's prefix, then the restore
    assert (restore.action, restore.username, restore.terminal) == ("db.restore", "system", "cli")
    assert json.loads(restore.after)["from"] == backups[-1][0].name
