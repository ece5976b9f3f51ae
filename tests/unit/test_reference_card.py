"""The reference card applet, command by command, and the card profile it is laid out by."""

from __future__ import annotations

import queue
import socket
import threading
from datetime import date
from pathlib import Path

import pytest

from clerk.devices.card_profile import (
    CardProfileError,
    CardSession,
    DamagedRecord,
    HolderRecord,
    RecordError,
    decode_record,
    default_profile_path,
    encode_record,
    load_profile,
)
from clerk.devices.reader import (
    BUSY,
    NO_CARD,
    PRESENT,
    CardRemoved,
    ReaderWatcher,
    VirtualReader,
    describe_sw,
)
from clerk.devices.reference_card import REFERENCE_ATR, OtherCard, ReferenceCard, demo_holder
from clerk.devices.vpcd import VpcdCard, vpcd_configured

PIN = "4711"


@pytest.fixture(scope="module")
def profile():
    return load_profile()


@pytest.fixture
def card(profile):
    c = ReferenceCard(profile, PIN, serial=bytes.fromhex("0102030405060708"))
    c.power_on()
    return c


def send(card, apdu: str) -> tuple[bytes, int]:
    out = card.process(bytes.fromhex(apdu.replace(" ", "")))
    return out[:-2], int.from_bytes(out[-2:], "big")


def sw(card, apdu: str) -> int:
    return send(card, apdu)[1]


def pin_apdu(pin: str = PIN) -> str:
    return "00 20 00 81 08" + pin.encode().ljust(8, b"\xff").hex()


SELECT_APP = "00 A4 04 0C 07 F0434C45524B01"
SELECT_EF = "00 A4 02 0C 02 0101"


def ready(card, *, verify: bool = False) -> None:
    assert sw(card, SELECT_APP) == 0x9000
    assert sw(card, SELECT_EF) == 0x9000
    if verify:
        assert sw(card, pin_apdu()) == 0x9000


# --- SELECT ---------------------------------------------------------------------------------


def test_select_by_aid_with_and_without_fci(card, profile):
    data, status = send(card, "00 A4 04 00 07 F0434C45524B01 00")
    assert status == 0x9000
    assert data == bytes([0x6F, 9, 0x84, 7]) + profile.aid
    assert send(card, SELECT_APP) == (b"", 0x9000)


@pytest.mark.parametrize(
    ("apdu", "status"),
    [
        ("00 A4 04 0C 07 A0000002471001", 0x6A82),  # another application
        ("00 A4 04 0C 06 F0434C45524B", 0x6A82),  # a prefix is not the AID
        ("00 A4 04 01 07 F0434C45524B01", 0x6A86),
        ("00 A4 08 0C 02 0101", 0x6A86),
        ("00 A4 02 0C 02 0101", 0x6A82),  # the EF before the application
    ],
)
def test_select_refusals(card, apdu, status):
    assert sw(card, apdu) == status


def test_select_ef_needs_the_right_id_and_p2(card):
    assert sw(card, SELECT_APP) == 0x9000
    assert sw(card, "00 A4 02 0C 02 0102") == 0x6A82
    assert sw(card, "00 A4 02 00 02 0101") == 0x6A86
    assert sw(card, "00 A4 02 0C 01 01") == 0x6700
    assert sw(card, SELECT_EF) == 0x9000


# --- VERIFY -----------------------------------------------------------------------------------


def test_verify_counts_tries_and_blocks(card):
    ready(card)
    assert sw(card, "00 20 00 81") == 0x63C3  # asking costs nothing
    assert sw(card, pin_apdu("0000")) == 0x63C2
    assert sw(card, pin_apdu("1111")) == 0x63C1
    assert sw(card, pin_apdu(PIN)) == 0x9000  # the right PIN resets the counter
    assert sw(card, "00 20 00 81") == 0x9000
    for left in (2, 1, 0):
        assert sw(card, pin_apdu("9999")) == 0x63C0 | left
    assert card.blocked
    assert sw(card, pin_apdu(PIN)) == 0x6983  # even the right PIN, now
    assert sw(card, "00 20 00 81") == 0x6983


