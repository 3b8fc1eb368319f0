"""Operators' accounts and their facility scope."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
)

from privline.adapters.db.metadata import UTCDateTime, metadata

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)


# Which facilities' recordings a user may reach (investigators are scoped by this).
user_facilities = Table(
    "user_facilities", metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("facility_id", String(64), ForeignKey("facilities.id"), primary_key=True),
    Column("granted_at", UTCDateTime, nullable=False),
)
