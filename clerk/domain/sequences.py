"""Gapless daily numbers shared by every process (tags per service, receipts, applications).

One row per (office, kind, key, day), bumped with INSERT … ON CONFLICT DO UPDATE … RETURNING in
the caller's write transaction: the number is unique across processes, and a rolled-back
transaction gives its number back, so there are no gaps.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam
from sqlmodel import Session

from clerk.domain.models import DailyCounter
from clerk.fastsql import Prepared, connection_of


def _bump(dialect: str) -> Prepared:
    """The bump statement for one dialect (built once: building it costs more than running it)."""
    found = _BUMPS.get(dialect)
    if found is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = DailyCounter.__table__
        found = _BUMPS[dialect] = Prepared(
            insert(table)
            .values(
                office_id=bindparam("office"),
                kind=bindparam("kind"),
                key=bindparam("key"),
                day=bindparam("day"),
                value=1,
            )
            .on_conflict_do_update(
                index_elements=["office_id", "kind", "key", "day"],
                set_={"value": table.c.value + 1},
            )
            .returning(table.c.value)
        )
    return found


_BUMPS: dict[str, Prepared] = {}


def next_number(session: Session, office_id: int, kind: str, day: date, key: str = "") -> int:
    connection = connection_of(session)
    bump = _bump(connection.dialect.name)
    return int(
        bump.run(
            connection, {"office": office_id, "kind": kind, "key": key, "day": day}
        ).scalar_one()
    )


def current_number(session: Session, office_id: int, kind: str, day: date, key: str = "") -> int:
    row = session.get(DailyCounter, (office_id, kind, key, day))
    return row.value if row is not None else 0
