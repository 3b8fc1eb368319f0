"""G.711 decoding (mu-law and A-law) by 256-entry lookup table.

``audioop`` did this until Python 3.13 removed it. A G.711 code is one byte, so the
whole codec is a table of 256 16-bit samples; numpy indexes it at memory speed. The
tables are computed once at import from the closed forms below (the same values as ITU-T
G.191's ``ulaw_expand``/``alaw_expand``, i.e. 16-bit left-justified samples: mu-law
spans +-32124, A-law +-32256); tests check every entry against a port of the reference.
"""

from __future__ import annotations

import enum
from typing import Final

import numpy as np
import numpy.typing as npt

# Samples are little-endian int16 ("<i2") whatever the host, because WAV is.
Samples = npt.NDArray[np.int16]
Codes = npt.NDArray[np.uint8]


def _mulaw_table() -> Samples:
    # The code is sent bit-inverted; after inverting: sign(1) exponent(3) mantissa(4).
    inverted = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84  # 0x84: the mu-law bias
    table: Samples = np.where(inverted & 0x80, -magnitude, magnitude).astype("<i2")
    return table  # WAV is little-endian; so is every sample we hand out


def _alaw_table() -> Samples:
    # Even bits are toggled on the wire (XOR 0x55); the top bit set means positive.
    toggled = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (toggled >> 4) & 0x07
    mantissa = toggled & 0x0F
    # Half a quantisation step (8) is added so decoding lands mid-interval; segments
    # above 0 carry an implicit leading one (0x100).
    magnitude = (mantissa << 4) + 8 + np.where(segment > 0, 0x100, 0)
    magnitude = magnitude << np.maximum(segment - 1, 0)
    table: Samples = np.where(toggled & 0x80, magnitude, -magnitude).astype("<i2")
    return table  # WAV is little-endian; so is every sample we hand out


class Law(enum.Enum):
    """A G.711 companding law, with its RTP static payload type (RFC 3551)."""

    MULAW = "PCMU"
    ALAW = "PCMA"

    @property
    def payload_type(self) -> int:
        return 0 if self is Law.MULAW else 8

    @property
    def table(self) -> Samples:
        return _TABLES[self]


_TABLES: Final[dict[Law, Samples]] = {Law.MULAW: _mulaw_table(), Law.ALAW: _alaw_table()}
for _table in _TABLES.values():
    _table.flags.writeable = False  # shared by every caller: a stray write would corrupt all audio

PAYLOAD_TYPES: Final[dict[int, Law]] = {law.payload_type: law for law in Law}


def law_for_payload_type(payload_type: int) -> Law | None:
    """The G.711 law for a static RTP payload type, or None for any other codec."""
    return PAYLOAD_TYPES.get(payload_type)


def decode(codes: bytes | bytearray | memoryview | Codes, law: Law) -> Samples:
    """Decode G.711 bytes to 16-bit linear samples (a new array)."""
    array = codes if isinstance(codes, np.ndarray) else np.frombuffer(codes, dtype=np.uint8)
    return law.table[array]
