"""The vault adapter behind the services' ports (services/ports/vault.py).

Each class wraps one part of the adapter and turns its errors into ``VaultIOError``,
keeping ``retryable``: the ingest service leaves a recording in the spool on a retryable
error and holds it back for a person on a permanent one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from privline.adapters.files import fsync_dir
from privline.adapters.vault.blobstore import FolderBlobStore, MemoryBlobStore
from privline.adapters.vault.crypto import MasterKey, Sealer, unseal
from privline.adapters.vault.exceptions import VaultError, retryable_oserror
from privline.adapters.vault.spool import META_PREFIX, RecordingSpool, SpooledRecording
from privline.services.ports.vault import (
    Buffer,
    DecodedAudio,
    SealedAudio,
    SpooledItem,
    VaultIOError,
)

_EPOCH = datetime.fromtimestamp(0, tz=UTC)


def _io_error(exc: VaultError) -> VaultIOError:
    return VaultIOError(f"{type(exc).__name__}: {exc.message}", retryable=exc.retryable)


class SpoolSource:
    """rtpengine's recording-dir as a RecordingSource.

    Held-back recordings (ones that cannot be decoded, or whose call privline cannot
    name) move to ``<recording-dir>/quarantine`` (mode 0700): still plaintext, still
    inside the spool's own folder, and never picked up again.
    """

    def __init__(self, root: Path, *, max_pcap_bytes: int | None = None) -> None:
        self.spool = RecordingSpool(root)
        self.held = root / "quarantine"
        self.max_pcap_bytes = max_pcap_bytes
        self._buffer = bytearray()  # one WAV buffer reused: see DecodedCall.wav_into

    def finished(self) -> Sequence[SpooledItem]:
        try:
            return [SpooledItem(r.key, r.call_id) for r in self.spool.finished()]
        except VaultError as exc:
            raise _io_error(exc) from exc

    def decode(self, item: SpooledItem) -> DecodedAudio:
        """Decode to WAV. The result is valid until the next call (its buffer is reused)."""
        recording = self._recording(item)
        try:
            metadata = self.spool.read_metadata(recording)
            if self.max_pcap_bytes is None:
                pcap = self.spool.read_pcap(recording)
            else:
                pcap = self.spool.read_pcap(recording, self.max_pcap_bytes)
            # Imported here: numpy's import time is paid only by processes that decode.
            from privline.adapters.vault.decode import decode_recording

            call = decode_recording(pcap, metadata)
            wav = call.wav_into(self._buffer)
        except VaultError as exc:
            raise _io_error(exc) from exc
        except (ValueError, IndexError, OverflowError, UnicodeError) as exc:
            # The same bytes fail the same way: a person must look, not a retry loop.
            raise VaultIOError(f"cannot decode: {exc}", retryable=False) from exc
        return DecodedAudio(wav, int(call.seconds * 1000), max(1, len(call.tracks)))

    def remove(self, item: SpooledItem) -> None:
        try:
            self.spool.remove(self._recording(item))
        except VaultError as exc:
            raise _io_error(exc) from exc

    def hold_back(self, item: SpooledItem) -> None:
        recording = self._recording(item)
        try:
            self.held.mkdir(mode=0o700, exist_ok=True)
            # The pcap first, as in RecordingSpool.remove: a crash in between leaves the
            # metadata, which the next run sees and holds back again.
            for path in (recording.pcap_path, recording.metadata_path):
                try:
                    os.rename(path, self.held / path.name)
                except FileNotFoundError:
                    continue
                fsync_dir(path.parent)
            fsync_dir(self.held)
        except OSError as exc:
            raise VaultIOError(f"cannot hold back {item.key}: {exc}",
                               retryable=retryable_oserror(exc)) from exc

    def findings(self) -> list[str]:
        try:
            found = [f"pcap without metadata (plaintext, never ingested): {p}"
                     for p in self.spool.orphan_pcaps()]
            found += [f"file rtpengine did not name: {p}" for p in self.spool.unrecognised()]
        except VaultError as exc:
            raise _io_error(exc) from exc
        held = sorted(self.held.iterdir()) if self.held.is_dir() else []
        found += [f"held back for review (plaintext): {p}" for p in held]
        return found + self.spool.insecure_paths()

    def _recording(self, item: SpooledItem) -> SpooledRecording:
        # The layout RecordingSpool itself uses; the key was validated when listed.
        return SpooledRecording(
            key=item.key, call_id=item.call_id,
            metadata_path=self.spool.metadata / f"{META_PREFIX}{item.key}.txt",
            pcap_path=self.spool.pcaps / f"{item.key}.pcap")


class MasterKeyring:
    """Seals with the first master key; opens with any of them (rotation)."""

    def __init__(self, keys: MasterKey | Sequence[MasterKey]) -> None:
        self.keys = [keys] if isinstance(keys, MasterKey) else list(keys)
        if not self.keys:
            raise ValueError("a keyring needs at least one master key")
        self._sealer = Sealer(self.keys[0])

    def seal(self, plaintext: Buffer, binding: str) -> SealedAudio:
        """The blob is valid until the next call (the Sealer reuses its buffer)."""
        try:
            sealed = self._sealer.seal(plaintext, binding)
        except VaultError as exc:
            raise _io_error(exc) from exc
        return SealedAudio(sealed.blob, sealed.wrapped_key, self.keys[0].key_id.hex())

    def unseal(self, blob: Buffer, wrapped_key: bytes, binding: str) -> bytes:
        try:
            return unseal(blob, wrapped_key, binding, self.keys)
        except VaultError as exc:
            raise _io_error(exc) from exc


class Blobs:
    """A FolderBlobStore (or the in-memory fake) as the services' SealedBlobs."""

    def __init__(self, store: FolderBlobStore | MemoryBlobStore) -> None:
        self.store = store

    def put(self, blob_id: str, data: Buffer) -> None:
        try:
            self.store.put(blob_id, data)
        except VaultError as exc:
            raise _io_error(exc) from exc

    def get(self, blob_id: str) -> bytes:
        try:
            return self.store.get(blob_id)
        except VaultError as exc:
            raise _io_error(exc) from exc

    def delete(self, blob_id: str) -> bool:
        try:
            return self.store.delete(blob_id)
        except VaultError as exc:
            raise _io_error(exc) from exc

    def listing(self) -> Iterator[tuple[str, datetime]]:
        for blob_id in self.store.ids():
            if isinstance(self.store, MemoryBlobStore):
                yield blob_id, _EPOCH
                continue
            try:
                mtime = self.store.path(blob_id).stat().st_mtime
            except FileNotFoundError:
                continue  # deleted while we listed
            yield blob_id, datetime.fromtimestamp(mtime, tz=UTC)

    def sweep_temporary(self, now: datetime, older_than_s: float) -> int:
        if isinstance(self.store, MemoryBlobStore):
            return 0
        return self.store.sweep_temporary(now=now.timestamp(), older_than=older_than_s)