def test_verify_checks_reference_and_length(card):
    ready(card)
    assert sw(card, "00 20 00 82 08" + "31" * 8) == 0x6A88
    assert sw(card, "00 20 01 81 08" + "31" * 8) == 0x6A88
    assert sw(card, "00 20 00 81 04 34373131") == 0x6700  # not padded to the block
    assert card.tries == 3


def test_verified_state_is_lost_at_power_off(card):
    ready(card, verify=True)
    card.power_off()
    card.power_on()
    ready(card)
    assert sw(card, "00 D6 00 00 01 AA") == 0x6982


# --- READ / UPDATE BINARY --------------------------------------------------------------------


def test_update_and_read_with_offsets(card, profile):
    ready(card, verify=True)
    assert sw(card, "00 D6 00 10 03 AABBCC") == 0x9000
    assert send(card, "00 B0 00 0F 05") == (bytes.fromhex("00AABBCC00"), 0x9000)
    end = profile.holder_size - 2
    assert sw(card, f"00 D6 {end >> 8:02X} {end & 0xFF:02X} 02 1122") == 0x9000
    data, status = send(card, f"00 B0 {end >> 8:02X} {end & 0xFF:02X} 10")
    assert (data, status) == (bytes.fromhex("1122"), 0x6282)  # end of file before Le bytes
    past = profile.holder_size
    assert sw(card, f"00 B0 {past >> 8:02X} {past & 0xFF:02X} 01") == 0x6B00
    assert sw(card, f"00 D6 {end >> 8:02X} {end & 0xFF:02X} 03 112233") == 0x6A84


@pytest.mark.parametrize(
    ("apdu", "status"),
    [
        ("00 D6 00 00 01 AA", 0x6982),  # no VERIFY
        ("00 B0 80 00 01", 0x6A81),  # short EF identifier: not supported
        ("00 B0 00 00", 0x6700),  # no Le
        ("00 D6 00 00", 0x6700),  # no data
    ],
)
def test_binary_refusals(card, apdu, status):
    ready(card)
    assert sw(card, apdu) == status


def test_binary_needs_a_current_ef(card):
    assert sw(card, SELECT_APP) == 0x9000
    assert sw(card, "00 B0 00 00 01") == 0x6986
    assert sw(card, "00 44 00 00") == 0x6986


# --- GET / PUT DATA and the lock ------------------------------------------------------------


def test_get_data_serial_and_lifecycle(card, profile):
    ready(card)
    assert send(card, "00 CA DF 20 00") == (bytes.fromhex("0102030405060708"), 0x9000)
    assert send(card, "00 CA DF 21 00") == (bytes([profile.lifecycle_personalisation]), 0x9000)
    assert sw(card, "00 CA DF 22 00") == 0x6A88
    assert sw(card, "00 CA DF 20 04") == 0x6C08  # wrong Le: the exact length in SW2


def test_serial_is_read_only(card):
    ready(card, verify=True)
    assert sw(card, "00 DA DF 20 08 0000000000000000") == 0x6985


@pytest.mark.parametrize("lock", ["00 44 00 00", "00 DA DF 21 01 07"])
def test_lock_then_writes_get_6985(card, profile, lock):
    ready(card)
    assert sw(card, lock) == 0x6982  # locking is a write: VERIFY first
    assert sw(card, pin_apdu()) == 0x9000
    assert sw(card, "00 D6 00 00 02 6500") == 0x9000
    assert sw(card, lock) == 0x9000
    assert card.locked
    assert sw(card, "00 D6 00 00 01 AA") == 0x6985
    assert sw(card, "00 DA DF 21 01 07") == 0x6985
    assert sw(card, "00 44 00 00") == 0x6985
    assert send(card, "00 B0 00 00 02") == (bytes.fromhex("6500"), 0x9000)  # reading goes on
    card.power_off()
    card.power_on()
    ready(card, verify=True)
    assert sw(card, "00 D6 00 00 01 AA") == 0x6985  # the lock survives power-off


def test_lifecycle_only_moves_forward(card):
    ready(card, verify=True)
    assert sw(card, "00 DA DF 21 01 01") == 0x6A80
    assert sw(card, "00 DA DF 21 02 0707") == 0x6700
    assert sw(card, "00 DA DF 29 01 07") == 0x6A88


