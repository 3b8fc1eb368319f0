"""Call decisions: the one place a call is judged private, recorded or denied.

The switch, the API and the CLI all call :func:`decide_call`; there is no second copy of
the policy anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor, Resident
from privline.domain.numbers import to_e164
from privline.domain.policy import CallerState, CallRequest, Decision, decide
from privline.domain.registry import Entry, Kind, Privilege, Source, Status, privilege_at
from privline.services import audit, pins
from privline.services.access import check_allowed
from privline.services.errors import Conflict, NotFound
from privline.services.facilities import get_facility
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.registry import NewEntry, RegistryUnavailable


def decide_call(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    request: CallRequest,
    *,
    now: datetime,
    sip_call_id: str | None = None,
) -> Decision:
    """Decide one call and log the decision with its audit event, in one transaction.

    ``sip_call_id`` ties the decision to a call placed through the switch; the call's
    record then follows its life (see :mod:`privline.services.call_records`).
    """
    check_allowed(actor, Action.DECIDE_CALL)
    legacy: tuple[str, bool] | None = None
    while True:
        try:
            return _decide(uow_factory, actor, request, now, sip_call_id, legacy)
        except _LegacyPin as old:
            # An argon2 hash from before PIN keys: checked outside the transaction, since
            # argon2 takes tens of milliseconds and would hold the write lock meanwhile.
            # The decision then runs again and re-keys the hash on a correct PIN.
            assert request.pin is not None  # noqa: S101 - raised only with a PIN
            legacy = (old.pin_hash, pins.legacy_matches(old.pin_hash, request.pin))


class _LegacyPin(Exception):
    def __init__(self, pin_hash: str) -> None:
        self.pin_hash = pin_hash


def _decide(
    uow_factory: UnitOfWorkFactory, actor: Actor, request: CallRequest, now: datetime,
    sip_call_id: str | None, legacy: tuple[str, bool] | None,
) -> Decision:
    with uow_factory() as uow:
        found = uow.residents.caller(request.resident_id)
        if found is None or found.facility.id != request.facility_id:
            get_facility(uow, request.facility_id)  # an unknown facility is named first
            raise NotFound(f"no resident {request.resident_id} at {request.facility_id}",
                           code="resident_not_found")
        facility, resident = found.facility, found.resident
        locked = resident.locked_at(now)
        pin_ok, rekeyed = True, False
        if not locked and request.pin is not None:
            pin_ok, rekeyed = _pin_attempt(uow, resident, request.pin, legacy, now)
        try:
            number: str | None = to_e164(request.dialled, facility.dial_plan)
        except InvalidNumber:
            number = None
        entries = _entries_or_none(uow, number)
        privilege = Privilege.UNKNOWN if entries is None else privilege_at(entries, now)
        blocked = number is not None and uow.blocks.is_blocked(facility.id, resident.id, number)
        caller = CallerState(
            active=resident.active,
            locked=locked or resident.locked_at(now),
            pin_ok=pin_ok,
            balance_cents=found.balance_cents,
        )
        decision = decide(
            facility=facility.policy,
            caller=caller,
            number=number,
            privilege=privilege,
            private_requested=request.private_requested,
            blocked=blocked,
            now=now,
        )
        if decision.register_request and number is not None and entries is not None:
            _request_registration(uow, actor, number, entries, request.resident_id, now)
        record_id = uow.calls.add(now, facility.id, resident.id, request.dialled,
                                  request.private_requested, decision, sip_call_id)
        if record_id is None:
            raise Conflict(f"call {sip_call_id} was decided already", code="call_exists")
        # Only a re-keyed PIN adds a detail: the hash itself never reaches the log.
        extra = {"pin_rekeyed": True} if rekeyed else {}
        audit.record(uow, actor, AuditAction.CALL_DECIDE,
                     f"call:{record_id}", now, sip_call_id=sip_call_id,
                     facility=facility.id, resident=resident.id, number=number,
                     mode=decision.mode.value, reason=decision.reason.value,
                     private_requested=request.private_requested, review=decision.review,
                     **extra)
        uow.commit()
    return decision


def _pin_attempt(uow: UnitOfWork, resident: Resident, pin: str,
                 legacy: tuple[str, bool] | None, now: datetime) -> tuple[bool, bool]:
    """Check and count one PIN attempt: (matched, hash re-keyed). The row is written only
    when something changed, so the usual correct PIN costs no UPDATE."""
    keyring = pins.require(uow.pins)
    legacy_matched = None
    if pins.is_legacy(resident.pin_hash):
        if legacy is None or legacy[0] != resident.pin_hash:
            raise _LegacyPin(resident.pin_hash)
        legacy_matched = legacy[1]
    result = pins.check(keyring, resident.id, resident.pin_hash, pin,
                        legacy_matched=legacy_matched)
    before = (resident.failed_pins, resident.locked_until)
    resident.pin_attempt(result.matched, now)
    if result.new_hash is not None:
        resident.pin_hash = result.new_hash
    if result.new_hash is not None or before != (resident.failed_pins, resident.locked_until):
        uow.residents.save(resident)
    return result.matched, result.new_hash is not None


def _entries_or_none(uow: UnitOfWork, number: str | None) -> Sequence[Entry] | None:
    """The number's registry entries; None when unparsed or the registry is unreadable."""
    if number is None:
        return None
    try:
        return uow.registry.entries_for(number)
    except RegistryUnavailable:
        return None


def _request_registration(
    uow: UnitOfWork, actor: Actor, number: str, entries: Sequence[Entry], resident_id: str,
    now: datetime,
) -> None:
    """Store one pending request for staff, unless the number already has a live entry."""
    if any(e.status in (Status.PENDING, Status.VERIFIED) for e in entries):
        return
    entry = uow.registry.add(
        NewEntry(number, Kind.UNSPECIFIED, f"requested by resident {resident_id}",
                 f"resident:{resident_id}", Source.RESIDENT_REQUEST, Status.PENDING, now, None),
        now,
    )
    audit.record(uow, actor, AuditAction.REGISTRY_REQUEST, f"registry:{entry.id}", now,
                 number=number, resident=resident_id)
