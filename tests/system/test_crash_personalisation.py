"""kill -9 in the middle of card personalisation, through a real pcscd, on SQLite and PostgreSQL.

The reference card sits behind pcscd's virtual reader (vpcd), served by a card process of its own
(`card_server` below, driven over a pipe), so the harness that forks and kills the clerk's
processes has no threads and no PC/SC context. Round after round a child personalises the next
application without a card on record (VERIFY, UPDATE BINARY in chunks, read back, lock, then the
`CardPersonalisation` row and its audit event in one transaction) and is killed with SIGKILL at a
random moment, at least 50 times: before the write, halfway through it (the card then holds half a
record, unlocked), after the lock but before the database recorded it (a locked card nobody
recorded), or after. The same card stays in the reader until its application is recorded: the next
child starts again from the beginning, or, finding the card locked with exactly its record,
records it (`recovered`). Meanwhile the bystander personalises replacement cards of other
applications on the in-process virtual reader.

Afterwards: every "done" record names a card that is locked and holds exactly the application's
record (its hash the recorded one): no "done" for an unverified card; every locked card is
recorded once; the application being worked on when the kills stopped is personalised by one
more run; the audit chain verifies and SQLite's integrity check is ok.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter as Tally

import pytest
from sqlmodel import select

from clerk.domain.models import AuditEvent, CardPersonalisation
from tests.system import conftest_pcsc, crash
from tests.system.crash import Marks, Scenario, slowed

pytestmark = pytest.mark.system

KILLS = 55
APPLICATIONS = 120  # the killed clerk's; a few more for the bystander
PIN = "2580"


# --- the card process --------------------------------------------------------------------------


def card_server(pin: str) -> None:
    """Serve reference cards behind vpcd; one JSON command per line on stdin, one answer per
    line on stdout: {"op": "new"} puts a new blank card in (the old one out), {"op": "state"}
    tells the card's state, {"op": "cards"} every card it made, {"op": "quit"}."""
    from clerk.devices.card_profile import load_profile
    from clerk.devices.reference_card import ReferenceCard

    profile = load_profile()
    holder = conftest_pcsc.Slot()
    made: list[ReferenceCard] = []

    def state(card) -> dict:
        return {"serial": card.serial.hex().upper(), "locked": card.locked,
                "holder": bytes(card.holder).rstrip(b"\0").hex(), "tries": card.tries}  # fmt: skip

    for line in sys.stdin:
        op = json.loads(line)["op"]
        if op == "new":
            made.append(ReferenceCard(profile, pin))
            holder.insert(made[-1])  # takes the old one out first; waits until pcscd sees it
            answer = state(made[-1])
        elif op == "state":
            answer = state(made[-1])
        elif op == "cards":
            answer = {"cards": [state(card) for card in made]}
        else:
            holder.remove()
            print(json.dumps({"bye": True}), flush=True)
            return
        print(json.dumps(answer), flush=True)


