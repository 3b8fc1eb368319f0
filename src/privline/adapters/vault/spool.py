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
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import quote, unquote

from privline.adapters.files import fsync_dir
from privline.adapters.vault.exceptions import (
    MetadataFormatError,
    RecordingTooLarge,
    SpoolError,
    retryable_oserror,
)
from privline.adapters.vault.metadata import RecordingMetadata, parse_metadata

META_PREFIX: Final = "rtpengine-meta-"
MAX_METADATA_BYTES: Final = 1 << 20
DEFAULT_MAX_PCAP_BYTES: Final = 1 << 30

_KEY: Final = re.compile(r"(?P<escaped>[A-Za-z0-9._~%-]+)-(?P<tag>[0-9a-f]{16})")


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
            fsync_dir(path.parent)

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

