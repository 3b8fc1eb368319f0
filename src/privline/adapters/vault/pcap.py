"""Read RTP streams out of rtpengine's pcap recordings, with the standard library and numpy.

rtpengine (``recording-method = pcap``) writes every packet it receives for a recorded
call as a classic libpcap file, link type 101 (raw IP) or 1 (Ethernet) with
``recording-format = eth``; each call direction is one RTP stream. This module finds the
RTP packets, groups them into streams (source, destination, SSRC), puts each stream in
sequence-number order and says where every payload lies in the file's bytes. It copies
no payloads: decoding them is ``audio``'s job.

Only the record walk is a Python loop (and not even that when every record has the same
length, the usual case); every header field is read for all packets at once with numpy,
which is what lets ingest keep up with thousands of calls per core.

Malformed packets are counted and skipped, never guessed at. A file cut short (the last
record incomplete) is read up to the cut and flagged ``truncated``.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from privline.adapters.vault.exceptions import PcapFormatError

LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
LINK_TYPES: Final = frozenset({LINKTYPE_ETHERNET, LINKTYPE_RAW})

# libpcap refuses records longer than this; a larger length means a corrupt header.
MAX_RECORD_LENGTH: Final = 262_144

_MAGICS: Final[dict[bytes, tuple[str, bool]]] = {
    b"\xd4\xc3\xb2\xa1": ("<", False),  # microsecond timestamps, little-endian
    b"\xa1\xb2\xc3\xd4": (">", False),
    b"\x4d\x3c\xb2\xa1": ("<", True),  # nanosecond timestamps
    b"\xa1\xb2\x3c\x4d": (">", True),
}
_PCAPNG_MAGIC: Final = b"\x0a\x0d\x0d\x0a"

_ETHERTYPE_IPV4: Final = 0x0800
_ETHERTYPE_IPV6: Final = 0x86DD
_ETHERTYPE_VLAN: Final = frozenset({0x8100, 0x88A8})
_IPPROTO_UDP: Final = 17

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Bytes = npt.NDArray[np.uint8]
ReadableBuffer = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class Endpoint:
    address: str
    port: int

    def __str__(self) -> str:
        return (
            f"[{self.address}]:{self.port}"
            if ":" in self.address
            else f"{self.address}:{self.port}"
        )


@dataclass(frozen=True, eq=False)
class RtpStream:
    """One RTP stream, its packets in extended-sequence order, duplicates dropped.

    The arrays are columns, one row per packet. ``sequence`` and ``timestamp`` are
    extended past their 16- and 32-bit wrap-arounds so they only grow;
    ``payload_offset`` indexes the capture's ``data``.
    """

    source: Endpoint
    destination: Endpoint
    ssrc: int
    sequence: I64
    timestamp: I64
    arrival_us: I64
    payload_type: U8
    payload_offset: I64
    payload_length: I64

    @property
    def packets(self) -> int:
        return len(self.sequence)

    @property
    def payload_types(self) -> frozenset[int]:
        return frozenset(int(pt) for pt in np.unique(self.payload_type))

    @property
    def lost(self) -> int:
        """Packets missing between the first and last sequence number seen."""
        if not self.packets:
            return 0
        return int(self.sequence[-1] - self.sequence[0] + 1) - self.packets


@dataclass(frozen=True, eq=False)
class RtpCapture:
    data: memoryview
    link_type: int
    records: int  # every record in the file
    streams: tuple[RtpStream, ...]
    skipped: int  # records that were not RTP over UDP (RTCP, fragments, other traffic)
    duplicates: int  # RTP packets seen twice in one stream
    truncated: bool  # the file ends inside a record

    def payload(self, stream: RtpStream, index: int) -> memoryview:
        start = int(stream.payload_offset[index])
        return self.data[start : start + int(stream.payload_length[index])]


def read_pcap(path: Path) -> RtpCapture:
    return parse_pcap(path.read_bytes())


def parse_pcap(data: ReadableBuffer) -> RtpCapture:
    """Find and order the RTP streams in the bytes of a libpcap file."""
    view = memoryview(data).cast("B")
    if len(view) < 24:
        raise PcapFormatError("not a pcap file: shorter than its 24-byte header")
    magic = bytes(view[:4])
    if magic == _PCAPNG_MAGIC:
        raise PcapFormatError("pcapng files are not supported; rtpengine writes classic pcap")
    if magic not in _MAGICS:
        raise PcapFormatError(f"not a pcap file: magic {magic.hex()}")
    endian, nano = _MAGICS[magic]
    # The link type is the low 16 bits; the high bits may carry FCS information.
    link_type = struct.unpack_from(endian + "I", view, 20)[0] & 0xFFFF
    if link_type not in LINK_TYPES:
        raise PcapFormatError(f"unsupported link type {link_type} (expected 1 or 101)")

    buf = np.frombuffer(view, dtype=np.uint8)
    offsets, truncated = _record_offsets(view, endian)
    records = len(offsets)
    caplen = _u32(buf, offsets + 8, endian)
    seconds = _u32(buf, offsets, endian)
    fraction = _u32(buf, offsets + 4, endian)
    arrival_us = seconds * 1_000_000 + (fraction // 1000 if nano else fraction)
    start = offsets + 16
    end = start + caplen

    packets = _udp_packets(buf, start, end, link_type)
    rtp = _rtp_packets(buf, packets)
    streams, duplicates = _group_streams(buf, rtp, arrival_us)
    kept = sum(stream.packets for stream in streams) + duplicates
    return RtpCapture(
        data=view,
        link_type=link_type,
        records=records,
        streams=streams,
        skipped=records - kept,
        duplicates=duplicates,
        truncated=truncated,
    )


def _record_offsets(view: memoryview, endian: str) -> tuple[I64, bool]:
    """The offset of every whole record header, and whether the file ends mid-record."""
    size = len(view)
    if size < 24 + 16:
        return np.zeros(0, dtype=np.int64), size != 24
    unpack = struct.Struct(endian + "I").unpack_from
    first = unpack(view, 24 + 8)[0]
    stride = 16 + first
    # Fast path: rtpengine's G.711 recordings are usually one record size throughout.
    if first <= MAX_RECORD_LENGTH and (size - 24) % stride == 0:
        offsets = 24 + np.arange((size - 24) // stride, dtype=np.int64) * stride
        lengths = _u32(np.frombuffer(view, dtype=np.uint8), offsets + 8, endian)
        if bool(np.all(lengths == first)):
            return offsets, False
    found: list[int] = []
    offset = 24
    while offset + 16 <= size:
        length = unpack(view, offset + 8)[0]
        if length > MAX_RECORD_LENGTH:
            if not found:
                raise PcapFormatError(f"corrupt pcap: first record claims {length} bytes")
            break  # keep what came before the damage; the caller sees truncated
        if offset + 16 + length > size:
            break
        found.append(offset)
        offset += 16 + length
    return np.asarray(found, dtype=np.int64), offset != size


@dataclass(frozen=True)
class _UdpPackets:
    record: I64  # index of the record, i.e. its order in the file
    l3: I64  # offset of the IP header
    l4: I64  # offset of the UDP header
    datagram_end: I64  # end of the UDP datagram
    address_id: I64  # small integer per distinct (source, destination) address pair


def _udp_packets(buf: Bytes, start: I64, end: I64, link_type: int) -> _UdpPackets:
    record = np.arange(len(start), dtype=np.int64)
    if link_type == LINKTYPE_ETHERNET:
        ok = end - start >= 14
        record, start, end = record[ok], start[ok], end[ok]
        ethertype = _be16(buf, start + 12)
        l3 = start + 14
        vlan = np.isin(ethertype, list(_ETHERTYPE_VLAN)) & (end - start >= 18)
        ethertype = np.where(vlan, _be16(buf, np.where(vlan, start + 16, start)), ethertype)
        l3 = np.where(vlan, l3 + 4, l3)
        version = np.where(
            ethertype == _ETHERTYPE_IPV4, 4, np.where(ethertype == _ETHERTYPE_IPV6, 6, 0)
        )
    else:
        ok = end > start
        record, start, end = record[ok], start[ok], end[ok]
        l3 = start
        version = buf[l3].astype(np.int64) >> 4

    v4 = _ipv4(buf, record[version == 4], l3[version == 4], end[version == 4])
    v6 = _ipv6(buf, record[version == 6], l3[version == 6], end[version == 6])
    # One small id per address pair: exact, and cheap to group by with the ports and SSRC.
    # (A shift past bit 63 wraps, but stays one-to-one, which is all a key needs.)
    pair4 = (_be32(buf, v4[1] + 12) << 32) | _be32(buf, v4[1] + 16)
    ids4 = np.unique(pair4, return_inverse=True)[1].astype(np.int64).reshape(-1)
    pair6 = np.ascontiguousarray(buf[(v6[1] + 8)[:, None] + np.arange(32)]).view(
        np.dtype((np.void, 32))
    )
    ids6 = np.unique(pair6.reshape(-1), return_inverse=True)[1].astype(np.int64).reshape(-1)
    ids6 += int(ids4.max()) + 1 if len(ids4) else 0
    parts = [np.concatenate([a, b]) for a, b in zip(v4, v6, strict=True)]
    order = np.argsort(parts[0], kind="stable")  # back to file order
    return _UdpPackets(
        record=parts[0][order],
        l3=parts[1][order],
        l4=parts[2][order],
        datagram_end=parts[3][order],
        address_id=np.concatenate([ids4, ids6])[order],
    )


def _ipv4(buf: Bytes, record: I64, l3: I64, end: I64) -> tuple[I64, I64, I64, I64]:
    ok = end - l3 >= 20
    record, l3, end = record[ok], l3[ok], end[ok]
    header = (buf[l3].astype(np.int64) & 0x0F) * 4
    total = _be16(buf, l3 + 2)
    # Fragments cannot be parsed alone, and rtpengine never fragments RTP.
    unfragmented = (_be16(buf, l3 + 6) & 0x3FFF) == 0
    ok = (header >= 20) & (buf[l3 + 9] == _IPPROTO_UDP) & unfragmented & (total >= header + 8)
    record, l3, end, header, total = record[ok], l3[ok], end[ok], header[ok], total[ok]
    # Ethernet pads short frames, so the IP length, not the capture length, bounds the packet.
    ip_end = np.minimum(end, l3 + total)
    l4 = l3 + header
    udp_end = _udp_end(buf, l4, ip_end)
    ok = udp_end > 0
    return record[ok], l3[ok], l4[ok], udp_end[ok]


def _ipv6(buf: Bytes, record: I64, l3: I64, end: I64) -> tuple[I64, I64, I64, I64]:
    ok = end - l3 >= 40
    record, l3, end = record[ok], l3[ok], end[ok]
    # Only UDP directly after the fixed header: rtpengine adds no extension headers.
    ok = buf[l3 + 6] == _IPPROTO_UDP
    record, l3, end = record[ok], l3[ok], end[ok]
    ip_end = np.minimum(end, l3 + 40 + _be16(buf, l3 + 4))
    l4 = l3 + 40
    udp_end = _udp_end(buf, l4, ip_end)
    ok = udp_end > 0
    return record[ok], l3[ok], l4[ok], udp_end[ok]


def _udp_end(buf: Bytes, l4: I64, ip_end: I64) -> I64:
    """End of each UDP datagram, or 0 where the header is cut off or claims too much."""
    room = ip_end - l4 >= 8
    length = np.where(room, _be16(buf, np.where(room, l4 + 4, 0)), 0)
    return np.where(room & (length >= 8) & (l4 + length <= ip_end), l4 + length, 0)


@dataclass(frozen=True)
class _RtpPackets:
    record: I64
    l3: I64
    l4: I64
    address_id: I64
    payload_type: U8
    sequence: I64
    timestamp: I64
    ssrc: I64
    payload_offset: I64
    payload_length: I64


def _rtp_packets(buf: Bytes, udp: _UdpPackets) -> _RtpPackets:
    rtp = udp.l4 + 8
    end = udp.datagram_end
    ok = end - rtp >= 12
    first = np.where(ok, buf[np.where(ok, rtp, 0)], 0).astype(np.int64)
    second = np.where(ok, buf[np.where(ok, rtp + 1, 0)], 0).astype(np.int64)
    payload_type = second & 0x7F
    # Version 2 only (this also rejects STUN and DTLS); PT 64-95 is RTCP multiplexed on
    # the RTP port (RFC 5761), which carries no audio.
    ok &= ((first >> 6) == 2) & ((payload_type < 64) | (payload_type > 95))
    header = 12 + 4 * (first & 0x0F)
    extension = ok & ((first & 0x10) != 0) & (rtp + header + 4 <= end)
    ok &= ((first & 0x10) == 0) | extension
    extension_words = np.where(extension, _be16(buf, np.where(extension, rtp + header + 2, 0)), 0)
    header = header + np.where(extension, 4 + 4 * extension_words, 0)
    padded = ok & ((first & 0x20) != 0)
    padding = np.where(padded, buf[np.where(padded, end - 1, 0)], 0).astype(np.int64)
    ok &= ~padded | (padding > 0)
    length = end - rtp - header - padding
    ok &= length > 0

    rtp, end = rtp[ok], end[ok]
    return _RtpPackets(
        record=udp.record[ok],
        l3=udp.l3[ok],
        l4=udp.l4[ok],
        address_id=udp.address_id[ok],
        payload_type=payload_type[ok].astype(np.uint8),
        sequence=_be16(buf, rtp + 2),
        timestamp=_be32(buf, rtp + 4),
        ssrc=_be32(buf, rtp + 8),
        payload_offset=(rtp + header[ok]),
        payload_length=length[ok],
    )


def _group_streams(
    buf: Bytes, rtp: _RtpPackets, arrival_us: I64
) -> tuple[tuple[RtpStream, ...], int]:
    if not len(rtp.record):
        return (), 0
    ports = (_be16(buf, rtp.l4) << 16) | _be16(buf, rtp.l4 + 2)
    key = (rtp.ssrc << 32) | ports
    key_ids = np.unique(key, return_inverse=True)[1].astype(np.int64).reshape(-1)
    combined = rtp.address_id * (int(key_ids.max()) + 1) + key_ids
    group = np.unique(combined, return_inverse=True)[1].astype(np.int64).reshape(-1)
    # Stable sort by group keeps each stream's packets in file (arrival) order.
    by_group = np.argsort(group, kind="stable")
    group = group[by_group]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])

    sequence = _unwrap(rtp.sequence[by_group], group, starts, 16)
    timestamp = _unwrap(rtp.timestamp[by_group], group, starts, 32)
    # Sequence order within each stream; lexsort is stable, so of two copies of one
    # packet the first to arrive comes first and is the one kept.
    order = np.lexsort((sequence, group))
    index = by_group[order]
    sequence, timestamp, group = sequence[order], timestamp[order], group[order]
    unique = np.r_[True, (group[1:] != group[:-1]) | (sequence[1:] != sequence[:-1])]
    duplicates = int(len(unique) - np.count_nonzero(unique))
    index, sequence, timestamp, group = (
        index[unique],
        sequence[unique],
        timestamp[unique],
        group[unique],
    )

    bounds = np.flatnonzero(np.r_[True, group[1:] != group[:-1], True])
    streams = []
    for begin, finish in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        rows = index[begin:finish]
        first = int(rows[0])
        l3, l4 = int(rtp.l3[first]), int(rtp.l4[first])
        streams.append(
            RtpStream(
                source=Endpoint(_address(buf, l3, source=True), _port(buf, l4)),
                destination=Endpoint(_address(buf, l3, source=False), _port(buf, l4 + 2)),
                ssrc=int(rtp.ssrc[first]),
                sequence=sequence[begin:finish],
                timestamp=timestamp[begin:finish],
                arrival_us=arrival_us[rtp.record[rows]],
                payload_type=rtp.payload_type[rows],
                payload_offset=rtp.payload_offset[rows],
                payload_length=rtp.payload_length[rows],
            )
        )
    return tuple(streams), duplicates


def _unwrap(values: I64, group: I64, starts: I64, bits: int) -> I64:
    """Extend wrapping counters, per group in arrival order, by the shortest step between
    neighbours (RFC 3550 A.1): a step back of less than half the range is reordering."""
    span = 1 << bits
    steps = np.empty_like(values)
    steps[0] = 0
    steps[1:] = (values[1:] - values[:-1] + span // 2) % span - span // 2
    running = np.cumsum(steps)
    # One cumulative sum for all groups; subtracting its value at each group's first
    # packet discards the meaningless step across the boundary from the previous group.
    first = starts[group]  # groups are numbered 0.. in the order they start
    extended: I64 = values[first] + running - running[first]
    return extended


def _address(buf: Bytes, l3: int, *, source: bool) -> str:
    if buf[l3] >> 4 == 4:
        at = l3 + (12 if source else 16)
        return str(ipaddress.IPv4Address(bytes(buf[at : at + 4])))
    at = l3 + (8 if source else 24)
    return str(ipaddress.IPv6Address(bytes(buf[at : at + 16])))


def _port(buf: Bytes, at: int) -> int:
    return (int(buf[at]) << 8) | int(buf[at + 1])


def _be16(buf: Bytes, at: I64) -> I64:
    return _unaligned(buf, at, ">u2")


def _be32(buf: Bytes, at: I64) -> I64:
    return _unaligned(buf, at, ">u4")


def _u32(buf: Bytes, at: I64, endian: str) -> I64:
    return _unaligned(buf, at, endian + "u4")


def _unaligned(buf: Bytes, at: I64, dtype: str) -> I64:
    """Read a fixed-width integer at each offset in `at`, all at once.

    The view has one (overlapping, unaligned) element starting at every byte, so a
    field at any offset is one fancy-index away: no per-packet Python, and no index
    array per byte. Its shape stops `width - 1` bytes short of the end, so numpy's
    bounds check on `at` is also the check that the whole field is inside the buffer.
    """
    width = np.dtype(dtype).itemsize
    every = np.ndarray((max(len(buf) - width + 1, 0),), dtype=dtype, buffer=buf, strides=(1,))
    values: I64 = every[at].astype(np.int64)
    return values
