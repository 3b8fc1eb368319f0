"""`privline registry import`: fill the registry from public directories."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from privline.adapters.imports import (
    BarAttorney,
    FormatMismatch,
    ImportAdapterError,
    NppesLocationPhone,
    NppesProvider,
    NppesRecord,
    open_bar_csv,
    open_nppes,
    open_nppes_locations,
)
from privline.bootstrap import utcnow
from privline.entrypoints.cli.app import OPERATOR, emit, fail, runtime
from privline.entrypoints.cli.commands import registry_app
from privline.services import quarantine
from privline.services.imports import Listing, import_directory


class Format(StrEnum):
    NPPES = "nppes"
    BAR_CSV = "bar-csv"


@contextmanager
def _progress(total_bytes: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal; nothing when output is piped or logged."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task(label, total=total_bytes)
        yield lambda done: bar.update(task, completed=done)


def _nppes_listing(record: NppesRecord) -> Listing:
    if not isinstance(record, NppesProvider):
        return Listing(record.credential, "", None, (), False, record.line)
    return Listing(record.credential, record.name, record.kind, record.phones, True,
                   record.line)


def _location_listing(record: NppesLocationPhone) -> Listing:
    return Listing(record.credential, "", None, (record.phone,), True, record.line)


def _bar_listing(record: BarAttorney) -> Listing:
    from privline.domain.registry import Kind

    return Listing(record.credential, record.name, Kind.ATTORNEY, record.phones,
                   record.active, record.line)


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(help="The directory file (CSV).")],
    format: Annotated[Format, typer.Option("--format", help="nppes or bar-csv")],
    locations: Annotated[Path | None, typer.Option(
        help="NPPES secondary practice locations file (pl_pfile).")] = None,
    state: Annotated[str, typer.Option(help="The bar's state, for bar-csv.")] = "NY",
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import a public directory: its numbers are protected from now on, everywhere."""
    if locations is not None and format is not Format.NPPES:
        fail("--locations goes with --format nppes")
    rt = runtime()
    try:
        with ExitStack() as stack:
            total = file.stat().st_size + (locations.stat().st_size if locations else 0)
            tick = stack.enter_context(_progress(total, f"importing {file.name}"))
            listings, complete, report = _open(stack, format, file, locations, state, tick)
            origin = "nppes" if format is Format.NPPES else f"bar-csv:{state.upper()}"
            # Recordings of earlier calls to newly protected numbers are quarantined in
            # the same transaction that protects them.
            summary = import_directory(rt.uow, OPERATOR, origin=origin, file_name=str(file),
                                       listings=listings, complete=complete, report=report,
                                       on_protected=quarantine.on_protected, now=utcnow())
    except FormatMismatch as exc:
        fail(f"{file} is not a {format.value} file: {exc}")
    except ImportAdapterError as exc:
        fail(str(exc))
    out = summary.as_json() | {"file_report": report()}
    if json_out:
        emit(out)
    else:
        typer.echo(f"import {summary.run_id}: {summary.added} added, {summary.confirmed} "
                   f"confirmed, {summary.reprotected} re-protected, "
                   f"{summary.revoked_deactivated + summary.revoked_vanished} revoked, "
                   f"{summary.bad_numbers} bad numbers"
                   + ("" if summary.complete else "; file not wholly read: nothing vanished "
                      "was revoked"))


def _open(stack: ExitStack, format: Format, file: Path, locations: Path | None, state: str,
          tick: Callable[[int], None] | None
          ) -> tuple[Iterator[Listing], Callable[[], bool], Callable[[], dict[str, Any]]]:
    """Open the files (refusing a wrong format before anything is written)."""
    if format is Format.BAR_CSV:
        bar = stack.enter_context(open_bar_csv(file, state=state.upper(), progress=tick))
        return ((_bar_listing(r) for r in bar), lambda: bar.report.complete,
                lambda: {"main": bar.report.summary()})
    main_done = 0

    def main_tick(done: int) -> None:
        nonlocal main_done
        main_done = done
        if tick:
            tick(done)

    main = stack.enter_context(open_nppes(file, progress=main_tick))
    in_scope: set[int] = set()  # ints: a few bytes each even for millions of NPIs
    npis = _IntSet(in_scope)
    extra = None
    if locations is not None:
        extra = stack.enter_context(open_nppes_locations(
            locations, npis=npis, progress=(lambda d: tick(main_done + d)) if tick else None))

    def listings() -> Iterator[Listing]:
        for record in main:
            if isinstance(record, NppesProvider):
                in_scope.add(int(record.npi))
            yield _nppes_listing(record)
        if extra is not None:
            for location in extra:
                yield _location_listing(location)

    def complete() -> bool:
        return main.report.complete and (extra is None or extra.report.complete)

    def report() -> dict[str, Any]:
        out: dict[str, Any] = {"main": main.report.summary()}
        if extra is not None:
            out["locations"] = extra.report.summary()
        return out

    return listings(), complete, report


class _IntSet:
    """``npi in npis`` over a set of ints, filled while the main file streams."""

    def __init__(self, values: set[int]) -> None:
        self._values = values

    def __contains__(self, npi: object) -> bool:
        return isinstance(npi, str) and npi.isdigit() and int(npi) in self._values
