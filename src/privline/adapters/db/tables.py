"""The schema, in SQLAlchemy Core. Alembic migrations under migrations/ create it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: call records need a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)  # noqa: S101 - the column type guarantees it
        return value.replace(tzinfo=UTC)


class DecimalText(TypeDecorator[Decimal]):
    """Exact decimals stored as text: no float ever touches money."""

    impl = String(24)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


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
    Column("created_at", UTCDateTime, nullable=False),
)

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

registry_entries = Table(
    "registry_entries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(20), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("holder", String(200), nullable=False),
    Column("credential", String(200), nullable=False),
    Column("source", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("valid_from", UTCDateTime, nullable=False),
    Column("valid_until", UTCDateTime),
    Column("note", String(500), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # For imported entries: which directory (e.g. "nppes", "bar-csv:NY") and the last
    # import run that listed them, so an import can revoke what vanished from the file.
    Column("origin", String(32)),
    Column("last_seen_run", Integer),
    Index("ix_registry_entries_credential", "credential"),
    Index("ix_registry_entries_origin_run", "origin", "last_seen_run"),
)

import_runs = Table(
    "import_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(32), nullable=False),
    Column("file_name", String(300), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("summary", Text),  # canonical JSON of the counts
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    # No longer read: tokens live in api_tokens (account_tables.py). Kept because SQLite
    # cannot drop a UNIQUE column without rebuilding a table others reference; new rows
    # get the digest of random bytes, which no token can match.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Sign-in (migration 0007): an argon2id hash, an RFC 6238 secret, the last TOTP time
    # step accepted (a code is good once), and when the account was disabled.
    Column("password_hash", String(200)),
    Column("totp_secret", String(64)),
    Column("totp_last_step", Integer, nullable=False, server_default="0"),
    Column("disabled_at", UTCDateTime),
)
# A name signs in, so it names one user (an index: SQLite adds it without a rebuild).
Index("ix_users_name", users.c.name, unique=True)

# One row per decision; a decision made for a SIP call carries its Call-ID and then the
# call's life: answer, end, duration, charge, and any fault.
calls = Table(
    "calls", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sip_call_id", String(200), unique=True),
    Column("at", UTCDateTime, nullable=False),
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
