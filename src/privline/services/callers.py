"""Who is calling from a stock phone: the facility by the phone's address, the resident
by the PIN keyed at the voice menu (unique within a facility).

Reads only: the PIN attempt itself is counted, and the call judged, by ``decide_call``.
"""

from __future__ import annotations

import ipaddress

from privline.domain.access import Action
from privline.domain.model import Actor, Facility
from privline.services import pins
from privline.services.access import check_allowed
from privline.services.ports import UnitOfWorkFactory


def facility_for_phone(uow_factory: UnitOfWorkFactory, actor: Actor,
                       address: str) -> Facility | None:
    """The one facility whose phone networks hold ``address``, the most specific network
    winning; None when none does, or when two facilities name it equally closely (a
    call is never put on a facility by guess)."""
    check_allowed(actor, Action.DECIDE_CALL)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    with uow_factory() as uow:
        facilities = uow.facilities.list()
    best: list[tuple[int, Facility]] = []
    for facility in facilities:
        for cidr in facility.phones:
            try:
                network = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                continue
            if ip in network:
                best.append((network.prefixlen, facility))
    if not best:
        return None
    top = max(prefix for prefix, _ in best)
    winners = {f.id: f for prefix, f in best if prefix == top}
    return next(iter(winners.values())) if len(winners) == 1 else None


def facility_by_id(uow_factory: UnitOfWorkFactory, actor: Actor,
                   facility_id: str) -> Facility | None:
    """The facility of a phone that authenticated with its credentials."""
    check_allowed(actor, Action.DECIDE_CALL)
    with uow_factory() as uow:
        return uow.facilities.get(facility_id)


def resident_for_pin(uow_factory: UnitOfWorkFactory, actor: Actor, facility_id: str,
                     pin: str) -> tuple[str, str | None] | None:
    """(resident id, their own menu language) of the facility's resident whose PIN this
    is; None when no one's is, or when more than one resident holds it (then the PIN
    identifies nobody).

    Keyed hashes cost microseconds each, so every resident of the facility is tried.
    Old argon2 hashes are not tried here (tens of milliseconds each): such a resident
    uses a kiosk once, which re-keys the hash, or is given a new PIN."""
    check_allowed(actor, Action.DECIDE_CALL)
    if not pin.isdigit():
        return None
    with uow_factory() as uow:
        keyring = pins.require(uow.pins)
        hashes = uow.residents.pin_hashes(facility_id)
    found = [(rid, language) for rid, pin_hash, language in hashes
             if not pins.is_legacy(pin_hash) and pins.check(keyring, rid, pin_hash, pin).matched]
    return found[0] if len(found) == 1 else None
