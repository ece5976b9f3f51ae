"""`clerk board` through Pilot: a call made elsewhere appears and is announced, the history and
the waiting per service follow, a lost database is survived, and midnight starts a new day."""

from __future__ import annotations

from datetime import timedelta

from clerk.domain import queue
from clerk.domain.auth import SYSTEM
from clerk.errors import Failure
from clerk.screens.board import BoardApp, BoardScreen, CallLine
from clerk.widgets.big_code import BigCode
from tests.unit import test_queue as shared

clock = shared.clock
db_url = shared.sqlite_db_url  # the UI holds no SQL: the services run on both in tests/unit
migrated_templates = shared.migrated_templates
office = shared.office


async def until(pilot, condition, seconds: float = 10) -> None:
    """Let the board poll until `condition()` holds (fails after `seconds`)."""
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("the board did not show it")


def big_calls(app) -> list[tuple[str, str]]:
    return [
        (line.query_one(".tag", BigCode).value, line.query_one(".counter", BigCode).value)
        for line in app.screen.query(CallLine)
    ]


def waiting(app) -> dict[str, str]:
    table = app.screen.query_one("#board-waits")
    return {
        str(row[0]): str(row[2]) for row in (table.get_row_at(i) for i in range(table.row_count))
    }


async def test_the_board_follows_the_calls_and_rolls_over(office, clock, monkeypatch):
    ctx = office
    for code in ("A", "A", "B", "P"):
        queue.issue_tag(ctx, SYSTEM, code)
    queue.call_next(ctx, SYSTEM, 1)  # P001, before the board starts: shown, not announced
    app = BoardApp(ctx, sound=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: big_calls(app)[0] == ("P001", "1"))
        assert isinstance(app.screen, BoardScreen) and app.announced == []
        assert waiting(app) == {"P": "0", "A": "2", "B": "1", "C": "0"}
        queue.call_next(ctx, SYSTEM, 3)  # another clerk calls
        queue.call_next(ctx, SYSTEM, 2)
        await until(pilot, lambda: app.announced == ["A001>3", "A002>2"])
        assert big_calls(app) == [("A002", "2"), ("A001", "3"), ("P001", "1")]
        assert app.screen.query_one("#board-history-table").row_count == 3
        queue.recall(ctx, SYSTEM, "A001", 3)
        await until(pilot, lambda: app.announced[-1] == "A001>3")
        assert waiting(app)["A"] == "0"

        def lost(*_args, **_kwargs):
            raise Failure("database error: connection refused")

        monkeypatch.setattr(queue, "board_state", lost)
        status = app.screen.query_one("#board-status")
        await until(pilot, lambda: "connection refused" in str(status.render()))
        monkeypatch.undo()
        await until(pilot, lambda: str(status.render()) == "")

        clock.at(shared.DAY + timedelta(days=1), 0, 1)  # midnight: a new business day
        await until(pilot, lambda: big_calls(app)[0] == ("", ""))
        assert waiting(app)["B"] == "0"
        clock.at(shared.DAY + timedelta(days=1), 9, 0)
        assert queue.issue_tag(ctx, SYSTEM, "B").tag == "B001"
        queue.call_next(ctx, SYSTEM, 1)
        await until(pilot, lambda: big_calls(app)[0] == ("B001", "1"))
        assert app.announced[-1] == "B001>1"
