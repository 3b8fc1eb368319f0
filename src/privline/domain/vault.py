"""Recordings in the vault: their states, and the rules that move them, as plain values.

    stored ──(number verified privileged)──> quarantined ──(review period over,
      │                                            │          no legal hold)──> destroyed
      └──(retention period over, no legal hold)────┴──(destroyed after review)──> destroyed

A recording of a privileged call never reaches ``stored``: ingest destroys it on
arrival, and the index keeps only the fact (a ``destroyed`` row with no key and no blob).
Nothing leaves ``destroyed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from privline.domain.registry import Privilege

DEFAULT_REVIEW_DAYS = 30
DEFAULT_RETENTION_DAYS = 365
MAX_DAYS = 36500
MAX_REASON = 500


class RecordingState(StrEnum):
    STORED = "stored"
    QUARANTINED = "quarantined"
    DESTROYED = "destroyed"


class IncidentKind(StrEnum):
    PRIVILEGED_ON_ARRIVAL = "privileged_on_arrival"  # the guard destroyed it at ingest
    QUARANTINED_ON_VERIFY = "quarantined_on_verify"  # its number became privileged later
    UNDECODABLE = "undecodable"  # the pcap or metadata cannot be read; held for a person
    UNATTRIBUTABLE = "unattributable"  # no call record or number: privilege unknowable
    # The call's decision was private or denied, yet rtpengine recorded it: an upstream
    # fault. Destroyed on arrival like a privileged one.
    RECORDED_AGAINST_DECISION = "recorded_against_decision"


class DestroyReason(StrEnum):
    PRIVILEGED_ON_ARRIVAL = "privileged_on_arrival"
    RECORDED_AGAINST_DECISION = "recorded_against_decision"
    REVIEW_PERIOD_OVER = "review_period_over"
    RETENTION_PERIOD_OVER = "retention_period_over"
    AFTER_REVIEW = "destroyed_after_review"  # an administrator, before the period ran out


class BasisType(StrEnum):
    """The legal instruments a disclosure outside the platform may rest on."""

    WARRANT = "warrant"
    SUBPOENA = "subpoena"
    COURT_ORDER = "court_order"


class IngestVerdict(StrEnum):
    STORE = "store"
    # Both destroy: plaintext removed, nothing stored, an incident opened.
    DESTROY_PRIVILEGED = "destroy_privileged"
    DESTROY_NOT_RECORDED = "destroy_not_recorded"
    HOLD_BACK = "hold_back"  # privilege unknowable: keep the plaintext out of the vault


def ingest_verdict(*, decided_recorded: bool, at_call: Privilege, now: Privilege
                   ) -> IngestVerdict:
    """The ingest guard, the safety net under every upstream fault.

    Privileged at the call's time or now: destroyed on arrival. A call that was decided
    private or denied was never to be recorded: destroyed too, whatever the registry
    says. Unknown privilege is never stored silently (promise 2): it is held back.
    """
    if Privilege.PRIVILEGED in (at_call, now):
        return IngestVerdict.DESTROY_PRIVILEGED
    if not decided_recorded:
        return IngestVerdict.DESTROY_NOT_RECORDED
    if Privilege.UNKNOWN in (at_call, now):
        return IngestVerdict.HOLD_BACK
    return IngestVerdict.STORE


@dataclass(frozen=True)
class VaultPolicy:
    """A facility's periods: review before a quarantined recording is destroyed, and
    retention of ordinary recordings counted from the call's time."""

    review_days: int = DEFAULT_REVIEW_DAYS
    retention_days: int = DEFAULT_RETENTION_DAYS

    def destroy_after(self, quarantined_at: datetime) -> datetime:
        return quarantined_at + timedelta(days=self.review_days)

    def retention_cutoff(self, now: datetime) -> datetime:
        """Recordings of calls before this moment are past retention."""
        return now - timedelta(days=self.retention_days)

    def problems(self) -> list[str]:
        found = []
        if not 0 <= self.review_days <= MAX_DAYS:
            found.append(f"review period must be 0 to {MAX_DAYS} days")
        if not 1 <= self.retention_days <= MAX_DAYS:
            found.append(f"retention period must be 1 to {MAX_DAYS} days")
        return found


@dataclass(frozen=True)
class Recording:
    id: int
    spool_key: str
    sip_call_id: str
    call_id: int | None
    facility_id: str | None
    resident_id: str | None
    number: str | None
    call_at: datetime
    state: RecordingState
    blob_id: str | None
    wrapped_key: bytes | None
    audio_ms: int | None
    audio_bytes: int | None
    channels: int | None
    indexed_at: datetime
    quarantined_at: datetime | None = None
    destroy_after: datetime | None = None  # set while quarantined; cleared on destruction
    destroyed_at: datetime | None = None
    destroyed_reason: str | None = None


@dataclass(frozen=True)
class NewRecording:
    spool_key: str
    sip_call_id: str
    call_id: int | None
    facility_id: str | None
    resident_id: str | None
    number: str | None
    call_at: datetime
    state: RecordingState
    blob_id: str | None
    wrapped_key: bytes | None
    master_key_id: str | None
    audio_ms: int | None
    audio_bytes: int | None
    channels: int | None
    incident_id: int | None = None
    destroyed_reason: str | None = None


@dataclass(frozen=True)
class Incident:
    id: int
    kind: IncidentKind
    spool_key: str | None
    sip_call_id: str | None
    facility_id: str | None
    number: str | None
    recordings: int
    details: dict[str, object]
    opened_at: datetime
    closed_at: datetime | None = None


@dataclass(frozen=True)
class LegalHold:
    id: int
    recording_id: int
    basis: str
    placed_by: str
    placed_at: datetime
    released_at: datetime | None = None


@dataclass(frozen=True)
class Disclosure:
    id: int
    recording_id: int
    actor: str
    basis_type: BasisType
    basis_reference: str
    recipient: str
    reason: str
    sha256: str
    at: datetime
