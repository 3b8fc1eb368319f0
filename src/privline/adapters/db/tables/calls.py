"""Call records: one row per decision, and the warnings played on the call."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from privline.adapters.db.metadata import DecimalText, UTCDateTime, metadata

# One row per decision; a decision made for a SIP call carries its Call-ID and then the
# call's life: answer, end, duration, charge, and any fault.
calls = Table(
    "calls", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sip_call_id", String(200), unique=True),
    Column("at", UTCDateTime, nullable=False, index=True),  # the call log's order
    Column("facility_id", String(64), nullable=False),
    Column("resident_id", String(64), nullable=False),
    Column("dialled", String(64), nullable=False),
    Column("number", String(20), index=True),
    Column("private_requested", Boolean, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("reason", String(48), nullable=False),
    Column("rate_per_minute", DecimalText, nullable=False),
    Column("max_minutes", Integer, nullable=False),
    Column("review", Boolean, nullable=False),
    Column("answered_at", UTCDateTime),
    # A voice-menu call connects (and bills) only when the called party presses 1.
    Column("accepted_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("duration_s", Integer),
    Column("charge_cents", Integer),
    Column("end_reason", String(64)),
    Column("fault", String(200)),
)


call_warnings = Table(
    "call_warnings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", Integer, ForeignKey("calls.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("prompt", String(48), nullable=False),
    Column("evidence", Text, nullable=False),  # JSON: rtpengine's answer, durations
)

# Refusals before any decision (no facility, untrusted source, no PIN, late offer, the
# decision unavailable): a call the switch turned away still leaves its record.
call_refusals = Table(
    "call_refusals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sip_call_id", String(200), nullable=False, unique=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("facility_id", String(64)),
    Column("resident_id", String(64)),
    Column("dialled", String(64)),
    Column("reason", String(48), nullable=False),
    Column("sip_code", Integer, nullable=False),
)

# Each call event the switch reported, once: replaying the switch's journal after a
# crash finds its key here and changes nothing (exactly-once on top of at-least-once).
call_events = Table(
    "call_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sip_call_id", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("sip_call_id", "kind", "seq"),
)
