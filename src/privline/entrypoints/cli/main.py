"""The `privline` command: sub-commands, and errors turned into one line + exit 2."""

from __future__ import annotations

import typer

from privline.bootstrap import StartupError
from privline.domain.errors import DomainError

# Each command module adds its commands to the one app when imported.
from privline.entrypoints.cli import (  # noqa: F401
    audit,
    blocks,
    facilities,
    imports,
    phones,
    registry,
    report,
    residents,
    system,
    users,
    vault,
)
from privline.entrypoints.cli.app import app, close_runtimes, fail
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
    except (StartupError, SettingsError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        fail("interrupted")
    finally:
        close_runtimes()
