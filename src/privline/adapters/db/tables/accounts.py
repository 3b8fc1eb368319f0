"""Residents' prepaid accounts: a ledger in integer cents."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
)

from privline.adapters.db.metadata import UTCDateTime, metadata

ledger = Table(
    "ledger", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resident_id", String(64), ForeignKey("residents.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("call_id", String(200), index=True),
    Column("memo", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
