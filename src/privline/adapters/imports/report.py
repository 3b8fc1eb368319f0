"""What a parse saw: counts, and the bad rows with their line numbers.

A reader fills one :class:`ImportReport` while it streams. Memory stays bounded: every
problem is counted, but only the first ``max_issues`` are kept with their details.

Two kinds of problem:

- a *bad row* was not turned into a record at all (wrong field count, undecodable bytes,
  an invalid NPI...). Whatever that row said is unknown to the caller, so a service must
  not treat the row's provider as having vanished from the directory while
  :attr:`ImportReport.complete` is false.
- a *bad field* was dropped from a record that was still yielded (a malformed phone
  number beside an otherwise sound provider).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_MAX_ISSUES = 1000


class IssueCode(StrEnum):
    ENCODING = "encoding"  # bytes that are not valid in the file's encoding
    MALFORMED_CSV = "malformed_csv"  # the csv module refused the record
    LINE_TOO_LONG = "line_too_long"  # a physical line past the reader's limit
    FIELD_COUNT = "field_count"  # not as many fields as the header has columns
    MISSING_VALUE = "missing_value"  # a required value is empty
    BAD_NPI = "bad_npi"  # not 10 digits, or the check digit is wrong
    BAD_DATE = "bad_date"
    BAD_PHONE = "bad_phone"
    BAD_ENTITY_TYPE = "bad_entity_type"
    BAD_REGISTRATION = "bad_registration_number"


@dataclass(frozen=True, slots=True)
class RowIssue:
    """One problem, at ``line`` (1-based physical line where the record starts)."""

    line: int
    code: IssueCode
    detail: str
    row_dropped: bool  # True: a bad row (no record); False: a field dropped from a record


@dataclass(slots=True)
class ImportReport:
    """Counters for one file; read it after the stream is exhausted."""

    file_format: str
    max_issues: int = DEFAULT_MAX_ISSUES
    bytes_read: int = 0
    lines_read: int = 0  # physical lines, header included
    rows_read: int = 0  # data records seen, including those skipped unparsed
    records: int = 0  # records yielded
    out_of_scope: int = 0  # sound rows that are not wanted (organisations, dentists...)
    bad_rows: int = 0
    bad_fields: int = 0
    finished: bool = False  # the stream reached the end of the file
    issues: list[RowIssue] = field(default_factory=list)
    issues_not_kept: int = 0
    # Sound rows not imported, by reason (e.g. "status: Retired"): counted, never silent.
    not_imported: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.not_imported[reason] = self.not_imported.get(reason, 0) + 1

    @property
    def complete(self) -> bool:
        """Every row of the file was read and understood.

        Only a complete report lets a service conclude that a credential missing from the
        file has left the directory.
        """
        return self.finished and self.bad_rows == 0

    def bad_row(self, line: int, code: IssueCode, detail: str) -> None:
        self.bad_rows += 1
        self._keep(RowIssue(line, code, detail, row_dropped=True))

    def bad_field(self, line: int, code: IssueCode, detail: str) -> None:
        self.bad_fields += 1
        self._keep(RowIssue(line, code, detail, row_dropped=False))

    def _keep(self, issue: RowIssue) -> None:
        if len(self.issues) < self.max_issues:
            self.issues.append(issue)
        else:
            self.issues_not_kept += 1

    def summary(self) -> dict[str, int | bool | str | dict[str, int]]:
        """The counts as plain values, for an audit event or ``--json`` output."""
        return {
            "format": self.file_format,
            "bytes_read": self.bytes_read,
            "lines_read": self.lines_read,
            "rows_read": self.rows_read,
            "records": self.records,
            "out_of_scope": self.out_of_scope,
            "bad_rows": self.bad_rows,
            "bad_fields": self.bad_fields,
            "complete": self.complete,
            "not_imported": dict(sorted(self.not_imported.items())[:100]),
        }
