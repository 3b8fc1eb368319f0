"""Every table of privline's schema, by feature; importing this module declares them all
on :data:`metadata`, so it is complete by construction (not by import side effects
elsewhere). Callers write ``from privline.adapters.db import tables as t`` and ``t.calls``.
"""

from privline.adapters.db.metadata import metadata
from privline.adapters.db.tables.accounts import ledger
from privline.adapters.db.tables.audit import audit_checkpoints, audit_events, audit_head
from privline.adapters.db.tables.calls import call_events, call_refusals, call_warnings, calls
from privline.adapters.db.tables.compliance import statements
from privline.adapters.db.tables.facilities import blocked_numbers, facilities, residents
from privline.adapters.db.tables.phones import phone_credentials
from privline.adapters.db.tables.portal import portal_numbers, portal_registrations
from privline.adapters.db.tables.registry import import_runs, registry_entries
from privline.adapters.db.tables.users import (
    api_tokens,
    signin_failures,
    user_facilities,
    users,
    web_sessions,
)
from privline.adapters.db.tables.vault import (
    disclosures,
    facility_vault_settings,
    incidents,
    legal_holds,
    recordings,
)

__all__ = [
    "api_tokens",
    "audit_checkpoints",
    "audit_events",
    "audit_head",
    "blocked_numbers",
    "call_events",
    "call_refusals",
    "call_warnings",
    "calls",
    "disclosures",
    "facilities",
    "phone_credentials",
    "facility_vault_settings",
    "import_runs",
    "incidents",
    "ledger",
    "legal_holds",
    "metadata",
    "portal_numbers",
    "portal_registrations",
    "recordings",
    "registry_entries",
    "residents",
    "signin_failures",
    "statements",
    "user_facilities",
    "users",
    "web_sessions",
]
