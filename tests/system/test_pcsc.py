"""The card reader through the real PC/SC stack: pcscd + vsmartcard-vpcd + pyscard, with the
reference card behind vpcd (a thread here, or `clerk card emulate` in a subprocess).

Each failure the counter meets has its test: wrong PIN, blocked card, the card pulled out in the
middle of the write (not done; reinserted, it starts again and succeeds), pcscd restarted while
the watcher runs, another kind of card, no reader, no card, no pcscd.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clerk.devices.card_profile import CardBlocked, WrongCardKind, WrongPin
from clerk.devices.reader import (
    ERROR,
    NO_CARD,
    NO_READER,
    PRESENT,
    CardRemoved,
    NoCard,
    NoReader,
    NoService,
    PcscReader,
    ReaderWatcher,
)
from clerk.devices.reference_card import OtherCard, ReferenceCard
from clerk.domain import cards
from tests.system.conftest_pcsc import SLOT0, WAIT, wait_state
from tests.unit import test_cards_service as unit
from tests.unit.test_cards_service import PIN, Desk, pull_out_at_update

pytestmark = pytest.mark.system
card_pin, profile = unit.card_pin, unit.profile  # the cards' PIN in the env, the shipped profile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def desk(sqlite_ctx):
    return Desk(sqlite_ctx)


def statuses(ctx, application_id: int) -> list[str]:
    return [row["status"] for row in cards.personalisations(ctx, application_id)]


def test_readers_are_listed(slot):
    names = PcscReader().readers()
    assert SLOT0 in names and f"{SLOT0[:-2]}01" in names
    with pytest.raises(NoCard, match=f"no card in the reader {SLOT0}"):
        slot.reader.connect()


def test_personalise_and_read_through_pcscd(slot, desk, profile):
    card = ReferenceCard(profile, PIN)
    vpcd = slot.insert(card)
    app_id = desk.application()
    done = cards.personalise(desk.ctx, desk.actor, slot.reader, app_id, profile)
    assert card.locked and done.reader == SLOT0
    assert done.atr == card.atr.hex().upper() and done.serial == card.serial.hex().upper()
    assert statuses(desk.ctx, app_id) == ["done"]
    assert vpcd.apdus == done.commands  # every command went over vpcd

    data = cards.read_card(slot.reader, profile)
    assert data.locked and data.data_hash == done.data_hash
    assert data.holder == cards.holder_record(desk.ctx, app_id, profile)

    uids = set()
    for _ in range(3):  # FF CA: a random UID at every power-up, answered by the card
        with slot.reader.connect() as conn:
            uid, sw = conn.transmit(bytes.fromhex("FFCA000000"))
            assert sw == 0x9000 and len(uid) == 4
            uids.add(uid)
    assert len(uids) > 1


def test_wrong_pin_then_blocked(slot, desk, profile, monkeypatch):
    card = ReferenceCard(profile, PIN)
    slot.insert(card)
    app_id = desk.application()
    monkeypatch.setenv("CLERK_CARD_PIN", "00000")  # not the card's
    with pytest.raises(WrongPin, match="2 tries left"):
        cards.personalise(desk.ctx, desk.actor, slot.reader, app_id, profile)
    assert card.tries == 2  # one attempt, not three

    card.tries = 0
    monkeypatch.setenv("CLERK_CARD_PIN", PIN)
    with pytest.raises(CardBlocked, match="blocked"):
        cards.personalise(desk.ctx, desk.actor, slot.reader, app_id, profile)
    assert statuses(desk.ctx, app_id) == ["failed", "failed"] and not card.locked


def test_card_removed_during_the_write_then_reinserted(slot, desk, profile):
    card = ReferenceCard(profile, PIN)
    pull_out_at_update(card, 2)  # vpcd loses the card in the middle of the second chunk
    slot.insert(card)
    app_id = desk.application()
    with pytest.raises(CardRemoved, match="put it back"):
        cards.personalise(desk.ctx, desk.actor, slot.reader, app_id, profile)
    assert statuses(desk.ctx, app_id) == ["failed"] and not card.locked
    slot.vpcd = None  # it is out already
    wait_state(slot.reader, NO_CARD)

    slot.insert(card)
    done = cards.personalise(desk.ctx, desk.actor, slot.reader, app_id, profile)
    assert card.locked and not done.recovered
    assert statuses(desk.ctx, app_id) == ["failed", "done"]


def test_watcher_survives_a_pcscd_restart(slot, pcscd, desk, profile):
    seen: queue.Queue = queue.Queue()
    watcher = ReaderWatcher(PcscReader(SLOT0), seen.put, timeout=0.2).start()

    def next_state(wanted: str) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                state = seen.get(timeout=0.1)
            except queue.Empty:
                continue
            if state.state == wanted:
                return
        raise AssertionError(f"the watcher never reported {wanted}")

    try:
        next_state(NO_CARD)
        slot.insert(ReferenceCard(profile, PIN))
        next_state(PRESENT)
        pcscd.stop()
        next_state(ERROR)  # pcscd is not running
        pcscd.start()  # vpcd listens again; the card goes back in by itself
        next_state(PRESENT)
        assert watcher.alive
        slot.vpcd.remove()
        next_state(NO_CARD)
        slot.vpcd = None
    finally:
        watcher.stop()
    assert not watcher.alive

    slot.insert(ReferenceCard(profile, PIN))  # and the reader works as before
    app_id = desk.application()
    cards.personalise(desk.ctx, desk.actor, slot.reader, app_id, profile)
    assert statuses(desk.ctx, app_id) == ["done"]


def test_a_card_of_another_kind(slot, desk, profile):
    slot.insert(OtherCard())
    with pytest.raises(WrongCardKind, match="not a clerk reference card"):
        cards.read_card(slot.reader, profile)
    app_id = desk.application()
    with pytest.raises(WrongCardKind):
        cards.personalise(desk.ctx, desk.actor, slot.reader, app_id, profile)
    assert statuses(desk.ctx, app_id) == ["failed"]


def test_no_reader_and_no_pcscd(slot, pcscd, profile):
    with pytest.raises(NoReader, match="no reader matching 'Counter 9'"):
        PcscReader("Counter 9").connect()
    pcscd.restart(readers=False)
    with pytest.raises(NoReader, match="no card reader is connected"):
        cards.read_card(PcscReader(), profile)
    assert PcscReader().state().state == NO_READER
    pcscd.stop()
    with pytest.raises(NoService, match="pcscd"):
        cards.read_card(slot.reader, profile)
    state = slot.reader.state()
    assert state.state == ERROR and "pcscd" in state.detail


def _clerk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clerk", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_command_line_with_clerk_card_emulate(slot, desk):
    env = {**os.environ, "CLERK_CARD_PIN": PIN}
    emulator = subprocess.Popen(
        [sys.executable, "-m", "clerk", "card", "emulate", "--blank"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_state(slot.reader, PRESENT, timeout=15)
        app_id = desk.application()
        url = ["--db", desk.ctx.db_url]
        reader = ["--reader", SLOT0]
        done = _clerk("card", "personalise", str(app_id), *reader, "--json", *url, env=env)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["application_id"] == app_id and not result["recovered"]

        compare = ["--application", str(app_id)]
        read = _clerk("card", "read", *reader, "--json", *compare, *url, env=env)
        assert read.returncode == 0, read.stderr
        card = json.loads(read.stdout)
        assert card["locked"] and card["serial"] == result["serial"]
        assert card["comparison"] == {
            "applicant_id": card["comparison"]["applicant_id"],
            "personalisation": "matches",
            "differences": [],
        }
        again = _clerk("card", "personalise", str(app_id), *reader, *url, env=env)
        assert again.returncode == 2 and "already has a personalised card" in again.stderr
        assert again.stderr.count("\n") == 1  # one line
    finally:
        emulator.terminate()
        emulator.wait(10)
    assert "Never enable vpcd on a production workstation" in emulator.stderr.read()
    wait_state(slot.reader, NO_CARD)
