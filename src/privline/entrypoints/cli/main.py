"""The `privline` command: sub-commands, and errors turned into one line + exit 2."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from sqlalchemy.exc import DBAPIError

from privline.adapters.signing import KeyFileError
from privline.adapters.vault.exceptions import VaultError
from privline.domain.access import Role
from privline.domain.errors import DomainError
from privline.domain.model import Actor
from privline.entrypoints.runtime import NotInitialised, Runtime
from privline.services.errors import ServiceError
from privline.settings import SettingsError

app = typer.Typer(
    name="privline",
    help="privline: prison calling that cannot record a privileged call.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)

# The operator at the server's console acts as an administrator; every change they
# make is audited under this name like any other actor's.
OPERATOR = Actor("operator", Role.ADMIN)


def runtime(create: bool = False) -> Runtime:
    return Runtime.open(create=create)


def emit(obj: dict[str, Any]) -> None:
    """Print one JSON object on stdout."""
    typer.echo(json.dumps(obj, sort_keys=True))


def fail(message: str) -> NoReturn:
    typer.echo(f"privline: error: {message}", err=True)
    raise SystemExit(2)


def main() -> None:
    from privline.entrypoints.cli import audit, commands, imports, report, vault  # noqa: F401 - register
    from privline.entrypoints.switch_cli import calls_app, switch_app

    app.add_typer(switch_app, name="switch")
    app.add_typer(calls_app, name="calls")

    try:
        # Without standalone mode, an Exit raised in a command comes back as its code.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        fail("aborted")
    except typer.TyperException as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if "\n" in message.strip():  # a bare group: show its help, as a usage error
            typer.echo(message, err=True)
            raise SystemExit(2) from None
        fail(message)
    except (ServiceError, DomainError) as exc:
        fail(f"{exc.message} [{exc.code}]")
    except (SettingsError, NotInitialised, KeyFileError) as exc:
        fail(str(exc))
    except VaultError as exc:  # e.g. the master key file is missing or readable by others
        fail(exc.message)
    except DBAPIError as exc:
        fail(f"database error: {str(exc.orig).splitlines()[0] if exc.orig else exc}")
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        fail("interrupted")
