"""Turn a capture's RTP streams into one audio channel per party, and the channels into WAV.

Placement on the timeline follows the RTP timestamps, so a lost packet or a silence
suppressed by the sender becomes silence of the right length rather than shifting
everything after it. Streams are anchored to wall-clock time by their arrival times in
the pcap, which is what lines the two parties up against each other. A stream whose
timestamps jump (a sender restarted its clock without changing SSRC) is split where the
jump is, and each piece is anchored on its own; that also bounds the timeline by the
capture's real span, so a forged timestamp cannot make us allocate gigabytes.

Decoding never loops over packets in Python. The capture is viewed as "a row of n bytes
starting at every offset" and the WAV column as "a row of n samples starting at every
frame" (numpy stride tricks, no copies), so gathering every payload, looking each byte
up in the G.711 table and writing it at its place on the timeline is three vectorised
steps per payload size and codec. The WAV buffer starts zeroed, so whatever no packet
covers is exact digital silence.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from privline.adapters.vault.exceptions import RecordingTooLarge, UnsupportedCodecError
from privline.adapters.vault.g711 import PAYLOAD_TYPES, Samples
from privline.adapters.vault.metadata import CALLEE, CALLER
from privline.adapters.vault.pcap import Endpoint, RtpCapture, RtpStream

SAMPLE_RATE: Final = 8000
_US_PER_SAMPLE: Final = 1_000_000 // SAMPLE_RATE
# More disagreement than this between a packet's RTP timestamp and its arrival time
# (relative to its neighbour) is a clock jump, not network jitter.
MAX_JITTER_SAMPLES: Final = SAMPLE_RATE
DEFAULT_MAX_SECONDS: Final = 4 * 3600
# Comfort noise (RFC 3389) carries no speech; DTMF events' dynamic PT comes from the SDP.
DEFAULT_IGNORED_PAYLOAD_TYPES: Final = frozenset({13})
# Packets per vectorised step: bounds the temporary arrays to a few MB.
_CHUNK: Final = 16_384
_WAV_HEADER: Final = struct.Struct("<4sI4s4sIHHIIHH4sI")

UNATTRIBUTED: Final = "unattributed"

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class Track:
    """One party's G.711 packets, placed on the shared timeline but not yet decoded."""

    label: str
    source: U8  # the capture's bytes, which `offset` points into
    position: I64  # timeline sample where each packet's audio starts
    offset: I64
    length: I64
    payload_type: U8

    @property
    def packets(self) -> int:
        return len(self.position)

    def render(self, out: Samples) -> None:
        """Decode into `out`, a zeroed channel (a strided WAV column will do)."""
        if not self.packets:
            return
        if int(self.position.min()) < 0 or int((self.position + self.length).max()) > len(out):
            raise ValueError("track does not fit the channel")  # a bug, not bad input
        step = out.strides[0]
        kinds = np.unique(self.length * 256 + self.payload_type)
        for kind in kinds.tolist():
            size, payload_type = divmod(kind, 256)
            table = PAYLOAD_TYPES[payload_type].table
            chosen = (self.length == size) & (self.payload_type == payload_type)
            positions, offsets = self.position[chosen], self.offset[chosen]
            # Overlapping windows: row i is the `size` bytes (samples) starting at i. The
            # shapes stop short of the ends, so numpy's index checks keep us in bounds.
            payloads = as_strided(
                self.source,
                shape=(len(self.source) - size + 1, size),
                strides=(1, 1),
                writeable=False,
            )
            slots = as_strided(out, shape=(len(out) - size + 1, size), strides=(step, step))
            for first in range(0, len(positions), _CHUNK):
                rows = slice(first, first + _CHUNK)
                slots[positions[rows]] = table[payloads[offsets[rows]]]

    def samples(self, frames: int) -> Samples:
        """This party's channel alone, decoded (a new array)."""
        out = np.zeros(frames, dtype="<i2")
        self.render(out)
        return out


