"""The per-call decision: private, recorded or denied.

A pure function of plain values. The first promise lives here: a number that is
verified privileged at call time gives ``private`` and nothing a facility, resident or
contact setting holds can change that; when privilege is unknown the call is never
recorded silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from privline.domain.announcements import Prompt
from privline.domain.errors import NoRateCap
from privline.domain.rates import FacilityKind, RateCap, cap_in_force
from privline.domain.registry import Privilege


class Mode(StrEnum):
    PRIVATE = "private"
    RECORDED = "recorded"
    DENIED = "denied"


class UnknownPrivilege(StrEnum):
    """What a facility does when the registry cannot say whether a number is privileged."""

    REFUSE = "refuse"
    CONNECT_UNRECORDED = "connect_unrecorded"


class Reason(StrEnum):
    PRIVILEGED = "privileged_number"
    STANDARD = "standard"
    PRIVATE_NOT_REGISTERED = "private_not_registered"
    PRIVILEGE_UNKNOWN = "privilege_unknown"
    PRIVILEGE_UNKNOWN_UNRECORDED = "privilege_unknown_unrecorded"
    RESIDENT_INACTIVE = "resident_inactive"
    RESIDENT_LOCKED = "resident_locked"
    PIN_INVALID = "pin_invalid"
    NUMBER_BLOCKED = "number_blocked"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    RATE_ABOVE_CAP = "rate_above_cap"
    NO_RATE_CAP = "no_rate_cap"


@dataclass(frozen=True)
class CallRequest:
    facility_id: str
    resident_id: str
    dialled: str
    private_requested: bool = False
    pin: str | None = None


@dataclass(frozen=True)
class FacilityPolicy:
    kind: FacilityKind
    adp: int
    unknown_privilege: UnknownPrivilege = UnknownPrivilege.REFUSE
    private_calls_free: bool = True
    rate_per_minute: Decimal | None = None  # None: charge the cap in force
    max_call_minutes: int = 15


@dataclass(frozen=True)
class CallerState:
    active: bool
    locked: bool
    pin_ok: bool  # True when the PIN matched or none was required
    balance_cents: int


@dataclass(frozen=True)
class Decision:
    mode: Mode
    reason: Reason
    announcements: tuple[Prompt, ...]
    rate_per_minute: Decimal
    max_minutes: int
    number: str | None
    review: bool = False
    register_request: bool = False  # store a pending registration for staff

    @property
    def records(self) -> bool:
        return self.mode is Mode.RECORDED


_ZERO = Decimal("0")


def decide(
    *,
    facility: FacilityPolicy,
    caller: CallerState,
    number: str | None,
    privilege: Privilege,
    private_requested: bool,
    blocked: bool,
    now: datetime,
    caps: tuple[RateCap, ...] | None = None,
) -> Decision:
    """Decide one call. ``number`` is None when the dial string did not parse."""

    def denied(reason: Reason) -> Decision:
        return Decision(Mode.DENIED, reason, (Prompt.DENIED,), _ZERO, 0, number)

    if not caller.active:
        return denied(Reason.RESIDENT_INACTIVE)
    if caller.locked:
        return denied(Reason.RESIDENT_LOCKED)
    if not caller.pin_ok:
        return denied(Reason.PIN_INVALID)

    try:
        cap = cap_in_force(facility.kind, facility.adp, now.date(), *([caps] if caps else []))
    except NoRateCap:
        return denied(Reason.NO_RATE_CAP)
    rate = facility.rate_per_minute if facility.rate_per_minute is not None else cap.per_minute

    if privilege is Privilege.PRIVILEGED:
        # Checked before anything a setting can influence: blocks, balance and rate
        # problems may not turn a privileged call into a recorded one.
        if facility.private_calls_free:
            return Decision(
                Mode.PRIVATE, Reason.PRIVILEGED, (Prompt.PRIVATE_NOTICE,), _ZERO,
                facility.max_call_minutes, number,
            )
        return _paid(facility, caller, cap, rate, number, Mode.PRIVATE, Reason.PRIVILEGED,
                     (Prompt.PRIVATE_NOTICE, Prompt.RATE), denied)

    if privilege is Privilege.UNKNOWN or number is None:
        if facility.unknown_privilege is UnknownPrivilege.REFUSE:
            return denied(Reason.PRIVILEGE_UNKNOWN)
        decision = _paid(facility, caller, cap, rate, number, Mode.PRIVATE,
                         Reason.PRIVILEGE_UNKNOWN_UNRECORDED,
                         (Prompt.REVIEW_NOTICE, Prompt.RATE), denied)
        if decision.mode is Mode.DENIED:
            return decision
        return replace(decision, review=True)

    if blocked:
        return denied(Reason.NUMBER_BLOCKED)
    if private_requested:
        decision = _paid(facility, caller, cap, rate, number, Mode.RECORDED,
                         Reason.PRIVATE_NOT_REGISTERED,
                         (Prompt.PRIVATE_NOT_REGISTERED, Prompt.RATE, Prompt.RECORDING_WARNING),
                         denied)
        return decision if decision.mode is Mode.DENIED else replace(
            decision, register_request=True)
    return _paid(facility, caller, cap, rate, number, Mode.RECORDED, Reason.STANDARD,
                 (Prompt.RATE, Prompt.RECORDING_WARNING), denied)


def _paid(
    facility: FacilityPolicy,
    caller: CallerState,
    cap: RateCap,
    rate: Decimal,
    number: str | None,
    mode: Mode,
    reason: Reason,
    prompts: tuple[Prompt, ...],
    denied: Callable[[Reason], Decision],
) -> Decision:
    if rate > cap.per_minute:
        return denied(Reason.RATE_ABOVE_CAP)
    minutes = facility.max_call_minutes
    if rate > 0:
        affordable = int((Decimal(caller.balance_cents) / (rate * 100)).to_integral_value(
            rounding="ROUND_FLOOR"))
        if affordable < 1:
            return denied(Reason.INSUFFICIENT_BALANCE)
        minutes = min(minutes, affordable)
    return Decision(mode, reason, prompts, rate, minutes, number)

