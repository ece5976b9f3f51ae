"""The audit chain: intact, edited, deleted, truncated, wrong key."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from clerk.domain import audit
from clerk.domain.auth import SYSTEM


def _append(ctx, n: int) -> str:
    with ctx.db.write() as s:
        for i in range(n):
            last = audit.append(s, ctx.audit_key, SYSTEM, "test.event", after={"i": i})
    return last.hash


def _verify(ctx, key=None, expect=None):
    with ctx.db.read() as s:
        return audit.verify(s, key or ctx.audit_key, expected_last_hash=expect)


def _drop_guards(ctx):
    with ctx.db.write() as s:
        if ctx.db.is_sqlite:
            s.execute(text("DROP TRIGGER auditevent_no_update"))
            s.execute(text("DROP TRIGGER auditevent_no_delete"))
        else:
            s.execute(text("DROP TRIGGER auditevent_append_only ON auditevent"))


def test_intact_chain(ctx):
    last = _append(ctx, 5)
    result = _verify(ctx, expect=last)
    assert result.ok and result.checked == 5 and result.last_hash == last


def test_wrong_key_breaks_at_the_first_event(ctx):
    _append(ctx, 3)
    result = _verify(ctx, key=b"another key")
    assert not result.ok and result.broken_id == 1


def test_edited_row_is_found(ctx):
    _append(ctx, 5)
    _drop_guards(ctx)
    with ctx.db.write() as s:
        s.execute(text("UPDATE auditevent SET after = '{\"i\": 99}' WHERE id = 3"))
    result = _verify(ctx)
    assert not result.ok and result.broken_id == 3


def test_deleted_row_is_found(ctx):
    _append(ctx, 5)
    _drop_guards(ctx)
    with ctx.db.write() as s:
        s.execute(text("DELETE FROM auditevent WHERE id = 2"))
    result = _verify(ctx)
    assert not result.ok and result.broken_id == 2


def test_truncated_tail_is_found_by_the_head_and_the_report_hash(ctx):
    printed = _append(ctx, 5)
    _drop_guards(ctx)
    with ctx.db.write() as s:
        s.execute(text("DELETE FROM auditevent WHERE id > 3"))
    assert not _verify(ctx).ok  # the head row still says 5
    with ctx.db.write() as s:  # a careful attacker rewinds the head too …
        s.execute(
            text(
                "UPDATE audithead SET seq = 3, last_hash = "
                "(SELECT hash FROM auditevent WHERE id = 3)"
            )
        )
    assert _verify(ctx).ok
    result = _verify(ctx, expect=printed)  # … but the hash on the daily report is gone
    assert not result.ok and "report" in result.problem


@pytest.mark.parametrize("n", [0, 1])
def test_small_chains(ctx, n):
    _append(ctx, n) if n else None
    assert _verify(ctx).ok
