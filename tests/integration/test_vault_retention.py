"""Retention: each facility's period, counted from the call; legal holds stop it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from privline.domain.vault import DEFAULT_RETENTION_DAYS, DEFAULT_REVIEW_DAYS, VaultPolicy
from privline.services import vault as vault_service
from privline.services import vault_lifecycle
from privline.services.errors import Forbidden, InvalidInput, NotFound
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.vault import Vault
from tests.conftest import ADMIN, FAMILY_NUMBER, INVESTIGATOR, NOW, STAFF, World
from tests.integration.vault_support import (
    LATER,
    SWITCH,
    files_under,
    make_vault,
    place_call,
    spool_recording,
)


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return make_vault(tmp_path / "home")


def test_purge_expired_destroys_what_is_past_the_facility_retention_unless_held(
        uow: UnitOfWorkFactory, world: World, vault: Vault, tmp_path: Path) -> None:
    spool = tmp_path / "home" / "recordings" / "spool"
    for i, minutes in enumerate((0, 60 * 24 * 3)):  # a call now, one three days later
        place_call(uow, f"ret-{i}@test", FAMILY_NUMBER, at=NOW + timedelta(minutes=minutes))
        spool_recording(spool, f"ret-{i}@test", seed=i)
    old, new = vault_service.ingest_all(uow, SWITCH, vault, now=LATER).stored
    vault_lifecycle.set_policy(uow, ADMIN, "state-prison", retention_days=10, now=LATER)

    assert vault_lifecycle.purge_expired(uow, ADMIN, vault,
                                         now=NOW + timedelta(days=9)).past_retention == []
    hold = vault_lifecycle.place_hold(uow, ADMIN, new, basis="subpoena 26-114", now=LATER)
    report = vault_lifecycle.purge_expired(uow, ADMIN, vault, now=NOW + timedelta(days=30))

    assert report.past_retention == [old]
    with uow() as u:
        assert [u.recordings.get(i).state.value for i in (old, new)] == [  # type: ignore[union-attr]
            "destroyed", "stored"]
    assert len(files_under(tmp_path / "home" / "vault")) == 1
    vault_lifecycle.release_hold(uow, ADMIN, hold.id, reason="closed", now=LATER)
    assert vault_lifecycle.purge_expired(uow, ADMIN, vault, now=NOW + timedelta(days=30)
                                         ).past_retention == [new]


def test_facility_periods_default_and_are_checked(uow: UnitOfWorkFactory, world: World) -> None:
    assert vault_lifecycle.get_policy(uow, ADMIN, "state-prison") == VaultPolicy(
        DEFAULT_REVIEW_DAYS, DEFAULT_RETENTION_DAYS)
    assert vault_lifecycle.set_policy(uow, ADMIN, "state-prison", review_days=14,
                                      now=NOW) == VaultPolicy(14, DEFAULT_RETENTION_DAYS)
    for bad in ({"review_days": -1}, {"retention_days": 0}):
        with pytest.raises(InvalidInput):
            vault_lifecycle.set_policy(uow, ADMIN, "state-prison", now=NOW, **bad)
    with pytest.raises(NotFound):
        vault_lifecycle.set_policy(uow, ADMIN, "nowhere", review_days=1, now=NOW)


def test_only_administrators_destroy_or_hold(uow: UnitOfWorkFactory, world: World,
                                            vault: Vault) -> None:
    for actor in (STAFF, INVESTIGATOR):
        with pytest.raises(Forbidden):
            vault_lifecycle.purge_expired(uow, actor, vault, now=LATER)
        with pytest.raises(Forbidden):
            vault_lifecycle.place_hold(uow, actor, 1, basis="x", now=LATER)
        with pytest.raises(Forbidden):
            vault_service.sweep(uow, actor, vault, now=LATER)
    with pytest.raises(InvalidInput):
        vault_lifecycle.place_hold(uow, ADMIN, 1, basis="  ", now=LATER)
    with pytest.raises(NotFound):
        vault_lifecycle.place_hold(uow, ADMIN, 1, basis="order 5", now=LATER)
