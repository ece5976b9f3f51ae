"""The card profile (`data/card_profile.toml`) and what depends on it: the holder record's bytes
and the commands that read, write and lock it.

- `load_profile(path)` reads and checks the file; a malformed one fails with `file:line: reason`.
- `encode_record(profile, holder)` / `decode_record(profile, data)`: `HolderRecord` ↔ BER-TLV.
- `CardSession(connection, profile)`: SELECT, GET DATA (serial, life cycle), VERIFY, READ and
  UPDATE BINARY in chunks, lock. Status words become `clerk.errors` exceptions with one line.

Plain data in, plain data out: no database, no screens.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from clerk.devices import tlv
from clerk.devices.reader import (
    SW_BLOCKED,
    SW_CLA_NOT_SUPPORTED,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_END_OF_FILE,
    SW_INS_NOT_SUPPORTED,
    SW_NOT_FOUND,
    SW_OK,
    SW_WRONG_P1P2,
    CardFailure,
    CardRefusal,
    Connection,
    describe_sw,
)
from clerk.errors import Failure, UsageError
from clerk.i18n import N_

PROFILE_FILE = "card_profile.toml"
LOCK_METHODS = ("activate-file", "lifecycle-put-data")
FIELD_KINDS = {
    "document_number": "ascii",
    "name_chinese": "utf8",
    "name_latin": "utf8",
    "date_of_birth": "date",
    "sex": "sex",
    "issue_date": "date",
    "expiry_date": "date",
    "permanent": "flag",
    "symbols": "ascii",
    "condition_of_stay": "utf8",
    "limit_of_stay": "date",
    "applications": "applications",
}
FIXED_LENGTH = {"date": 8, "sex": 1, "flag": 1, "applications": 1}
SEXES = ("M", "F", "X", "")


class CardProfileError(Failure):
    """The profile file is malformed (file, line and reason in the message)."""


# --- the profile -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    tag: int
    kind: str
    max_length: int


@dataclass(frozen=True)
class CardProfile:
    path: Path
    name: str
    version: str
    aid: bytes
    holder_file: int
    holder_size: int
    serial_tag: int
    lifecycle_tag: int
    lifecycle_personalisation: int
    lifecycle_operational: int
    pin_secret: str
    pin_reference: int
    pin_block: int
    pin_padding: int
    write_needs_verify: bool
    chunk_size: int
    lock_method: str
    validity_years: int
    template: int
    fields: tuple[FieldSpec, ...]
    applications: dict[str, int]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def max_record_length(self) -> int:
        body = sum(len(_header(f.tag, f.max_length)) + f.max_length for f in self.fields)
        return len(_header(self.template, body)) + body


def _header(tag: int, length: int) -> bytes:
    return tlv.tag_bytes(tag) + tlv.encode_length(length)


def default_profile_path() -> Path:
    from clerk.paths import data_dir

    return data_dir() / PROFILE_FILE


def load_profile(path: str | Path | None = None) -> CardProfile:
    """The profile at `path` (default `data/card_profile.toml`), checked; cached until edited."""
    path = Path(path) if path is not None else default_profile_path()
    try:
        stat = path.stat()
    except OSError as exc:
        raise CardProfileError(f"{path}: cannot read the card profile ({exc.strerror})") from None
    return _load(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load(path: Path, _mtime: int, _size: int) -> CardProfile:
    from clerk.domain.policy.loader import PolicyDataError, parse

    try:
        return _read(parse(path).root(), path)
    except PolicyDataError as exc:
        raise CardProfileError(exc.message) from None


def _hex(node, minimum: int, maximum: int) -> bytes:
    text = node.string().replace(" ", "")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise node.fail(f"{node.value!r} is not hexadecimal bytes") from None
    if not minimum <= len(raw) <= maximum:
        raise node.fail(f"expected {minimum}–{maximum} bytes, got {len(raw)}")
    return raw


def _tag(node, *, constructed: bool) -> int:
    raw = _hex(node, 1, tlv.MAX_TAG_BYTES)
    tag = int.from_bytes(raw, "big")
    try:
        if tlv.tag_bytes(tag) != raw:
            raise tlv.TLVError("not in its shortest form")
        if tlv.is_constructed(tag) != constructed:
            kind = "constructed" if constructed else "primitive"
            raise tlv.TLVError(f"must be a {kind} tag")
    except tlv.TLVError as exc:
        raise node.fail(f"bad BER-TLV tag {node.value!r}: {exc}") from None
    return tag


def _byte(node) -> int:
    value = node.whole()
    if value > 0xFF:
        raise node.fail(f"{value} does not fit in one byte")
    return value


def _file_id(node) -> int:
    file_id = int.from_bytes(_hex(node, 2, 2), "big")
    if file_id in (0x3F00, 0x3FFF, 0xFFFF):
        raise node.fail(f"{file_id:04X} is reserved (ISO 7816-4)")
    return file_id


def _read(root, path: Path) -> CardProfile:
    from clerk.secrets import KNOWN

    sections = (
        "profile",
        "application",
        "files",
        "data_objects",
        "lifecycle",
        "access",
        "transfer",
        "lock",
        "validity",
        "record",
    )
    root.table(required=sections)
    meta = root.child("profile").table(required=("name", "version"))
    files = root.child("files").table(required=("holder", "holder_size"))
    objects = root.child("data_objects").table(required=("serial", "lifecycle"))
    cycle = root.child("lifecycle").table(required=("personalisation", "operational"))
    access = root.child("access").table(
        required=("secret", "reference", "block_length", "padding", "write_needs_verify")
    )
    record = root.child("record").table(required=("template", "field", "applications"))
    holder_size = files.child("holder_size").whole(16)
    if holder_size > 0x7FFF:
        raise files.child("holder_size").fail("an EF addressed by READ BINARY holds ≤ 32767")
    chunk = root.child("transfer").table(required=("chunk_size",)).child("chunk_size")
    chunk_size = chunk.whole(1)
    if chunk_size > 255:
        raise chunk.fail("a short APDU carries at most 255 bytes")
    personalisation = _byte(cycle.child("personalisation"))
    operational = _byte(cycle.child("operational"))
    if personalisation == operational:
        raise cycle.child("operational").fail("must differ from the personalisation value")
    block = access.child("block_length")
    if not 4 <= block.whole() <= 16:
        raise block.fail("a PIN block is 4–16 bytes")
    years = root.child("validity").table(required=("years",)).child("years").whole(1)
    profile = CardProfile(
        path=path,
        name=meta.child("name").string(),
        version=meta.child("version").string(),
        aid=_hex(root.child("application").table(required=("aid",)).child("aid"), 5, 16),
        holder_file=_file_id(files.child("holder")),
        holder_size=holder_size,
        serial_tag=_tag(objects.child("serial"), constructed=False),
        lifecycle_tag=_tag(objects.child("lifecycle"), constructed=False),
        lifecycle_personalisation=personalisation,
        lifecycle_operational=operational,
        pin_secret=access.child("secret").choice(KNOWN),
        pin_reference=_byte(access.child("reference")),
        pin_block=block.value,
        pin_padding=_byte(access.child("padding")),
        write_needs_verify=access.child("write_needs_verify").boolean(),
        chunk_size=chunk_size,
        lock_method=root.child("lock")
        .table(required=("method",))
        .child("method")
        .choice(LOCK_METHODS),
        validity_years=years,
        template=_tag(record.child("template"), constructed=True),
        fields=_read_fields(record.child("field")),
        applications=_read_applications(record.child("applications")),
    )
    for key in ("serial", "lifecycle"):
        if len(tlv.tag_bytes(getattr(profile, f"{key}_tag"))) != 2:
            raise objects.child(key).fail("GET DATA addresses a two-byte tag (P1 P2)")
    if profile.max_record_length > holder_size:
        raise files.child("holder_size").fail(
            f"the holder record may take {profile.max_record_length} bytes; "
            f"the file holds {holder_size}"
        )
    return profile


def _read_fields(node) -> tuple[FieldSpec, ...]:
    specs: list[FieldSpec] = []
    seen_tags: dict[int, str] = {}
    for item in node.items():
        item.table(required=("name", "tag", "kind", "max_length"))
        name = item.child("name").choice(tuple(FIELD_KINDS))
        if any(spec.name == name for spec in specs):
            raise item.child("name").fail(f"field {name!r} appears twice")
        kind = item.child("kind").string()
        if kind != FIELD_KINDS[name]:
            raise item.child("kind").fail(f"{name} is of kind {FIELD_KINDS[name]!r}, not {kind!r}")
        tag = _tag(item.child("tag"), constructed=False)
        if tag in seen_tags:
            raise item.child("tag").fail(f"tag {tlv.tag_hex(tag)} is {seen_tags[tag]}'s already")
        seen_tags[tag] = name
        length_node = item.child("max_length")
        max_length = length_node.whole(1)
        fixed = FIXED_LENGTH.get(kind)
        if fixed is not None and max_length != fixed:
            raise length_node.fail(f"a {kind} field takes exactly {fixed} bytes")
        specs.append(FieldSpec(name, tag, kind, max_length))
    missing = [name for name in FIELD_KINDS if all(spec.name != name for spec in specs)]
    if missing:
        raise node.fail(f"missing holder fields: {', '.join(missing)}")
    return tuple(specs)


def _read_applications(node) -> dict[str, int]:
    node.table(optional=tuple(node.key_names()))
    bits: dict[str, int] = {}
    for name in node.key_names():
        bit = node.child(name).whole()
        if bit > 7:
            raise node.child(name).fail("a bit number is 0–7")
        if bit in bits.values():
            raise node.child(name).fail(f"bit {bit} is used twice")
        bits[name] = bit
    return bits


# --- the holder record -------------------------------------------------------------------------


@dataclass(frozen=True)
class HolderRecord:
    """What the chip holds about its holder; empty text or None means "none"."""

    document_number: str
    name_chinese: str
    name_latin: str
    date_of_birth: date | None
    sex: str
    issue_date: date | None
    expiry_date: date | None  # None: the card does not expire
    permanent: bool
    symbols: str = ""
    condition_of_stay: str = ""
    limit_of_stay: date | None = None
    applications: frozenset[str] = frozenset()


class RecordError(UsageError):
    """A holder value the card cannot take (too long, wrong characters)."""


class DamagedRecord(CardFailure):
    """The bytes on the card are not a holder record of this profile."""


def _encode_value(spec: FieldSpec, value: object, profile: CardProfile) -> bytes:
    kind = spec.kind
    if kind == "date":
        raw = value.strftime("%Y%m%d").encode() if value is not None else b""  # type: ignore[union-attr]
    elif kind == "flag":
        raw = b"\x01" if value else b"\x00"
    elif kind == "applications":
        unknown = sorted(set(value) - set(profile.applications))  # type: ignore[arg-type]
        if unknown:
            valid = ", ".join(profile.applications)
            raise RecordError(f"unknown application {unknown[0]!r} (valid: {valid})")
        raw = bytes([sum(1 << profile.applications[name] for name in value)])  # type: ignore[union-attr]
    else:
        text = str(value)
        if kind == "sex" and text not in SEXES:
            raise RecordError(f"sex must be M, F or X, not {text!r}")
        if any(not ch.isprintable() for ch in text):
            raise RecordError(f"{spec.name} holds a control character")
        if kind in ("ascii", "sex") and not text.isascii():
            raise RecordError(f"{spec.name} must be plain ASCII (Latin letters), not {text!r}")
        raw = text.encode("utf-8")
    if len(raw) > spec.max_length:
        raise RecordError(
            f"{spec.name} takes {len(raw)} bytes; the card holds at most {spec.max_length}"
        )
    return raw


def encode_record(profile: CardProfile, holder: HolderRecord) -> bytes:
    """The record's BER-TLV bytes, every field in the profile's order."""
    children = (
        tlv.encode(spec.tag, _encode_value(spec, getattr(holder, spec.name), profile))
        for spec in profile.fields
    )
    return tlv.encode_constructed(profile.template, children)


def _decode_value(spec: FieldSpec, raw: bytes, profile: CardProfile) -> object:
    kind = spec.kind
    if len(raw) > spec.max_length:
        raise ValueError(f"{spec.name} is longer than {spec.max_length} bytes")
    if kind == "date":
        if not raw:
            return None
        text = raw.decode("ascii")
        if not text.isdigit():
            raise ValueError(f"{spec.name} is not a date")
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if kind == "flag":
        if raw not in (b"\x00", b"\x01"):
            raise ValueError(f"{spec.name} is not 00 or 01")
        return raw == b"\x01"
    if kind == "applications":
        if len(raw) != 1:
            raise ValueError(f"{spec.name} is not one byte")
        known = {name for name, bit in profile.applications.items() if raw[0] >> bit & 1}
        if raw[0] & ~sum(1 << bit for bit in profile.applications.values()):
            raise ValueError(f"{spec.name} has bits this profile does not know")
        return frozenset(known)
    text = raw.decode("ascii" if kind in ("ascii", "sex") else "utf-8")
    if kind == "sex" and text not in SEXES:
        raise ValueError(f"sex {text!r} is not M, F or X")
    return text


def decode_record(profile: CardProfile, data: bytes) -> HolderRecord:
    """The holder record in `data` (exactly one template); `DamagedRecord` if it is not one."""
    try:
        top = tlv.decode_one(data)
        if top.tag != profile.template:
            raise ValueError(f"template {tlv.tag_hex(top.tag)} instead of {profile.template:X}")
        by_tag = {spec.tag: spec for spec in profile.fields}
        values: dict[str, object] = {}
        for child in top.value:
            spec = by_tag.get(child.tag)
            if spec is None:
                raise ValueError(f"unknown tag {tlv.tag_hex(child.tag)}")
            if spec.name in values:
                raise ValueError(f"{spec.name} appears twice")
            values[spec.name] = _decode_value(spec, child.value, profile)  # type: ignore[arg-type]
        missing = [spec.name for spec in profile.fields if spec.name not in values]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return HolderRecord(**values)  # type: ignore[arg-type]
    except (tlv.TLVError, ValueError, UnicodeDecodeError) as exc:
        raise _damaged(str(exc)) from None


def data_hash(record: bytes) -> str:
    return hashlib.sha256(record).hexdigest()


# --- talking to the card -----------------------------------------------------------------------


class WrongCardKind(CardRefusal):
    pass


class WrongPin(CardRefusal):
    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template, **params)
        self.tries_left = int(params["tries"])  # type: ignore[call-overload]


class CardBlocked(CardRefusal):
    pass


class CardLocked(CardRefusal):
    pass


class CardCommandFailed(CardFailure):
    pass


class CardSession:
    """The commands of the profile on one connection (selects the application first)."""

    def __init__(self, connection: Connection, profile: CardProfile):
        self.connection = connection
        self.profile = profile
        self.apdus = 0

    def _send(self, apdu: bytes) -> tuple[bytes, int]:
        self.apdus += 1
        return self.connection.transmit(apdu)

    def _expect(self, what: str, apdu: bytes, ok: tuple[int, ...] = (SW_OK,)) -> bytes:
        data, sw = self._send(apdu)
        if sw not in ok:
            raise _refused(what, sw)
        return data

    def select(self) -> None:
        aid = self.profile.aid
        _data, sw = self._send(bytes([0x00, 0xA4, 0x04, 0x0C, len(aid)]) + aid)
        if sw in (SW_NOT_FOUND, SW_WRONG_P1P2, SW_INS_NOT_SUPPORTED, SW_CLA_NOT_SUPPORTED):
            raise WrongCardKind(
                N_(
                    "this is not a {profile} (the card has no application {aid}: {status}); "
                    "insert the right card"
                ),
                profile=self.profile.name,
                aid=aid.hex().upper(),
                status=describe_sw(sw),
            )
        if sw != SW_OK:
            raise _refused("SELECT", sw)

    def _get_data(self, tag: int, what: str) -> bytes:
        p1, p2 = tlv.tag_bytes(tag)
        return self._expect(f"GET DATA {what}", bytes([0x00, 0xCA, p1, p2, 0x00]))

    def serial(self) -> bytes:
        return self._get_data(self.profile.serial_tag, "serial")

    def locked(self) -> bool:
        state = self._get_data(self.profile.lifecycle_tag, "lifecycle")
        return state == bytes([self.profile.lifecycle_operational])

    def _pin_status(self) -> int | None:
        """Tries left (None: already verified in this session)."""
        _data, sw = self._send(bytes([0x00, 0x20, 0x00, self.profile.pin_reference]))
        if sw == SW_OK:
            return None
        if sw == SW_BLOCKED:
            return 0
        if sw & 0xFFF0 == 0x63C0:
            return sw & 0x0F
        raise _refused("VERIFY", sw)

    def verify(self, pin: str) -> None:
        """One VERIFY at most: a wrong PIN stops here (real cards block after a few)."""
        block = pin.encode("ascii", "replace")
        if not pin.isascii() or not 0 < len(block) <= self.profile.pin_block:
            raise CardFailure(
                N_("the secret {secret} is not a PIN of 1–{n} ASCII characters"),
                secret=self.profile.pin_secret,
                n=self.profile.pin_block,
            )
        tries = self._pin_status()
        if tries is None:
            return
        if tries == 0:
            raise _blocked()
        block = block.ljust(self.profile.pin_block, bytes([self.profile.pin_padding]))
        ref = self.profile.pin_reference
        _data, sw = self._send(bytes([0x00, 0x20, 0x00, ref, len(block)]) + block)
        if sw == SW_OK:
            return
        if sw == SW_BLOCKED or sw == 0x63C0:
            raise _blocked()
        if sw & 0xFFF0 == 0x63C0:
            raise WrongPin(
                N_(
                    "the card refused the PIN ({secret}); {tries} tries left. Stopped after "
                    "one attempt: check the secret before trying again"
                ),
                secret=self.profile.pin_secret,
                tries=sw & 0x0F,
            )
        raise _refused("VERIFY", sw)

    def select_holder_file(self) -> None:
        fid = self.profile.holder_file.to_bytes(2, "big")
        self._expect("SELECT holder file", bytes([0x00, 0xA4, 0x02, 0x0C, 0x02]) + fid)

    def _read(self, offset: int, length: int) -> bytes:
        apdu = bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, length & 0xFF])
        data = self._expect("READ BINARY", apdu, (SW_OK, SW_END_OF_FILE))
        if not data:
            raise _damaged(f"nothing to read at offset {offset}")
        return data

    def read_bytes(self, length: int) -> bytes:
        """`length` bytes of the holder file from offset 0, in chunks."""
        out = bytearray()
        while len(out) < length:
            out += self._read(len(out), min(self.profile.chunk_size, length - len(out)))
        return bytes(out[:length])

    def read_record(self) -> bytes | None:
        """The record's bytes as the card holds them; None for a blank card."""
        self.select_holder_file()
        first = self._read(0, min(self.profile.chunk_size, self.profile.holder_size))
        if first[0] in tlv.PADDING:
            return None
        try:
            total = tlv.total_length(first)
        except tlv.TLVError as exc:
            raise _damaged(str(exc)) from None
        if total > self.profile.holder_size:
            raise _damaged(f"it claims {total} bytes")
        if total <= len(first):
            return first[:total]
        return first + self.read_bytes(total)[len(first) :]

    def write_record(self, record: bytes) -> int:
        """UPDATE BINARY in chunks from offset 0; the number of commands sent."""
        if len(record) > self.profile.holder_size:
            raise RecordError(
                f"the record takes {len(record)} bytes; the card holds {self.profile.holder_size}"
            )
        self.select_holder_file()
        chunks = 0
        for offset in range(0, len(record), self.profile.chunk_size):
            part = record[offset : offset + self.profile.chunk_size]
            apdu = bytes([0x00, 0xD6, offset >> 8, offset & 0xFF, len(part)]) + part
            self._expect_write("UPDATE BINARY", apdu)
            chunks += 1
        return chunks

    def _expect_write(self, what: str, apdu: bytes) -> None:
        _data, sw = self._send(apdu)
        if sw == SW_CONDITIONS_NOT_SATISFIED:
            raise card_locked()
        if sw != SW_OK:
            raise _refused(what, sw)

    def lock(self) -> None:
        if self.profile.lock_method == "activate-file":
            self.select_holder_file()
            self._expect_write("ACTIVATE FILE", bytes([0x00, 0x44, 0x00, 0x00]))
        else:
            p1, p2 = tlv.tag_bytes(self.profile.lifecycle_tag)
            value = bytes([self.profile.lifecycle_operational])
            self._expect_write("PUT DATA lifecycle", bytes([0x00, 0xDA, p1, p2, 1]) + value)


def _refused(command: str, sw: int) -> CardCommandFailed:
    return CardCommandFailed(
        N_("the card refused {command}: {status}"), command=command, status=describe_sw(sw)
    )


def _damaged(reason: str) -> DamagedRecord:
    return DamagedRecord(
        N_("the holder record on the card is damaged or of another profile ({reason})"),
        reason=reason,
    )


def card_locked() -> CardLocked:
    return CardLocked(N_("the card is locked: it was personalised already; use a new card"))


def _blocked() -> CardBlocked:
    return CardBlocked(
        N_("the card is blocked (no PIN tries left); it cannot be personalised any more")
    )


def first_difference(a: bytes, b: bytes) -> int | None:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return None if len(a) == len(b) else min(len(a), len(b))
