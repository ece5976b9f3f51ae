"""The audit trail: append-only and hash-chained with an HMAC whose key lives outside the database.

Each event's id is the chain position (1, 2, 3, …) taken from the single `AuditHead` row, which is
locked while appending, so concurrent writers on PostgreSQL cannot fork the chain (SQLite writers
are already serialised by BEGIN IMMEDIATE). The event's hash is
HMAC-SHA256(key, prev_hash || canonical JSON of the event). `verify` walks the chain and reports the
first broken link; the newest hash is printed on the daily report, which catches a truncated tail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import select

from clerk.domain.clock import utcnow
from clerk.domain.models import AuditEvent, AuditHead
from clerk.fastsql import Prepared, connection_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    from clerk.domain.auth import Actor


_FIELDS = (
    "id", "at", "user_id", "username", "counter", "terminal", "action", "subject_type",
    "subject_id", "before", "after",
)  # fmt: skip


def _canonical(event: AuditEvent | Mapping[str, Any]) -> bytes:
    get = event.get if isinstance(event, Mapping) else event.__getattribute__
    body = {name: get(name) for name in _FIELDS}
    body["at"] = body["at"].isoformat(timespec="microseconds")
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def link_hash(key: bytes, prev_hash: str, event: AuditEvent | Mapping[str, Any]) -> str:
    return hmac.new(key, prev_hash.encode() + b"|" + _canonical(event), hashlib.sha256).hexdigest()


def _dump(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Appended:
    id: int
    hash: str


_EVENTS = AuditEvent.__table__
_HEAD = AuditHead.__table__
# prebuilt Core statements: appending runs inside every writer's transaction (and, on PostgreSQL,
# under the head row's lock), so it must cost as little as possible — no ORM unit of work
SQL_LOCK_HEAD = Prepared(
    select(_HEAD.c.seq, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()
)
_COLUMNS = (*_FIELDS, "prev_hash", "hash")
SQL_INSERT_EVENT = Prepared(insert(_EVENTS).values({n: bindparam(n) for n in _COLUMNS}))
SQL_CHAIN_BATCH = (
    select(_EVENTS)
    .where(_EVENTS.c.id > bindparam("after"))
    .order_by(_EVENTS.c.id)
    .limit(bindparam("batch"))
)
SQL_MOVE_HEAD = Prepared(
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
)


def append(
    session: Session,
    key: bytes,
    actor: Actor | None,
    action: str,
    *,
    subject_type: str = "",
    subject_id: int | None = None,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> Appended:
    """Add one event to the chain inside the caller's transaction (commits with it)."""
    entry = {
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "before": before,
        "after": after,
        "at": at,
    }
    return append_many(session, key, [entry])[-1]


def append_many(
    session: Session, key: bytes, entries: Iterable[Mapping[str, Any]]
) -> list[Appended]:
    """Add several events in order (each a mapping of `append`'s arguments): one head lock, one
    multi-row insert and one head update for all of them."""
    if isinstance(session, OrmSession) and (session.new or session.deleted or session.dirty):
        session.flush()  # the caller's pending rows go first, as they happened first
    conn = connection_of(session)
    head = SQL_LOCK_HEAD.run(conn).first()
    if head is None:
        # the very first event: two writers may get here at once (PostgreSQL), so the head row
        # is created with ON CONFLICT DO NOTHING and then locked like any other time
        _create_head(conn)
        head = SQL_LOCK_HEAD.run(conn).one()
    seq, prev_hash = head
    rows: list[dict[str, Any]] = []
    for entry in entries:
        actor = entry.get("actor")
        seq += 1
        row = {
            "id": seq,
            "at": entry.get("at") or utcnow(),
            "user_id": actor.user_id if actor else None,
            "username": actor.username if actor else "system",
            "counter": actor.counter if actor else None,
            "terminal": actor.terminal if actor else "",
            "action": entry["action"],
            "subject_type": entry.get("subject_type") or "",
            "subject_id": entry.get("subject_id"),
            "before": _dump(entry.get("before")),
            "after": _dump(entry.get("after")),
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = link_hash(key, prev_hash, row)
        rows.append(row)
    if not rows:
        return []
    if len(rows) == 1:
        SQL_INSERT_EVENT.run(conn, rows[0])
    else:
        SQL_INSERT_EVENT.run_many(conn, rows)
    SQL_MOVE_HEAD.run(conn, {"new_seq": seq, "new_hash": prev_hash})
    return [Appended(row["id"], row["hash"]) for row in rows]


def _create_head(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(AuditHead.__table__).values(id=1, seq=0, last_hash="")
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    last_hash: str
    broken_id: int | None = None
    problem: str = ""


def verify(
    session: Session, key: bytes, *, expected_last_hash: str | None = None, batch: int = 5000
) -> VerifyResult:
    """Walk the chain in id order; the first broken link is reported with its id."""
    prev_hash, expected_id, checked, last_id = "", 1, 0, 0
    conn = session.connection()
    while True:
        # plain rows, not ORM objects: a large office's year is millions of events
        rows = conn.execute(SQL_CHAIN_BATCH, {"after": last_id, "batch": batch}).all()
        if not rows:
            break
        for row in rows:
            event = row._mapping
            if event["id"] != expected_id:
                return VerifyResult(
                    False,
                    checked,
                    prev_hash,
                    expected_id,
                    f"event {expected_id} is missing (next is {event['id']})",
                )
            if event["prev_hash"] != prev_hash or link_hash(key, prev_hash, event) != event["hash"]:
                return VerifyResult(
                    False,
                    checked,
                    prev_hash,
                    event["id"],
                    f"event {event['id']} was altered or re-chained",
                )
            prev_hash, expected_id, last_id = event["hash"], event["id"] + 1, event["id"]
            checked += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.last_hash != prev_hash):
        return VerifyResult(
            False,
            checked,
            prev_hash,
            checked + 1,
            f"the chain ends at {checked} but its head says {head.seq}: "
            "events were removed from the tail",
        )
    if expected_last_hash and expected_last_hash not in (prev_hash,):
        found = session.exec(
            select(AuditEvent.id).where(AuditEvent.hash == expected_last_hash)
        ).first()
        if found is None:
            return VerifyResult(
                False,
                checked,
                prev_hash,
                checked + 1,  # the first link after the intact part: gone or rewritten
                "the hash printed on the report is not in the chain "
                "(the tail was truncated or rewritten)",
            )
    return VerifyResult(True, checked, prev_hash)
