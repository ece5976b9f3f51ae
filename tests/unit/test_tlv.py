"""BER-TLV: exact round trips (hypothesis) and strict refusal of malformed data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clerk.devices import tlv
from clerk.devices.tlv import TLV, TLVError


def _tags(constructed: bool):
    """Valid 1–3 byte tags of either kind (ISO 7816-4 strict)."""
    flag = 0x20 if constructed else 0x00
    one = st.builds(
        lambda cls, number: cls | flag | number,
        st.sampled_from([0x00, 0x40, 0x80, 0xC0]),
        st.integers(1, 30),
    ).filter(lambda t: t not in tlv.PADDING)
    # FF (private, constructed, long form) is padding and never starts a tag
    classes = st.sampled_from([0x00, 0x40, 0x80] if constructed else [0x00, 0x40, 0x80, 0xC0])
    two = st.builds(
        lambda cls, number: (cls | flag | 0x1F) << 8 | number,
        classes,
        st.integers(0x1F, 0x7F),
    )
    three = st.builds(
        lambda cls, hi, lo: (cls | flag | 0x1F) << 16 | (0x80 | hi) << 8 | lo,
        classes,
        st.integers(1, 0x7F),
        st.integers(0, 0x7F),
    )
    return st.one_of(one, two, three)


primitive = st.builds(TLV, _tags(False), st.binary(max_size=300))
objects = st.recursive(
    primitive,
    lambda children: st.builds(TLV, _tags(True), st.lists(children, max_size=4).map(tuple)),
    max_leaves=8,
)


@given(st.lists(objects, max_size=4))
def test_round_trip(items):
    data = b"".join(item.encode() for item in items)
    assert tlv.decode(data) == tuple(items)


@given(objects)
def test_header_gives_the_total_length(item):
    data = item.encode()
    assert tlv.total_length(data + b"\x00garbage") == len(data)


@given(st.binary(max_size=64))
def test_random_bytes_decode_exactly_or_fail_cleanly(data):
    try:
        decoded = tlv.decode(data)
    except TLVError:
        return
    assert b"".join(item.encode() for item in decoded) == data  # canonical: nothing lost


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x5a", "length of tag 5A is missing"),
        (b"\x5a\x03ab", "only 2 follow"),
        (b"\x5a\x80", "indefinite"),
        (b"\x5a\x81\x05abcde", "shortest form"),
        (b"\x5a\x82\x00\x05abcde", "shortest form"),
        (b"\x5a\x83\x00\x00\x01a", "at most 2"),
        (b"\x5f", "cut short"),
        (b"\x5f\x05\x00", "one-byte form"),
        (b"\x5f\x80\x20\x00", "leading zero"),
        (b"\x5f\x81\x82\x03\x00", "longer than 3"),
        (b"\x00\x00", "padding"),
        (b"\x65\x03\x5a\x05a", "only 1 follow"),
    ],
)
def test_malformed_data_is_refused_with_the_reason(data, reason):
    with pytest.raises(TLVError, match=reason):
        tlv.decode(data)


def test_long_lengths_use_81_and_82():
    assert tlv.encode(0x5A, b"x" * 127)[:2] == b"\x5a\x7f"
    assert tlv.encode(0x5A, b"x" * 128)[:3] == b"\x5a\x81\x80"
    assert tlv.encode(0x5A, b"x" * 256)[:4] == b"\x5a\x82\x01\x00"
    with pytest.raises(TLVError):
        tlv.encode_length(0x10000)


def test_tags_are_checked_when_encoding():
    with pytest.raises(TLVError, match="constructed"):
        tlv.encode(0x65, b"")
    with pytest.raises(TLVError, match="primitive"):
        tlv.encode_constructed(0x5A, [])
    with pytest.raises(TLVError, match="one-byte form"):
        tlv.tag_bytes(0xDF01)
    assert tlv.tag_hex(0x5F20) == "5F20"
    assert tlv.is_constructed(0x65) and not tlv.is_constructed(0xDF30)


def test_decode_one_wants_exactly_one_object():
    assert tlv.decode_one(b"\x5a\x01a") == TLV(0x5A, b"a")
    with pytest.raises(TLVError, match="found 2"):
        tlv.decode_one(b"\x5a\x01a\x5a\x01b")
