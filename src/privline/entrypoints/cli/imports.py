"""`privline registry import` and `registry review`: directory imports and what they
send to staff (numbers a directory dropped, which stay protected until staff decide)."""

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
from privline.entrypoints.cli.registry import registry_app
from privline.entrypoints.serialize import entry_json
from privline.services import registry
from privline.services.imports import ImportSummary, Listing, import_directory

review_app = typer.Typer(help="Entries a directory import no longer vouches for. Each keeps "
                              "protecting its number until staff keep it (`registry review "
                              "keep`) or revoke it (`registry revoke ID --reason`).",
                         no_args_is_help=True)
registry_app.add_typer(review_app, name="review")

# Without a terminal (a log, a pipe, cron), a line on stderr every this many rows.
PROGRESS_EVERY = 10_000


class Format(StrEnum):
    NPPES = "nppes"
    BAR_CSV = "bar-csv"


@contextmanager
def _progress(total_bytes: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal; without one, the rows counter does the telling."""
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
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Say what would change (added, confirmed, sent to review); "
                          "write nothing.")] = False,
    every: Annotated[int, typer.Option(
        "--progress-every", min=1, help="Rows between progress lines on stderr when it is "
                                        "not a terminal.")] = PROGRESS_EVERY,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import a public directory: its numbers are protected from now on, everywhere.

    An import never removes protection: numbers the directory deactivated or no longer
    lists go to `registry review list` and stay protected until staff decide.
    """
    if locations is not None and format is not Format.NPPES:
        fail("--locations goes with --format nppes")
    rt = runtime()
    try:
        with ExitStack() as stack:
            total = file.stat().st_size + (locations.stat().st_size if locations else 0)
            tick = stack.enter_context(_progress(total, f"importing {file.name}"))
            listings, complete, report = _open(stack, format, file, locations, state, tick)
            if tick is None:
                listings = _counted(listings, every, file.name)
            origin = "nppes" if format is Format.NPPES else f"bar-csv:{state.upper()}"
            summary = import_directory(rt.uow, OPERATOR, origin=origin, file_name=str(file),
                                       listings=listings, complete=complete, report=report,
                                       now=utcnow(), dry_run=dry_run)
    except FormatMismatch as exc:
        fail(f"{file} is not a {format.value} file: {exc}")
    except ImportAdapterError as exc:
        fail(str(exc))
    out = summary.as_json() | {"file_report": report()}
    if json_out:
        emit(out)
    else:
        typer.echo(_summary_line(summary))


def _summary_line(s: ImportSummary) -> str:
    head = "dry run, nothing written: would be" if s.dry_run else f"import {s.run_id}:"
    line = (f"{head} {s.added} added, {s.confirmed} confirmed, {s.reprotected} re-protected, "
            f"{s.sent_to_review} sent to review ({s.review_deactivated} deactivated in the "
            f"directory, {s.review_missing} missing from the directory), "
            f"{s.bad_numbers} bad numbers, {s.skipped} skipped")
    if not s.complete:
        line += "; file not wholly read: nothing missing was sent to review"
    if s.sent_to_review and not s.dry_run:
        line += "; they stay protected until staff decide (registry review list)"
    return line


def _counted(listings: Iterator[Listing], every: int, label: str) -> Iterator[Listing]:
    """Pass ``listings`` through, saying on stderr how far the import got."""
    rows = 0
    for listing in listings:
        rows += 1
        if rows % every == 0:
            typer.echo(f"{label}: {rows} rows read", err=True)
        yield listing
    typer.echo(f"{label}: {rows} rows read, done", err=True)


@review_app.command("list")
def review_list(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Verified entries a directory dropped: still protected until staff decide."""
    entries = registry.in_review(runtime().uow, OPERATOR, limit=limit, offset=offset)
    if json_out:
        emit({"entries": [entry_json(e) for e in entries]})
        return
    for e in entries:
        typer.echo(f"{e.id}\t{e.number}\t{e.kind}\t{e.credential}\t{e.review}\t{e.holder}")


@review_app.command("keep")
def review_keep(
    entry_id: int,
    reason: Annotated[str, typer.Option(help="Why it stays protected (audited).")],
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Keep a reviewed entry protected (to remove protection: `registry revoke ID --reason`)."""
    entry = registry.keep_after_review(runtime().uow, OPERATOR, entry_id, reason=reason,
                                       now=utcnow())
    if json_out:
        emit(entry_json(entry))
    else:
        typer.echo(f"entry {entry.id}: {entry.number} kept protected")


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