@dataclass(frozen=True, eq=False)
class DecodedCall:
    tracks: tuple[Track, ...]
    frames: int
    start_us: int  # wall-clock time of the first sample, from the pcap (0 if no audio)
    sample_rate: int = SAMPLE_RATE
    streams_used: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(track.label for track in self.tracks)

    @property
    def packets_used(self) -> int:
        return sum(track.packets for track in self.tracks)

    @property
    def wav_bytes(self) -> int:
        return _WAV_HEADER.size + self.frames * max(1, len(self.tracks)) * 2

    def wav(self) -> bytearray:
        """A 16-bit PCM WAV file, one channel per track, in memory."""
        out = bytearray(self.wav_bytes)
        self._write_wav(memoryview(out))
        return out

    def wav_into(self, buffer: bytearray) -> memoryview:
        """The same WAV, written at the start of a buffer the caller reuses.

        A worker that decodes one recording after another saves a page fault per 4 KiB
        of fresh memory this way, which costs more than the decoding itself. The result
        is valid until the buffer is used again.
        """
        size = self.wav_bytes
        if len(buffer) < size:
            buffer.extend(bytes(size - len(buffer)))
        view = memoryview(buffer)[:size]
        np.frombuffer(view, dtype=np.uint8)[:] = 0  # silence wherever no packet lands
        self._write_wav(view)
        return view

    def _write_wav(self, out: memoryview) -> None:
        channels = max(1, len(self.tracks))
        data_bytes = self.frames * channels * 2
        _WAV_HEADER.pack_into(
            out, 0,
            b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16,
            1, channels, self.sample_rate, self.sample_rate * channels * 2, channels * 2, 16,
            b"data", data_bytes,
        )  # fmt: skip
        frame = np.frombuffer(out, dtype="<i2", offset=_WAV_HEADER.size)
        frame = frame.reshape(self.frames, channels)
        for index, track in enumerate(self.tracks):
            track.render(frame[:, index])


def assign_parties(
    streams: Iterable[RtpStream], port_roles: Mapping[int, str] | None
) -> dict[str, list[RtpStream]]:
    """Group streams by party: caller, callee, then anything unattributed.

    rtpengine records what it receives, so a packet's destination port is rtpengine's
    port facing its sender; ``port_roles`` (from the metadata's SDP) names the party
    behind each such port. A stream on another port joins the party with a stream from
    the same source endpoint; if only one party has no stream and the leftovers share
    one port (metadata that caught only the answer), they are that party's. Anything
    else is kept as "unattributed": mixing two people into one channel would be worse.
    Without roles, each destination port is one party, in order of first arrival.
    """
    ordered = sorted(streams, key=lambda s: int(s.arrival_us.min()) if s.packets else 0)
    parties: dict[str, list[RtpStream]] = {}
    if not port_roles:
        ports: dict[int, str] = {}
        for stream in ordered:
            label = ports.setdefault(stream.destination.port, f"party-{len(ports) + 1}")
            parties.setdefault(label, []).append(stream)
        return parties
    for label in (CALLER, CALLEE, *port_roles.values()):
        parties.setdefault(label, [])
    sources: dict[Endpoint, str] = {}
    leftovers: list[RtpStream] = []
    for stream in ordered:
        role = port_roles.get(stream.destination.port)
        if role is None:
            leftovers.append(stream)
            continue
        parties[role].append(stream)
        sources.setdefault(stream.source, role)
    unplaced = []
    for stream in leftovers:
        if stream.source in sources:
            parties[sources[stream.source]].append(stream)
        else:
            unplaced.append(stream)
    silent = [label for label in (CALLER, CALLEE) if not parties[label]]
    if unplaced and len(silent) == 1 and len({s.destination.port for s in unplaced}) == 1:
        parties[silent[0]].extend(unplaced)
    elif unplaced:
        parties[UNATTRIBUTED] = unplaced
    return parties


