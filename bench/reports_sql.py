"""The yardstick for `bench/reports.py`: hand-written SQLite SQL for the numbers of every report.

Each function runs plain SQL strings on a raw `sqlite3` connection (no SQLAlchemy, no rows turned
into objects) and returns the same key figures the report carries (`Report.figures`), computed
with the least Python there can be: percentiles from the rows grouped by whole seconds, as the
report does (a wait's distribution over a month has a few thousand distinct values). The bench
checks both give the same numbers, then compares their times.

The office's UTC offset is a parameter (Macao: +480 minutes, no daylight saving): a hand-written
query for one office would hard-code it.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta

WAIT = (
    "CAST(ROUND((julianday(CASE WHEN t.recalls = 0 THEN t.called_at ELSE "
    "(SELECT min(e.at) FROM tagevent e WHERE e.tag_id = t.id AND e.kind = 'called') END) "
    "- julianday(t.issued_at)) * 86400) AS INTEGER)"
)
TOOK = (
    "CAST(ROUND((julianday(t.finished_at) - julianday(coalesce(t.serving_at, t.called_at))) "
    "* 86400) AS INTEGER)"
)

TAKINGS = {
    "by_clerk": """
        SELECT p.user_id, p.counter_id, sum(p.kind = 'payment'), sum(p.kind <> 'payment'),
               sum(CASE WHEN p.kind = 'payment' THEN p.total_avos ELSE 0 END),
               sum(CASE WHEN p.kind = 'payment' THEN 0 ELSE p.total_avos END)
        FROM drawersession ds JOIN payment p ON p.drawer_session_id = ds.id
        WHERE ds.office_id = :office AND ds.day BETWEEN :first AND :last
        GROUP BY p.user_id, p.counter_id""",
    "by_day": """
        SELECT ds.day, t.method, count(*), sum(t.amount_avos)
        FROM drawersession ds JOIN payment p ON p.drawer_session_id = ds.id
        JOIN tender t ON t.payment_id = p.id
        WHERE ds.office_id = :office AND ds.day BETWEEN :first AND :last
        GROUP BY ds.day, t.method""",
    "granted": """
        SELECT json_extract(detail, '$.exemption') AS type, decided_by, count(*) FROM approval
        WHERE status = 'approved' AND kind = 'exemption'
          AND decided_at >= :start AND decided_at < :end
        GROUP BY type, decided_by""",
    "waived": """
        SELECT json_extract(a.detail, '$.exemption') AS type, a.decided_by, count(*),
               sum(l.amount_avos)
        FROM drawersession ds JOIN payment p ON p.drawer_session_id = ds.id
        JOIN approval a ON a.id = p.approval_id
        JOIN paymentline l ON l.payment_id = p.id
        WHERE ds.office_id = :office AND ds.day BETWEEN :first AND :last
          AND p.kind = 'payment' AND a.kind = 'exemption' AND l.code = 'exemption-waiver'
        GROUP BY type, a.decided_by""",
    "surcharges": """
        SELECT l.code, sum(CASE WHEN l.amount_avos > 0 THEN 1 WHEN l.amount_avos < 0 THEN -1
                                ELSE 0 END), sum(l.amount_avos)
        FROM drawersession ds JOIN payment p ON p.drawer_session_id = ds.id
        JOIN paymentline l ON l.payment_id = p.id
        WHERE ds.office_id = :office AND ds.day BETWEEN :first AND :last
          AND l.code IN ('non-presentation-surcharge', 'former-card-non-presentation-surcharge')
        GROUP BY l.code""",
    "reversals": """
        SELECT a.kind, p.reason, count(*), sum(p.total_avos)
        FROM drawersession ds JOIN payment p ON p.drawer_session_id = ds.id
        JOIN approval a ON a.id = p.approval_id
        WHERE ds.office_id = :office AND ds.day BETWEEN :first AND :last
          AND p.kind = 'reversal'
        GROUP BY a.kind, p.reason""",
    "reversal_list": """
        SELECT ds.day, r.number, a.kind, p.reason, p.total_avos, p.user_id, a.decided_by
        FROM drawersession ds JOIN payment p ON p.drawer_session_id = ds.id
        JOIN approval a ON a.id = p.approval_id JOIN receipt r ON r.id = p.receipt_id
        WHERE ds.office_id = :office AND ds.day BETWEEN :first AND :last
          AND p.kind = 'reversal'
        ORDER BY p.id LIMIT 501""",
    "variances": """
        SELECT ds.day, ds.user_id, ds.counter_id, ds.variance_avos, ds.status, a.decided_by,
               a.reason
        FROM drawersession ds LEFT JOIN approval a ON a.id = ds.approval_id
        WHERE ds.office_id = :office AND ds.day BETWEEN :first AND :last
          AND ds.variance_avos <> 0
        ORDER BY ds.day, ds.id""",
}

QUEUE = {
    "by_hour": """
        SELECT t.service_id, CAST(strftime('%H', t.issued_at, :shift) AS INTEGER) AS h,
               count(*), sum(t.status = 'finished'), sum(t.status = 'no-show')
        FROM tag t WHERE t.office_id = :office AND t.day BETWEEN :first AND :last
        GROUP BY t.service_id, h""",
    "waits": f"""
        SELECT {WAIT} AS w, count(*) FROM tag t
        WHERE t.office_id = :office AND t.day BETWEEN :first AND :last
          AND t.called_at IS NOT NULL
        GROUP BY t.service_id, w""",
    "service_times": f"""
        SELECT {TOOK} AS took, count(*) FROM tag t
        WHERE t.office_id = :office AND t.day BETWEEN :first AND :last
          AND t.status = 'finished' AND t.finished_at IS NOT NULL
        GROUP BY t.service_id, took""",
    "appointments": """
        SELECT service_id, status, count(*) FROM appointment
        WHERE office_id = :office AND day BETWEEN :first AND :last
        GROUP BY service_id, status""",
}

APPLICATIONS = {
    "lodged": """
        SELECT "case", service_level, count(*) FROM application
        WHERE office_id = :office AND lodged_on BETWEEN :first AND :last
        GROUP BY "case", service_level""",
    "per_day": """
        SELECT lodged_on, count(*) FROM application
        WHERE office_id = :office AND lodged_on BETWEEN :first AND :last GROUP BY lodged_on""",
    "waiting": """
        SELECT status, CASE WHEN lodged_on >= date(:last, '-7 days') THEN 0
                            WHEN lodged_on >= date(:last, '-14 days') THEN 1
                            WHEN lodged_on >= date(:last, '-30 days') THEN 2
                            WHEN lodged_on >= date(:last, '-60 days') THEN 3 ELSE 4 END AS age,
               count(*), sum(promised_on < :last)
        FROM application
        WHERE office_id = :office AND status IN ('lodged', 'in-production')
          AND lodged_on <= :last
        GROUP BY status, age""",
    "ready": """
        SELECT CASE WHEN ready_at >= :since7 THEN 0 WHEN ready_at >= :since14 THEN 1
                    WHEN ready_at >= :since30 THEN 2 WHEN ready_at >= :since60 THEN 3
                    ELSE 4 END AS age,
               count(*), sum(ready_at < :uncollected) FROM application
        WHERE office_id = :office AND status = 'ready' AND ready_at < :end
        GROUP BY age""",
    "override_codes": """
        SELECT json_extract(detail, '$.code') AS code, count(*) FROM approval
        WHERE kind = 'checklist-override' AND status = 'approved'
          AND decided_at >= :start AND decided_at < :end
        GROUP BY code""",
    "overrides": """
        SELECT a.decided_at, x.number, a.detail, a.reason, a.requested_by, a.decided_by
        FROM approval a LEFT JOIN application x ON x.id = a.subject_id
        WHERE a.kind = 'checklist-override' AND a.status = 'approved'
          AND a.decided_at >= :start AND a.decided_at < :end
        ORDER BY a.decided_at, a.id LIMIT 501""",
}

CARDS = {
    "by_counter": """
        SELECT p.counter_id, count(*), sum(p.status = 'done'), sum(p.status = 'failed'),
               sum(EXISTS (SELECT 1 FROM cardpersonalisation q
                           WHERE q.application_id = p.application_id AND q.id < p.id))
        FROM cardpersonalisation p WHERE p.at >= :start AND p.at < :end
        GROUP BY p.counter_id""",
    "per_day": """
        SELECT date(at, :shift) AS d, count(*) FROM cardpersonalisation
        WHERE at >= :start AND at < :end AND status = 'done' GROUP BY d""",
}


def _instant(at: datetime) -> str:
    """A UTC instant as SQLAlchemy stores it on SQLite."""
    return at.replace(tzinfo=None).isoformat(" ", "microseconds")


def params(office_id: int, first: date, last: date, offset_minutes: int = 480) -> dict:
    start = datetime.combine(first, datetime.min.time()) - timedelta(minutes=offset_minutes)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time()) - timedelta(
        minutes=offset_minutes
    )

    def midnight(days_before: int) -> str:
        local = datetime.combine(last - timedelta(days=days_before), datetime.min.time())
        return _instant(local - timedelta(minutes=offset_minutes))

    return {
        "office": office_id,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "start": _instant(start),
        "end": _instant(end),
        "uncollected": midnight(30),
        **{f"since{n}": midnight(n) for n in (7, 14, 30, 60)},
        "shift": f"{offset_minutes:+d} minutes",
    }


def _run(conn: sqlite3.Connection, queries: dict[str, str], p: dict) -> dict[str, list]:
    return {name: conn.execute(sql, p).fetchall() for name, sql in queries.items()}


def _p90(pairs) -> int:
    """The 90th percentile (nearest rank) of (value, count) pairs."""
    merged: dict[int, int] = {}
    for value, n in pairs:
        if value is not None and value >= 0:
            merged[value] = merged.get(value, 0) + n
    total = sum(merged.values())
    rank, seen = (9 * total + 9) // 10, 0
    for value in sorted(merged):
        seen += merged[value]
        if seen >= rank:
            return value
    return 0


def _mean(pairs) -> int:
    kept = [(v, n) for v, n in pairs if v is not None and v >= 0]
    total = sum(n for _v, n in kept)
    return (2 * sum(v * n for v, n in kept) + total) // (2 * total) if total else 0


def takings(conn, p) -> dict[str, int]:
    r = _run(conn, TAKINGS, p)
    clerks = r["by_clerk"]
    gross = sum(row[4] or 0 for row in clerks)
    returned = sum(row[5] or 0 for row in clerks)
    return {
        "gross_avos": gross,
        "returned_avos": returned,
        "net_avos": gross + returned,
        "payments": sum(row[2] for row in clerks),
        "reversals": sum(row[3] for row in clerks),
        "exemptions_granted": sum(row[2] for row in r["granted"]),
        "waived_avos": -sum(row[3] or 0 for row in r["waived"]),
        "surcharges_avos": sum(row[2] or 0 for row in r["surcharges"]),
        "variance_avos": sum(row[3] for row in r["variances"]),
    }


def queue(conn, p) -> dict[str, int]:
    r = _run(conn, QUEUE, p)
    status: dict[str, int] = {}
    for _service, state, n in r["appointments"]:
        status[state] = status.get(state, 0) + n
    return {
        "issued": sum(row[2] for row in r["by_hour"]),
        "served": sum(row[3] for row in r["by_hour"]),
        "no_show": sum(row[4] for row in r["by_hour"]),
        "wait_mean_s": _mean(r["waits"]),
        "wait_p90_s": _p90(r["waits"]),
        "service_mean_s": _mean(r["service_times"]),
        "appointments_kept": status.get("kept", 0),
        "appointments_missed": status.get("missed", 0),
    }


def applications(conn, p) -> dict[str, int]:
    r = _run(conn, APPLICATIONS, p)
    production = [row for row in r["waiting"] if row[0] == "in-production"]
    return {
        "lodged": sum(row[2] for row in r["lodged"]),
        "in_production": sum(row[2] for row in production),
        "in_production_late": sum(row[3] or 0 for row in production),
        "ready": sum(row[1] for row in r["ready"]),
        "uncollected": sum(row[2] or 0 for row in r["ready"]),
        "overrides": sum(n for _code, n in r["override_codes"]),
    }


def cards(conn, p) -> dict[str, int]:
    r = _run(conn, CARDS, p)
    rows = r["by_counter"]
    return {
        "attempts": sum(row[1] for row in rows),
        "done": sum(row[2] for row in rows),
        "failed": sum(row[3] for row in rows),
        "retried": sum(row[4] for row in rows),
    }


APPROVALS_DECIDED = """
    SELECT kind, status, count(*) FROM approval
    WHERE decided_at >= :start AND decided_at < :end GROUP BY kind, status"""


def daily(conn, p) -> dict[str, int]:
    conn.execute(APPROVALS_DECIDED, p).fetchall()
    f3 = applications(conn, p)
    return {
        **takings(conn, p),
        **queue(conn, p),
        "lodged": f3["lodged"],
        "overrides": f3["overrides"],
        **cards(conn, p),
    }


YARDSTICKS = {
    "takings": takings,
    "queue": queue,
    "applications": applications,
    "cards": cards,
    "daily": daily,
}
