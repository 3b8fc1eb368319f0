"""Stream an attorney roster (a bar's registration list as CSV) into typed records.

Each state's layout is data, in ``bar_layouts.json`` beside this module (see
:func:`layouts`; each entry says where its layout was confirmed: New York, Washington
and Pennsylvania; California's columns are not confirmed); a roster that fits none of its
state's layouts is tried against the generic one (``Bar Number,Name,Phone,Status``,
status ``Active``), and one that fits neither is refused naming both. New York's mapping
follows its open attorney registration data (data.ny.gov, "NYS Attorney
Registrations"): ``registration_number``, ``first_name``, ``middle_name``,
``last_name``, ``suffix``, ``phone_number`` and ``status``, whose value
``Currently registered`` marks an attorney in good standing. Header names are compared
ignoring case, underscores and spacing, so the portal's CSV export (``Registration
Number``, ``Phone Number``...) reads the same as its API field names.

Every sound row yields a :class:`BarAttorney`: ``active`` only when the status is one of
the active statuses, so the service registers the active ones and sends protected
entries of the others to staff review; each inactive row is counted by its status.
The credential is the state and the registration number (``NY:1234567``).

Phone numbers are passed on as published (``(716) 366-3677``, ``+82 2 3404 0450``);
turning them into E.164 is the domain's job.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import BinaryIO

from privline.adapters.imports._csvstream import (
    CsvStream,
    ProgressCallback,
    check_encoding,
    header_key,
    map_columns,
    open_binary,
)
from privline.adapters.imports.exceptions import FormatMismatch, InvalidImportConfig
from privline.adapters.imports.report import DEFAULT_MAX_ISSUES, ImportReport, IssueCode

FILE_FORMAT = "bar-csv"


@dataclass(frozen=True)
class BarColumns:
    """Which header names hold what; name parts that a file lacks are left out."""

    registration_number: str = "registration_number"
    phone: str = "phone_number"
    status: str = "status"
    name_parts: tuple[str, ...] = ("first_name", "middle_name", "last_name", "suffix")
    active_statuses: frozenset[str] = field(
        default_factory=lambda: frozenset({"Currently registered"}))

    def __post_init__(self) -> None:
        names = [self.registration_number, self.phone, self.status, *self.name_parts]
        if any(not name.strip() for name in names) or not self.name_parts:
            raise InvalidImportConfig("every mapped column needs a name, and one name part")
        keys = [header_key(name) for name in names]
        if len(set(keys)) != len(keys):
            raise InvalidImportConfig("two roles are mapped to the same column")
        if not self.active_statuses:
            raise InvalidImportConfig("no status is marked as active")


NEW_YORK_COLUMNS = BarColumns()
GENERIC = "generic"


@cache
def layouts() -> dict[str, BarColumns]:
    """The documented roster layouts by state (and ``generic``), from the package's data."""
    raw = json.loads(files("privline.adapters.imports").joinpath("bar_layouts.json")
                     .read_text(encoding="utf-8"))
    return {key: BarColumns(value["registration_number"], value["phone"], value["status"],
                            tuple(value["name_parts"]), frozenset(value["active_statuses"]))
            for key, value in raw.items() if not key.startswith("_")}


def layouts_for(state: str) -> list[BarColumns]:
    """The layouts a roster of ``state`` may have, its own first."""
    return [columns for _, columns in _named_layouts_for(state)]


def _named_layouts_for(state: str) -> list[tuple[str, BarColumns]]:
    known, code = layouts(), state.strip().upper()
    return [(name, known[name]) for name in (code, GENERIC) if name in known]

_STATE = re.compile(r"^[A-Z]{2}$")
_REGISTRATION = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
_PHONE_CHARACTERS = re.compile(r"^[0-9+()./\- ]+$")


@dataclass(frozen=True, slots=True)
class BarAttorney:
    """One roster row: an attorney, active or not, with the numbers the roster lists."""

    state: str
    registration_number: str
    name: str  # the name parts joined with spaces; may be empty
    phones: tuple[str, ...]  # as published; empty when none or unusable
    active: bool
    status: str  # as published, e.g. "Currently registered", "Retired"
    line: int

    @property
    def credential(self) -> str:
        return f"{self.state}:{self.registration_number}"


