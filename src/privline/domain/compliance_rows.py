"""The rows a statement is folded from: what the report port returns, and its inputs.

Small frozen aggregates (one per facility, day, mode... of calls; one per incident kind)
and the :class:`Inputs` that gather them. No I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from privline.domain.audit_events import AuditAction
from privline.domain.compliance import Period
from privline.domain.model import Facility
from privline.domain.registry_history import AuditRow, Timeline

MODES = ("recorded", "private", "denied")
ACCESS_ACTIONS = (AuditAction.RECORDING_LIST, AuditAction.RECORDING_PLAY,
                  AuditAction.RECORDING_EXPORT)
OPENING_WARNING = "recording_warning"
REMINDER = "recording_reminder"


# --- what the report port returns -------------------------------------------------------


@dataclass(frozen=True)
class CallGroup:
    """Calls of one facility on one day sharing mode, request, rate, answer, privilege."""

    facility_id: str
    day: date
    mode: str
    private_requested: bool
    rate: Decimal
    connected: bool
    privileged: bool  # the number was privileged (verified) at the call's time
    calls: int
    charged_cents: int
    max_charge_micro_per_minute: int | None  # ceil(charge / billed minutes), micro-USD


@dataclass(frozen=True)
class WarningGroup:
    facility_id: str
    with_opening_warning: int  # recorded, connected calls with an opening-warning row
    reminders: int


@dataclass(frozen=True)
class PrivilegedRecordedCall:
    call_id: int
    sip_call_id: str | None
    at: datetime
    facility_id: str
    number: str | None
    mode: str
    reason: str
    connected: bool
    recordings: tuple[str, ...]  # "state" or "destroyed:reason" of each vault recording


@dataclass(frozen=True)
class IncidentGroup:
    facility_id: str | None
    kind: str
    incidents: int
    recordings: int


@dataclass(frozen=True)
class DestructionGroup:
    facility_id: str | None
    reason: str
    recordings: int


@dataclass(frozen=True)
class HoldGroup:
    facility_id: str | None
    placed: int
    released: int
    active_at_end: int


@dataclass(frozen=True)
class DisclosureRow:
    id: int
    at: datetime
    facility_id: str | None
    basis_type: str
    basis_reference: str
    recipient: str


@dataclass(frozen=True)
class LedgerGroup:
    facility_id: str | None
    kind: str  # deposit | charge | refund | anything else is a fee
    with_call: bool
    lines: int
    cents: int


@dataclass(frozen=True)
class RegistryCount:
    kind: str
    source: str
    count: int


@dataclass(frozen=True)
class AuditAtIssue:
    head_seq: int
    head_hash: str
    last_checkpoint: Mapping[str, Any] | None
    verification: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"head_seq": self.head_seq, "head_hash": self.head_hash,
                "last_checkpoint": dict(self.last_checkpoint) if self.last_checkpoint else None,
                "verification": dict(self.verification)}


@dataclass
class Inputs:
    """Everything a statement is computed from, as read in one snapshot."""

    period: Period
    as_of: datetime
    facilities: Sequence[Facility]
    all_facilities: bool
    calls: Sequence[CallGroup] = ()
    warnings: Sequence[WarningGroup] = ()
    privileged_recorded: Sequence[PrivilegedRecordedCall] = ()
    incidents: Sequence[IncidentGroup] = ()
    destructions: Sequence[DestructionGroup] = ()
    holds: Sequence[HoldGroup] = ()
    disclosures: Sequence[DisclosureRow] = ()
    access: Sequence[AuditRow] = ()
    ledger: Sequence[LedgerGroup] = ()
    location_requests: int = 0
    registry_events: Sequence[AuditRow] = ()
    timelines: Mapping[int, Timeline] = field(default_factory=dict)
    untracked_added: Sequence[RegistryCount] = ()
    untracked_protected_at: Sequence[int] = ()  # at each of registry_instants()
    audit_entries_in_period: int = 0


def registry_instants(period: Period, as_of: datetime) -> list[datetime]:
    """Month ends (and ``as_of``) at which the registry's size and backlog are shown."""
    ends = [m for m in period.month_starts()[1:] if m <= as_of]
    if not ends or ends[-1] < as_of:
        ends.append(as_of)
    return ends
