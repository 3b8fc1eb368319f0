"""rtpengine's recording spool: which recordings are finished, and what their metadata says.

With ``recording-method = pcap`` rtpengine keeps three folders under ``recording-dir``::

    pcaps/<key>.pcap                      written from the moment recording starts
    tmp/rtpengine-meta-<key>.tmp          metadata while the call lasts
    metadata/rtpengine-meta-<key>.txt     the same file, renamed there at hangup

where ``<key>`` is the URL-escaped Call-ID, a dash and 16 random hex digits (one key per
recording, so a Call-ID recorded twice has two). The rename is the signal: a recording
is finished, and its pcap closed, once its metadata is in ``metadata/``.

The metadata file (rtpengine 10.5, ``daemon/recording.c``) is text::

    /abs/path/pcaps/<key>.pcap
    <blank>
    [Label: <label>]                      per SDP rtpengine sent out, in order
    Timestamp started ms: <epoch ms>
    SDP mode: offer|answer
    SDP before RTP packet: <n>
    <blank>
    <SDP, CRLF line ends>
    ...
    [Recording paused at: <local time> (<ms>)] / [Recording resumed at: ...]
    Timestamp terminated ms(first monologue): <epoch ms>
    <blank>
    call start time: YYYY-MM-DDThh:mm:ss  (local time, no zone: use the epoch values)
    call end time: YYYY-MM-DDThh:mm:ss
    <blank>
    <the ng "metadata" flag's value, if any>

Nothing here trusts a path from inside a file: the pcap is always looked up as
``pcaps/<key>.pcap`` beside the metadata, and files are opened without following
symlinks, so a planted metadata file cannot make ingest read (and then remove) a file
outside the spool.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import quote, unquote

from privline.adapters.vault.audio import CALLEE, CALLER
from privline.adapters.vault.exceptions import (
    MetadataFormatError,
    RecordingTooLarge,
    SpoolError,
    retryable_oserror,
)

META_PREFIX: Final = "rtpengine-meta-"
MAX_METADATA_BYTES: Final = 1 << 20
DEFAULT_MAX_PCAP_BYTES: Final = 1 << 30

_KEY: Final = re.compile(r"(?P<escaped>[A-Za-z0-9._~%-]+)-(?P<tag>[0-9a-f]{16})")
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


@dataclass(frozen=True)
class SpooledRecording:
    key: str  # rtpengine's per-recording name: unique, so it makes an idempotency key
    call_id: str
    metadata_path: Path
    pcap_path: Path


class RecordingSpool:
    """The finished recordings in one rtpengine ``recording-dir``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pcaps = root / "pcaps"
        self.metadata = root / "metadata"
        self.tmp = root / "tmp"

    def check(self) -> None:
        """Raise SpoolError (retryable: rtpengine may not have made them yet) if the
        folders are not there."""
        for folder in (self.pcaps, self.metadata, self.tmp):
            if not folder.is_dir():
                raise SpoolError(f"rtpengine recording folder {folder} is missing")

    def finished(self) -> list[SpooledRecording]:
        """Recordings whose call has ended, oldest first."""
        found = []
        for entry in self._entries(self.metadata):
            recording = self._recording(entry.name, ".txt")
            if recording is not None:
                found.append((entry.stat().st_mtime_ns, recording))
        return [recording for _, recording in sorted(found, key=lambda pair: pair[0])]

    def in_progress(self) -> list[SpooledRecording]:
        return [
            r for e in self._entries(self.tmp) if (r := self._recording(e.name, ".tmp")) is not None
        ]

    def orphan_pcaps(self) -> list[Path]:
        """Pcaps with no metadata at all: rtpengine died mid-call or discarded it. They
        hold plaintext audio and nothing will ever pick them up, so someone must decide."""
        known = {r.key for r in self.finished()} | {r.key for r in self.in_progress()}
        return sorted(
            Path(e.path)
            for e in self._entries(self.pcaps)
            if e.name.endswith(".pcap") and e.name[: -len(".pcap")] not in known
        )

    def unrecognised(self) -> list[Path]:
        """Files in metadata/ that rtpengine did not name: never ingested, never removed."""
        return sorted(
            Path(e.path)
            for e in self._entries(self.metadata)
            if self._recording(e.name, ".txt") is None
        )

    def read_metadata(self, recording: SpooledRecording) -> RecordingMetadata:
        raw = _read_regular(recording.metadata_path, MAX_METADATA_BYTES)
        try:
            meta = parse_metadata(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise MetadataFormatError(f"{recording.metadata_path.name} is not UTF-8") from None
        named = PurePosixPath(meta.pcap_path).name if meta.pcap_path else None
        if named is not None and named != recording.pcap_path.name:
            expected = recording.pcap_path.name
            raise MetadataFormatError(
                f"{recording.metadata_path.name} names pcap {named!r}, not {expected!r}"
            )
        return meta

    def read_pcap(self, recording: SpooledRecording, limit: int = DEFAULT_MAX_PCAP_BYTES) -> bytes:
        return _read_regular(recording.pcap_path, limit)

    def remove(self, recording: SpooledRecording) -> None:
        """Delete a recording's plaintext. The pcap goes first: a crash in between leaves
        the metadata, which the next run sees again (the caller skips a key it has
        already stored); the other order could strand the pcap where no scan looks."""
        for path in (recording.pcap_path, recording.metadata_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise SpoolError(
                    f"cannot remove {path}: {exc}", retryable=retryable_oserror(exc)
                ) from exc
            _fsync_dir(path.parent)

    def insecure_paths(self) -> list[str]:
        """Findings for an auditor: the spool holds plaintext audio, so nobody but the
        rtpengine and privline user should be able to enter it (mode 0700)."""
        findings = []
        for folder in (self.root, self.pcaps, self.metadata, self.tmp):
            try:
                mode = folder.stat().st_mode
            except FileNotFoundError:
                continue
            if folder == self.root and mode & 0o077:
                findings.append(f"{folder} is mode {stat.S_IMODE(mode):04o}; make it 0700")
            elif mode & 0o002:
                findings.append(f"{folder} is writable by everyone")
        return findings

    def _recording(self, name: str, suffix: str) -> SpooledRecording | None:
        if not (name.startswith(META_PREFIX) and name.endswith(suffix)):
            return None
        key = name[len(META_PREFIX) : -len(suffix)]
        match = _KEY.fullmatch(key)
        if match is None:
            return None
        try:
            call_id = unquote(match["escaped"], errors="strict")
        except UnicodeDecodeError:
            return None
        # rtpengine escapes with g_uri_escape_string: only an exact round trip is its name.
        if quote(call_id, safe="~") != match["escaped"]:
            return None
        return SpooledRecording(
            key=key,
            call_id=call_id,
            metadata_path=(self.metadata if suffix == ".txt" else self.tmp) / name,
            pcap_path=self.pcaps / f"{key}.pcap",
        )

    def _entries(self, folder: Path) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as entries:
                return [e for e in entries if e.is_file(follow_symlinks=False)]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SpoolError(
                f"cannot list {folder}: {exc}", retryable=retryable_oserror(exc)
            ) from exc


def _read_regular(path: Path, limit: int) -> bytes:
    """Read a regular file without following a symlink, refusing one larger than `limit`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SpoolError(f"{path} is gone", retryable=False) from None
    except OSError as exc:
        raise SpoolError(f"cannot open {path}: {exc}", retryable=retryable_oserror(exc)) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SpoolError(f"{path} is not a regular file", retryable=False)
        if info.st_size > limit:
            raise RecordingTooLarge(f"{path.name} is {info.st_size} bytes, over the {limit} limit")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(limit + 1)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