class BarCsvReader:
    """An attorney roster as a stream of :class:`BarAttorney`. Iterate once.

    Construction reads and checks the header and raises
    :class:`~privline.adapters.imports.exceptions.FormatMismatch` for a file lacking the
    mapped columns. ``report`` holds counts and bad rows once iteration ends.
    """

    def __init__(
        self,
        raw: BinaryIO,
        *,
        state: str,
        columns: BarColumns = NEW_YORK_COLUMNS,
        encoding: str = "utf-8",
        progress: ProgressCallback | None = None,
        max_issues: int = DEFAULT_MAX_ISSUES,
    ) -> None:
        self.state = _check_state(state)
        self.columns = columns
        self._encoding = check_encoding(encoding)
        self.report = ImportReport(FILE_FORMAT, max_issues)
        self._stream = CsvStream(raw, report=self.report, encoding=encoding,
                                 progress=progress)
        header = self._stream.header
        required = (columns.registration_number, columns.phone, columns.status)
        self._index = map_columns(header, required, columns.name_parts, FILE_FORMAT)
        self._name_index = [self._index[p] for p in columns.name_parts if p in self._index]
        if not self._name_index:
            raise FormatMismatch(FILE_FORMAT, "no name column is present",
                                 missing=columns.name_parts)
        self._active = {_status_key(s) for s in columns.active_statuses}

    def __iter__(self) -> Iterator[BarAttorney]:
        report, state, active_statuses = self.report, self.state, self._active
        i_reg = self._index[self.columns.registration_number]
        i_phone = self._index[self.columns.phone]
        i_status = self._index[self.columns.status]
        name_index, encoding = self._name_index, self._encoding
        needed = 1 + max(self._index.values())
        for line, raw_row in self._stream.records(needed):
            row = [value.decode(encoding) for value in raw_row[:needed]]
            number = row[i_reg].strip().upper()
            if not number:
                report.bad_row(line, IssueCode.MISSING_VALUE, "no registration number")
                continue
            if not _REGISTRATION.match(number):
                report.bad_row(line, IssueCode.BAD_REGISTRATION,
                               f"registration number {number[:40]!r} is not 1-32 letters, "
                               "digits or dashes")
                continue
            status = " ".join(row[i_status].split())
            if not status:
                # Unknown standing: neither register nor revoke on a guess.
                report.bad_row(line, IssueCode.MISSING_VALUE, "no status")
                continue
            name = " ".join(part for part in (row[i].strip() for i in name_index) if part)
            if not name:
                report.bad_field(line, IssueCode.MISSING_VALUE, "the attorney has no name")
            phones: tuple[str, ...] = ()
            raw_phone = " ".join(row[i_phone].split())
            if raw_phone:
                if plausible_phone(raw_phone):
                    phones = (raw_phone,)
                else:
                    report.bad_field(line, IssueCode.BAD_PHONE,
                                     f"phone {raw_phone[:40]!r} is not a phone number")
            report.records += 1
            active = _status_key(status) in active_statuses
            if not active:
                report.skip(f"status: {status[:60]}")
            yield BarAttorney(state, number, name, phones, active, status, line)


@contextmanager
def open_bar_csv(
    path: str | os.PathLike[str],
    *,
    state: str,
    columns: BarColumns | None = None,
    encoding: str = "utf-8",
    progress: ProgressCallback | None = None,
    max_issues: int = DEFAULT_MAX_ISSUES,
) -> Iterator[BarCsvReader]:
    """Open a roster; raises before the block runs if its header fits no layout.

    ``columns`` None: the state's documented layouts, then the generic one.
    """
    # A typo in the settings is reported as such, not as a file error.
    _check_state(state)
    check_encoding(encoding)
    candidates = ([("given", columns)] if columns is not None
                  else _named_layouts_for(state))
    first: FormatMismatch | None = None
    for _, candidate in candidates:
        with open_binary(path, FILE_FORMAT) as raw:
            try:
                reader = BarCsvReader(raw, state=state, columns=candidate, encoding=encoding,
                                      progress=progress, max_issues=max_issues)
            except FormatMismatch as exc:
                first = first or exc
                continue
            yield reader
            return
    assert first is not None  # noqa: S101 - there is always at least one candidate
    if columns is not None:
        raise first
    # Say which layouts were tried and which states have one, so staff can tell a
    # wrong --state from a roster whose layout is not known yet.
    tried = " or ".join(_describe(name, c) for name, c in candidates)
    states = ", ".join(sorted(k for k in layouts() if k != GENERIC))
    raise FormatMismatch(FILE_FORMAT, f"its header fits no roster layout for "
                         f"{state.strip().upper()}: expected {tried} (states with their own "
                         f"layout: {states})")


def _describe(name: str, columns: BarColumns) -> str:
    wanted = (columns.registration_number, *columns.name_parts, columns.phone, columns.status)
    return f"{name} ({', '.join(wanted)})"


def plausible_phone(value: str) -> bool:
    """Phone punctuation only, and 7 to 15 digits (the E.164 maximum)."""
    if not _PHONE_CHARACTERS.match(value):
        return False
    digits = sum(c.isdigit() for c in value)
    return 7 <= digits <= 15


def _status_key(status: str) -> str:
    return " ".join(status.split()).casefold()


def _check_state(state: str) -> str:
    code = state.strip().upper()
    if not _STATE.match(code):
        raise InvalidImportConfig(f"state must be a two-letter code, not {state!r}")
    return code
