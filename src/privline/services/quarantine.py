"""Retroactive quarantine: when a number becomes privileged, its recordings go dark at once.

Called inside the transaction that protects a number (services/protection.py, the one
path by which staff entries, portal registrations and imports protect numbers), so the
verification and the quarantine commit together: there is no moment at which a number
is verified and an investigator can still play a recording of a call to it.

The cost is one index lookup on ``recordings (number, state)`` and one UPDATE by primary
key, whatever the size of the call history. This module imports nothing from the
registry service so the registry service can import it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from privline.domain.access import Role
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor
from privline.domain.vault import IncidentKind, VaultPolicy
from privline.services import audit
from privline.services.ports import UnitOfWork

# Who quarantines when no person does (the sweep's re-check).
VAULT_ACTOR = Actor("vault", Role.ADMIN)


def quarantine_number(uow: UnitOfWork, actor: Actor, number: str, now: datetime,
                      *, cause: str) -> int:
    """Quarantine every stored recording of calls to ``number``, in ``uow``'s transaction.

    One incident and one audit event per facility concerned (each facility reviews its
    own); the audit event lists every recording id it moved. Returns how many moved.
    """
    # Taken even when nothing is stored yet: an ingest indexing a recording of this
    # number waits for this transaction, then sees the number as privileged.
    uow.recordings.lock_number(number)
    found = uow.recordings.stored_for_number(number)
    if not found:
        return 0
    by_facility: dict[str | None, list[int]] = defaultdict(list)
    for recording_id, facility_id in found:
        by_facility[facility_id].append(recording_id)
    moved = 0
    for facility_id, ids in sorted(by_facility.items(), key=lambda item: item[0] or ""):
        policy = uow.vault_settings.get(facility_id) if facility_id else VaultPolicy()
        destroy_after = policy.destroy_after(now)
        incident = uow.incidents.open(
            IncidentKind.QUARANTINED_ON_VERIFY, at=now, recordings=len(ids),
            facility_id=facility_id, number=number,
            details={"cause": cause, "destroy_after": destroy_after.isoformat()})
        moved += uow.recordings.quarantine(ids, now, destroy_after, incident)
        audit.record(uow, actor, AuditAction.RECORDING_QUARANTINE, f"incident:{incident}", now,
                     number=number, facility=facility_id, cause=cause,
                     destroy_after=destroy_after.isoformat(), recordings=sorted(ids))
    return moved
