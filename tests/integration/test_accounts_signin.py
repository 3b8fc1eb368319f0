"""Operators' accounts and sign-in, on SQLite and PostgreSQL: passwords, TOTP, tokens that
expire and are revoked, server-side sessions that end when they should, failed sign-ins
limited and audited."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from privline.domain.signin import MAX_ACCOUNT_FAILURES, MAX_ADDRESS_FAILURES
from privline.services import sessions, users
from privline.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import ADMIN, NOW, STAFF, World
from tests.support.signin import PASSWORD

LIMITS = sessions.Limits(idle=timedelta(minutes=30), lifetime=timedelta(hours=12))
HOME = "10.0.0.5"


def audit_actions(uow: UnitOfWorkFactory) -> list[str]:
    with uow() as u:
        return [e.action for e in u.audit.entries()]


def audit_count(uow: UnitOfWorkFactory) -> int:
    with uow() as u:
        return u.audit.count()


def sign_in(uow: UnitOfWorkFactory, made: users.NewUser, *, at: timedelta = timedelta(0),
            address: str = HOME) -> sessions.SignedIn:
    now = NOW + at
    checked = sessions.check_password(uow, name=made.user.name, password=PASSWORD,
                                      address=address, now=now)
    code = "" if made.totp is None else pyotp.TOTP(made.totp.secret).at(now)
    return sessions.finish_signin(uow, checked=checked, code=code, address=address, now=now)


def test_admins_and_investigators_always_get_a_second_factor_others_may(
        uow: UnitOfWorkFactory, world: World) -> None:
    admin = users.add_user(uow, ADMIN, name="ann", role="admin", now=NOW, password=PASSWORD)
    staff = users.add_user(uow, ADMIN, name="stu", role="staff", now=NOW, password=PASSWORD)
    aud = users.add_user(uow, ADMIN, name="aud", role="auditor", now=NOW, totp=True)
    assert admin.totp is not None and aud.totp is not None and staff.totp is None
    assert admin.totp.uri.startswith("otpauth://totp/privline:ann?secret=" + admin.totp.secret)
    assert admin.token is not None and admin.token.startswith("pl_")
    view = users.get_user(uow, ADMIN, admin.user.id)
    assert view.user.password_hash is not None and PASSWORD not in view.user.password_hash
    (token,) = view.tokens
    assert token.expires_at == NOW + timedelta(days=90)


@pytest.mark.parametrize(("changes", "code"), [
    ({"password": "short"}, "invalid_password"),
    ({"role": "warden"}, "invalid_role"),
    ({"name": " "}, "invalid_name"),
    ({"token_days": 0}, "invalid_days"),
    ({"facilities": ["nowhere"]}, "facility_not_found"),
    ({"name": "taken"}, "user_exists"),
])
def test_bad_new_users_are_refused_and_nothing_is_written(
        uow: UnitOfWorkFactory, world: World, changes: dict[str, object], code: str) -> None:
    users.add_user(uow, ADMIN, name="taken", role="staff", now=NOW)
    before = (audit_count(uow), len(users.list_users(uow, ADMIN)))
    args: dict[str, object] = {"name": "new", "role": "staff", "password": PASSWORD,
                               **changes}
    with pytest.raises((InvalidInput, NotFound, Conflict)) as caught:
        users.add_user(uow, ADMIN, now=NOW, **args)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert (audit_count(uow), len(users.list_users(uow, ADMIN))) == before


def test_only_admins_manage_users(uow: UnitOfWorkFactory, world: World) -> None:
    with pytest.raises(Forbidden):
        users.add_user(uow, STAFF, name="x", role="staff", now=NOW)
    with pytest.raises(Forbidden):
        users.list_users(uow, STAFF)


def test_a_token_works_until_it_expires_or_is_revoked(uow: UnitOfWorkFactory) -> None:
    made = users.add_user(uow, ADMIN, name="ivy", role="investigator", now=NOW, token_days=2)
    token = str(made.token)
    assert users.authenticate(uow, token, now=NOW + timedelta(days=1)).user_id == made.user.id
    with pytest.raises(Unauthenticated):
        users.authenticate(uow, token, now=NOW + timedelta(days=2))  # expired
    rotated, second = users.issue_token(uow, ADMIN, made.user.id, now=NOW, expires_days=30,
                                        rotate=True)
    with pytest.raises(Unauthenticated):  # rotation revoked the first
        users.authenticate(uow, token, now=NOW)
    assert users.authenticate(uow, second, now=NOW).name == "ivy"
    assert users.revoke(uow, ADMIN, made.user.id, now=NOW, token_id=rotated.id) == 1
    with pytest.raises(Unauthenticated):
        users.authenticate(uow, second, now=NOW)
    tokens = users.get_user(uow, ADMIN, made.user.id).tokens
    assert len(tokens) == 2 and all(t.revoked_at is not None for t in tokens)
    with pytest.raises(NotFound):
        users.revoke(uow, ADMIN, made.user.id, now=NOW, token_id=9999)


def test_a_disabled_users_tokens_are_refused_until_enabled(uow: UnitOfWorkFactory) -> None:
    users.add_user(uow, ADMIN, name="boss", role="admin", now=NOW)
    made = users.add_user(uow, ADMIN, name="stu", role="staff", now=NOW)
    users.disable(uow, ADMIN, made.user.id, now=NOW)
    with pytest.raises(Unauthenticated):
        users.authenticate(uow, str(made.token), now=NOW)
    with pytest.raises(Conflict):
        users.disable(uow, ADMIN, made.user.id, now=NOW)
    users.enable(uow, ADMIN, made.user.id, now=NOW)
    assert users.authenticate(uow, str(made.token), now=NOW).name == "stu"


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(uow: UnitOfWorkFactory) -> None:
    only = users.add_user(uow, ADMIN, name="boss", role="admin", now=NOW)
    for change in (lambda: users.disable(uow, ADMIN, only.user.id, now=NOW),
                   lambda: users.set_role(uow, ADMIN, only.user.id, role="staff", now=NOW)):
        with pytest.raises(Conflict) as caught:
            change()
        assert caught.value.code == "last_admin"
    users.add_user(uow, ADMIN, name="second", role="admin", now=NOW)
    users.disable(uow, ADMIN, only.user.id, now=NOW)


def test_sign_in_with_password_and_code_makes_a_session(uow: UnitOfWorkFactory) -> None:
    made = users.add_user(uow, ADMIN, name="ann", role="admin", now=NOW, password=PASSWORD)
    checked = sessions.check_password(uow, name="ann", password=PASSWORD, address=HOME,
                                      now=NOW)
    assert checked.needs_code
    with pytest.raises(Unauthenticated):
        sessions.finish_signin(uow, checked=checked, code="000000", address=HOME, now=NOW)
    assert made.totp is not None
    code = pyotp.TOTP(made.totp.secret).at(NOW)
    signed = sessions.finish_signin(uow, checked=checked, code=code, address=HOME, now=NOW)
    assert sessions.resume(uow, signed.session_id, now=NOW, limits=LIMITS) == signed.actor
    with pytest.raises(Unauthenticated):  # the same code cannot sign in twice
        sessions.finish_signin(uow, checked=checked, code=code, address=HOME, now=NOW)
    actions = audit_actions(uow)
    assert actions.count("user.signin") == 1 and actions.count("user.signin_failed") == 2


def test_a_staff_user_without_a_second_factor_signs_in_with_the_password(
        uow: UnitOfWorkFactory) -> None:
    made = users.add_user(uow, ADMIN, name="stu", role="staff", now=NOW, password=PASSWORD)
    signed = sign_in(uow, made)
    assert signed.actor.role.value == "staff"


def test_wrong_unknown_disabled_and_passwordless_all_fail_alike_and_are_audited(
        uow: UnitOfWorkFactory) -> None:
    users.add_user(uow, ADMIN, name="boss", role="admin", now=NOW)
    stu = users.add_user(uow, ADMIN, name="stu", role="staff", now=NOW, password=PASSWORD)
    users.add_user(uow, ADMIN, name="nopw", role="staff", now=NOW)
    users.add_user(uow, ADMIN, name="bot", role="switch", now=NOW, password=PASSWORD)
    users.disable(uow, ADMIN, stu.user.id, now=NOW)
    messages = set()
    for name, password in (("stu", PASSWORD), ("ghost", PASSWORD), ("nopw", ""),
                           ("bot", PASSWORD)):
        with pytest.raises(Unauthenticated) as caught:
            sessions.check_password(uow, name=name, password=password, address=HOME, now=NOW)
        messages.add(caught.value.message)
    assert len(messages) == 1
    assert audit_actions(uow).count("user.signin_failed") == 4


def test_failures_stop_an_account_then_an_address(uow: UnitOfWorkFactory) -> None:
    made = users.add_user(uow, ADMIN, name="stu", role="staff", now=NOW, password=PASSWORD)
    for _ in range(MAX_ACCOUNT_FAILURES):
        with pytest.raises(Unauthenticated):
            sessions.check_password(uow, name="stu", password="wrong password!",
                                    address="10.9.9.9", now=NOW)
    with pytest.raises(TooManyAttempts):  # even the right password, even elsewhere
        sessions.check_password(uow, name="stu", password=PASSWORD, address=HOME, now=NOW)
    assert "user.signin_refused" in audit_actions(uow)
    # After the window the account may try again.
    sign_in(uow, made, at=timedelta(minutes=16))

    for i in range(MAX_ADDRESS_FAILURES - MAX_ACCOUNT_FAILURES):
        with pytest.raises(Unauthenticated):
            sessions.check_password(uow, name=f"guess{i}", password="x", address="10.9.9.9",
                                    now=NOW + timedelta(minutes=1))
    with pytest.raises(TooManyAttempts):  # a name never tried, from the same address
        sessions.check_password(uow, name="fresh", password="x", address="10.9.9.9",
                                now=NOW + timedelta(minutes=2))


def test_sessions_end_after_idle_time_and_after_their_lifetime(
        uow: UnitOfWorkFactory) -> None:
    made = users.add_user(uow, ADMIN, name="stu", role="staff", now=NOW, password=PASSWORD)
    idle = sign_in(uow, made)
    assert sessions.resume(uow, idle.session_id, now=NOW + timedelta(minutes=29),
                           limits=LIMITS) is not None
    assert sessions.resume(uow, idle.session_id, now=NOW + timedelta(minutes=59),
                           limits=LIMITS) is None  # 30 minutes after the last request
    busy = sign_in(uow, made)
    at = NOW
    while at + timedelta(minutes=20) < NOW + timedelta(hours=12):
        at += timedelta(minutes=20)
        assert sessions.resume(uow, busy.session_id, now=at, limits=LIMITS) is not None
    assert sessions.resume(uow, busy.session_id, now=NOW + timedelta(hours=12),
                           limits=LIMITS) is None
    # Once over, over: going back in time does not revive it.
    assert sessions.resume(uow, busy.session_id, now=NOW, limits=LIMITS) is None


@pytest.mark.parametrize("change", ["signout", "disable", "revoke", "role", "password",
                                    "totp"])
def test_these_changes_end_the_users_sessions_at_once(uow: UnitOfWorkFactory,
                                                      change: str) -> None:
    users.add_user(uow, ADMIN, name="boss", role="admin", now=NOW)
    made = users.add_user(uow, ADMIN, name="stu", role="staff", now=NOW, password=PASSWORD)
    signed = sign_in(uow, made)
    uid = made.user.id
    {"signout": lambda: sessions.sign_out(uow, signed.session_id, now=NOW),
     "disable": lambda: users.disable(uow, ADMIN, uid, now=NOW),
     "revoke": lambda: users.revoke(uow, ADMIN, uid, now=NOW),
     "role": lambda: users.set_role(uow, ADMIN, uid, role="auditor", now=NOW),
     "password": lambda: users.set_password(uow, ADMIN, uid, password=PASSWORD + "!",
                                            now=NOW),
     "totp": lambda: users.enrol_totp(uow, ADMIN, uid, now=NOW)}[change]()
    assert sessions.resume(uow, signed.session_id, now=NOW, limits=LIMITS) is None
    assert users.get_user(uow, ADMIN, uid).open_sessions == 0


def test_a_new_role_that_needs_a_second_factor_enrols_one(uow: UnitOfWorkFactory) -> None:
    made = users.add_user(uow, ADMIN, name="stu", role="staff", now=NOW, password=PASSWORD)
    enrolment = users.set_role(uow, ADMIN, made.user.id, role="investigator", now=NOW)
    assert enrolment is not None
    view = users.get_user(uow, ADMIN, made.user.id)
    assert view.user.totp_secret == enrolment.secret and view.user.role.value == "investigator"
    assert audit_actions(uow)[-1] == "user.role"
