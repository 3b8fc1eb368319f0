"""The `privline` command: sub-commands, and errors turned into one line + exit 2."""

from __future__ import annotations

import typer
from sqlalchemy.exc import DBAPIError

from privline.adapters.signing import KeyFileError
from privline.adapters.vault.exceptions import VaultError
from privline.bootstrap import NotInitialised
from privline.domain.errors import DomainError

# Each command module adds its commands to the one app when imported.
from privline.entrypoints.cli import audit, commands, imports, report, users, vault  # noqa: F401
from privline.entrypoints.cli.app import app, fail
from privline.entrypoints.switch_cli import calls_app, switch_app
from privline.services.errors import ServiceError
from privline.settings import SettingsError

app.add_typer(switch_app, name="switch")
app.add_typer(calls_app, name="calls")


def main() -> None:
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
