"""SIP digest credentials of a facility's phones (docs/voice-menu.md, "Phones by their
credentials"): pure rules for usernames and passwords, and the stored form.

A phone's password is kept only as its HA1, MD5(username:realm:password) (RFC 2617
3.2.2.2): what Kamailio's ``auth`` module checks a digest response against, without the
password. HA1 stands in for the password within the realm, so it is as secret as one;
it is never shown.
"""

from __future__ import annotations

import hashlib
import re

from privline.domain.errors import InvalidText

REALM = "privline"
MIN_PASSWORD = 10
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise InvalidText("phone username", "1 to 64 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit")
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD or not password.isascii() or not password.isprintable():
        raise InvalidText("phone password", f"at least {MIN_PASSWORD} printable ASCII "
                          "characters")
    return password


def ha1(username: str, password: str, realm: str = REALM) -> str:
    # MD5 because SIP digest (RFC 2617, what phones speak) is defined on it.
    return hashlib.md5(f"{username}:{realm}:{password}".encode(),  # noqa: S324
                       usedforsecurity=False).hexdigest()