class CardServer:
    def __init__(self, pin: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.system.test_crash_personalisation", "card-server", pin],
            cwd=crash.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, op: str) -> dict:
        self.process.stdin.write(json.dumps({"op": op}) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.poll() is None:
            self.ask("quit")
            self.process.wait(10)


# --- the scenario ------------------------------------------------------------------------------


def wait_for_card(reader, timeout: float = 15.0) -> None:
    """Until the card answers an exclusive connection (pcscd may still hold a killed one's)."""
    from clerk.devices.reader import CardFailure

    deadline = time.monotonic() + timeout
    while True:
        try:
            reader.connect().close()
            return
        except CardFailure:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Personalisation(Scenario):
    kill_after = (0.03, 0.3)
    rounds_per_kill = 2

    def __init__(self, ctx, params):
        from clerk.devices.card_profile import load_profile
        from clerk.domain.auth import Actor

        super().__init__(ctx, params)
        self.ana = Actor(params["ana"], "ana", "clerk", counter=3, terminal="counter-3")
        self.bea = Actor(params["bea"], "bea", "clerk", counter=4, terminal="counter-4")
        self.mine, self.theirs = params["apps"], params["bystander_apps"]
        self.profile = load_profile()
        self.card: CardServer | None = None
        self.card_for: int | None = None  # the application the card in the reader was used for
        self.swaps = 0

    def _done(self) -> set[int]:
        with self.ctx.db.read() as s:
            return set(
                s.exec(
                    select(CardPersonalisation.application_id).where(
                        CardPersonalisation.status == "done"
                    )
                ).all()
            )

    def todo(self):
        """The next application without a card on record; a new card once the one in the
        reader is locked and recorded (kept while its application is not: to be recovered)."""
        done = self._done()
        app = next((a for a in self.mine if a not in done), None)
        if self.card is None:
            self.card = CardServer(self.params["pin"])
            self.card.ask("new")
        elif self.card_for is not None and self.card_for != app:
            state = self.card.ask("state")
            assert state["locked"], f"the card of {self.card_for} was recorded but is not locked"
            self.card.ask("new")
            self.swaps += 1
        self.card_for = app
        return app

    def warm_up(self) -> None:
        from clerk.domain import cards

        cards.holder_record(self.ctx, self.mine[0], self.profile)

    def work(self, app_id, marks: Marks, rng: random.Random) -> None:
        from clerk.devices import card_profile
        from clerk.devices.reader import PcscReader
        from clerk.domain import cards

        write, lock = card_profile.CardSession.write_record, card_profile.CardSession.lock

        def writing(session, record):
            marks.put(b"W")
            return write(session, record)

        def locking(session):
            lock(session)
            marks.put(b"L")  # locked, not recorded yet

        card_profile.CardSession.write_record = writing
        card_profile.CardSession.lock = locking
        session = card_profile.CardSession  # each chunk written a little slower: half-written cards
        session._expect_write = slowed(session._expect_write, rng, most=0.05)
        cards._record = slowed(cards._record, rng, most=0.03)
        reader = PcscReader(conftest_pcsc.SLOT0)
        wait_for_card(reader)
        marks.ready()
        marks.begin()
        cards.personalise(self.ctx, self.ana, reader, app_id, self.profile)
        marks.done()
        time.sleep(60)  # the card is locked: nothing more to do with it

    def bystander_step(self, rng: random.Random) -> None:
        from clerk.devices.reader import VirtualReader
        from clerk.domain import cards

        reader = VirtualReader(cards.blank_card(self.ctx, self.profile))
        app = rng.choice(self.theirs)
        cards.personalise(self.ctx, self.bea, reader, app, self.profile, again=True)

    def finish(self) -> dict:
        """After the last kill: the application in hand is personalised by one more run (from
        the beginning, or recovered from a locked card), then every card's state."""
        from clerk.devices.reader import PcscReader
        from clerk.domain import cards

        assert self.card is not None
        final = None
        if self.card_for is not None and self.card_for not in self._done():
            reader = PcscReader(conftest_pcsc.SLOT0)
            wait_for_card(reader)
            done = cards.personalise(self.ctx, self.ana, reader, self.card_for, self.profile)
            final = {"application": self.card_for, "recovered": done.recovered}
        made = self.card.ask("cards")["cards"]
        self.card.close()
        return {"final": final, "cards": made, "swaps": self.swaps}


# --- the test ----------------------------------------------------------------------------------


@pytest.fixture
def desk(ctx, monkeypatch):
    from tests.unit.test_cards_service import Desk

    monkeypatch.setenv("CLERK_CARD_PIN", PIN)
    d = Desk(ctx)
    d.apps = [d.application() for _ in range(APPLICATIONS + 3)]
    with ctx.db.write() as s:
        from clerk.domain.models import User

        bea = User(username="bea", role="clerk", full_name="Bea Lei")
        s.add(bea)
        s.flush()
        d.bea = bea.id
    return d


def test_kill_9_during_personalisation_never_records_an_unverified_card(slot, desk):
    from clerk.devices.card_profile import data_hash, encode_record, load_profile
    from clerk.domain import cards

    ctx, profile = desk.ctx, load_profile()
    mine, theirs = desk.apps[:APPLICATIONS], desk.apps[APPLICATIONS:]
    params = {"ana": desk.actor.user_id, "bea": desk.bea, "pin": PIN, "apps": mine,
              "bystander_apps": theirs}  # fmt: skip
    summary = crash.run_harness(
        "tests.system.test_crash_personalisation:Personalisation",
        ctx.db.url,
        params,
        KILLS,
        env={"CLERK_CARD_PIN": PIN},
        timeout=600,
    )
    made = {card["serial"]: card for card in summary.pop("cards")}
    crash.check_summary(summary, 50)
    with ctx.db.read() as s:
        rows = s.exec(
            select(CardPersonalisation).where(
                CardPersonalisation.application_id.in_(desk.apps[:APPLICATIONS])
            )
        ).all()
        events = s.exec(
            select(AuditEvent.after).where(AuditEvent.action == "card.personalise")
        ).all()
    done = [row for row in rows if row.status == "done"]
    assert len(done) >= 10, "too few cards to mean anything"
    per_app = Tally(row.application_id for row in done)
    assert max(per_app.values()) == 1, per_app  # one card each
    for row in done:  # no "done" for a card that is not locked with exactly this record
        card = made[row.card_serial]
        record = encode_record(profile, cards.holder_record(ctx, row.application_id, profile))
        assert card["locked"], row.card_serial
        assert bytes.fromhex(card["holder"]) == record.rstrip(b"\0"), row.application_id
        assert row.data_hash == data_hash(record)
    locked = {serial for serial, card in made.items() if card["locked"]}
    assert locked == {row.card_serial for row in done}  # every locked card recorded, once
    recorded = Tally(json.loads(after)["personalisation"] for after in events)
    assert all(recorded[row.id] == 1 for row in done)  # each with its audit event
    recovered = sum(json.loads(after).get("recovered", False) for after in events)
    if summary["final"] is not None:
        assert summary["final"]["application"] in per_app
    crash.check_chain_and_integrity(ctx)
    line = crash.report_line(ctx, "personalisation", summary)
    print(f"{line}; {recovered} recovered from a locked card, {summary['swaps']} new cards")


if __name__ == "__main__" and sys.argv[1:2] == ["card-server"]:
    card_server(sys.argv[2])
