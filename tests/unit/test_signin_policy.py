"""Sign-in policy (pure) and its settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from privline.domain.access import Role
from privline.domain.signin import (
    MAX_ACCOUNT_FAILURES,
    MAX_ADDRESS_FAILURES,
    password_problem,
    session_alive,
    signin_blocked,
    totp_required,
)
from privline.settings import Settings, SettingsError

T = datetime(2026, 7, 1, tzinfo=UTC)


def test_second_factor_is_required_for_admins_and_investigators_only() -> None:
    assert {r for r in Role if totp_required(r)} == {Role.ADMIN, Role.INVESTIGATOR}


def test_failures_block_at_the_account_or_the_address_limit() -> None:
    assert not signin_blocked(MAX_ACCOUNT_FAILURES - 1, MAX_ADDRESS_FAILURES - 1)
    assert signin_blocked(MAX_ACCOUNT_FAILURES, 0)
    assert signin_blocked(0, MAX_ADDRESS_FAILURES)


@pytest.mark.parametrize(("password", "ok"), [
    ("x" * 11, False), ("x" * 12, True), (" padded password ", False), ("x" * 257, False)])
def test_passwords_are_long_not_composed(password: str, ok: bool) -> None:
    assert (password_problem(password) is None) is ok


def test_a_session_ends_when_idle_or_too_old() -> None:
    idle, life = timedelta(minutes=30), timedelta(hours=12)
    assert session_alive(T, T + timedelta(minutes=29), T + timedelta(minutes=58),
                         idle=idle, lifetime=life)
    assert not session_alive(T, T, T + timedelta(minutes=30), idle=idle, lifetime=life)
    assert not session_alive(T, T + timedelta(hours=11, minutes=59), T + timedelta(hours=12),
                             idle=idle, lifetime=life)


def test_session_limits_are_settings_that_survive_to_env() -> None:
    env = {"PRIVLINE_HOME": "/tmp/x", "PRIVLINE_SESSION_IDLE_MINUTES": "15",
           "PRIVLINE_SESSION_LIFETIME_HOURS": "8"}
    settings = Settings.from_env(env)
    assert (settings.session_idle_minutes, settings.session_lifetime_hours) == (15, 8)
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({"PRIVLINE_HOME": "/tmp/x"}).session_idle_minutes == 30
    with pytest.raises(SettingsError, match="PRIVLINE_SESSION_IDLE_MINUTES"):
        Settings.from_env({"PRIVLINE_SESSION_IDLE_MINUTES": "0"})
