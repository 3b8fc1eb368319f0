"""rtpengine's recording metadata file, parsed: which SDP each party sent, so the vault
can tell the caller's audio from the callee's. Pure: text in, values out.

The file's format is described in :mod:`privline.adapters.vault.spool`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from privline.adapters.vault.exceptions import MetadataFormatError

CALLER: Final = "caller"
CALLEE: Final = "callee"

_SDP_LINE: Final = re.compile(r"[a-z]=")


@dataclass
class SdpBlock:
    """One SDP rtpengine sent out (after rewriting), as recorded in the metadata."""

    mode: str = ""  # offer | answer (rtpengine's opmode text)
    started_ms: float | None = None
    label: str | None = None
    before_packet: int | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def origin(self) -> tuple[str, str] | None:
        """(username, session id) of the o= line: who authored this session description."""
        for line in self.lines:
            if line.startswith("o="):
                parts = line[2:].split()
                return (parts[0], parts[1]) if len(parts) >= 2 else None
        return None

    @property
    def audio_ports(self) -> list[int]:
        ports = []
        for line in self.lines:
            if line.startswith("m=audio "):
                port = line.split()[1].split("/")[0]
                if port.isdigit() and int(port) > 0:
                    ports.append(int(port))
        return ports

    @property
    def rtpmaps(self) -> dict[int, str]:
        """Payload type -> encoding name, e.g. {8: "PCMA", 101: "telephone-event"}."""
        found = {}
        for line in self.lines:
            if line.startswith("a=rtpmap:"):
                number, _, encoding = line[len("a=rtpmap:") :].partition(" ")
                if number.isdigit():
                    found[int(number)] = encoding.split("/")[0]
        return found


@dataclass
class RecordingMetadata:
    pcap_path: str | None
    sdp: list[SdpBlock] = field(default_factory=list)
    terminated_ms: float | None = None
    call_start_local: str | None = None
    call_end_local: str | None = None
    pauses: list[str] = field(default_factory=list)
    extra: str = ""  # the ng "metadata" flag: how the call path can tag a recording
    unknown: list[str] = field(default_factory=list)

    @property
    def started_at(self) -> datetime | None:
        times = [b.started_ms for b in self.sdp if b.started_ms]
        return datetime.fromtimestamp(min(times) / 1000, tz=UTC) if times else None

    @property
    def ended_at(self) -> datetime | None:
        if not self.terminated_ms:
            return None
        return datetime.fromtimestamp(self.terminated_ms / 1000, tz=UTC)

    @property
    def tags(self) -> dict[str, str]:
        """``key=value`` pairs from the ng "metadata" flag, split on "|" or new lines.

        This is how the call path can name privline's own call record in the recording
        (e.g. ``privline-call=<id>``) rather than relying on the SIP Call-ID alone.
        """
        pairs = {}
        for item in self.extra.replace("\n", "|").split("|"):
            key, sep, value = item.partition("=")
            if sep and key.strip():
                pairs[key.strip()] = value.strip()
        return pairs

    def ignorable_payload_types(self) -> frozenset[int]:
        """Payload types that carry no speech: DTMF events and comfort noise."""
        quiet = {"telephone-event", "CN"}
        return frozenset(
            pt for block in self.sdp for pt, name in block.rtpmaps.items() if name in quiet
        )

    def port_roles(self) -> dict[int, str]:
        """rtpengine port -> the party whose media arrives on it.

        An SDP authored by one party is delivered to the other, carrying rtpengine's port
        facing that other party: that is where the other party's media arrives. The
        author is known, best first: by its rtpengine label, when the call path labels
        the monologues "caller" and "callee" (ng flag ``label``); by the o= line, when
        the two parties' differ; otherwise an offer is taken to come from the caller
        (true of the initial INVITE, which a recording started with the call sees first).
        """
        blocks = [b for b in self.sdp if b.audio_ports]
        offer = next((b.origin for b in blocks if b.mode == "offer"), None)
        answer = next((b.origin for b in blocks if b.mode == "answer"), None)
        use_origin = offer is not None and answer is not None and offer != answer
        roles: dict[int, str] = {}
        for block in blocks:
            if block.label in (CALLER, CALLEE):
                author = block.label
            elif use_origin and block.origin in (offer, answer):
                author = CALLER if block.origin == offer else CALLEE
            elif block.mode in ("offer", "answer"):
                author = CALLER if block.mode == "offer" else CALLEE
            else:
                continue
            for port in block.audio_ports:
                roles.setdefault(port, CALLEE if author == CALLER else CALLER)
        return roles


def parse_metadata(text: str) -> RecordingMetadata:
    lines = [line.rstrip("\r") for line in text.split("\n")]
    if not any(lines):
        raise MetadataFormatError("empty rtpengine metadata file")
    first = lines[0].strip()
    meta = RecordingMetadata(pcap_path=first if first.endswith(".pcap") else None)
    rest = lines[1:] if meta.pcap_path else lines
    current: SdpBlock | None = None
    label: str | None = None
    in_sdp = False
    tail: list[str] | None = None  # set once "call end time" is seen
    for line in rest:
        if tail is not None:
            tail.append(line)
            continue
        if not line.strip():
            continue  # blank lines only separate sections
        if in_sdp and _SDP_LINE.match(line) and current is not None:
            current.lines.append(line)
            continue
        in_sdp = False
        key, sep, value = line.partition(": ")
        value = value.strip()
        if not sep:
            meta.unknown.append(line)
        elif key == "Label":
            label = value
        elif key == "Timestamp started ms":
            current = SdpBlock(started_ms=_number(value, line), label=label)
            meta.sdp.append(current)
            label = None
        elif key == "SDP mode" and current is not None:
            current.mode = value
        elif key == "SDP before RTP packet" and current is not None:
            current.before_packet = int(_number(value, line))
            in_sdp = True
        elif key == "Timestamp terminated ms(first monologue)":
            meta.terminated_ms = _number(value, line)
        elif key == "call start time":
            meta.call_start_local = value
        elif key == "call end time":
            meta.call_end_local = value
            tail = []
        elif key in ("Recording paused at", "Recording resumed at"):
            meta.pauses.append(line)
        else:
            meta.unknown.append(line)
    meta.extra = "\n".join(tail or []).strip()
    return meta


def _number(value: str, line: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise MetadataFormatError(f"not a number in metadata line {line!r}") from None
