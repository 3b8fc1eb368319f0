"""Phones known by SIP digest credentials, checked in Kamailio's routing.

Kamailio's ``auth`` module does the digest itself (nonces signed with a secret made at
start, their expiry and replay checks, RFC 2617 responses); privline only supplies each
phone's HA1 (services/phones.py) through KEMI's ``pv_auth_check``. So no copy of the
digest arithmetic lives in privline, and Kamailio needs no database module or table of
its own layout (``auth_db`` would), on SQLite and PostgreSQL alike.

An INVITE to the voice menu whose From user (or, once challenged, whose credentials'
username) names a phone with credentials must authenticate: without credentials it is
challenged (407); with wrong ones it is refused (403, ``phone_auth_failed``). An
authenticated phone's facility is its credentials', wherever its address is. A phone
with no credentials is known by its address, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from privline.adapters.switch.decisions import SWITCH_ACTOR
from privline.domain.phones import REALM
from privline.services.phones import phone_for_digest
from privline.services.ports import UnitOfWorkFactory

# Set by the routing (any such header from the phone is removed first): the facility of
# the phone that authenticated, for the voice menu.
PHONE_FACILITY = "X-Privline-Phone-Facility"
NONCE_STALE = (-4, -6)  # pv_auth_check: nonce expired or reused: challenge again


class PhoneDirectory(Protocol):
    def digest_of(self, username: str) -> tuple[str, str] | None:
        """(HA1, facility id) of the phone with this username; None: no such phone."""
        ...


class CorePhones:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    def digest_of(self, username: str) -> tuple[str, str] | None:
        found = phone_for_digest(self._uow_factory, SWITCH_ACTOR, username)
        return None if found is None else (found.ha1, found.facility_id)


@dataclass(frozen=True)
class PhoneCheck:
    """``facility``: the authenticated phone's; ``challenged``: a 407 went out;
    ``refused``: wrong credentials. All empty: no credentials needed (by address)."""

    facility: str | None = None
    challenged: bool = False
    refused: bool = False


def check_phone(k: Any, phones: PhoneDirectory) -> PhoneCheck:
    if k.auth.has_credentials(REALM) > 0:
        found = phones.digest_of(k.pv.get("$au") or "")
        if found is None:
            return PhoneCheck(refused=True)
        ha1, facility = found
        result = k.auth.pv_auth_check(REALM, ha1, 1, 0)  # 1: the password given is HA1
        if result in NONCE_STALE:
            k.auth.auth_challenge(REALM, 16)  # 16: stale=true, the phone retries at once
            return PhoneCheck(challenged=True)
        if result < 0:
            return PhoneCheck(refused=True)
        k.auth.consume_credentials()  # the menu needs no password hash
        return PhoneCheck(facility=facility)
    if phones.digest_of(k.pv.get("$fU") or "") is not None:
        k.auth.auth_challenge(REALM, 0)  # 407 (401 only for a REGISTER)
        return PhoneCheck(challenged=True)
    return PhoneCheck()
