"""The kinds of audit event, named once.

The services that write an event and the compliance code that reads the log back use
these names, so a renamed or misspelt action cannot silently drop out of a statement.
Values are stable: they are stored in the hash-chained log and covered by its signatures.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    # Facilities, residents, contact rules, accounts.
    FACILITY_ADD = "facility.add"
    RESIDENT_ADD = "resident.add"
    BLOCK_ADD = "block.add"
    PHONE_ADD = "phone.add"  # a phone's SIP digest credentials (never the password)
    PHONE_REMOVE = "phone.remove"
    ACCOUNT_DEPOSIT = "account.deposit"
    ACCOUNT_CHARGE = "account.charge"
    ACCOUNT_REFUND = "account.refund"
    # The registry of privileged numbers.
    REGISTRY_ADD = "registry.add"
    REGISTRY_REQUEST = "registry.request"
    REGISTRY_VERIFY = "registry.verify"
    REGISTRY_REVOKE = "registry.revoke"
    REGISTRY_EXPIRE = "registry.expire"
    REGISTRY_IMPORT = "registry.import"
    REGISTRY_IMPORT_START = "registry.import.start"
    REGISTRY_IMPORT_BATCH = "registry.import.batch"
    # Calls.
    CALL_DECIDE = "call.decide"
    CALL_ANSWER = "call.answer"
    CALL_WARNING = "call.warning"
    CALL_FAULT = "call.fault"
    CALL_END = "call.end"
    # Call set-ups refused for overload, counted per interval (docs/overload.md).
    CALL_OVERLOAD_REFUSED = "call.overload_refused"
    # Operators.
    USER_ADD = "user.add"
    USER_GRANT_FACILITY = "user.grant_facility"
    USER_REVOKE_FACILITY = "user.revoke_facility"
    # The recording vault and access to recordings.
    RECORDING_STORE = "recording.store"
    RECORDING_DESTROY_ON_ARRIVAL = "recording.destroy_on_arrival"
    RECORDING_HOLD_BACK = "recording.hold_back"
    RECORDING_QUARANTINE = "recording.quarantine"
    RECORDING_HOLD = "recording.hold"
    RECORDING_RELEASE_HOLD = "recording.release_hold"
    RECORDING_DESTROY = "recording.destroy"
    RECORDING_LIST = "recording.list"
    RECORDING_PLAY = "recording.play"
    RECORDING_EXPORT = "recording.export"
    VAULT_RECONCILE = "vault.reconcile"
    VAULT_SETTINGS = "vault.settings"
    # Compliance statements.
    REPORT_COMPLIANCE = "report.compliance"
    BLOCK_REMOVE = "block.remove"
    CALL_REFUSE = "call.refuse"
    FACILITY_SET = "facility.set"
    REGISTRY_REOPEN = "registry.reopen"
    REGISTRY_REVIEW_KEEP = "registry.review.keep"
    RESIDENT_DEACTIVATE = "resident.deactivate"
    RESIDENT_MOVE = "resident.move"
    RESIDENT_SET_PIN = "resident.set_pin"
    RESIDENT_UNLOCK = "resident.unlock"
    USER_PASSWORD = "user.password"  # noqa: S105 - an event name, not a secret
    USER_TOTP = "user.totp"
    USER_ROLE = "user.role"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_REVOKE = "user.revoke"
    USER_TOKEN = "user.token"  # noqa: S105 - an event name, not a secret
    USER_SIGNIN_FAILED = "user.signin_failed"
    USER_SIGNIN_REFUSED = "user.signin_refused"
    USER_SIGNIN = "user.signin"
    USER_SESSION_EXPIRED = "user.session_expired"
    USER_SIGNOUT = "user.signout"
    PORTAL_REGISTER = "portal.register"
