"""Call records: each decision and the life of the call after it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from privline.domain.model import CallRecord, WarningPlayed
from privline.domain.policy import Decision


class CallLog(Protocol):
    def add(
        self,
        at: datetime,
        facility_id: str,
        resident_id: str,
        dialled: str,
        private_requested: bool,
        decision: Decision,
        sip_call_id: str | None = None,
    ) -> int | None:
        """The new record's id; None (nothing written) when ``sip_call_id`` has one."""
        ...
    def get(self, sip_call_id: str) -> CallRecord | None: ...
    def life(self, sip_call_id: str) -> CallRecord | None:
        """As :meth:`get` without the warnings played (``warnings`` empty): what a
        call's life events need, read for every event the call agent applies."""
        ...
    def warnings(self, call_id: int) -> tuple[WarningPlayed, ...]:
        """The warnings played on the call with this record id, oldest first."""
        ...
    def update(self, call_id: int, **fields: object) -> None: ...
    def add_warning(self, call_id: int, warning: WarningPlayed) -> None: ...
    # The switch's side: events applied once, refusals before a decision, open calls.
    def claim_event(self, sip_call_id: str, kind: str, seq: int, at: datetime) -> bool: ...
    def add_refusal(self, refusal: CallRefusal) -> None: ...
    def refusal(self, sip_call_id: str) -> CallRefusal | None: ...
    def open_calls(self) -> Sequence[CallRecord]: ...


@dataclass(frozen=True)
class CallRefusal:
    """A call the switch turned away before any decision was made."""

    sip_call_id: str
    at: datetime
    facility_id: str | None
    resident_id: str | None
    dialled: str | None
    reason: str
    sip_code: int
