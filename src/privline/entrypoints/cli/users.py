"""`privline user ...`: accounts, passwords, second factors, API tokens.

A password is read from a prompt (not echoed, asked twice) or from --password-file,
never from the command line, where other users of the machine could see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from privline.entrypoints.account_json import enrolment_json, token_json, user_json
from privline.entrypoints.cli.app import (
    OPERATOR,
    Json,
    app,
    emit,
    fail,
    runtime,
)
from privline.services import users
from privline.services.users import Enrolment

user_app = typer.Typer(help="Operators' accounts, passwords and API tokens.",
                       no_args_is_help=True)
app.add_typer(user_app, name="user")

UserId = Annotated[int, typer.Argument(help="The user's id.", min=1)]
PasswordFile = Annotated[Path | None, typer.Option(
    "--password-file", help="Read the password from this file's first line.")]
ExpiresDays = Annotated[int, typer.Option(help="Days until the token expires (1-366).")]


def _read_password(path: Path | None) -> str:
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
        return lines[0] if lines else ""
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _show_enrolment(enrolment: Enrolment | None) -> None:
    if enrolment is not None:
        typer.echo(f"TOTP secret (shown once): {enrolment.secret}")
        typer.echo(f"TOTP address: {enrolment.uri}")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="admin, staff, investigator or auditor")],
    password_file: PasswordFile = None,
    ask_password: Annotated[bool, typer.Option(
        "--ask-password", help="Prompt for a password (web sign-in).")] = False,
    totp: Annotated[bool, typer.Option(
        "--totp", help="Enrol a second factor (always on for admins, investigators).")
    ] = False,
    facility: Annotated[list[str] | None, typer.Option(
        help="Scope to this facility (repeat for more).")] = None,
    expires_days: ExpiresDays = 90,
    json_out: Json = False,
) -> None:
    """Create a user; print its API token (and any TOTP secret) once."""
    password = (_read_password(password_file) if password_file or ask_password else None)
    rt = runtime()
    made = users.add_user(rt.uow, OPERATOR, name=name, role=role, now=rt.clock(),
                          password=password, totp=totp, facilities=facility or [],
                          token_days=expires_days)
    if json_out:
        emit({"id": made.user.id, "name": made.user.name, "role": made.user.role.value,
              "token": made.token, "totp": enrolment_json(made.totp)})
        return
    typer.echo(made.token)
    _show_enrolment(made.totp)


@user_app.command("list")
def user_list(json_out: Json = False) -> None:
    """Every user, with role, status and tokens."""
    rt = runtime()
    now = rt.clock()
    found = users.list_users(rt.uow, OPERATOR)
    if json_out:
        emit({"users": [user_json(v, now) for v in found]})
        return
    if not found:
        typer.echo("no users")
    for v in found:
        state = "disabled" if v.user.disabled else "enabled"
        live = sum(1 for t in v.tokens if t.usable(now))
        typer.echo(f"{v.user.id}\t{v.user.name}\t{v.user.role.value}\t{state}\t"
                   f"{live} live token(s)\t{v.open_sessions} session(s)")


@user_app.command("show")
def user_show(user_id: UserId, json_out: Json = False) -> None:
    """One user, with their tokens, facilities and open sessions."""
    rt = runtime()
    now = rt.clock()
    shown = user_json(users.get_user(rt.uow, OPERATOR, user_id), now)
    if json_out:
        emit(shown)
        return
    for key in ("id", "name", "role", "disabled", "password_set", "totp", "facilities",
                "open_sessions"):
        typer.echo(f"{key}: {shown[key]}")
    for token in shown["tokens"]:
        typer.echo(f"token {token['id']}: {token['state']}, expires {token['expires_at']}")


@user_app.command("revoke")
def user_revoke(user_id: UserId, token: Annotated[int | None, typer.Option(
        help="Revoke only this token (its id, from `user show`).")] = None) -> None:
    """Revoke the user's tokens (or one) and end their web sessions."""
    rt = runtime()
    count = users.revoke(rt.uow, OPERATOR, user_id, now=rt.clock(), token_id=token)
    typer.echo(f"revoked {count} token(s) of user {user_id}; their sessions have ended")


@user_app.command("set-password")
def user_set_password(user_id: UserId, password_file: PasswordFile = None) -> None:
    """Set a new password; the user's web sessions end."""
    password = _read_password(password_file)
    rt = runtime()
    user = users.set_password(rt.uow, OPERATOR, user_id, password=password, now=rt.clock())
    typer.echo(f"new password set for {user.name}")


@user_app.command("set-role")
def user_set_role(user_id: UserId, role: Annotated[str, typer.Option()]) -> None:
    """Change the user's role; their web sessions end."""
    rt = runtime()
    enrolment = users.set_role(rt.uow, OPERATOR, user_id, role=role, now=rt.clock())
    typer.echo(f"user {user_id} is now {role}")
    _show_enrolment(enrolment)


@user_app.command("totp")
def user_totp(user_id: UserId, json_out: Json = False) -> None:
    """Enrol a new second factor (the old one stops working); print its secret once."""
    rt = runtime()
    enrolment = users.enrol_totp(rt.uow, OPERATOR, user_id, now=rt.clock())
    if json_out:
        emit({"id": user_id, "totp": enrolment_json(enrolment)})
    else:
        _show_enrolment(enrolment)


@user_app.command("token")
def user_token(user_id: UserId, expires_days: ExpiresDays = 90,
               rotate: Annotated[bool, typer.Option(
                   "--rotate", help="Revoke the user's other tokens too.")] = False,
               json_out: Json = False) -> None:
    """Issue a new API token and print it once."""
    rt = runtime()
    now = rt.clock()
    token, secret = users.issue_token(rt.uow, OPERATOR, user_id, now=now,
                                      expires_days=expires_days, rotate=rotate)
    if json_out:
        emit({**token_json(token, now), "user_id": user_id, "token": secret})
    else:
        typer.echo(secret)


@user_app.command("disable")
def user_disable(user_id: UserId) -> None:
    """Stop the user signing in or using tokens; their web sessions end."""
    rt = runtime()
    user = users.disable(rt.uow, OPERATOR, user_id, now=rt.clock())
    typer.echo(f"{user.name} is disabled")


@user_app.command("enable")
def user_enable(user_id: UserId) -> None:
    """Let a disabled user sign in again (their unexpired tokens work again)."""
    rt = runtime()
    user = users.enable(rt.uow, OPERATOR, user_id, now=rt.clock())
    typer.echo(f"{user.name} is enabled")
