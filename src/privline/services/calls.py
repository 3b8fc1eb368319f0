"""Call decisions: the one place a call is judged private, recorded or denied.

The switch, the API and the CLI all call :func:`decide_call`; there is no second copy of
the policy anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from privline.domain.access import Action
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor
from privline.domain.numbers import to_e164
from privline.domain.policy import CallerState, CallRequest, Decision, decide
from privline.domain.registry import Entry, Kind, Privilege, Source, Status, privilege_at
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import Conflict, NotFound
from privline.services.facilities import get_facility, pin_matches
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
    matched = _pin_matched(uow_factory, request)
    with uow_factory() as uow:
        facility = get_facility(uow, request.facility_id)
        resident = uow.residents.get(request.resident_id)
        if resident is None or resident.facility_id != facility.id:
            raise NotFound(f"no resident {request.resident_id} at {facility.id}",
                           code="resident_not_found")
        locked = resident.locked_at(now)
        pin_ok = True
        if not locked and matched is not None:
            pin_ok = matched
            resident.pin_attempt(matched, now)
            uow.residents.save(resident)
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
            balance_cents=uow.accounts.balance(resident.id),
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
        if sip_call_id is not None and uow.calls.get(sip_call_id) is not None:
            raise Conflict(f"call {sip_call_id} was decided already", code="call_exists")
        record_id = uow.calls.add(now, facility.id, resident.id, request.dialled,
                                  request.private_requested, decision, sip_call_id)
        audit.record(uow, actor, "call.decide", f"call:{record_id}", now, sip_call_id=sip_call_id,
                     facility=facility.id, resident=resident.id, number=number,
                     mode=decision.mode.value, reason=decision.reason.value,
                     private_requested=request.private_requested, review=decision.review)
        uow.commit()
    return decision


def _pin_matched(uow_factory: UnitOfWorkFactory, request: CallRequest) -> bool | None:
    """Check the PIN before the decision's transaction opens (None: no PIN given).

    argon2 takes tens of milliseconds by design; inside the transaction it would hold
    SQLite's write lock, and every other call set-up would queue behind it. The attempt
    is counted inside the transaction, against the row as it is then.
    """
    if request.pin is None:
        return None
    with uow_factory() as uow:
        resident = uow.residents.get(request.resident_id)
    if resident is None:
        return False  # the decision's transaction reports the unknown resident
    return pin_matches(resident.pin_hash, request.pin)


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
    audit.record(uow, actor, "registry.request", f"registry:{entry.id}", now,
                 number=number, resident=resident_id)
