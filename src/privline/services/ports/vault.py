"""The ports the vault services need: the index (repositories in the unit of work) and
the I/O around it (rtpengine's spool, the key ring, the blob store).

The I/O adapters live in :mod:`privline.adapters.vault.storage`; they turn the
adapter's own errors into :class:`VaultIOError`, which says whether a retry can help.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from privline.domain.vault import (
    Disclosure,
    Incident,
    IncidentKind,
    LegalHold,
    NewRecording,
    Recording,
    RecordingState,
    VaultPolicy,
)

Buffer = bytes | bytearray | memoryview


class DuplicateRecording(Exception):
    """Another worker indexed the same spool key first."""


class VaultIOError(Exception):
    """The spool, the keys or the blob store failed; ``retryable`` says if waiting helps."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


# ---- the index -------------------------------------------------------------------------


class RecordingIndex(Protocol):
    def get(self, recording_id: int) -> Recording | None: ...
    def by_spool_key(self, spool_key: str) -> Recording | None: ...
    def add(self, recording: NewRecording, at: datetime) -> int:
        """Insert one row; raises DuplicateRecording if the spool key is indexed."""
        ...

    def lock_number(self, number: str) -> None:
        """Serialise with every other transaction that quarantines or indexes ``number``
        until this transaction ends (PostgreSQL; SQLite already has one writer)."""
        ...

    def stored_for_number(self, number: str) -> Sequence[tuple[int, str | None]]:
        """(id, facility) of every ``stored`` recording of calls to ``number``."""
        ...

    def numbers_with_stored(self, numbers: Sequence[str]) -> set[str]:
        """Those of ``numbers`` that have at least one ``stored`` recording."""
        ...

    def calls_with_recordings(self, sip_call_ids: Sequence[str]) -> set[str]:
        """Those calls that have a recording in the vault that is not destroyed."""
        ...

    def quarantine(self, ids: Sequence[int], at: datetime, destroy_after: datetime,
                   incident_id: int) -> int: ...
    def destroy(self, ids: Sequence[int], at: datetime, reason: str) -> None:
        """Mark destroyed and drop the wrapped keys (the blobs go after the commit)."""
        ...

    def visible(self, facilities: Collection[str] | None, *, facility_id: str | None,
                number: str | None, since: datetime | None, until: datetime | None,
                limit: int, offset: int, resident_id: str | None = None
                ) -> Sequence[Recording]:
        """``stored`` recordings in ``facilities`` (None: every facility), newest first."""
        ...

    def due_after_review(self, now: datetime, limit: int) -> Sequence[Recording]:
        """Quarantined, past ``destroy_after``, and under no active legal hold."""
        ...

    def past_retention(self, facility_id: str, cutoff: datetime, limit: int
                       ) -> Sequence[Recording]:
        """Stored, of a call before ``cutoff``, under no active legal hold."""
        ...

    def facilities_with_stored(self) -> Sequence[str]: ...
    def numbers_needing_quarantine(self) -> Sequence[str]:
        """Numbers with ``stored`` recordings and a verified registry entry now."""
        ...

    def blob_states(self, blob_ids: Collection[str]) -> Mapping[str, RecordingState]: ...
    def live_blob_ids(self, after_id: int, limit: int) -> Sequence[tuple[int, str]]:
        """(id, blob id) of stored or quarantined rows with id > ``after_id``, by id."""
        ...

    def count_by_state(self) -> Mapping[str, int]: ...


class IncidentLog(Protocol):
    def open(self, kind: IncidentKind, *, at: datetime, recordings: int,
             details: Mapping[str, Any], spool_key: str | None = None,
             sip_call_id: str | None = None, facility_id: str | None = None,
             number: str | None = None) -> int: ...
    def exists(self, kind: IncidentKind, spool_key: str) -> bool: ...
    def list(self, *, open_only: bool, limit: int, offset: int) -> Sequence[Incident]: ...


class LegalHolds(Protocol):
    def place(self, recording_id: int, basis: str, by: str, at: datetime) -> int: ...
    def get(self, hold_id: int) -> LegalHold | None: ...
    def release(self, hold_id: int, by: str, reason: str, at: datetime) -> None: ...
    def active_for(self, recording_id: int) -> Sequence[LegalHold]: ...


class DisclosureLedger(Protocol):
    def add(self, recording_id: int, actor: str, basis_type: str, basis_reference: str,
            recipient: str, reason: str, sha256: str, at: datetime) -> int: ...
    def list(self, recording_id: int | None = None) -> Sequence[Disclosure]: ...


class VaultSettings(Protocol):
    def get(self, facility_id: str) -> VaultPolicy:
        """The facility's periods, or the defaults if none were set."""
        ...

    def set(self, facility_id: str, policy: VaultPolicy, at: datetime) -> None: ...


class UserFacilities(Protocol):
    def user_exists(self, user_id: int) -> bool: ...
    def grant(self, user_id: int, facility_id: str, at: datetime) -> bool: ...
    def revoke(self, user_id: int, facility_id: str) -> bool: ...
    def of(self, user_id: int) -> frozenset[str]: ...


# ---- the I/O around the index ----------------------------------------------------------


@dataclass(frozen=True)
class SpooledItem:
    """One finished recording waiting in rtpengine's spool."""

    key: str  # rtpengine's name for it: unique per recording
    call_id: str  # the SIP Call-ID


@dataclass(frozen=True, eq=False)
class DecodedAudio:
    wav: Buffer  # plaintext: lives in memory only, never written outside the spool
    duration_ms: int
    channels: int


class RecordingSource(Protocol):
    def finished(self) -> Sequence[SpooledItem]: ...
    def decode(self, item: SpooledItem) -> DecodedAudio: ...
    def remove(self, item: SpooledItem) -> None:
        """Delete the item's plaintext files (idempotent)."""
        ...

    def hold_back(self, item: SpooledItem) -> None:
        """Move the files to a folder only an operator reads; nothing retries them."""
        ...

    def findings(self) -> list[str]:
        """What a person must look at: plaintext nothing will pick up (a pcap without
        metadata), files rtpengine did not name, folders others can enter."""
        ...


@dataclass(frozen=True, eq=False)
class SealedAudio:
    blob: Buffer
    wrapped_key: bytes
    master_key_id: str


class Keyring(Protocol):
    def seal(self, plaintext: Buffer, binding: str) -> SealedAudio: ...
    def unseal(self, blob: Buffer, wrapped_key: bytes, binding: str) -> bytes: ...


class SealedBlobs(Protocol):
    def put(self, blob_id: str, data: Buffer) -> None: ...
    def get(self, blob_id: str) -> bytes: ...
    def delete(self, blob_id: str) -> bool: ...
    def listing(self) -> Iterator[tuple[str, datetime]]:
        """Every blob id with the time it was written."""
        ...

    def sweep_temporary(self, now: datetime, older_than_s: float) -> int: ...


@dataclass(frozen=True)
class Vault:
    source: RecordingSource
    keys: Keyring
    blobs: SealedBlobs
