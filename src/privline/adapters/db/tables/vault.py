"""The vault's tables (migration 0002 creates them), on the one metadata.

A ``recordings`` row is the index entry of one rtpengine recording. It keeps the wrapped
data key (the blob itself lives in the blob store) until the recording is destroyed;
then the key is gone and the row keeps only the fact of the destruction. ``spool_key``
is rtpengine's per-recording name, unique, so ingesting the same files twice cannot
store them twice.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)

from privline.adapters.db.metadata import UTCDateTime, metadata

recordings = Table(
    "recordings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("spool_key", String(250), nullable=False, unique=True),
    Column("sip_call_id", String(200), nullable=False, index=True),
    Column("call_id", Integer, ForeignKey("calls.id")),  # the call record, when known
    Column("facility_id", String(64)),
    Column("resident_id", String(64)),
    Column("number", String(20)),  # E.164 of the called party, from the call record
    Column("call_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),  # stored | quarantined | destroyed
    Column("blob_id", String(64), unique=True),
    Column("wrapped_key", LargeBinary),  # NULL once destroyed: crypto-shredded
    Column("master_key_id", String(16)),
    Column("audio_ms", Integer),
    Column("audio_bytes", Integer),
    Column("channels", Integer),
    Column("indexed_at", UTCDateTime, nullable=False),
    Column("quarantined_at", UTCDateTime),
    Column("incident_id", Integer),  # the incident that quarantined or destroyed it
    Column("destroy_after", UTCDateTime),
    Column("destroyed_at", UTCDateTime),
    Column("destroyed_reason", String(48)),
    # Retroactive quarantine is one index lookup by number. The index leaves out the
    # state on purpose: quarantining then changes no entry in it (fewer pages written).
    Index("ix_recordings_number", "number"),
    # Investigators list by facility; retention runs per facility by call time.
    Index("ix_recordings_facility_state_at", "facility_id", "state", "call_at"),
    # Only quarantined rows have a destroy_after (destruction clears it): a small index.
    Index("ix_recordings_destroy_after", "destroy_after",
          sqlite_where=text("destroy_after IS NOT NULL"),
          postgresql_where=text("destroy_after IS NOT NULL")),
)

incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # privileged_on_arrival | quarantined_on_verify | undecodable | unattributable
    Column("kind", String(32), nullable=False),
    Column("spool_key", String(250), index=True),
    Column("sip_call_id", String(200)),
    Column("facility_id", String(64)),
    Column("number", String(20)),
    Column("recordings", Integer, nullable=False),  # how many recordings it concerns
    Column("details", Text, nullable=False),  # canonical JSON
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
)

legal_holds = Table(
    "legal_holds", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recording_id", Integer, ForeignKey("recordings.id"), nullable=False, index=True),
    Column("basis", String(500), nullable=False),
    Column("placed_by", String(150), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("released_by", String(150)),
    Column("released_at", UTCDateTime),
    Column("release_reason", String(500)),
)

# The disclosure ledger: every copy of a recording that left the platform.
disclosures = Table(
    "disclosures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recording_id", Integer, ForeignKey("recordings.id"), nullable=False, index=True),
    Column("actor", String(150), nullable=False),
    Column("basis_type", String(16), nullable=False),  # warrant | subpoena | court_order
    Column("basis_reference", String(200), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),  # of the bytes handed over
    Column("at", UTCDateTime, nullable=False),
)

facility_vault_settings = Table(
    "facility_vault_settings", metadata,
    Column("facility_id", String(64), ForeignKey("facilities.id"), primary_key=True),
    Column("review_days", Integer, nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