def assemble(
    capture: RtpCapture,
    parties: Mapping[str, Sequence[RtpStream]],
    *,
    ignored_payload_types: frozenset[int] = DEFAULT_IGNORED_PAYLOAD_TYPES,
    max_seconds: int = DEFAULT_MAX_SECONDS,
) -> DecodedCall:
    """Lay each party's G.711 packets on one shared timeline.

    Raises UnsupportedCodecError when a stream carries anything but G.711 or an ignored
    payload type: storing silence in place of audio we cannot decode would hide it.
    """
    audio: dict[str, list[tuple[RtpStream, npt.NDArray[np.bool_]]]] = {}
    unsupported: set[int] = set()
    for label, streams in parties.items():
        audio[label] = []
        for stream in streams:
            is_audio = np.isin(stream.payload_type, list(PAYLOAD_TYPES))
            other = stream.payload_type[~is_audio]
            unsupported.update(
                int(pt) for pt in np.unique(other) if int(pt) not in ignored_payload_types
            )
            if is_audio.any():
                audio[label].append((stream, is_audio))
    if unsupported:
        names = ", ".join(str(pt) for pt in sorted(unsupported))
        raise UnsupportedCodecError(f"RTP payload types {names} are not G.711 (0 PCMU, 8 PCMA)")

    source = np.frombuffer(capture.data, dtype=np.uint8)
    arrivals = [s.arrival_us[m] for masked in audio.values() for s, m in masked]
    if not arrivals:
        return DecodedCall(
            tuple(_track(label, source, [], 0) for label in parties),
            frames=0,
            start_us=0,
            notes=("no G.711 audio in the capture",),
        )
    reference = int(min(int(a.min()) for a in arrivals))

    placed: dict[str, list[tuple[RtpStream, npt.NDArray[np.bool_], I64]]] = {}
    lowest, highest = 0, 0
    for label, masked in audio.items():
        placed[label] = []
        for stream, mask in masked:
            positions = _positions(stream.timestamp[mask], stream.arrival_us[mask], reference)
            lowest = min(lowest, int(positions.min()))
            highest = max(highest, int((positions + stream.payload_length[mask]).max()))
            placed[label].append((stream, mask, positions))
    frames = highest - lowest
    if frames > max_seconds * SAMPLE_RATE:
        raise RecordingTooLarge(
            f"recording spans {frames / SAMPLE_RATE:.0f} s, more than the {max_seconds} s allowed"
        )
    return DecodedCall(
        tuple(_track(label, source, items, lowest) for label, items in placed.items()),
        frames=frames,
        start_us=reference + lowest * _US_PER_SAMPLE,
        streams_used=sum(len(items) for items in placed.values()),
    )


def _positions(timestamp: I64, arrival_us: I64, reference_us: int) -> I64:
    """Sample position of each packet: RTP time, anchored by the earliest arrival.

    The anchor is the packet that arrived least late for its RTP time, so jitter only
    ever delays arrival and never shifts the audio. Segments split at clock jumps.
    """
    rtp = timestamp - timestamp[0]
    lag = (arrival_us - reference_us) // _US_PER_SAMPLE - rtp
    cuts = np.flatnonzero(np.abs(np.diff(lag)) > MAX_JITTER_SAMPLES) + 1
    starts = np.r_[0, cuts]
    anchor = np.minimum.reduceat(lag, starts)
    segment = np.zeros(len(lag), dtype=np.int64)
    segment[cuts] = 1
    positions: I64 = rtp + anchor[np.cumsum(segment)]
    return positions


def _track(
    label: str,
    source: U8,
    items: Sequence[tuple[RtpStream, npt.NDArray[np.bool_], I64]],
    origin: int,
) -> Track:
    # Streams stay in order of first arrival, so where two overlap (same payload size and
    # codec) the later stream's audio is the one heard.
    return Track(
        label,
        source,
        position=np.concatenate([np.zeros(0, np.int64)] + [p - origin for _, _, p in items]),
        offset=np.concatenate([np.zeros(0, np.int64)] + [s.payload_offset[m] for s, m, _ in items]),
        length=np.concatenate([np.zeros(0, np.int64)] + [s.payload_length[m] for s, m, _ in items]),
        payload_type=np.concatenate(
            [np.zeros(0, np.uint8)] + [s.payload_type[m] for s, m, _ in items]
        ),
    )
