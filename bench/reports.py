"""Time every report for a month of a large office against hand-written SQL for the same numbers.

    .venv/bin/python bench/reports.py --db /tmp/bench.db --generate 1000000 [--month 2026-10]
                                      [--runs 5] [--plans]

`--generate N` seeds the demo office and `clerk.domain.scale.generate`s N applications over the
year ending yesterday (skipped when the database already has them); the schema is upgraded first
(the report indexes are a migration). Then, for each report (takings, queue, applications, cards
for the month; daily for its 15th), in the same process and on the same warm SQLite file:

- the report: `clerk.domain.reports.build(...)` (SQLAlchemy Core, the rows turned into the
  report's tables);
- the yardstick: the SQL of `bench/reports_sql.py` on a raw `sqlite3` connection.

One warm-up each, then `--runs` rounds alternating the two; the table gives the best and the
median of each and the ratio of the bests. Both must give the same key figures (checked). No test
asserts these times: they go into docs/benchmarks.md. `--plans` prints SQLite's query plans of the
yardstick (to see which index each query takes).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import reports_sql  # noqa: E402

LIMIT_S = 1.0
RATIO = 1.5


def _month(text: str | None, last_day: date) -> tuple[date, date]:
    if text:
        year, month = (int(part) for part in text.split("-"))
        first = date(year, month, 1)
    else:  # the last full month of the data
        first = (last_day.replace(day=1) - timedelta(days=1)).replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def _prepare(ctx, generate: int | None) -> None:
    from sqlmodel import select

    from clerk.domain.auth import SYSTEM
    from clerk.domain.models import User

    started = time.perf_counter()
    before, after = ctx.db.upgrade()
    if before != after:
        print(f"schema {before} → {after} in {time.perf_counter() - started:.1f} s")
    with ctx.db.read() as s:
        has_scale = s.exec(select(User.id).where(User.username == "c001")).first() is not None
    if generate and not has_scale:
        from clerk.domain.demo import seed_demo
        from clerk.domain.demo_payments import seed_payments
        from clerk.domain.scale import generate as scale

        seed_demo(ctx)
        seed_payments(ctx)
        done = scale(ctx, SYSTEM, generate)
        print(
            f"generated {done.applications:,} applications, {done.tags:,} tags, "
            f"{done.tag_events:,} tag events, {done.payments:,} payments, "
            f"{done.audit_events:,} audit events ({done.first_day} – {done.last_day}) "
            f"in {done.seconds:.0f} s"
        )


def _time(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLite file")
    parser.add_argument("--generate", type=int, metavar="N")
    parser.add_argument("--month", metavar="YYYY-MM")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("CLERK_AUDIT_KEY", "bench-audit-key-0123456789abcdef")

    from sqlmodel import select

    from clerk.context import Context
    from clerk.domain import reports
    from clerk.domain.auth import SYSTEM
    from clerk.domain.models import Office, Tag

    path = Path(args.db).resolve()
    ctx = Context(db_url=f"sqlite:///{path}")
    _prepare(ctx, args.generate)
    with ctx.db.read() as s:
        office_id = s.exec(select(Office.id)).first()
        last_day = s.exec(select(Tag.day).order_by(Tag.day.desc())).first()
    first, last = _month(args.month, last_day - timedelta(days=1))
    middle = first.replace(day=15)
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    size = path.stat().st_size / 2**30
    print(f"database {path} ({size:.1f} GiB); month {first} – {last}; daily {middle}")
    if args.plans:
        for name, queries in (
            ("takings", reports_sql.TAKINGS),
            ("queue", reports_sql.QUEUE),
            ("applications", reports_sql.APPLICATIONS),
            ("cards", reports_sql.CARDS),
        ):
            p = reports_sql.params(office_id, first, last)
            for key, sql in queries.items():
                plan = raw.execute("EXPLAIN QUERY PLAN " + sql, p).fetchall()
                print(f"-- {name}.{key}: " + " | ".join(row[-1] for row in plan))
    rows = []
    for name in ("takings", "queue", "applications", "cards", "daily"):
        start, end = (middle, middle) if name == "daily" else (first, last)
        p = reports_sql.params(office_id, start, end)

        def report(name=name, start=start, end=end):
            return reports.build(ctx, SYSTEM, name, start, end)

        def yardstick(name=name, p=p):
            return reports_sql.YARDSTICKS[name](raw, p)

        _t, built = _time(report)
        _t, hand = _time(yardstick)
        mine = {k: built.figures[k] for k in hand}
        if mine != hand:
            print(f"!! {name}: the numbers differ:\n   report    {mine}\n   yardstick {hand}")
            return 1
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(_time(report)[0])
            theirs.append(_time(yardstick)[0])
        rows.append((name, min(theirs), statistics.median(theirs), min(ours),
                     statistics.median(ours)))  # fmt: skip
        print(f"{name}: {built.figures}")
    print()
    print("| report | hand-written SQL best / median | clerk report best / median | ratio |")
    print("|---|---|---|---|")
    worst = 0.0
    for name, best_sql, med_sql, best, med in rows:
        ratio = best / best_sql
        worst = max(worst, ratio)
        flag = "" if best <= LIMIT_S and ratio <= RATIO else " ⚠"
        print(
            f"| {name} | {best_sql * 1000:.0f} / {med_sql * 1000:.0f} ms | "
            f"{best * 1000:.0f} / {med * 1000:.0f} ms | {ratio:.2f}{flag} |"
        )
    print(
        f"\nworst ratio {worst:.2f} (limit {RATIO}); slowest report {max(r[3] for r in rows):.2f} s"
    )
    raw.close()
    ctx.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
