"""Operators' sign-in: API tokens, server-side web sessions, failed sign-ins.

Only SHA-256 digests of tokens and session ids are stored: a copy of the database lets
nobody sign in.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table

from privline.adapters.db.tables import UTCDateTime, metadata

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

web_sessions = Table(
    "web_sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("address", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
)

# One row per failed attempt, by the name typed (whether or not such a user exists, so
# the limit says nothing about which names are real) and by the client's address.
signin_failures = Table(
    "signin_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("user_name", String(100), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
    # Set when the account then signs in: it no longer counts against the account, but
    # still counts against the address it came from.
    Column("forgiven", Boolean, nullable=False, server_default="0"),
)
