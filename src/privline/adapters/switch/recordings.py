"""rtpengine's recording spool: finding a call's files and reading its pcap.

With ``recording-method = pcap`` rtpengine writes ``pcaps/<call-id>-<hex>.pcap`` as soon
as recording starts, and a metadata file in ``tmp/`` that moves to ``metadata/`` at
hangup. The Call-ID in the names is URL-escaped. The pcap's link type is 101 (raw IP).
"""

from __future__ import annotations

import os
import struct
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

LINKTYPE_RAW = 101


def escaped(call_id: str) -> str:
    return quote(call_id, safe="")


def _ours(name: str, prefix: str) -> bool:
    """rtpengine names a call's files ``<escaped call-id>-<hex>.<ext>``; nothing after
    the prefix has a '-', so call ``a`` never claims the files of call ``a-1``."""
    return name.startswith(prefix) and "-" not in name[len(prefix):]


def _matching(folder: Path, call_id: str) -> list[Path]:
    prefix = escaped(call_id) + "-"
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if _ours(e.name, prefix))
    except FileNotFoundError:
        return []


def has_pcap(spool: Path, call_id: str) -> bool:
    """Whether the call's pcap exists now: one scan of ``pcaps/`` that stops at the
    first match and builds no paths. rtpengine creates the file before it replies to
    an offer with ``record-call=yes``, so this is checked once, right after the reply,
    never waited for. The spool holds only calls in progress (the vault sweeps it)."""
    prefix = escaped(call_id) + "-"
    try:
        with os.scandir(spool / "pcaps") as entries:
            return any(_ours(e.name, prefix) for e in entries)
    except FileNotFoundError:
        return False


def recorded_call_ids(spool: Path) -> set[str]:
    """The escaped Call-IDs that have a pcap now: one directory scan for every call
    being watched, instead of one per call."""
    try:
        with os.scandir(spool / "pcaps") as entries:
            return {e.name.rpartition("-")[0] for e in entries}
    except FileNotFoundError:
        return set()


def pcap_files(spool: Path, call_id: str) -> list[Path]:
    return _matching(spool / "pcaps", call_id)


def metadata_files(spool: Path, call_id: str) -> list[Path]:
    return _matching(spool / "metadata", call_id) + _matching(spool / "tmp", call_id)


def any_files(spool: Path, call_id: str) -> list[Path]:
    return pcap_files(spool, call_id) + metadata_files(spool, call_id)


@dataclass(frozen=True)
class RtpStream:
    source: tuple[str, int]
    destination: tuple[str, int]
    ssrc: int
    payload_type: int
    packets: int
    payload_bytes: int
    first_ts: float
    last_ts: float

    @property
    def seconds(self) -> float:
        return self.last_ts - self.first_ts


def read_rtp_streams(path: Path) -> list[RtpStream]:
    """The RTP streams in a raw-IP (or Ethernet) pcap, one per source, SSRC and
    destination."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(endian + "I", data[20:24])[0]
    offset = 24
    acc: dict[tuple[tuple[str, int], tuple[str, int], int, int], list[float]] = defaultdict(
        lambda: [0.0, 0.0, 0.0, 0.0])
    while offset + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[offset : offset + 16])
        offset += 16
        frame = data[offset : offset + incl]
        offset += incl
        ts = sec + frac / (1e9 if nano else 1e6)
        ip = frame[14:] if link == 1 else frame
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        udp = ip[ihl:]
        if len(udp) < 8 + 12 or udp[8] >> 6 != 2:
            continue
        src = (".".join(map(str, ip[12:16])), struct.unpack(">H", udp[0:2])[0])
        dst = (".".join(map(str, ip[16:20])), struct.unpack(">H", udp[2:4])[0])
        rtp = udp[8:]
        pt = rtp[1] & 0x7F
        if 72 <= pt <= 76:
            continue  # RTCP
        ssrc = struct.unpack(">I", rtp[8:12])[0]
        header = 12 + 4 * (rtp[0] & 0x0F)
        entry = acc[(src, dst, ssrc, pt)]
        if entry[0] == 0:
            entry[2] = ts
        entry[0] += 1
        entry[1] += max(0, len(rtp) - header)
        entry[3] = ts
    return [
        RtpStream(src, dst, ssrc, pt, int(v[0]), int(v[1]), v[2], v[3])
        for (src, dst, ssrc, pt), v in acc.items()
    ]