# --- the UID and everything else -------------------------------------------------------------


def test_uid_is_random_at_every_power_up(card):
    first, status = send(card, "FF CA 00 00 00")
    assert status == 0x9000 and len(first) == 4 and first[0] == 0x08
    uids = {first}
    for _ in range(5):
        card.power_off()
        card.power_on()
        uids.add(send(card, "FF CA 00 00 00")[0])
    assert len(uids) > 1
    assert sw(card, "FF CA 01 00 00") == 0x6A81
    assert sw(card, "FF CA 00 00 02") == 0x6C04
    assert sw(card, "FF 00 00 00 00") == 0x6D00


@pytest.mark.parametrize(
    ("apdu", "status"),
    [
        ("80 CA DF 20 00", 0x6E00),  # proprietary class
        ("0C B0 00 00 01", 0x6E00),  # secure messaging
        ("00 84 00 00 08", 0x6D00),  # GET CHALLENGE: not implemented
        ("00 CA DF 20 00", 0x6985),  # before SELECT
        ("00 A4", 0x6700),
        ("00 A4 04 0C 07 F0434C45", 0x6700),  # Lc says 7, 3 follow
        ("00 A4 04 0C 05 F0 43", 0x6700),
    ],
)
def test_other_commands_get_proper_status_words(card, apdu, status):
    assert sw(card, apdu) == status


def test_atr_is_well_formed():
    body = REFERENCE_ATR[1:]
    check = 0
    for byte in body:
        check ^= byte
    assert REFERENCE_ATR[0] == 0x3B and check == 0
    assert b"CLERKREF01" in REFERENCE_ATR


def test_other_card_knows_only_its_own_application():
    other = OtherCard()
    other.power_on()
    assert sw(other, SELECT_APP) == 0x6A82
    assert sw(other, "00 A4 04 0C 07 A0000002471001") == 0x9000
    assert sw(other, "00 B0 00 00 01") == 0x6D00


def test_describe_sw():
    assert describe_sw(0x6A82) == "6A82 (file or application not found)"
    assert describe_sw(0x63C2) == "63C2 (verification failed, 2 tries left)"
    assert describe_sw(0x1234) == "1234 (unknown status)"


# --- the session driver on the in-process reader ----------------------------------------------


def test_session_writes_in_chunks_and_reads_back(profile):
    card = ReferenceCard(profile, PIN)
    record = encode_record(profile, demo_holder(date(2026, 5, 4)))
    assert len(record) > profile.chunk_size  # the shipped profile really chunks
    seen: list[bytes] = []
    card.on_command = seen.append
    with VirtualReader(card).connect() as conn:
        session = CardSession(conn, profile)
        session.select()
        assert session.read_record() is None  # blank
        session.verify(PIN)
        chunks = session.write_record(record)
        assert chunks == -(-len(record) // profile.chunk_size)
        assert session.read_record() == record
        session.lock()
        assert session.locked()
    updates = [apdu for apdu in seen if apdu[1] == 0xD6]
    assert len(updates) == chunks
    assert all(len(apdu) - 5 <= profile.chunk_size for apdu in updates)


def test_partial_record_is_reported_damaged(profile):
    card = ReferenceCard(profile, PIN)
    record = encode_record(profile, demo_holder(date(2026, 5, 4)))
    card.holder[: profile.chunk_size] = record[: profile.chunk_size]  # the first chunk only
    with VirtualReader(card).connect() as conn:
        session = CardSession(conn, profile)
        session.select()
        with pytest.raises(DamagedRecord, match="damaged"):
            decode_record(profile, session.read_record())


# --- the holder record codec --------------------------------------------------------------


def holder(**changes) -> HolderRecord:
    base = dict(
        document_number="5215299(8)",
        name_chinese="李小梅",
        name_latin="João Sousa",
        date_of_birth=date(1990, 2, 28),
        sex="F",
        issue_date=date(2026, 1, 5),
        expiry_date=None,
        permanent=False,
        symbols="R",
        condition_of_stay="Employment",
        limit_of_stay=date(2027, 12, 31),
        applications=frozenset({"library_card", "digital_certificate"}),
    )
    base.update(changes)
    return HolderRecord(**base)


def test_record_round_trip_keeps_every_field(profile):
    h = holder()
    record = encode_record(profile, h)
    assert record[0] == profile.template
    assert decode_record(profile, record) == h
    assert encode_record(profile, h) == record  # deterministic: the hash identifies content


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"name_latin": "X" * 61}, "at most 60"),
        ({"document_number": "1234567（3）"}, "plain ASCII"),
        ({"sex": "Q"}, "M, F or X"),
        ({"applications": frozenset({"swimming_pool"})}, "unknown application"),
        ({"condition_of_stay": "line\nbreak"}, "control character"),
    ],
)
def test_values_the_card_cannot_hold_are_refused(profile, change, reason):
    with pytest.raises(RecordError, match=reason):
        encode_record(profile, holder(**change))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: b"\x66" + r[1:], "template 66"),
        (lambda r: r.replace(b"\xdf\x31\x01\x00", b"\xdf\x31\x01\x02"), "not 00 or 01"),
        (lambda r: r.replace(b"\x5f\x35\x01F", b"\x5f\x35\x01Q"), "is not M, F or X"),
        (lambda r: r[:-3], "only"),
    ],
)
def test_damaged_records_are_refused(profile, mutate, reason):
    with pytest.raises(DamagedRecord, match=reason):
        decode_record(profile, mutate(encode_record(profile, holder())))


