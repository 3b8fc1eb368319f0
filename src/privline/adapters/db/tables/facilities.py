"""Facilities, their residents and their contact rules."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from privline.adapters.db.metadata import DecimalText, UTCDateTime, metadata

facilities = Table(
    "facilities", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("adp", Integer, nullable=False),
    Column("region", String(2), nullable=False),
    Column("outside_prefix", String(4)),
    Column("international_prefix", String(4), nullable=False),
    Column("unknown_privilege", String(32), nullable=False),
    Column("private_calls_free", Boolean, nullable=False),
    Column("rate_per_minute", DecimalText),
    Column("max_call_minutes", Integer, nullable=False),
    Column("reminder_interval_s", Integer, nullable=False),
    Column("phones", Text, nullable=False),  # comma-separated CIDRs
    Column("language", String(8), nullable=False, server_default="en"),  # voice menu
    Column("created_at", UTCDateTime, nullable=False),
)


residents = Table(
    "residents", metadata,
    Column("id", String(64), primary_key=True),
    Column("facility_id", String(64), ForeignKey("facilities.id"), nullable=False, index=True),
    Column("pin_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("failed_pins", Integer, nullable=False),
    Column("locked_until", UTCDateTime),
    Column("balance_cents", Integer, nullable=False),
    Column("language", String(8)),  # the voice menu's, before the facility's
    Column("created_at", UTCDateTime, nullable=False),
)


blocked_numbers = Table(
    "blocked_numbers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("facility_id", String(64), ForeignKey("facilities.id"), nullable=False),
    Column("resident_id", String(64), ForeignKey("residents.id")),
    Column("number", String(20), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_blocked_numbers_lookup", "number", "facility_id"),
)
