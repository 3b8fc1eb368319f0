"""The registry of privileged numbers, and directory import runs."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from privline.adapters.db.metadata import UTCDateTime, metadata

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
    # Why an import no longer vouches for a verified entry ("missing from the directory",
    # "deactivated in the directory"); it keeps protecting until staff resolve it.
    Column("review", String(40), index=True),
    Column("review_since", UTCDateTime),
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
