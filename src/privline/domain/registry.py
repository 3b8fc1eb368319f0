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


class Review(StrEnum):
    """Why a directory import no longer vouches for a verified entry.

    An import never turns an entry off: it sends it to staff, and the entry keeps
    protecting its number until staff revoke it or keep it.
    """

    MISSING = "missing from the directory"
    DEACTIVATED = "deactivated in the directory"


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
    review: str | None = None  # a Review while staff have yet to decide

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


def lowers_protection(current: Status, target: Status) -> bool:
    """Whether a change takes protection away (or refuses it): it needs a stated reason."""
    return target in (Status.REVOKED, Status.EXPIRED) and current is not target
