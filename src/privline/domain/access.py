"""Who may do what. The one table every entrypoint's access check reads."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    INVESTIGATOR = "investigator"
    AUDITOR = "auditor"
    SWITCH = "switch"  # the call path itself: decides and records calls, nothing else


class Action(StrEnum):
    REGISTRY_READ = "registry.read"
    REGISTRY_WRITE = "registry.write"
    DECIDE_CALL = "call.decide"
    FACILITY_WRITE = "facility.write"
    RESIDENT_WRITE = "resident.write"
    ACCOUNT_WRITE = "account.write"
    USER_READ = "user.read"  # accounts, their tokens and sessions
    USER_WRITE = "user.write"
    AUDIT_VERIFY = "audit.verify"
    CALL_RECORD = "call.record"
    CALL_READ = "call.read"
    # The recording vault.
    VAULT_INGEST = "vault.ingest"  # spool -> vault, with the privilege guard
    VAULT_MANAGE = "vault.manage"  # sweep, purge, destroy after review, facility periods
    LEGAL_HOLD = "vault.hold"
    INCIDENT_READ = "vault.incidents"
    RECORDING_READ = "recording.read"  # list and play, always with a reason
    RECORDING_EXPORT = "recording.export"  # a disclosure: needs a legal basis, ledgered
    # Reading the records staff keep: facilities, residents, accounts, blocks.
    FACILITY_READ = "facility.read"
    RESIDENT_READ = "resident.read"
    OWN_ACCOUNT = "own.account"  # a signed-in person changes their own password


_A, _S, _I, _U, _W = Role.ADMIN, Role.STAFF, Role.INVESTIGATOR, Role.AUDITOR, Role.SWITCH

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.REGISTRY_READ: frozenset({_A, _S, _U}),
    Action.REGISTRY_WRITE: frozenset({_A, _S}),
    Action.DECIDE_CALL: frozenset({_A, _S, _W}),
    Action.CALL_RECORD: frozenset({_A, _W}),
    Action.CALL_READ: frozenset({_A, _S, _U}),
    Action.FACILITY_WRITE: frozenset({_A}),
    Action.RESIDENT_WRITE: frozenset({_A, _S}),
    Action.ACCOUNT_WRITE: frozenset({_A, _S}),
    Action.USER_READ: frozenset({_A}),
    Action.USER_WRITE: frozenset({_A}),
    Action.AUDIT_VERIFY: frozenset({_A, _U}),
    Action.VAULT_INGEST: frozenset({_A, _W}),
    Action.VAULT_MANAGE: frozenset({_A}),
    Action.LEGAL_HOLD: frozenset({_A}),
    Action.INCIDENT_READ: frozenset({_A, _S, _U}),
    Action.RECORDING_READ: frozenset({_A, _I}),
    Action.RECORDING_EXPORT: frozenset({_A, _I}),
    Action.FACILITY_READ: frozenset({_A, _S, _U}),
    Action.RESIDENT_READ: frozenset({_A, _S}),
    Action.OWN_ACCOUNT: frozenset({_A, _S, _I, _U}),
}


def allowed(role: Role, action: Action) -> bool:
    return role in PERMISSIONS[action]
