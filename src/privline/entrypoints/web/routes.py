"""The web portal's routes, mounted by :func:`privline.entrypoints.api.app.create_app`."""

from __future__ import annotations

from fastapi import APIRouter

from privline.entrypoints.web import public, signin, staff, users

router = APIRouter()
router.include_router(public.router)
router.include_router(staff.router)
router.include_router(signin.router)
router.include_router(users.router)
