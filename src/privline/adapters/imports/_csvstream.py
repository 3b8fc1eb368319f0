"""A CSV file as a stream of ``(line number, fields)``, in bounded memory.

Shared by the NPPES and bar-roster readers. Bytes are read one physical line at a time
(each capped at ``max_line`` bytes), so memory does not grow with the file, and a stray
undecodable byte spoils one record, not the rest of the file.

Two paths, with the same result:

- the common line is one whole record: every field quoted with no quote inside (the
  NPPES style), or no quote at all. Its fields are cut with ``bytes.split``, several
  times faster than the csv module on a 330-column line. The cut is used only when the
  counts of quotes and separators prove it equals what the csv module would produce.
- anything else (an escaped quote, a quoted line break, a malformed line) goes through
  the csv module in strict mode, which may join several physical lines into one record.
  A record it refuses (a quote left open, text after a closing quote) or that has the
  wrong number of fields across lines is *salvaged*: its lines are parsed one by one, so
  a broken quote costs one row, not every row it swallowed. A lost row matters here: a
  service that saw an NPI vanish would revoke its numbers.

Fields come out as ``bytes`` in the file's encoding (every line has been checked to
decode); readers decode the few fields they use. Only ASCII-compatible encodings are
accepted, so a quote or comma byte is always a quote or a comma.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO

from privline.adapters.imports.exceptions import (
    FormatMismatch,
    InvalidImportConfig,
    SourceUnreadable,
)
from privline.adapters.imports.report import ImportReport, IssueCode

ProgressCallback = Callable[[int], None]
"""Called now and then with the number of bytes read so far (and once at the end)."""

MAX_LINE_BYTES = 1 << 20
PROGRESS_EVERY_BYTES = 4 << 20
_BOM = b"\xef\xbb\xbf"


def header_key(name: str) -> str:
    """How column names are compared: case, underscores and runs of spaces ignored.

    ``Registration Number`` (a Socrata CSV export) matches ``registration_number`` (its
    API field name), and the NPPES practice-location file's ``Address-  Address Line 2``
    (two spaces, as published) matches however a caller spells it.
    """
    return " ".join(name.replace("_", " ").split()).casefold()


def map_columns(
    header: Sequence[str],
    required: Sequence[str],
    optional: Sequence[str],
    file_format: str,
) -> dict[str, int]:
    """Position of each wanted column, found by name; refuses a file missing any required.

    A wanted column that appears twice is refused as well: which copy holds the truth
    cannot be known.
    """
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        positions.setdefault(header_key(name), []).append(index)
    found: dict[str, int] = {}
    missing: list[str] = []
    for name in (*required, *optional):
        hits = positions.get(header_key(name), [])
        if len(hits) > 1:
            raise FormatMismatch(file_format, f"column {name!r} appears {len(hits)} times")
        if hits:
            found[name] = hits[0]
        elif name in required:
            missing.append(name)
    if missing:
        raise FormatMismatch(file_format, "required columns are missing", missing=missing)
    return found


@contextmanager
def open_binary(path: str | os.PathLike[str], file_format: str) -> Iterator[BinaryIO]:
    """Open ``path`` for reading bytes; OS errors become :class:`SourceUnreadable`."""
    try:
        handle = open(path, "rb", buffering=1 << 20)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise SourceUnreadable(f"cannot open the {file_format} file: {exc}", permanent=True
                               ) from exc
    except OSError as exc:
        raise SourceUnreadable(f"cannot open the {file_format} file: {exc}") from exc
    with handle:
        yield handle


def check_encoding(encoding: str) -> str:
    """The codec's canonical name; refuses unknown and non-ASCII-compatible encodings."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise InvalidImportConfig(f"unknown encoding {encoding!r}") from exc
    if '",\r\n'.encode(name, "replace") != b'",\r\n':
        raise InvalidImportConfig(f"encoding {encoding!r} is not ASCII-compatible")
    return name


