"""The web portal's routes, mounted by :func:`privline.entrypoints.api.app.create_app`."""

from __future__ import annotations

from fastapi import APIRouter

from privline.entrypoints.web import (
    account,
    console_audit,
    console_investigate,
    console_staff,
    gate,
    public,
    signin,
    staff,
    users,
)

router = APIRouter()
router.include_router(public.router)
router.include_router(staff.router)
router.include_router(gate.router)  # the console: sign-in and its pages
router.include_router(console_staff.router)
router.include_router(console_investigate.router)
router.include_router(console_audit.router)
router.include_router(signin.router)  # the one sign-in, for every role
router.include_router(users.router)
router.include_router(account.router)  # a signed-in person's own password
