"""/api/v1/users: the admin's accounts, over the API. Each route is one service call;
the services check the actor's role and audit every change."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from privline.domain.signin import PASSWORD_MAX, TOKEN_DAYS_DEFAULT
from privline.entrypoints.account_json import enrolment_json, token_json, user_json
from privline.entrypoints.api.deps import ActorDep, RowId, RuntimeDep, errors
from privline.services import users

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=errors(400, 403, 404, 409))


class NewUserBody(BaseModel):
    name: str = Field(max_length=100)
    role: str = Field(max_length=32)
    password: str | None = Field(default=None, max_length=PASSWORD_MAX)
    totp: bool = False
    facilities: list[str] = Field(default_factory=list, max_length=100)
    token_days: int | None = TOKEN_DAYS_DEFAULT


class PasswordBody(BaseModel):
    password: str = Field(max_length=PASSWORD_MAX)


class RoleBody(BaseModel):
    role: str = Field(max_length=32)


class TokenBody(BaseModel):
    expires_days: int = TOKEN_DAYS_DEFAULT
    rotate: bool = False


@router.get("")
def list_users(actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    now = rt.clock()
    return {"users": [user_json(v, now) for v in users.list_users(rt.uow, actor)]}


@router.post("", status_code=201)
def add_user(body: NewUserBody, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    made = users.add_user(rt.uow, actor, name=body.name, role=body.role, now=rt.clock(),
                          password=body.password, totp=body.totp,
                          facilities=body.facilities, token_days=body.token_days)
    return {**_shown(rt, actor, made.user.id), "token": made.token,
            "totp_enrolment": enrolment_json(made.totp)}


def _shown(rt: RuntimeDep, actor: ActorDep, user_id: int) -> dict[str, Any]:
    return user_json(users.get_user(rt.uow, actor, user_id), rt.clock())


@router.get("/{user_id}")
def show_user(user_id: RowId, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    return _shown(rt, actor, user_id)


@router.post("/{user_id}/password")
def set_password(user_id: RowId, body: PasswordBody, actor: ActorDep, rt: RuntimeDep
                 ) -> dict[str, Any]:
    users.set_password(rt.uow, actor, user_id, password=body.password, now=rt.clock())
    return _shown(rt, actor, user_id)


@router.post("/{user_id}/role")
def set_role(user_id: RowId, body: RoleBody, actor: ActorDep, rt: RuntimeDep
             ) -> dict[str, Any]:
    enrolment = users.set_role(rt.uow, actor, user_id, role=body.role, now=rt.clock())
    return {**_shown(rt, actor, user_id), "totp_enrolment": enrolment_json(enrolment)}


@router.post("/{user_id}/totp")
def enrol_totp(user_id: RowId, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    enrolment = users.enrol_totp(rt.uow, actor, user_id, now=rt.clock())
    return {**_shown(rt, actor, user_id), "totp_enrolment": enrolment_json(enrolment)}


@router.post("/{user_id}/disable")
def disable(user_id: RowId, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    users.disable(rt.uow, actor, user_id, now=rt.clock())
    return _shown(rt, actor, user_id)


@router.post("/{user_id}/enable")
def enable(user_id: RowId, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    users.enable(rt.uow, actor, user_id, now=rt.clock())
    return _shown(rt, actor, user_id)


@router.post("/{user_id}/revoke")
def revoke(user_id: RowId, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Revoke every token of the user and end their web sessions."""
    users.revoke(rt.uow, actor, user_id, now=rt.clock())
    return _shown(rt, actor, user_id)


@router.get("/{user_id}/tokens")
def list_tokens(user_id: RowId, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    return {"tokens": _shown(rt, actor, user_id)["tokens"]}


@router.post("/{user_id}/tokens", status_code=201)
def issue_token(user_id: RowId, body: TokenBody, actor: ActorDep, rt: RuntimeDep
                ) -> dict[str, Any]:
    now = rt.clock()
    token, secret = users.issue_token(rt.uow, actor, user_id, now=now,
                                      expires_days=body.expires_days, rotate=body.rotate)
    return {**token_json(token, now), "user_id": user_id, "token": secret}


@router.delete("/{user_id}/tokens/{token_id}")
def revoke_token(user_id: RowId, token_id: RowId, actor: ActorDep, rt: RuntimeDep
                 ) -> dict[str, Any]:
    users.revoke(rt.uow, actor, user_id, now=rt.clock(), token_id=token_id)
    return {"tokens": _shown(rt, actor, user_id)["tokens"]}
