"""Tables of the professionals' portal, on the one metadata (:mod:`privline.adapters.db.metadata`).

A registration is what one professional submitted once; each number they gave is linked
to the registry entry that now stands for it. Only the SHA-256 of the registrant's
reference is kept, so a copy of the database cannot be used to look statuses up.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from privline.adapters.db.metadata import UTCDateTime, metadata

portal_registrations = Table(
    "portal_registrations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("profession", String(32), nullable=False),
    Column("credential", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

portal_numbers = Table(
    "portal_numbers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("registration_id", Integer, ForeignKey("portal_registrations.id"), nullable=False,
           index=True),
    Column("number", String(20), nullable=False),
    Column("entry_id", Integer, ForeignKey("registry_entries.id"), nullable=False, index=True),
    # The imported directory entry that verified this number at once, if any: when the
    # directory later drops it, whoever revokes can find what it verified.
    Column("matched_entry_id", Integer, ForeignKey("registry_entries.id")),
)
