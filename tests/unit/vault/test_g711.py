"""The G.711 tables equal the ITU-T reference decoder, entry by entry."""

from __future__ import annotations

import numpy as np
import pytest

from privline.adapters.vault.g711 import Law, decode, law_for_payload_type


def itu_ulaw_expand(code: int) -> int:
    """ITU-T G.191 STL ``ulaw_expand`` (g711.c), transcribed loop body for one sample."""
    sign = -1 if code < 0x80 else 1
    mantissa = ~code
    exponent = (mantissa >> 4) & 0x07
    segment = exponent + 1
    mantissa = mantissa & 0x0F
    step = 4 << segment
    return sign * ((0x80 << exponent) + step * mantissa + step // 2 - 4 * 33)


def itu_alaw_expand(code: int) -> int:
    """ITU-T G.191 STL ``alaw_expand`` (g711.c), transcribed loop body for one sample."""
    ix = code ^ 0x55
    ix &= 0x7F
    iexp = ix >> 4
    mant = ix & 0x0F
    if iexp > 0:
        mant = mant + 16
    mant = (mant << 4) + 0x08
    if iexp > 1:
        mant = mant << (iexp - 1)
    return mant if code > 127 else -mant


@pytest.mark.parametrize(
    ("law", "reference"), [(Law.MULAW, itu_ulaw_expand), (Law.ALAW, itu_alaw_expand)]
)
def test_every_table_entry_matches_the_itu_reference(law, reference):
    expected = [reference(code) for code in range(256)]
    assert law.table.tolist() == expected


def test_known_values_pin_the_scale_and_the_sign():
    # mu-law 0xFF and 0x7F are the two zeros; 0x80/0x00 the extremes (+-32124).
    assert Law.MULAW.table[[0xFF, 0x7F, 0x80, 0x00]].tolist() == [0, 0, 32124, -32124]
    # A-law has no zero: 0xD5/0x55 are +-8, 0xAA/0x2A the extremes (+-32256).
    assert Law.ALAW.table[[0xD5, 0x55, 0xAA, 0x2A]].tolist() == [8, -8, 32256, -32256]


@pytest.mark.parametrize("law", list(Law))
def test_the_sign_bit_mirrors_the_magnitude(law):
    codes = np.arange(256)
    assert (law.table[codes] == -law.table[codes ^ 0x80]).all()


@pytest.mark.parametrize("law", list(Law))
def test_tables_are_little_endian_int16_and_read_only(law):
    assert law.table.dtype == np.dtype("<i2")
    with pytest.raises(ValueError, match="read-only"):
        law.table[0] = 1


def test_decode_maps_each_byte_through_its_table():
    codes = bytes(range(256)) * 3
    assert decode(codes, Law.ALAW).tolist() == [itu_alaw_expand(c) for c in codes]
    assert decode(memoryview(codes), Law.MULAW).tolist() == [itu_ulaw_expand(c) for c in codes]


def test_payload_types_are_the_rfc_3551_static_ones():
    assert law_for_payload_type(0) is Law.MULAW
    assert law_for_payload_type(8) is Law.ALAW
    assert law_for_payload_type(9) is None  # G.722: not G.711
