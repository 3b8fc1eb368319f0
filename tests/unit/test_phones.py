"""Phone credentials' pure rules: the HA1 SIP digest checks against, and what a
username and password may be."""

from __future__ import annotations

import pytest

from privline.domain.errors import DomainError
from privline.domain.phones import check_password, check_username, ha1


def test_ha1_is_rfc_2617s_md5_of_username_realm_and_password() -> None:
    # RFC 2617 3.5's example: Mufasa, "testrealm@host.com", "Circle Of Life".
    assert ha1("Mufasa", "Circle Of Life", "testrealm@host.com") == \
        "939e7578ed9e3c518a452acee763bce9"
    assert ha1("cell-1", "a long password") != ha1("cell-2", "a long password")


@pytest.mark.parametrize("username", ["", "-lead", "a b", "x" * 65, "caf\u00e9", "a:b"])
def test_a_username_a_phone_cannot_send_safely_is_refused(username: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_username(username)
    assert refused.value.code == "invalid_phone_username"


@pytest.mark.parametrize("password", ["short", "tab\there-long", "\u00f1" * 12])
def test_a_short_or_unprintable_password_is_refused(password: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_password(password)
    assert refused.value.code == "invalid_phone_password"
