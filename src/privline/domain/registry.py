"""The privileged-number registry: entries and the privilege rule.

One verified entry protects its number in every facility. A number is privileged at a
moment when some entry for it is verified and has started. An entry past its
``valid_until`` keeps protecting until staff mark it expired: a lapsed renewal must not
silently expose a lawyer's calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    ATTORNEY = "attorney"
    PHYSICIAN = "physician"
    MENTAL_HEALTH = "mental_health"
    RELIGIOUS_ADVISER = "religious_adviser"
    LEGAL_ADVOCATE = "legal_advocate"
    # A resident's private-call request names no profession; staff set it on review.
    UNSPECIFIED = "unspecified"


class Source(StrEnum):
    SELF_REGISTERED = "self_registered"
    STAFF = "staff"
    IMPORT = "import"
    RESIDENT_REQUEST = "resident_request"


class Status(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Privilege(StrEnum):
    """What the registry says of a number at one moment."""

    PRIVILEGED = "privileged"
    NOT_PRIVILEGED = "not_privileged"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Entry:
    id: int
    number: str
    kind: Kind
    holder: str
    credential: str
    source: Source
    status: Status
    valid_from: datetime
    valid_until: datetime | None
    created_at: datetime

    def protects_at(self, moment: datetime) -> bool:
        return self.status is Status.VERIFIED and self.valid_from <= moment


def privilege_at(entries: Iterable[Entry], moment: datetime) -> Privilege:
    """The privilege of one number at ``moment``, given all its registry entries."""
    if any(entry.protects_at(moment) for entry in entries):
        return Privilege.PRIVILEGED
    return Privilege.NOT_PRIVILEGED


# Allowed status changes; anything else is refused by the registry service.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.VERIFIED, Status.REVOKED}),
    Status.VERIFIED: frozenset({Status.REVOKED, Status.EXPIRED}),
    Status.EXPIRED: frozenset({Status.VERIFIED, Status.REVOKED}),
    Status.REVOKED: frozenset({Status.VERIFIED}),
}


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]