class CsvStream:
    """Reads the header at construction; :meth:`records` then streams the data rows.

    ``needed``: the reader uses only columns before this position, so the fast path
    leaves the rest of the line uncut (the row's last item is then that uncut rest).
    The field count is checked against the header either way.
    """

    def __init__(
        self,
        raw: BinaryIO,
        *,
        report: ImportReport,
        encoding: str = "utf-8",
        progress: ProgressCallback | None = None,
        progress_every: int = PROGRESS_EVERY_BYTES,
        max_line: int = MAX_LINE_BYTES,
    ) -> None:
        self._encoding = check_encoding(encoding)
        self._raw = raw
        self._report = report
        self._progress = progress
        self._progress_every = max(1, progress_every)
        self._next_tick = self._progress_every
        self._max_line = max_line
        self._bytes = 0
        self._lineno = 0
        # The slow path: lines handed to the csv module for the record under way, and
        # those among them that could not be handed over as read.
        self._pending: list[tuple[int, str]] = []
        self._tainted: dict[int, IssueCode] = {}
        self._started = False
        self.header = self._read_header()

    # -- header ------------------------------------------------------------------------

    def _read_header(self) -> list[str]:
        fmt = self._report.file_format
        raw = self._readline()
        if not raw:
            raise FormatMismatch(fmt, "the file is empty")
        if raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if not raw.endswith(b"\n") and len(raw) >= self._max_line:
            raise FormatMismatch(fmt, f"the first line is longer than {self._max_line} bytes")
        try:
            text = raw.decode(self._encoding)
        except UnicodeDecodeError as exc:
            raise FormatMismatch(fmt, f"the header is not valid {self._encoding}") from exc
        try:
            fields = next(csv.reader([text], strict=True), [])
        except csv.Error as exc:
            raise FormatMismatch(fmt, f"the header is not CSV ({exc})") from exc
        self._lineno = 1
        self._report.lines_read = 1
        if not fields:
            raise FormatMismatch(fmt, "the first line is blank")
        return [name.strip() for name in fields]

    # -- raw lines ---------------------------------------------------------------------

    def _chunk(self) -> bytes:
        try:
            raw = self._raw.readline(self._max_line)
        except OSError as exc:
            raise SourceUnreadable(f"cannot read the {self._report.file_format} file: {exc}"
                                   ) from exc
        self._bytes += len(raw)
        if self._bytes >= self._next_tick:
            self._tick()
        return raw

    def _readline(self) -> bytes:
        """The next physical line (at most ``max_line`` bytes of it), or b"" at the end."""
        raw = self._chunk()
        if raw:
            self._lineno += 1
        return raw

    def _tick(self) -> None:
        self._next_tick = self._bytes + self._progress_every
        self._report.bytes_read, self._report.lines_read = self._bytes, self._lineno
        if self._progress is not None:
            self._progress(self._bytes)

    def _too_long(self, raw: bytes) -> bool:
        """True (and the rest of the line skipped) when ``raw`` is a cut-off line."""
        if len(raw) < self._max_line or raw.endswith(b"\n"):
            return False
        while True:
            rest = self._chunk()
            if not rest or rest.endswith(b"\n"):
                return True

    # -- records -----------------------------------------------------------------------

    def records(self, needed: int | None = None) -> Iterator[tuple[int, list[bytes]]]:
        """``(line, fields)`` for every sound record with as many fields as the header.

        Records that are not sound are counted as bad rows in the report and skipped.
        Sets ``report.finished`` at the end of the file. Call once.
        """
        if self._started:
            raise RuntimeError("records() can be iterated only once")
        self._started = True
        report, encoding = self._report, self._encoding
        columns = len(self.header)
        cut = -1 if needed is None or needed >= columns else needed
        separators, quotes = columns - 1, 2 * (columns - 1)
        read, max_line = self._raw.readline, self._max_line
        while True:
            # self._readline(), inlined: this loop runs once per row of a 9 GB file.
            try:
                raw = read(max_line)
            except OSError as exc:
                raise SourceUnreadable(f"cannot read the {report.file_format} file: {exc}"
                                       ) from exc
            if not raw:
                break
            self._lineno = line = self._lineno + 1
            self._bytes += len(raw)
            if self._bytes >= self._next_tick:
                self._tick()
            if len(raw) >= max_line and self._too_long(raw):
                report.rows_read += 1
                report.bad_row(line, IssueCode.LINE_TOO_LONG,
                               f"line longer than {self._max_line} bytes")
                continue
            if not raw.isascii():  # ASCII is valid in every accepted encoding
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError:
                    yield from self._slow(raw, columns, bad_encoding=True)
                    continue
            if raw[:1] == b'"':
                # Where the closing quote sits; the opening one (at 0) cannot be it.
                end = (-3 if raw.endswith(b'"\r\n') and len(raw) > 3
                       else -2 if raw.endswith(b'"\n') and len(raw) > 2
                       else -1 if raw.endswith(b'"') and len(raw) > 1 else 0)
                if end:
                    body = raw[1:end]
                    # All quotes are in '","' separators: no escaped quote, no line
                    # break inside a field; cutting equals what the csv module does.
                    if body.count(b'","') == separators and body.count(b'"') == quotes:
                        report.rows_read += 1
                        yield line, body.split(b'","', cut)
                        continue
            elif b'"' not in raw:
                body = raw.rstrip(b"\r\n")
                if not body:
                    continue  # a blank line is not a row
                if b"\r" not in body and body.count(b",") == separators:
                    report.rows_read += 1
                    yield line, body.split(b",", cut)
                    continue
            yield from self._slow(raw, columns, bad_encoding=False)
        self._tick()
        report.finished = True

    # -- the csv module's path -----------------------------------------------------------

    def _feed(self, first: str) -> Iterator[str]:
        """Physical lines for the csv module: ``first``, then more while it asks."""
        yield first
        while True:
            raw = self._readline()
            if not raw:
                return
            line = self._lineno
            if self._too_long(raw):
                self._tainted[line] = IssueCode.LINE_TOO_LONG
                text = "\n"
            else:
                try:
                    text = raw.decode(self._encoding)
                except UnicodeDecodeError:
                    # A readable stand-in keeps the record's boundaries where they are.
                    text = raw.decode(self._encoding, "replace")
                    self._tainted[line] = IssueCode.ENCODING
            self._pending.append((line, text))
            yield text

    def _slow(self, raw: bytes, columns: int, *, bad_encoding: bool
              ) -> Iterator[tuple[int, list[bytes]]]:
        line, report, encoding = self._lineno, self._report, self._encoding
        text = raw.decode(encoding, "replace")
        self._pending = [(line, text)]
        self._tainted = {line: IssueCode.ENCODING} if bad_encoding else {}
        try:
            row = next(csv.reader(self._feed(text), strict=True), [])
        except csv.Error as exc:
            yield from self._salvage(columns, f"malformed CSV ({exc})")
            return
        if not row:  # a blank line
            return
        if len(self._pending) > 1 and (len(row) != columns or self._tainted):
            yield from self._salvage(columns, "")
            return
        report.rows_read += 1
        if self._tainted:
            report.bad_row(line, IssueCode.ENCODING, f"not valid {encoding}")
        elif len(row) != columns:
            report.bad_row(line, IssueCode.FIELD_COUNT,
                           f"{len(row)} fields; the header has {columns}")
        else:
            yield line, [field.encode(encoding) for field in row]

    def _salvage(self, columns: int, reason: str) -> Iterator[tuple[int, list[bytes]]]:
        """Parse the lines of a broken multi-line record one by one."""
        report, encoding = self._report, self._encoding
        for line, text in self._pending:
            if line in self._tainted:
                report.rows_read += 1
                code = self._tainted[line]
                report.bad_row(line, code, f"not valid {encoding}" if code is IssueCode.ENCODING
                               else f"line longer than {self._max_line} bytes")
                continue
            try:
                row = next(csv.reader([text], strict=True), [])
            except csv.Error as exc:
                report.rows_read += 1
                report.bad_row(line, IssueCode.MALFORMED_CSV, f"malformed CSV ({exc})")
                continue
            if not row:
                continue
            if text.count('"') % 2:  # a piece of a record, not one by itself
                report.rows_read += 1
                report.bad_row(line, IssueCode.MALFORMED_CSV, "a quote is left open")
                continue
            report.rows_read += 1
            if len(row) == columns:
                yield line, [field.encode(encoding) for field in row]
            else:
                why = reason or "a quoted field runs across lines"
                report.bad_row(line, IssueCode.FIELD_COUNT,
                               f"{len(row)} fields; the header has {columns} ({why})")
