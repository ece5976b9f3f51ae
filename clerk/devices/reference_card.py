"""The reference card: our own ID-card applet in pure Python, laid out by the card profile.

It answers (short APDUs, CLA 00 unless said):
- SELECT by DF name (P1 04; P2 00 returns an FCI, 0C nothing) and the holder EF by file id
  (P1 00 or 02, P2 0C);
- VERIFY (P2 = the profile's PIN reference): no data asks the tries left (9000 when verified,
  63Cx), a wrong PIN answers 63Cx, a blocked PIN 6983;
- READ BINARY / UPDATE BINARY with 15-bit offsets (6282 at the end of the file, 6B00 past it,
  6A84 when a write does not fit, 6982 without VERIFY);
- GET DATA / PUT DATA of the serial (read only) and the life cycle;
- the lock: ACTIVATE FILE on the holder EF, or PUT DATA of the life cycle with the operational
  value; after it UPDATE BINARY and PUT DATA answer 6985;
- `FF CA 00 00`: the contactless UID, random at every power-up (never an identifier).
Anything else: 6D00 (instruction), 6E00 (class), 6A86 (P1-P2), 6700 (length), 6A88 (data
object), 6986 (no file selected).

Persistent (the chip's EEPROM): the holder EF, PIN tries, life cycle, serial. Volatile (lost at
power-off or reset): the selections, the verified PIN, the UID.

`on_command`, when set, is called with every command APDU before it is processed; a test raises
`clerk.devices.reader.PulledOut` from it to take the card out in the middle of a write.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import date

from clerk.devices.card_profile import CardProfile, HolderRecord, encode_record
from clerk.devices.reader import (
    SW_BLOCKED,
    SW_CLA_NOT_SUPPORTED,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_DATA_NOT_FOUND,
    SW_END_OF_FILE,
    SW_FUNCTION_NOT_SUPPORTED,
    SW_INS_NOT_SUPPORTED,
    SW_NO_CURRENT_EF,
    SW_NO_SPACE,
    SW_NOT_FOUND,
    SW_OK,
    SW_SECURITY_NOT_SATISFIED,
    SW_WRONG_DATA,
    SW_WRONG_LENGTH,
    SW_WRONG_OFFSET,
    SW_WRONG_P1P2,
)

MAX_TRIES = 3
UID_LENGTH = 4


def _atr(historical: bytes) -> bytes:
    """TS 3B, T0 (TD1 follows, K historical bytes), TD1 T=0 then TD2 T=1, then TCK."""
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for byte in body:
        tck ^= byte
    return b"\x3b" + body + bytes([tck])


REFERENCE_ATR = _atr(b"CLERKREF01")
OTHER_ATR = _atr(b"OTHERCARD")


class _Apdu:
    """A parsed short command APDU; `error` is a status word when it is malformed."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.error = 0
        self.data = b""
        self.le: int | None = None
        if len(raw) < 4:
            self.error = SW_WRONG_LENGTH
            return
        self.cla, self.ins, self.p1, self.p2 = raw[:4]
        body = raw[4:]
        if len(body) == 1:
            self.le = body[0] or 256
        elif len(body) > 1:
            lc = body[0]
            if lc == 0 or len(body) not in (1 + lc, 2 + lc):
                self.error = SW_WRONG_LENGTH  # extended APDUs are not supported
                return
            self.data = body[1 : 1 + lc]
            if len(body) == 2 + lc:
                self.le = body[-1] or 256

    @property
    def p1p2(self) -> int:
        return self.p1 << 8 | self.p2


def _sw(sw: int, data: bytes = b"") -> bytes:
    return bytes(data) + sw.to_bytes(2, "big")


class _Applet:
    """Power handling, the UID and the dispatch shared by the cards here."""

    atr = REFERENCE_ATR

    def __init__(self) -> None:
        self.on_command: Callable[[bytes], None] | None = None
        self.powered = False
        self.uid = b""

    def power_on(self) -> bytes:
        self.powered = True
        self.uid = b"\x08" + secrets.token_bytes(UID_LENGTH - 1)  # 08: a random UID (14443-3)
        self._reset_volatile()
        return self.atr

    reset = power_on

    def power_off(self) -> None:
        self.powered = False
        self._reset_volatile()

    def _reset_volatile(self) -> None:
        pass

    def process(self, raw: bytes) -> bytes:
        raw = bytes(raw)
        if self.on_command is not None:
            self.on_command(raw)
        if not self.powered:
            self.power_on()
        apdu = _Apdu(raw)
        if apdu.error:
            return _sw(apdu.error)
        if apdu.cla == 0xFF:
            return self._reader_command(apdu)
        if apdu.cla != 0x00:
            return _sw(SW_CLA_NOT_SUPPORTED)
        return self._command(apdu)

    def _reader_command(self, apdu: _Apdu) -> bytes:
        """`FF CA 00 00 Le`: the UID (with vpcd the card answers it, not the reader)."""
        if apdu.ins != 0xCA:
            return _sw(SW_INS_NOT_SUPPORTED)
        if apdu.p1p2 != 0x0000:
            return _sw(SW_FUNCTION_NOT_SUPPORTED)
        if apdu.data:
            return _sw(SW_WRONG_LENGTH)
        return _with_le(self.uid, apdu.le)

    def _command(self, apdu: _Apdu) -> bytes:
        raise NotImplementedError


