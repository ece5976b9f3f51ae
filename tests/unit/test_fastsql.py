"""Prepared statements store and read values exactly as the ORM does, on both backends, and a
driver's error reaches the caller as SQLAlchemy's (so `Database` turns it into one clear line)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, NoResultFound

from clerk.domain.models import AuditEvent, Office, Tag
from clerk.errors import Failure
from clerk.fastsql import Prepared

TAGS = Tag.__table__
WHEN = datetime(2026, 11, 23, 2, 0, 4, 35713, tzinfo=UTC)
INSERT = Prepared(
    insert(TAGS)
    .values(
        {
            n: bindparam(n)
            for n in ("office_id", "day", "code", "number", "service_id", "status", "issued_at")
        }
    )
    .returning(TAGS.c.id)
)
READ = Prepared(
    select(Tag.id, Tag.day, Tag.issued_at, Tag.called_at, Tag.code).where(
        Tag.code == bindparam("code")
    )
)
CALL = Prepared(
    update(TAGS)
    .where(TAGS.c.id == bindparam("_id"), TAGS.c.status == "waiting")
    .values(status="called", called_at=bindparam("at"))
)


@pytest.fixture
def office_and_service(ctx):
    from clerk.domain.models import Service

    with ctx.db.write() as s:
        office = Office(code="T1", name="Test office")
        s.add(office)
        s.flush()
        service = Service(office_id=office.id, code="A", name="Renewal")
        s.add(service)
        s.flush()
        return ctx, office.id, service.id


def _insert(ctx, office_id, service_id, code="A001"):
    with ctx.db.write() as s:
        values = dict(office_id=office_id, day=date(2026, 11, 23), code=code, number=1)
        values |= dict(service_id=service_id, status="waiting", issued_at=WHEN)
        return INSERT.run(s.connection(), values).scalar_one()


def test_values_written_prepared_read_back_through_the_orm_and_the_other_way(office_and_service):
    ctx, office_id, service_id = office_and_service
    tag_id = _insert(ctx, office_id, service_id)
    with ctx.db.read() as s:
        tag = s.get(Tag, tag_id)
        assert (tag.day, tag.issued_at.replace(tzinfo=UTC), tag.called_at) == (
            date(2026, 11, 23),
            WHEN,
            None,
        )
        assert (tag.priority, tag.recalls) == (0, 0)  # left out: the columns' defaults
        row = READ.run(s.connection(), {"code": "A001"}).one()
    assert row == (tag_id, date(2026, 11, 23), tag.issued_at, None, "A001")
    assert isinstance(row[1], date) and isinstance(row[2], datetime)


def test_an_update_counts_its_rows_and_a_guard_that_fails_changes_nothing(office_and_service):
    ctx, office_id, service_id = office_and_service
    tag_id = _insert(ctx, office_id, service_id)
    with ctx.db.write() as s:
        assert CALL.run(s.connection(), {"_id": tag_id, "at": WHEN}).rowcount == 1
        assert CALL.run(s.connection(), {"_id": tag_id, "at": WHEN}).rowcount == 0
    with ctx.db.read() as s:
        assert s.get(Tag, tag_id).status == "called"
        assert READ.run(s.connection(), {"code": "nothing"}).first() is None
        with pytest.raises(NoResultFound):
            READ.run(s.connection(), {"code": "nothing"}).one()


def test_a_driver_error_is_sqlalchemys_and_rolls_the_transaction_back(office_and_service):
    ctx, office_id, service_id = office_and_service
    _insert(ctx, office_id, service_id)
    with pytest.raises((IntegrityError, Failure)):  # the same (office, day, code) twice
        _insert(ctx, office_id, service_id)
    with ctx.db.read() as s:
        assert len(s.exec(select(Tag.id)).all()) == 1


def test_many_rows_in_one_call_and_a_list_parameter_is_refused(ctx):
    events = AuditEvent.__table__
    add = Prepared(insert(events).values({n: bindparam(n) for n in ("id", "at", "action", "hash")}))
    with ctx.db.write() as s:
        add.run_many(
            s.connection(),
            [{"id": n, "at": WHEN, "action": "test", "hash": f"h{n}"} for n in (1, 2, 3)],
        )
    with ctx.db.read() as s:
        hashes = s.execute(select(AuditEvent.hash).order_by(AuditEvent.id)).scalars().all()
        assert hashes == ["h1", "h2", "h3"]
        listed = Prepared(select(Tag.id).where(Tag.code.in_(bindparam("codes", expanding=True))))
        with pytest.raises(ValueError, match="expanding"):
            listed.run(s.connection(), {"codes": ["A001"]})
