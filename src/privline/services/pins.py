"""Resident PINs: keyed hashes, checked in microseconds, and the old argon2 hashes.

A stored hash names its scheme: ``hmac-sha256$<key id>$<hex>`` is HMAC-SHA-256, under
the PIN key with that id, of the resident's id and the PIN (the id keeps two residents
with one PIN from sharing a hash). The key lives in a file, never in the database
(adapters/pin_key.py), so a copy of the database cannot be searched for PINs; online
guessing is bounded by the lockout (domain/model.py: 5 misses lock for 10 minutes).

Hashes made before keys existed are argon2 (``$argon2id$...``). They still verify, with
argon2, outside any transaction (it takes tens of milliseconds by design), and the
resident's next correct PIN replaces the hash with a keyed one. So does a correct PIN
under a key that is no longer the current one: rotation needs no reset.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import argon2

from privline.services.errors import Unavailable
from privline.services.ports.facilities import PinKeyring

SCHEME = "hmac-sha256"
_LEGACY_PREFIX = "$argon2"
# Only verifies old hashes; new ones are never argon2.
_argon2 = argon2.PasswordHasher()


def require(keyring: PinKeyring | None) -> PinKeyring:
    if keyring is None:
        raise Unavailable("no PIN key is configured; run `privline init`",
                          code="pin_key_missing")
    return keyring


def _message(resident_id: str, pin: str) -> bytes:
    return f"privline.pin.v1\x00{resident_id}\x00{pin}".encode()


def hash_pin(keyring: PinKeyring, resident_id: str, pin: str) -> str:
    digest = keyring.mac(keyring.current_id, _message(resident_id, pin))
    assert digest is not None  # noqa: S101 - the current key is always in the ring
    return f"{SCHEME}${keyring.current_id}${digest.hex()}"


def is_legacy(pin_hash: str) -> bool:
    return pin_hash.startswith(_LEGACY_PREFIX)


def legacy_matches(pin_hash: str, pin: str) -> bool:
    """The slow argon2 check of an old hash; callers run it outside a transaction."""
    try:
        return bool(_argon2.verify(pin_hash, pin))
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def held_by_another(keyring: PinKeyring, hashes: Iterable[tuple[str, str, str | None]],
                    pin: str, resident_id: str) -> bool:
    """Whether a resident other than ``resident_id`` among ``hashes`` (a facility's, as
    ``ResidentRepository.pin_hashes`` gives them) holds ``pin``: the voice menu finds a
    resident by PIN alone, so two holders would make it identify nobody. Old argon2
    hashes are not tried (tens of milliseconds each, inside the writer's transaction)."""
    return any(rid != resident_id and not is_legacy(pin_hash)
               and check(keyring, rid, pin_hash, pin).matched
               for rid, pin_hash, _ in hashes)


@dataclass(frozen=True)
class PinCheck:
    matched: bool
    new_hash: str | None = None  # set when a correct PIN's hash is to be re-keyed


def check(keyring: PinKeyring, resident_id: str, pin_hash: str, pin: str, *,
          legacy_matched: bool | None = None) -> PinCheck:
    """Check ``pin`` against the stored hash in constant time.

    ``legacy_matched`` is the argon2 verdict for a legacy hash, computed beforehand by
    :func:`legacy_matches`; a legacy hash without it does not match. A hash under a key
    the ring no longer holds never matches (staff set a new PIN).
    """
    if is_legacy(pin_hash):
        matched = bool(legacy_matched)
        return PinCheck(matched, hash_pin(keyring, resident_id, pin) if matched else None)
    scheme, _, rest = pin_hash.partition("$")
    key_id, _, stored = rest.partition("$")
    digest = keyring.mac(key_id, _message(resident_id, pin)) if scheme == SCHEME else None
    if digest is None:
        return PinCheck(False)
    matched = hmac.compare_digest(digest.hex(), stored)
    rekey = matched and key_id != keyring.current_id
    return PinCheck(matched, hash_pin(keyring, resident_id, pin) if rekey else None)
