"""What every `privline` command module shares: the typer app, the console operator,
the runtime, and the one way to print a result or fail."""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import typer

from privline.bootstrap import Runtime, bootstrap
from privline.domain.access import Role
from privline.domain.errors import DomainError
from privline.domain.model import Actor
from privline.domain.text import parse_pin, parse_whole

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


def whole(value: str | int) -> int:
    """Typer's parser for ids and counts: ASCII digits within a database's range (int()
    would take fullwidth digits, and a number past 2**63-1 would overflow the database)."""
    try:
        return parse_whole("value", str(value))
    except DomainError as exc:
        raise typer.BadParameter(exc.message.removeprefix("value: ")) from None


def pin_code(value: str) -> str:
    """Typer's parser for a PIN: ASCII digits a keypad can send."""
    try:
        return parse_pin(value)
    except DomainError as exc:
        raise typer.BadParameter(exc.message) from None


_opened: list[Runtime] = []


def runtime(create: bool = False) -> Runtime:
    rt = bootstrap(create=create)
    _opened.append(rt)
    return rt


def close_runtimes() -> None:
    """Release the database connections the command opened (main() calls this last)."""
    while _opened:
        engine = _opened.pop().engine
        if engine is not None:
            engine.dispose()


def emit(obj: dict[str, Any]) -> None:
    """Print one JSON object on stdout."""
    typer.echo(json.dumps(obj, sort_keys=True))


def more_line(limit: int, go_on: str) -> None:
    """The line every list prints when it stopped at its limit: how to see the rest."""
    typer.echo(f"(more: stopped at {limit}; see {go_on})")


def more_at_offset(more: bool, offset: int, limit: int) -> None:
    if more:
        more_line(limit, f"--offset {offset + limit}")


Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
Limit = Annotated[int, typer.Option(help="At most this many.")]
Offset = Annotated[int, typer.Option(help="Skip this many first.")]


def fail(message: str) -> NoReturn:
    typer.echo(f"privline: error: {message}", err=True)
    raise SystemExit(2)
