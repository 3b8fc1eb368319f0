"""Build pcap files byte by byte with struct, the way rtpengine writes them.

Used by the vault tests and by bench/bench_vault.py. Nothing here reads a real capture:
every byte is known, so a test can say exactly which sample must come out where.
"""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
CALLER_PORT = 41014  # rtpengine's port facing the caller: the caller's media arrives here
CALLEE_PORT = 41000  # rtpengine's port facing the callee


@dataclass(frozen=True)
class Rtp:
    payload: bytes
    seq: int
    ts: int
    ssrc: int
    pt: int = 8
    marker: bool = False
    csrc: Sequence[int] = ()
    extension: bytes | None = None  # a multiple of 4 bytes
    padding: int = 0

    def encode(self) -> bytes:
        first = 0x80 | len(self.csrc) | (0x10 if self.extension is not None else 0)
        first |= 0x20 if self.padding else 0
        out = struct.pack(
            "!BBHII", first, (0x80 if self.marker else 0) | self.pt, self.seq & 0xFFFF,
            self.ts & 0xFFFFFFFF, self.ssrc,
        )  # fmt: skip
        out += b"".join(struct.pack("!I", c) for c in self.csrc)
        if self.extension is not None:
            out += struct.pack("!HH", 0xBEDE, len(self.extension) // 4) + self.extension
        out += self.payload
        if self.padding:
            out += bytes(self.padding - 1) + bytes([self.padding])
        return out


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    # Checksum 0 ("none"), as rtpengine writes it.
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(src: str, dst: str, payload: bytes, *, proto: int = 17, flags_frag: int = 0) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, flags_frag, 64, proto, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )  # fmt: skip
    return header + payload


def ipv6(src: str, dst: str, payload: bytes, *, next_header: int = 17) -> bytes:
    header = struct.pack(
        "!IHBB16s16s", 6 << 28, len(payload), next_header, 64,
        socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst),
    )  # fmt: skip
    return header + payload


def ethernet(packet: bytes, *, vlan: int | None = None, pad_to: int = 0) -> bytes:
    ethertype = 0x86DD if packet[0] >> 4 == 6 else 0x0800
    head = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02"
    if vlan is not None:
        head += struct.pack("!HH", 0x8100, vlan)
    frame = head + struct.pack("!H", ethertype) + packet
    return frame + bytes(max(0, pad_to - len(frame)))


def pcap(
    records: Iterable[tuple[int, bytes]],
    *,
    link_type: int = LINKTYPE_RAW,
    endian: str = "<",
    nano: bool = False,
) -> bytes:
    """A classic pcap of (arrival in microseconds, frame) records."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    parts = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, link_type)]
    for arrival_us, frame in records:
        seconds, micros = divmod(arrival_us, 1_000_000)
        fraction = micros * 1000 if nano else micros
        parts.append(struct.pack(endian + "IIII", seconds, fraction, len(frame), len(frame)))
        parts.append(frame)
    return b"".join(parts)


def rtp_over_ip(
    packet: Rtp, src: tuple[str, int], dst: tuple[str, int], *, link_type: int = LINKTYPE_RAW
) -> bytes:
    datagram = udp(src[1], dst[1], packet.encode())
    ip = ipv6(src[0], dst[0], datagram) if ":" in src[0] else ipv4(src[0], dst[0], datagram)
    return ethernet(ip) if link_type == LINKTYPE_ETHERNET else ip


@dataclass(frozen=True)
class Leg:
    """One direction of a call: who sends, to which rtpengine port, what audio."""

    source: tuple[str, int]
    destination: tuple[str, int]
    ssrc: int
    codes: bytes  # the whole G.711 byte stream this party sends
    pt: int = 8
    first_seq: int = 1000
    first_ts: int = 0


def call(
    legs: Sequence[Leg],
    *,
    start_us: int = 1_795_000_000_000_000,
    ptime_ms: int = 20,
    link_type: int = LINKTYPE_RAW,
    jitter_us: int = 0,
    seed: int = 7,
) -> bytes:
    """A pcap of the legs sending in step, packets interleaved in arrival order."""
    rng = random.Random(seed)
    samples = 8 * ptime_ms
    records = []
    for leg in legs:
        for index in range(len(leg.codes) // samples):
            packet = Rtp(
                payload=leg.codes[index * samples : (index + 1) * samples],
                seq=leg.first_seq + index,
                ts=leg.first_ts + index * samples,
                ssrc=leg.ssrc,
                pt=leg.pt,
            )
            arrival = start_us + index * ptime_ms * 1000 + rng.randint(0, jitter_us)
            records.append(
                (arrival, rtp_over_ip(packet, leg.source, leg.destination, link_type=link_type))
            )
    records.sort(key=lambda record: record[0])
    return pcap(records, link_type=link_type)


def two_party_call(seconds: float, *, seed: int = 1, pt: int = 8) -> tuple[bytes, bytes, bytes]:
    """(pcap, caller's codes, callee's codes) of a call between two parties on loopback."""
    rng = random.Random(seed)
    count = int(seconds * 8000) // 160 * 160
    caller = rng.randbytes(count)
    callee = rng.randbytes(count)
    legs = [
        Leg(("127.0.0.1", 20000), ("127.0.0.1", CALLER_PORT), 0x11111111, caller, pt=pt),
        Leg(("127.0.0.1", 30000), ("127.0.0.1", CALLEE_PORT), 0x22222222, callee, pt=pt),
    ]
    return call(legs), caller, callee
