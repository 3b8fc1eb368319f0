"""Public directories as streams of typed records: NPPES and attorney rosters.

Pure parsing: no database, no registry rules, memory bounded whatever the file size. A
registry service consumes the records, for instance::

    with open_nppes(main_path, progress=on_bytes) as main:        # FormatMismatch here,
        with open_nppes_locations(pl_path) as locations:          # ... and here: before
            for record in main:                                   # anything is written
                ...  # NppesProvider: register record.phones as record.kind
                     # NppesDeactivation: revoke what record.npi holds
            for location in locations:                            # NppesLocationPhone
                ...
    main.report.complete   # only then may NPIs missing from the file be revoked

Records carry raw North American digits (NPPES) or the roster's own spelling (bar
rosters); :func:`privline.domain.numbers.to_e164` makes them E.164.

Errors: :mod:`privline.adapters.imports.exceptions`. Counts and bad rows:
:mod:`privline.adapters.imports.report`.
"""

from privline.adapters.imports._csvstream import ProgressCallback
from privline.adapters.imports.bar_csv import (
    NEW_YORK_COLUMNS,
    BarAttorney,
    BarColumns,
    BarCsvReader,
    open_bar_csv,
)
from privline.adapters.imports.exceptions import (
    FormatMismatch,
    ImportAdapterError,
    InvalidImportConfig,
    SourceUnreadable,
)
from privline.adapters.imports.nppes import (
    DEFAULT_TAXONOMY_PREFIXES,
    DEFAULT_TAXONOMY_SCOPE,
    NppesDeactivation,
    NppesLocationPhone,
    NppesLocationsReader,
    NppesProvider,
    NppesReader,
    NppesRecord,
    TaxonomyScope,
    open_nppes,
    open_nppes_locations,
)
from privline.adapters.imports.report import ImportReport, IssueCode, RowIssue

__all__ = [
    "DEFAULT_TAXONOMY_PREFIXES",
    "DEFAULT_TAXONOMY_SCOPE",
    "NEW_YORK_COLUMNS",
    "BarAttorney",
    "BarColumns",
    "BarCsvReader",
    "FormatMismatch",
    "ImportAdapterError",
    "ImportReport",
    "InvalidImportConfig",
    "IssueCode",
    "NppesDeactivation",
    "NppesLocationPhone",
    "NppesLocationsReader",
    "NppesProvider",
    "NppesReader",
    "NppesRecord",
    "ProgressCallback",
    "RowIssue",
    "SourceUnreadable",
    "TaxonomyScope",
    "open_bar_csv",
    "open_nppes",
    "open_nppes_locations",
]
