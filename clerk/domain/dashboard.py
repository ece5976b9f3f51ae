"""The supervisor's live dashboard: today at the office, in one snapshot.

`snapshot(ctx, actor)` reads everything in a couple of short read transactions (never the write
lock), so the screen can call it every few seconds from a worker. The numbers reuse the queue's
wait estimates (`clerk.domain.queue.wait_estimates`) and the reports' definitions of a wait and a
service time (`clerk.domain.reports`): the dashboard and the daily report agree.

Choices made where the issue is silent:
- A counter is "serving" while it holds a called or serving tag, "idle" when it had a tag event
  in the last `IDLE_MINUTES` minutes but holds none now (staffed, nobody at it), else "closed".
- Uncollected cards: ready cards not collected after `[collection] uncollected_after_days`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from clerk.domain import reports
from clerk.domain.approvals import waiting_counts
from clerk.domain.auth import require_role
from clerk.domain.clock import to_local, utcnow
from clerk.domain.codes import SUPERVISORS
from clerk.domain.models import (
    Application,
    Counter,
    DrawerSession,
    Payment,
    Tag,
    TagEvent,
    Tender,
)

if TYPE_CHECKING:
    from clerk.context import Context
    from clerk.domain.auth import Actor
    from clerk.domain.queue import Names

IDLE_MINUTES = 15
_T, _E, _A = Tag.__table__.c, TagEvent.__table__.c, Application.__table__.c
_P, _TD, _DS = Payment.__table__.c, Tender.__table__.c, DrawerSession.__table__.c


@dataclass(frozen=True)
class ServiceNow:
    code: str
    names: Names
    waiting: int
    counters: int  # active counters serving it
    estimate_minutes: int | None  # to serve everyone waiting now (None: no counter)
    longest_wait_s: int  # the longest current wait (0: nobody waiting)
    served: int
    wait_mean_s: int
    wait_p90_s: int


@dataclass(frozen=True)
class CounterNow:
    number: int
    state: str  # serving | idle | closed
    tag: str  # the tag it holds now
    clerk: str
    served: int


@dataclass(frozen=True)
class ClerkNow:
    username: str
    served: int
    service_mean_s: int


@dataclass(frozen=True)
class Dashboard:
    day: date
    at: datetime  # office local time of the snapshot
    services: tuple[ServiceNow, ...]
    counters: tuple[CounterNow, ...]
    clerks: tuple[ClerkNow, ...]
    wait_mean_s: int
    wait_p90_s: int
    longest_wait_s: int
    hours: tuple[int, ...]  # local hours …
    served_by_hour: tuple[int, ...]  # … and the tags finished in each
    takings: tuple[tuple[str, int], ...]  # (tender, avos) so far today
    takings_total: int
    ready: int  # cards ready, not collected
    uncollected: int  # of which ready for longer than `uncollected_days`
    uncollected_days: int
    approvals: dict[str, int] = field(default_factory=dict)  # waiting requests by kind
    stale_drafts: int = 0

    @property
    def approvals_waiting(self) -> int:
        return sum(self.approvals.values())


def snapshot(ctx: Context, actor: Actor) -> Dashboard:
    """Today at the office (supervisors and administrators)."""
    from clerk.domain.intake import stale_drafts
    from clerk.domain.queue import wait_estimates

    require_role(actor, *SUPERVISORS)
    estimates = wait_estimates(ctx)
    stale = len(stale_drafts(ctx, actor))
    day = ctx.today()
    now = utcnow()
    with ctx.db.read() as s:
        conn = s.connection()
        sc, _office = reports.open_scope(ctx, conn, day, day)
        today = reports.tags_in(sc)
        waits, all_waits = reports.wait_spreads(sc, today)
        _by_service, _all = reports.service_spreads(sc, today)
        by_clerk, _all_clerks = reports.service_spreads(sc, today, by=_T.user_id)
        longest = dict(
            conn.execute(
                select(_T.service_id, func.min(_T.issued_at))
                .where(*today, _T.status == "waiting")
                .group_by(_T.service_id)
            ).all()
        )
        finished = _T.status == "finished"
        served_service = dict(
            conn.execute(
                select(_T.service_id, func.count()).where(*today, finished).group_by(_T.service_id)
            ).all()
        )
        served_counter = dict(
            conn.execute(
                select(_T.counter_id, func.count()).where(*today, finished).group_by(_T.counter_id)
            ).all()
        )
        served_clerk = dict(
            conn.execute(
                select(_T.user_id, func.count()).where(*today, finished).group_by(_T.user_id)
            ).all()
        )
        holding = {
            counter_id: (code, user_id)
            for counter_id, code, user_id in conn.execute(
                select(_T.counter_id, _T.code, _T.user_id).where(
                    *today, _T.status.in_(("called", "serving"))
                )
            ).all()
        }
        # the last clerk seen at each counter lately (no ORDER BY: SQLite would walk every
        # event in id order instead of the few of the last minutes by ix_tagevent_at)
        recent: dict[int, int | None] = {}
        for counter_id, user_id, _at in sorted(
            conn.execute(
                select(_E.counter_id, _E.user_id, _E.at).where(
                    _E.at >= now - timedelta(minutes=IDLE_MINUTES), _E.counter_id.is_not(None)
                )
            ).all(),
            key=lambda row: row[2],
        ):
            recent[counter_id] = user_id
        hour, by_hour = reports.group_key(sc.sql.hour(_T.finished_at), "g_hour")
        per_hour = dict(
            conn.execute(select(hour, func.count()).where(*today, finished).group_by(by_hour)).all()
        )
        takings = conn.execute(
            select(_TD.method, func.sum(_TD.amount_avos))
            .select_from(DrawerSession.__table__)
            .join(Payment.__table__, _P.drawer_session_id == _DS.id)
            .join(Tender.__table__, _TD.payment_id == _P.id)
            .where(sc.sessions())
            .group_by(_TD.method)
            .order_by(_TD.method)
        ).all()
        cutoff = reports.day_bounds(day - timedelta(days=sc.uncollected_days), day, ctx.tz)[0]
        ready, uncollected = conn.execute(
            select(func.count(), reports.count_if(_A.ready_at < cutoff)).where(
                _A.office_id == sc.office_id, _A.status == "ready"
            )
        ).one()
        approvals = waiting_counts(s)
        counters = conn.execute(
            select(Counter.id, Counter.number)
            .where(Counter.office_id == sc.office_id, Counter.active)
            .order_by(Counter.number)
        ).all()
    ids = {code: sid for sid, code in sc.services.items()}
    services = tuple(
        ServiceNow(
            w.code,
            w.names,
            w.waiting,
            w.counters,
            w.wait_minutes(),
            int((now - longest[ids[w.code]]).total_seconds()) if ids.get(w.code) in longest else 0,
            served_service.get(ids.get(w.code), 0),
            waits.get(ids.get(w.code), reports.Spread()).mean,
            waits.get(ids.get(w.code), reports.Spread()).p90,
        )
        for w in estimates
    )
    counter_rows = []
    for cid, number in counters:
        if cid in holding:
            state, (tag, user_id) = "serving", holding[cid]
        elif cid in recent:
            state, tag, user_id = "idle", "", recent[cid]
        else:
            state, tag, user_id = "closed", "", None
        counter_rows.append(
            CounterNow(number, state, tag, sc.user(user_id), served_counter.get(cid, 0))
        )
    clerks = tuple(
        sorted(
            (
                ClerkNow(sc.user(uid), n, by_clerk.get(uid, reports.Spread()).mean)
                for uid, n in served_clerk.items()
                if uid is not None
            ),
            key=lambda c: (-c.served, c.username),
        )
    )
    hours = sorted(per_hour)
    span = tuple(range(min(hours), max(hours) + 1)) if hours else ()
    return Dashboard(
        day=day,
        at=to_local(now, ctx.tz),
        services=services,
        counters=tuple(counter_rows),
        clerks=clerks,
        wait_mean_s=all_waits.mean,
        wait_p90_s=all_waits.p90,
        longest_wait_s=max((sv.longest_wait_s for sv in services), default=0),
        hours=span,
        served_by_hour=tuple(per_hour.get(h, 0) for h in span),
        takings=tuple((method, int(avos or 0)) for method, avos in takings),
        takings_total=sum(int(avos or 0) for _m, avos in takings),
        ready=int(ready or 0),
        uncollected=int(uncollected or 0),
        uncollected_days=sc.uncollected_days,
        approvals=approvals,
        stale_drafts=stale,
    )
