"""Resident PINs keyed by a secret file: a copy of the database gives no PIN away.

Every test runs on SQLite and PostgreSQL (the ``uow`` fixture).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import argon2
import pytest
from sqlalchemy import Engine, select, update

from privline.adapters.db import tables as t
from privline.adapters.db.engine import SqlUnitOfWork
from privline.adapters.pin_key import PinKeyring
from privline.domain.policy import CallRequest, Mode, Reason
from privline.services import calls, facilities, pins
from privline.services.errors import Unavailable
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from tests.conftest import ADMIN, FAMILY_NUMBER, NOW, PRISON, ROSA, ROSA_PIN, STAFF, World


def stored_hash(engine: Engine, resident: str = ROSA) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(t.residents.c.pin_hash)
                                .where(t.residents.c.id == resident)).scalar_one())


def decide(uow: UnitOfWorkFactory, pin: str, seconds: int = 0):  # type: ignore[no-untyped-def]
    return calls.decide_call(uow, STAFF, CallRequest(PRISON.id, ROSA, FAMILY_NUMBER, False, pin),
                             now=NOW + timedelta(seconds=seconds))


def factory(engine: Engine, keyring: PinKeyring | None) -> UnitOfWorkFactory:
    def make() -> UnitOfWork:
        return SqlUnitOfWork(engine, pins=keyring)
    return make


def last_audit_details(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(t.audit_events.c.details)
                                .order_by(t.audit_events.c.seq.desc()).limit(1)).scalar_one())


def test_a_pin_hash_from_the_database_cannot_be_checked_without_the_key_file(
        engine: Engine, tmp_path: Path) -> None:
    """An attacker with the database tries every 4-digit PIN: without the key file none
    matches the stored hash, whatever key they guess; with the key file the PIN falls."""
    key_file = tmp_path / "keys" / "pin.key"
    uow = factory(engine, PinKeyring.load_or_create(key_file))
    facilities.add_facility(uow, ADMIN, PRISON, now=NOW)
    facilities.add_resident(uow, STAFF, facility_id=PRISON.id, resident_id=ROSA, pin="7351",
                            now=NOW)
    stolen = stored_hash(engine)
    scheme, key_id, digest = stolen.split("$")
    assert scheme == "hmac-sha256" and "7351" not in stolen

    def search(mac: object) -> list[str]:
        return [pin for pin in (f"{n:04d}" for n in range(10_000))
                if hmac.compare_digest(mac(pin), digest)]  # type: ignore[operator]

    # Without the key: unkeyed hashes of every form, and keys an attacker could guess.
    message = lambda pin: f"privline.pin.v1\x00{ROSA}\x00{pin}".encode()  # noqa: E731
    assert search(lambda pin: hashlib.sha256(message(pin)).hexdigest()) == []
    assert search(lambda pin: hashlib.sha256(pin.encode()).hexdigest()) == []
    for guess in (b"\0" * 32, key_id.encode().ljust(32, b"\0"), bytes.fromhex(digest)[:32]):
        assert search(lambda pin, k=guess: hmac.digest(k, message(pin), "sha256").hex()) == []
    wrong_ring = PinKeyring.generate()
    assert search(lambda pin: (wrong_ring.mac(wrong_ring.current_id, message(pin))
                               or b"").hex()) == []
    # With the key file the same search finds the PIN, and only it.
    ring = PinKeyring.load(key_file)
    assert search(lambda pin: (ring.mac(key_id, message(pin)) or b"").hex()) == ["7351"]


def test_pins_are_stored_keyed_never_plain_and_differ_between_residents(
        uow: UnitOfWorkFactory, world: World, engine: Engine, pin_keys: PinKeyring) -> None:
    # One PIN at two facilities (within one, a PIN is unique).
    facilities.add_facility(uow, ADMIN, replace(PRISON, id="other", phones=()), now=NOW)
    facilities.add_resident(uow, STAFF, facility_id="other", resident_id="R2002",
                            pin=ROSA_PIN, now=NOW)
    rosa, other = stored_hash(engine), stored_hash(engine, "R2002")
    assert rosa.startswith(f"hmac-sha256${pin_keys.current_id}$")
    assert rosa != other  # one PIN, two residents, two hashes
    assert decide(uow, ROSA_PIN).reason is not Reason.PIN_INVALID
    assert decide(uow, "0000").reason is Reason.PIN_INVALID


def test_an_argon2_hash_is_replaced_by_a_keyed_one_on_the_next_correct_pin(
        uow: UnitOfWorkFactory, world: World, engine: Engine, pin_keys: PinKeyring) -> None:
    old = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(ROSA_PIN)
    with engine.begin() as conn:
        conn.execute(update(t.residents).where(t.residents.c.id == ROSA).values(pin_hash=old))
    # A wrong PIN is refused and leaves the old hash alone.
    assert decide(uow, "9999").reason is Reason.PIN_INVALID
    assert stored_hash(engine) == old
    # The right PIN passes, and the hash is now keyed under the current key.
    assert decide(uow, ROSA_PIN, 1).mode is Mode.RECORDED
    new = stored_hash(engine)
    assert new.startswith(f"hmac-sha256${pin_keys.current_id}$") and "argon2" not in new
    assert '"pin_rekeyed":true' in last_audit_details(engine).replace(" ", "")
    # From now on the keyed hash alone decides; it is not rewritten again.
    assert decide(uow, ROSA_PIN, 2).mode is Mode.RECORDED
    assert decide(uow, "9999", 3).reason is Reason.PIN_INVALID
    assert stored_hash(engine) == new
    assert "pin_rekeyed" not in last_audit_details(engine)


def test_a_new_key_rekeys_residents_on_their_next_correct_pin(engine: Engine,
                                                               pin_keys: PinKeyring) -> None:
    old_ring = PinKeyring.generate()
    old_uow = factory(engine, old_ring)
    facilities.add_facility(old_uow, ADMIN, PRISON, now=NOW)
    facilities.add_resident(old_uow, STAFF, facility_id=PRISON.id, resident_id=ROSA,
                            pin=ROSA_PIN, opening_balance_cents=2000, now=NOW)
    under_old = stored_hash(engine)
    assert under_old.split("$")[1] == old_ring.current_id
    # Rotation: the new key goes first in the file, the old one stays below it.
    new_key, old_key = b"\x01" * 32, _secret(old_ring)
    rotated = factory(engine, PinKeyring([new_key, old_key]))
    assert decide(rotated, "1111").reason is Reason.PIN_INVALID
    assert stored_hash(engine) == under_old  # a wrong PIN re-keys nothing
    assert decide(rotated, ROSA_PIN, 1).mode is Mode.RECORDED
    assert stored_hash(engine).split("$")[1] == PinKeyring([new_key]).current_id
    # Once re-keyed, the old key can leave the file.
    assert decide(factory(engine, PinKeyring([new_key])), ROSA_PIN, 2).mode is Mode.RECORDED


def _secret(ring: PinKeyring) -> bytes:
    return ring._keys[ring.current_id]  # noqa: SLF001 - the test plays the operator's file


def test_a_hash_under_a_key_no_longer_held_never_matches(engine: Engine) -> None:
    gone = factory(engine, PinKeyring.generate())
    facilities.add_facility(gone, ADMIN, PRISON, now=NOW)
    facilities.add_resident(gone, STAFF, facility_id=PRISON.id, resident_id=ROSA,
                            pin=ROSA_PIN, opening_balance_cents=2000, now=NOW)
    assert decide(factory(engine, PinKeyring.generate()), ROSA_PIN).reason is Reason.PIN_INVALID


def test_without_a_pin_key_no_pin_is_set_or_checked(uow: UnitOfWorkFactory, world: World,
                                                    engine: Engine) -> None:
    keyless = factory(engine, None)
    with pytest.raises(Unavailable) as exc:
        facilities.add_resident(keyless, STAFF, facility_id=PRISON.id, resident_id="R3",
                                pin="1234", now=NOW)
    assert exc.value.code == "pin_key_missing"
    with pytest.raises(Unavailable):
        decide(keyless, ROSA_PIN)
    with engine.connect() as conn:
        assert conn.execute(select(t.residents.c.id).where(t.residents.c.id == "R3")
                            ).first() is None


def test_the_lockout_still_bounds_online_guessing(uow: UnitOfWorkFactory, world: World) -> None:
    reasons = [decide(uow, f"{n:04d}", n).reason for n in range(1, 7)]
    assert reasons[:4] == [Reason.PIN_INVALID] * 4
    assert reasons[4:] == [Reason.RESIDENT_LOCKED] * 2
    assert decide(uow, ROSA_PIN, 10).reason is Reason.RESIDENT_LOCKED
    assert decide(uow, ROSA_PIN, 10 + 601).mode is Mode.RECORDED


def test_pin_check_is_a_pure_function_of_key_hash_and_pin() -> None:
    ring = PinKeyring.generate()
    stored = pins.hash_pin(ring, ROSA, "2468")
    assert pins.check(ring, ROSA, stored, "2468").matched
    assert not pins.check(ring, ROSA, stored, "2469").matched
    assert not pins.check(ring, "R9", stored, "2468").matched  # bound to the resident
    assert not pins.check(ring, ROSA, "plain$2468", "2468").matched
    assert not pins.check(ring, ROSA, "$argon2id$v=19$m=1,t=1,p=1$x$y", "2468").matched
