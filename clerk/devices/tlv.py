"""BER-TLV as ISO/IEC 7816-4 uses it on smart cards: strict encoding and decoding.

A tag is kept as an int of its bytes (`0x5F20`, `0x65`); its first byte says the class and whether
it is constructed (bit 6, 0x20). Tags are 1 to 3 bytes; lengths are definite, 0 to 65535, in the
shortest form (`81 xx` only from 128, `82 xx xx` only from 256). Anything else is refused with a
`TLVError` naming the offset: a card that answers garbage must not be half-understood.

Decoding is exact: `encode(decode(data)) == data` for every `data` that decodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_TAG_BYTES = 3
MAX_LENGTH = 0xFFFF
CONSTRUCTED = 0x20
PADDING = (0x00, 0xFF)  # bytes ISO 7816-4 allows around data objects; never a first tag byte


class TLVError(ValueError):
    """Malformed BER-TLV (the message says what and where)."""


@dataclass(frozen=True)
class TLV:
    """One data object: `value` is bytes (primitive) or a tuple of children (constructed)."""

    tag: int
    value: bytes | tuple[TLV, ...]

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def encode(self) -> bytes:
        if isinstance(self.value, tuple):
            return encode_constructed(self.tag, (child.encode() for child in self.value))
        return encode(self.tag, self.value)


def tag_bytes(tag: int) -> bytes:
    """The bytes of a tag, checked: `0x5F20` → b'\\x5f\\x20'."""
    if not isinstance(tag, int) or isinstance(tag, bool) or tag <= 0:
        raise TLVError(f"not a tag: {tag!r}")
    raw = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    _check_tag(raw, 0)
    return raw


def is_constructed(tag: int) -> bool:
    return bool(tag_bytes(tag)[0] & CONSTRUCTED)


def tag_hex(tag: int) -> str:
    return tag_bytes(tag).hex().upper()


def _check_tag(raw: bytes, offset: int) -> None:
    """Raise unless `raw` is exactly one well-formed tag."""
    first = raw[0]
    if first in PADDING:
        raise TLVError(f"offset {offset}: {first:02X} is padding, not a tag")
    if first & 0x1F != 0x1F:
        if len(raw) != 1:
            raise TLVError(f"offset {offset}: tag {raw.hex().upper()} has a one-byte form")
        return
    rest = raw[1:]
    if not rest:
        raise TLVError(f"offset {offset}: tag {first:02X} announces more bytes; none follow")
    if len(raw) > MAX_TAG_BYTES:
        raise TLVError(f"offset {offset}: tag {raw.hex().upper()} is longer than 3 bytes")
    if rest[0] == 0x80:
        raise TLVError(f"offset {offset}: tag {raw.hex().upper()} has a leading zero")
    if any(not b & 0x80 for b in rest[:-1]) or rest[-1] & 0x80:
        raise TLVError(f"offset {offset}: tag {raw.hex().upper()} is not well formed")
    if len(rest) == 1 and rest[0] < 0x1F:
        raise TLVError(f"offset {offset}: tag {raw.hex().upper()} must use the one-byte form")


def encode_length(length: int) -> bytes:
    if not 0 <= length <= MAX_LENGTH:
        raise TLVError(f"length {length} is outside 0–{MAX_LENGTH}")
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    return bytes([0x82]) + length.to_bytes(2, "big")


def encode(tag: int, value: bytes) -> bytes:
    """A primitive data object."""
    raw = tag_bytes(tag)
    if raw[0] & CONSTRUCTED:
        raise TLVError(f"tag {raw.hex().upper()} is constructed; give its children")
    return raw + encode_length(len(value)) + bytes(value)


def encode_constructed(tag: int, children: Iterable[bytes]) -> bytes:
    """A constructed data object around already encoded children."""
    raw = tag_bytes(tag)
    if not raw[0] & CONSTRUCTED:
        raise TLVError(f"tag {raw.hex().upper()} is primitive; give its value")
    body = b"".join(children)
    return raw + encode_length(len(body)) + body


def read_header(data: bytes, offset: int = 0) -> tuple[int, int, int]:
    """(tag, offset of the value, length of the value) of the object starting at `offset`.

    Needs only the tag and length bytes, so a reader can learn how much more to fetch.
    """
    if offset >= len(data):
        raise TLVError(f"offset {offset}: a tag was expected; the data ends")
    end = offset + 1
    if data[offset] & 0x1F == 0x1F:
        while True:
            if end >= len(data):
                raise TLVError(f"offset {offset}: the tag is cut short")
            end += 1
            if not data[end - 1] & 0x80:
                break
            if end - offset >= MAX_TAG_BYTES:
                raise TLVError(f"offset {offset}: tag longer than {MAX_TAG_BYTES} bytes")
    raw = bytes(data[offset:end])
    _check_tag(raw, offset)
    tag = int.from_bytes(raw, "big")
    if end >= len(data):
        raise TLVError(f"offset {end}: the length of tag {raw.hex().upper()} is missing")
    first = data[end]
    if first < 0x80:
        return tag, end + 1, first
    count = first & 0x7F
    if first == 0x80:
        raise TLVError(f"offset {end}: indefinite length is not allowed")
    if count > 2:
        raise TLVError(f"offset {end}: length field of {count} bytes (at most 2)")
    if end + 1 + count > len(data):
        raise TLVError(f"offset {end}: the length field is cut short")
    length = int.from_bytes(data[end + 1 : end + 1 + count], "big")
    if encode_length(length) != bytes(data[end : end + 1 + count]):
        raise TLVError(f"offset {end}: length {length} is not in its shortest form")
    return tag, end + 1 + count, length


def total_length(data: bytes) -> int:
    """How many bytes the first object of `data` takes (header and value)."""
    _tag, value_at, length = read_header(data)
    return value_at + length


def decode(data: bytes) -> tuple[TLV, ...]:
    """Every object in `data`, which must hold nothing else."""
    data = bytes(data)
    return _decode_range(data, 0, len(data))


def decode_one(data: bytes) -> TLV:
    """Exactly one object."""
    objects = decode(data)
    if len(objects) != 1:
        raise TLVError(f"expected one data object, found {len(objects)}")
    return objects[0]


def _decode_range(data: bytes, start: int, stop: int) -> tuple[TLV, ...]:
    objects: list[TLV] = []
    offset = start
    while offset < stop:
        tag, value_at, length = read_header(data[:stop], offset)
        end = value_at + length
        if end > stop:
            raise TLVError(
                f"offset {offset}: tag {tag_hex(tag)} says {length} bytes; "
                f"only {stop - value_at} follow"
            )
        if is_constructed(tag):
            objects.append(TLV(tag, _decode_range(data, value_at, end)))
        else:
            objects.append(TLV(tag, data[value_at:end]))
        offset = end
    return tuple(objects)
