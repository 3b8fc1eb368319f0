"""The audit log: the hash chain, its head, and signed checkpoints."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Integer,
    String,
    Table,
    Text,
)

from privline.adapters.db.metadata import UTCDateTime, metadata

audit_events = Table(
    "audit_events", metadata,
    # Assigned from audit_head, not by the database: a chain has no gaps.
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(150), nullable=False),
    Column("action", String(64), nullable=False, index=True),
    Column("subject", String(200), nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


# One row (id = 1): the chain's head. Appenders lock it, so concurrent writers on
# PostgreSQL queue here instead of forking the chain.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)


audit_checkpoints = Table(
    "audit_checkpoints", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("signature", String(128), nullable=False),  # hex Ed25519
    Column("key_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