def _with_le(data: bytes, le: int | None) -> bytes:
    if le is not None and le < len(data):
        return _sw(0x6C00 | len(data))  # wrong Le: the exact length in SW2
    return _sw(SW_OK, data)


class ReferenceCard(_Applet):
    """A card laid out as `profile` says, with `pin` (the profile's secret) as its PIN."""

    def __init__(
        self,
        profile: CardProfile,
        pin: str,
        *,
        serial: bytes | None = None,
        max_tries: int = MAX_TRIES,
    ):
        super().__init__()
        self.profile = profile
        self._pin = pin.encode("ascii").ljust(profile.pin_block, bytes([profile.pin_padding]))
        self.max_tries = max_tries
        self.tries = max_tries
        self.serial = serial if serial is not None else secrets.token_bytes(8)
        self.holder = bytearray(profile.holder_size)  # erased: zeros
        self.lifecycle = profile.lifecycle_personalisation
        self.app_selected = False
        self.ef_selected = False
        self.verified = False

    # -- factory helpers -------------------------------------------------------------------------
    @classmethod
    def personalised(
        cls, profile: CardProfile, pin: str, holder: HolderRecord, *, lock: bool = True
    ) -> ReferenceCard:
        """A card that already holds `holder` (locked unless told)."""
        card = cls(profile, pin)
        record = encode_record(profile, holder)
        card.holder[: len(record)] = record
        if lock:
            card.lifecycle = profile.lifecycle_operational
        return card

    @property
    def locked(self) -> bool:
        return self.lifecycle == self.profile.lifecycle_operational

    @property
    def blocked(self) -> bool:
        return self.tries == 0

    def _reset_volatile(self) -> None:
        self.app_selected = self.ef_selected = self.verified = False

    # -- commands --------------------------------------------------------------------------------
    def _command(self, apdu: _Apdu) -> bytes:
        handler = {
            0xA4: self._select,
            0x20: self._verify,
            0xB0: self._read_binary,
            0xD6: self._update_binary,
            0xCA: self._get_data,
            0xDA: self._put_data,
            0x44: self._activate_file,
        }.get(apdu.ins)
        if handler is None:
            return _sw(SW_INS_NOT_SUPPORTED)
        if apdu.ins != 0xA4 and not self.app_selected:
            return _sw(SW_CONDITIONS_NOT_SATISFIED)  # select the application first
        return handler(apdu)

    def _select(self, apdu: _Apdu) -> bytes:
        if apdu.p1 == 0x04:
            if apdu.p2 not in (0x00, 0x0C):
                return _sw(SW_WRONG_P1P2)
            if apdu.data != self.profile.aid:
                return _sw(SW_NOT_FOUND)
            self.app_selected, self.ef_selected = True, False
            if apdu.p2 == 0x0C:
                return _sw(SW_OK)
            aid = self.profile.aid
            return _sw(SW_OK, bytes([0x6F, len(aid) + 2, 0x84, len(aid)]) + aid)
        if apdu.p1 in (0x00, 0x02):
            if apdu.p2 != 0x0C:
                return _sw(SW_WRONG_P1P2)
            if len(apdu.data) != 2:
                return _sw(SW_WRONG_LENGTH)
            if not self.app_selected or apdu.data != self.profile.holder_file.to_bytes(2, "big"):
                return _sw(SW_NOT_FOUND)
            self.ef_selected = True
            return _sw(SW_OK)
        return _sw(SW_WRONG_P1P2)

    def _verify(self, apdu: _Apdu) -> bytes:
        if apdu.p1 != 0x00 or apdu.p2 != self.profile.pin_reference:
            return _sw(SW_DATA_NOT_FOUND)
        if self.tries == 0:
            return _sw(SW_BLOCKED)
        if not apdu.data:
            return _sw(SW_OK if self.verified else 0x63C0 | self.tries)
        if len(apdu.data) != len(self._pin):
            return _sw(SW_WRONG_LENGTH)
        if hmac.compare_digest(apdu.data, self._pin):
            self.tries = self.max_tries
            self.verified = True
            return _sw(SW_OK)
        self.tries -= 1
        self.verified = False
        return _sw(0x63C0 | self.tries)

    def _offset(self, apdu: _Apdu) -> int | bytes:
        """The 15-bit offset of READ/UPDATE BINARY, or the answer refusing the command."""
        if not self.ef_selected:
            return _sw(SW_NO_CURRENT_EF)
        if apdu.p1 & 0x80:
            return _sw(SW_FUNCTION_NOT_SUPPORTED)  # P1 names a short EF: not supported
        return apdu.p1p2

    def _read_binary(self, apdu: _Apdu) -> bytes:
        offset = self._offset(apdu)
        if isinstance(offset, bytes):
            return offset
        if apdu.data or apdu.le is None:
            return _sw(SW_WRONG_LENGTH)
        if offset >= len(self.holder):
            return _sw(SW_WRONG_OFFSET)
        data = bytes(self.holder[offset : offset + apdu.le])
        return _sw(SW_OK if len(data) == apdu.le else SW_END_OF_FILE, data)

    def _may_write(self) -> int:
        if self.locked:
            return SW_CONDITIONS_NOT_SATISFIED
        if self.profile.write_needs_verify and not self.verified:
            return SW_SECURITY_NOT_SATISFIED
        return SW_OK

    def _update_binary(self, apdu: _Apdu) -> bytes:
        offset = self._offset(apdu)
        if isinstance(offset, bytes):
            return offset
        if not apdu.data or apdu.le is not None:
            return _sw(SW_WRONG_LENGTH)
        refusal = self._may_write()
        if refusal != SW_OK:
            return _sw(refusal)
        if offset + len(apdu.data) > len(self.holder):
            return _sw(SW_NO_SPACE)
        self.holder[offset : offset + len(apdu.data)] = apdu.data
        return _sw(SW_OK)

    def _get_data(self, apdu: _Apdu) -> bytes:
        if apdu.data:
            return _sw(SW_WRONG_LENGTH)
        if apdu.p1p2 == self.profile.serial_tag:
            return _with_le(self.serial, apdu.le)
        if apdu.p1p2 == self.profile.lifecycle_tag:
            return _with_le(bytes([self.lifecycle]), apdu.le)
        return _sw(SW_DATA_NOT_FOUND)

    def _put_data(self, apdu: _Apdu) -> bytes:
        if apdu.p1p2 == self.profile.serial_tag:
            return _sw(SW_CONDITIONS_NOT_SATISFIED)  # written at manufacture, read only
        if apdu.p1p2 != self.profile.lifecycle_tag:
            return _sw(SW_DATA_NOT_FOUND)
        if len(apdu.data) != 1:
            return _sw(SW_WRONG_LENGTH)
        refusal = self._may_write()
        if refusal != SW_OK:
            return _sw(refusal)
        if apdu.data[0] != self.profile.lifecycle_operational:
            return _sw(SW_WRONG_DATA)  # the life cycle only moves forward
        self.lifecycle = self.profile.lifecycle_operational
        return _sw(SW_OK)

    def _activate_file(self, apdu: _Apdu) -> bytes:
        if apdu.p1p2 != 0x0000:
            return _sw(SW_WRONG_P1P2)
        if apdu.data:
            return _sw(SW_WRONG_LENGTH)
        if not self.ef_selected:
            return _sw(SW_NO_CURRENT_EF)
        refusal = self._may_write()
        if refusal != SW_OK:
            return _sw(refusal)
        self.lifecycle = self.profile.lifecycle_operational
        return _sw(SW_OK)


class OtherCard(_Applet):
    """A card of another kind (an eMRTD-like chip): it knows only its own application."""

    atr = OTHER_ATR
    AID = bytes.fromhex("A0000002471001")

    def _command(self, apdu: _Apdu) -> bytes:
        if apdu.ins != 0xA4:
            return _sw(SW_INS_NOT_SUPPORTED)
        if apdu.p1 != 0x04:
            return _sw(SW_WRONG_P1P2)
        return _sw(SW_OK if apdu.data == self.AID else SW_NOT_FOUND)


def demo_holder(today: date) -> HolderRecord:
    """The holder of `clerk card emulate --demo-holder`: the demo database's first applicant."""
    issued = date(today.year - 3, 6, 1)
    return HolderRecord(
        document_number="1234567(3)",
        name_chinese="陳大文",
        name_latin="CHAN TAI MAN",
        date_of_birth=date(1978, 3, 14),
        sex="M",
        issue_date=issued,
        expiry_date=date(issued.year + 10, 6, 1),
        permanent=True,
        symbols="***",
        applications=frozenset({"library_card"}),
    )
