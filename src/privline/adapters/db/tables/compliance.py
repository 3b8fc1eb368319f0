"""Compliance statements as issued, on the one metadata.

Every compliance statement handed out is kept: its canonical JSON and signature, exactly
the bytes that were signed, so an auditor can download the same statement again later.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from privline.adapters.db.metadata import UTCDateTime, metadata

statements = Table(
    "statements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(16), nullable=False, index=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("body", Text, nullable=False),  # canonical JSON, as signed
    Column("signature", String(128), nullable=False),  # hex Ed25519
    Column("all_facilities", Integer, nullable=False),  # 1 or 0: portable across backends
)
