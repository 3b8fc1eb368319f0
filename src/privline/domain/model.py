"""Entities the services load and store: facilities, residents, users, audit events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from privline.domain.access import Role
from privline.domain.numbers import DialPlan
from privline.domain.policy import FacilityPolicy, UnknownPrivilege
from privline.domain.rates import FacilityKind

PIN_ATTEMPTS_BEFORE_LOCK = 5
PIN_LOCK_SECONDS = 600


@dataclass(frozen=True)
class Facility:
    id: str
    name: str
    kind: FacilityKind
    adp: int
    region: str = "US"
    outside_prefix: str | None = None
    international_prefix: str = "011"
    unknown_privilege: UnknownPrivilege = UnknownPrivilege.REFUSE
    private_calls_free: bool = True
    rate_per_minute: Decimal | None = None
    max_call_minutes: int = 15
    reminder_interval_s: int = 300
    phones: tuple[str, ...] = ()  # CIDRs its phones call from
    language: str = "en"  # the voice menu's, unless the resident has their own

    # Made once per Facility (it is frozen): every call decision asks for both.
    @cached_property
    def dial_plan(self) -> DialPlan:
        return DialPlan(self.region, self.outside_prefix, self.international_prefix)

    @cached_property
    def policy(self) -> FacilityPolicy:
        return FacilityPolicy(
            kind=self.kind,
            adp=self.adp,
            unknown_privilege=self.unknown_privilege,
            private_calls_free=self.private_calls_free,
            rate_per_minute=self.rate_per_minute,
            max_call_minutes=self.max_call_minutes,
        )


@dataclass
class Resident:
    id: str
    facility_id: str
    pin_hash: str
    active: bool = True
    failed_pins: int = 0
    locked_until: datetime | None = None
    language: str | None = None  # the voice menu's; None: the facility's

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def pin_attempt(self, matched: bool, now: datetime) -> None:
        """Count one PIN attempt: a match resets the count, the fifth miss in a row locks."""
        if matched:
            self.failed_pins = 0
            return
        self.failed_pins += 1
        if self.failed_pins >= PIN_ATTEMPTS_BEFORE_LOCK:
            self.locked_until = now + timedelta(seconds=PIN_LOCK_SECONDS)
            self.failed_pins = 0


@dataclass(frozen=True)
class Actor:
    """Who asks: a user of the API or the operator at the command line."""

    name: str
    role: Role
    user_id: int | None = None  # an API user's id; scopes investigators to facilities


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    created_at: datetime
    password_hash: str | None = None  # argon2id; None: cannot sign in to the web pages
    totp_secret: str | None = None  # RFC 6238 base32; None: not enrolled
    totp_last_step: int = 0  # the last time step whose code was accepted
    disabled_at: datetime | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WarningPlayed:
    at: datetime
    prompt: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class CallRecord:
    """A call's decision and, for calls placed through the switch, its life."""

    id: int
    sip_call_id: str | None
    at: datetime
    facility_id: str
    resident_id: str
    number: str | None
    mode: str
    reason: str
    rate_per_minute: Decimal
    max_minutes: int
    review: bool
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: int | None = None
    accepted_at: datetime | None = None  # voice menu: the called party pressed 1
    charge_cents: int | None = None
    end_reason: str | None = None
    fault: str | None = None
    warnings: tuple[WarningPlayed, ...] = ()
