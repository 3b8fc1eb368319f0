"""A signed-in person changes their own password: the current one is required (a wrong
one counts as a failed sign-in), every other session of theirs ends, this one goes on,
and the change is audited; on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from privline.domain.access import Role
from privline.domain.model import Actor
from privline.services import sessions, users
from privline.services.errors import Forbidden, InvalidInput, Unauthenticated
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import ADMIN, NOW, World
from tests.integration.test_accounts_signin import HOME, LIMITS, audit_count, sign_in
from tests.support.signin import PASSWORD

NEW = "a brand new long passphrase"


@pytest.fixture
def sam(uow: UnitOfWorkFactory, world: World) -> users.NewUser:
    return users.add_user(uow, ADMIN, name="sam", role="staff", now=NOW, password=PASSWORD,
                          token_days=None)


def change(uow: UnitOfWorkFactory, who: sessions.SignedIn, current: str, new: str,
           at: timedelta = timedelta(minutes=5)) -> int:
    return sessions.change_own_password(uow, who.actor, who.session_id, current=current,
                                        new=new, address=HOME, now=NOW + at)


def test_the_new_password_ends_every_other_session_and_is_audited(
        uow: UnitOfWorkFactory, sam: users.NewUser) -> None:
    here = sign_in(uow, sam)
    elsewhere = sign_in(uow, sam, at=timedelta(minutes=1), address="10.0.0.9")
    assert change(uow, here, PASSWORD, NEW) == 1
    later = NOW + timedelta(minutes=6)
    assert sessions.resume(uow, elsewhere.session_id, now=later, limits=LIMITS) is None
    assert sessions.resume(uow, here.session_id, now=later, limits=LIMITS) == here.actor
    with pytest.raises(Unauthenticated):
        sessions.check_password(uow, name="sam", password=PASSWORD, address=HOME, now=later)
    assert sessions.check_password(uow, name="sam", password=NEW, address=HOME,
                                   now=later).user_id == sam.user.id
    with uow() as u:
        (event,) = [e for e in u.audit.entries() if e.action == "user.password"]
    assert event.actor == "staff:sam" and event.subject == f"user:{sam.user.id}"
    assert json.loads(event.details) == {"name": "sam", "own": True, "sessions_ended": 1}


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_sign_in(
        uow: UnitOfWorkFactory, sam: users.NewUser) -> None:
    here = sign_in(uow, sam)
    with pytest.raises(InvalidInput) as wrong:
        change(uow, here, "not the password at all", NEW)
    assert wrong.value.code == "wrong_password"
    assert set(wrong.value.details["fields"]) == {"current_password"}
    with uow() as u:
        actions = [(e.action, json.loads(e.details).get("reason")) for e in u.audit.entries()]
        assert u.signin_failures.count(NOW, user_name="sam") == 1
    assert actions[-1] == ("user.signin_failed", "password_change")
    assert "user.password" not in [a for a, _ in actions]
    assert sessions.check_password(uow, name="sam", password=PASSWORD, address=HOME,
                                   now=NOW + timedelta(minutes=6)).user_id == sam.user.id


def test_a_new_password_that_cannot_be_used_is_refused_before_anything_is_written(
        uow: UnitOfWorkFactory, sam: users.NewUser) -> None:
    here = sign_in(uow, sam)
    before = audit_count(uow)
    for new in ("short", PASSWORD, f" {NEW}"):
        with pytest.raises(InvalidInput) as refused:
            change(uow, here, PASSWORD, new)
        assert set(refused.value.details["fields"]) == {"new_password"}
    assert audit_count(uow) == before


def test_only_a_live_session_of_a_person_may_change_its_password(
        uow: UnitOfWorkFactory, sam: users.NewUser) -> None:
    here = sign_in(uow, sam)
    sessions.sign_out(uow, here.session_id, now=NOW + timedelta(minutes=1))
    with pytest.raises(Unauthenticated):
        change(uow, here, PASSWORD, NEW)
    with pytest.raises(Forbidden):
        sessions.change_own_password(uow, Actor("switch", Role.SWITCH), here.session_id,
                                     current=PASSWORD, new=NEW, address=HOME, now=NOW)
