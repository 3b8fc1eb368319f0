"""The SIP digest credentials of facilities' phones (domain/phones.py)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from privline.adapters.db.metadata import UTCDateTime, metadata

phone_credentials = Table(
    "phone_credentials", metadata,
    Column("username", String(64), primary_key=True),
    Column("facility_id", String(64), ForeignKey("facilities.id"), nullable=False,
           index=True),
    Column("ha1", String(32), nullable=False),  # MD5(username:realm:password), never shown
    Column("created_at", UTCDateTime, nullable=False),
)
