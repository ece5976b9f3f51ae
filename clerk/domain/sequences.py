"""Gapless daily numbers shared by every process (tags per service, receipts, applications).

One row per (office, kind, key, day), bumped with INSERT … ON CONFLICT DO UPDATE … RETURNING in
the caller's write transaction: the number is unique across processes, and a rolled-back
transaction gives its number back, so there are no gaps.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from clerk.domain.models import DailyCounter


def next_number(session: Session, office_id: int, kind: str, day: date, key: str = "") -> int:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = DailyCounter.__table__
    stmt = (
        insert(table)
        .values(office_id=office_id, kind=kind, key=key, day=day, value=1)
        .on_conflict_do_update(
            index_elements=["office_id", "kind", "key", "day"],
            set_={"value": table.c.value + 1},
        )
        .returning(table.c.value)
    )
    return int(session.execute(stmt).scalar_one())


def current_number(session: Session, office_id: int, kind: str, day: date, key: str = "") -> int:
    row = session.get(DailyCounter, (office_id, kind, key, day))
    return row.value if row is not None else 0
