"""Operators' accounts for web tests: one per role, and signing one in (password, then a
TOTP code computed from the secret the account was enrolled with, as an app would)."""

from __future__ import annotations

import re
from datetime import datetime

import pyotp
from fastapi.testclient import TestClient
from httpx2 import Response

from privline.domain.model import Actor
from privline.services import users
from privline.services.ports import UnitOfWorkFactory

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "staff", "investigator", "auditor")


def make_accounts(uow: UnitOfWorkFactory, admin: Actor, now: datetime,
                  roles: tuple[str, ...] = ROLES, *, totp: bool = False
                  ) -> dict[str, users.NewUser]:
    """A user per role named ``<role>-user`` with PASSWORD; admins and investigators
    always have a second factor, the others only with ``totp``."""
    return {role: users.add_user(uow, admin, name=f"{role}-user", role=role, now=now,
                                 password=PASSWORD, totp=totp, token_days=None)
            for role in roles}


def form_csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match[1]


def code_for(account: users.NewUser, at: datetime | None = None) -> str:
    assert account.totp is not None
    totp = pyotp.TOTP(account.totp.secret)
    return totp.at(at) if at is not None else totp.now()


def sign_in(client: TestClient, account: users.NewUser, password: str = PASSWORD,
            code: str | None = None) -> Response:
    """Password, then (if asked) the code; the last response."""
    response = client.post("/signin", data={"csrf_token": form_csrf(client, "/signin"),
                                            "name": account.user.name, "password": password})
    if response.status_code == 303 and response.headers["location"] == "/signin/code":
        response = client.post("/signin/code", data={
            "csrf_token": form_csrf(client, "/signin/code"),
            "code": code if code is not None else code_for(account)})
    return response
