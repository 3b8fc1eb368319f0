"""Errors of the imports adapter (NPPES and bar-roster parsers).

    ImportAdapterError (permanent unless said otherwise)
    ├── InvalidImportConfig    a taxonomy scope, column mapping or state that cannot work
    ├── FormatMismatch         the file is not the named format; raised before any record
    │                          is yielded, so nothing downstream has been written
    └── SourceUnreadable       the file could not be opened or read (an OSError); a retry
                               may help when the cause was transient (a network mount)

A bad *row* is never an exception: it is counted in the reader's
:class:`~privline.adapters.imports.report.ImportReport` with its line number, and the
stream goes on.
"""

from __future__ import annotations

from collections.abc import Sequence


class ImportAdapterError(Exception):
    """Base of every imports-adapter error; ``code`` is stable and safe to show a user."""

    code = "import_failed"
    permanent = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidImportConfig(ImportAdapterError):
    code = "invalid_import_config"


class FormatMismatch(ImportAdapterError):
    """The file is not a ``file_format`` file: headers missing, empty, or undecodable."""

    code = "format_mismatch"

    def __init__(
        self, file_format: str, reason: str, *, missing: Sequence[str] = ()
    ) -> None:
        detail = f"; missing columns: {', '.join(missing)}" if missing else ""
        super().__init__(f"not a {file_format} file: {reason}{detail}")
        self.file_format = file_format
        self.reason = reason
        self.missing = tuple(missing)


class SourceUnreadable(ImportAdapterError):
    """Reading the file failed at the operating-system level."""

    code = "source_unreadable"
    permanent = False

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