# --- the profile file ---------------------------------------------------------------------------


def test_shipped_profile(profile):
    assert profile.aid[0] >> 4 == 0xF  # proprietary, unregistered
    assert profile.pin_secret == "CARD_PIN"
    assert profile.lock_method in ("activate-file", "lifecycle-put-data")
    assert profile.max_record_length <= profile.holder_size
    assert [f.name for f in profile.fields][:2] == ["document_number", "name_chinese"]
    assert profile.applications == {"library_card": 0, "digital_certificate": 1}


def _broken(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the shipped profile with `old` replaced once; and the line of the change."""
    text = default_profile_path().read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "card_profile.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path, text[: text.index(old)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('aid = "F0 43 4C 45 52 4B 01"', 'aid = "F0 4G"', "not hexadecimal"),
        ('aid = "F0 43 4C 45 52 4B 01"', 'aid = "F0 43"', "5–16 bytes"),
        ('holder = "0101"', 'holder = "3F00"', "reserved"),
        ('tag = "5F20"', 'tag = "5A"', "is document_number's already"),
        ('tag = "5F20"', 'tag = "DF01"', "one-byte form"),
        ('tag = "5F20"', 'tag = "7F20"', "primitive"),
        ('template = "65"', 'template = "5A"', "constructed"),
        ('kind = "flag"', 'kind = "ascii"', "is of kind 'flag'"),
        ('name = "sex"', 'name = "gender"', "unknown code 'gender'"),
        ('secret = "CARD_PIN"', 'secret = "PIN_IN_CLEAR"', "unknown code"),
        ('method = "activate-file"', 'method = "glue"', "unknown code 'glue'"),
        ("chunk_size = 64", "chunk_size = 300", "at most 255"),
        ("holder_size = 1024", "holder_size = 100", "may take"),
        ("digital_certificate = 1", "digital_certificate = 0", "used twice"),
        ("operational = 0x07", "operational = 0x01", "must differ"),
        ("years = 10", "years = 0", "below the minimum"),
        ("block_length = 8", "block_length = 40", "4–16 bytes"),
        ('serial = "DF20"', 'serial = "5A"', "two-byte tag"),
    ],
)
def test_malformed_profile_names_file_line_and_reason(tmp_path, old, new, reason):
    path, line = _broken(tmp_path, old, new)
    with pytest.raises(CardProfileError, match=reason) as caught:
        load_profile(path)
    assert caught.value.message.startswith(f"{path}:{line}: ")


def test_syntax_error_and_missing_field(tmp_path):
    path, _line = _broken(tmp_path, "years = 10", "years = = 10")
    with pytest.raises(CardProfileError, match=rf"^{path}:\d+: "):
        load_profile(path)
    path, line = _broken(tmp_path, 'name = "symbols"', 'name = "permanent"')
    with pytest.raises(CardProfileError, match=f":{line}: .*appears twice"):
        load_profile(path)
    with pytest.raises(CardProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.toml")


# --- the virtual reader and the watcher ---------------------------------------------------------


def test_watcher_reports_every_change_of_the_virtual_reader(profile):
    card = ReferenceCard(profile, PIN)
    reader = VirtualReader(card)
    seen: queue.Queue = queue.Queue()
    watcher = ReaderWatcher(reader, seen.put, timeout=0.05).start()

    def next_state() -> str:
        state = seen.get(timeout=5)
        assert state.virtual and state.reader == "clerk virtual reader"
        return state.state

    try:
        assert next_state() == PRESENT
        reader.remove()
        assert next_state() == NO_CARD
        reader.insert(card)
        assert next_state() == PRESENT
        conn = reader.connect()
        assert next_state() == BUSY
        conn.close()
        assert next_state() == PRESENT
        assert seen.empty()  # no repeats while nothing changes
    finally:
        watcher.stop()
    assert not watcher.alive


def test_a_failing_callback_does_not_stop_the_watcher(profile):
    reader = VirtualReader(ReferenceCard(profile, PIN))
    calls: list[str] = []
    emptied = threading.Event()

    def callback(state) -> None:
        calls.append(state.state)
        if state.state == NO_CARD:
            emptied.set()
        raise RuntimeError("a bug in the panel")

    watcher = ReaderWatcher(reader, callback, timeout=0.05).start()
    try:
        reader.remove()
        assert emptied.wait(5)
        assert watcher.alive
    finally:
        watcher.stop()
    assert calls[-1] == NO_CARD


def test_virtual_connection_after_removal(profile):
    card = ReferenceCard(profile, PIN)
    reader = VirtualReader(card)
    conn = reader.connect()
    reader.remove()
    with pytest.raises(CardRemoved, match="removed from the reader clerk virtual reader"):
        conn.transmit(bytes.fromhex(SELECT_APP.replace(" ", "")))
    conn.close()


# --- the vpcd wire protocol (a fake vpcd on a local socket) ---------------------------------------


def test_vpcd_protocol_framing_and_controls(profile, tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    card = ReferenceCard(profile, PIN)
    vpcd = VpcdCard(card, port=port).insert()
    conn, _addr = server.accept()
    conn.settimeout(5)

    def ask(payload: bytes, *, split: bool = True) -> bytes:
        header = len(payload).to_bytes(2, "big")
        if split:  # vpcd writes the length and the payload separately
            conn.sendall(header)
            conn.sendall(payload)
        else:
            conn.sendall(header + payload)
        size = int.from_bytes(conn.recv(2), "big")
        data = b""
        while len(data) < size:
            data += conn.recv(size - len(data))
        return data

    try:
        assert vpcd.wait_inserted(5)
        conn.sendall(b"\x00\x01\x01")  # power on: not answered
        assert ask(b"\x04") == REFERENCE_ATR  # the ATR
        assert card.powered
        assert ask(bytes.fromhex(SELECT_APP.replace(" ", ""))) == b"\x90\x00"
        assert ask(bytes.fromhex("00CADF2000"), split=False)[-2:] == b"\x90\x00"
        assert ask(b"\x04") == REFERENCE_ATR and card.app_selected  # polling changes nothing
        conn.sendall(b"\x00\x01\x00")  # power off
        assert ask(bytes.fromhex("00CADF2000"))[-2:] == b"\x69\x85"  # selection lost
        assert vpcd.apdus == 3
    finally:
        vpcd.remove()
        conn.close()
        server.close()
    assert not vpcd.connected.is_set()

    (tmp_path / "vpcd").write_text("LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n")
    (tmp_path / "ccid").write_text("LIBPATH /usr/lib/pcsc/drivers/libccid.so\n")
    assert vpcd_configured(tmp_path) == [tmp_path / "vpcd"]
    assert vpcd_configured(tmp_path / "missing") == []
