"""Phones known by SIP digest credentials: a facility's phone that authenticates with its
username and password is the facility's wherever its address is (docs/voice-menu.md).

Staff with the facility write right add and remove them, each change audited (the
username and facility; never the password or its HA1). The switch reads a phone's HA1
to let Kamailio's ``auth`` module check a digest response.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor
from privline.domain.phones import check_password, check_username, ha1
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import Conflict, NotFound, checked
from privline.services.facilities import get_facility
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.phones import PhoneCredential


def add_phone(uow_factory: UnitOfWorkFactory, actor: Actor, *, facility_id: str,
              username: str, password: str, now: datetime) -> PhoneCredential:
    check_allowed(actor, Action.FACILITY_WRITE)
    checked(check_username, username)
    checked(check_password, password)
    credential = PhoneCredential(username, facility_id, ha1(username, password), now)
    with uow_factory() as uow:
        get_facility(uow, facility_id)
        if uow.phones.get(username) is not None:
            raise Conflict(f"a phone named {username} already exists", code="phone_exists")
        uow.phones.add(credential)
        audit.record(uow, actor, AuditAction.PHONE_ADD, f"phone:{username}", now,
                     facility=facility_id)
        uow.commit()
    return credential


def remove_phone(uow_factory: UnitOfWorkFactory, actor: Actor, username: str, *,
                 now: datetime) -> None:
    """The phone's credentials stop working at its next call."""
    check_allowed(actor, Action.FACILITY_WRITE)
    with uow_factory() as uow:
        credential = uow.phones.get(username)
        if credential is None or not uow.phones.remove(username):
            raise NotFound(f"no phone {username}", code="phone_not_found")
        audit.record(uow, actor, AuditAction.PHONE_REMOVE, f"phone:{username}", now,
                     facility=credential.facility_id)
        uow.commit()


def list_phones(uow_factory: UnitOfWorkFactory, actor: Actor,
                facility_id: str | None = None) -> Sequence[PhoneCredential]:
    check_allowed(actor, Action.FACILITY_READ)
    with uow_factory() as uow:
        return uow.phones.list(facility_id)


def phone_for_digest(uow_factory: UnitOfWorkFactory, actor: Actor,
                     username: str) -> PhoneCredential | None:
    """The switch's read: the phone's facility and HA1, None for an unknown username."""
    check_allowed(actor, Action.DECIDE_CALL)
    with uow_factory() as uow:
        return uow.phones.get(username)
