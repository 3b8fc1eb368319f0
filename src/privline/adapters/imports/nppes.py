"""Stream the CMS NPPES dissemination files into typed records; no database here.

Two readers, each refusing a file that is not its format *before* yielding anything:

- :class:`NppesReader` for the main file (``npidata_pfile_*.csv``) yields
  :class:`NppesProvider` for each individual (``Entity Type Code`` 1) with a taxonomy in
  the configured :class:`TaxonomyScope`, and :class:`NppesDeactivation` for each NPI whose
  ``NPI Deactivation Date`` is set and not followed by a reactivation.
- :class:`NppesLocationsReader` for the secondary practice locations file
  (``pl_pfile_*.csv``) yields :class:`NppesLocationPhone`, one per location with a phone.

Columns are found by header name, never position (the V2 layout renamed
``Provider Gender Code``; nothing here reads either). Phone numbers come out as the
10 digits of a North American number; turning them into E.164 is the domain's job
(:func:`privline.domain.numbers.to_e164`).

Deactivated NPIs carry almost nothing in the file (no entity type, no taxonomy), so a
deactivation is yielded for any deactivated row that is not visibly out of scope (an
organisation, or only out-of-scope taxonomies); the service revokes what it holds for
that NPI and ignores the rest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Container, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import BinaryIO, ClassVar

from privline.adapters.imports._csvstream import (
    CsvStream,
    ProgressCallback,
    check_encoding,
    header_key,
    map_columns,
    open_binary,
)
from privline.adapters.imports.exceptions import InvalidImportConfig
from privline.adapters.imports.report import DEFAULT_MAX_ISSUES, ImportReport, IssueCode
from privline.domain.registry import Kind

NPI = "NPI"
ENTITY_TYPE = "Entity Type Code"
LAST_NAME = "Provider Last Name (Legal Name)"
FIRST_NAME = "Provider First Name"
MIDDLE_NAME = "Provider Middle Name"
NAME_SUFFIX = "Provider Name Suffix Text"
PRACTICE_PHONE = "Provider Business Practice Location Address Telephone Number"
PRACTICE_COUNTRY = "Provider Business Practice Location Address Country Code (If outside U.S.)"
DEACTIVATION_DATE = "NPI Deactivation Date"
REACTIVATION_DATE = "NPI Reactivation Date"
TAXONOMY_CODE = "Healthcare Provider Taxonomy Code_{}"
PRIMARY_SWITCH = "Healthcare Provider Primary Taxonomy Switch_{}"

LOCATION_PHONE = "Provider Secondary Practice Location Address - Telephone Number"
LOCATION_EXTENSION = "Provider Secondary Practice Location Address - Telephone Extension"

MAIN_REQUIRED = (NPI, ENTITY_TYPE, LAST_NAME, FIRST_NAME, PRACTICE_PHONE, DEACTIVATION_DATE,
                 REACTIVATION_DATE, TAXONOMY_CODE.format(1))
MAIN_OPTIONAL = (MIDDLE_NAME, NAME_SUFFIX, PRACTICE_COUNTRY)
LOCATIONS_REQUIRED = (NPI, LOCATION_PHONE)
LOCATIONS_OPTIONAL = (LOCATION_EXTENSION,)

# The NUCC Health Care Provider Taxonomy code set: prefixes select codes, the longest
# matching prefix decides the kind.
DEFAULT_TAXONOMY_PREFIXES: Mapping[str, Kind] = MappingProxyType({
    "207": Kind.PHYSICIAN,  # allopathic & osteopathic physicians (207Q family medicine...)
    "208": Kind.PHYSICIAN,  # ... continued; includes 2084P0800X psychiatry and its subs
    "103T": Kind.MENTAL_HEALTH,  # psychologists (103TC0700X clinical...)
    "101Y": Kind.MENTAL_HEALTH,  # counselors (101YM0800X mental health, 101YP2500X...)
    "104100000X": Kind.MENTAL_HEALTH,  # social worker
    "1041C0700X": Kind.MENTAL_HEALTH,  # clinical social worker
    "363LP0808X": Kind.MENTAL_HEALTH,  # psychiatric/mental health nurse practitioner
    # The domain has no nurse-practitioner kind; an NP is the licensed clinician a
    # resident reaches for medical care, so the nearest kind is physician.
    "363L": Kind.PHYSICIAN,  # nurse practitioners
})

_TAXONOMY_PREFIX = re.compile(r"^[0-9]{3}[0-9A-Z]{0,6}X?$")
_NOT_FROM_NPPES = frozenset({Kind.ATTORNEY, Kind.LEGAL_ADVOCATE, Kind.UNSPECIFIED})


@dataclass(frozen=True)
class TaxonomyScope:
    """Which taxonomy codes make a provider privileged, and as what kind.

    Keys are NUCC codes or code prefixes (``"207"``, ``"103T"``, ``"1041C0700X"``); for
    a code matching several, the longest prefix decides the kind.
    """

    prefixes: Mapping[str, Kind] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_TAXONOMY_PREFIXES)))
    _ordered: tuple[tuple[str, Kind], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.prefixes:
            raise InvalidImportConfig("the taxonomy scope is empty")
        cleaned: dict[str, Kind] = {}
        for prefix, kind in self.prefixes.items():
            key = prefix.strip().upper()
            if not _TAXONOMY_PREFIX.match(key) or len(key) > 10:
                raise InvalidImportConfig(f"not a NUCC taxonomy code or prefix: {prefix!r}")
            if not isinstance(kind, Kind) or kind in _NOT_FROM_NPPES:
                raise InvalidImportConfig(f"not a kind NPPES can vouch for: {kind!r}")
            cleaned[key] = kind
        object.__setattr__(self, "prefixes", MappingProxyType(cleaned))
        ordered = sorted(cleaned.items(), key=lambda item: -len(item[0]))
        object.__setattr__(self, "_ordered", tuple(ordered))

    def kind_of(self, code: str) -> Kind | None:
        """The kind for one taxonomy code, or None when it is out of scope."""
        code = code.strip(" \t").upper()
        for prefix, kind in self._ordered:
            if code.startswith(prefix):
                return kind
        return None


DEFAULT_TAXONOMY_SCOPE = TaxonomyScope()


@dataclass(frozen=True, slots=True)
class NppesProvider:
    """An individual provider in scope whose NPI is active in the file."""

    deactivated: ClassVar[bool] = False

    npi: str
    name: str  # "FIRST MIDDLE LAST SUFFIX" as the file spells it; may be empty
    kind: Kind
    taxonomy_codes: tuple[str, ...]  # the in-scope codes, the primary one first
    phones: tuple[str, ...]  # practice-location phone, 10 digits; empty when none usable
    line: int

    @property
    def credential(self) -> str:
        return self.npi


@dataclass(frozen=True, slots=True)
class NppesDeactivation:
    """An NPI deactivated (and not reactivated) as of the file: revoke what it holds."""

    deactivated: ClassVar[bool] = True

    npi: str
    deactivated_on: date
    line: int

    @property
    def credential(self) -> str:
        return self.npi


NppesRecord = NppesProvider | NppesDeactivation


@dataclass(frozen=True, slots=True)
class NppesLocationPhone:
    """A secondary practice location's phone for one NPI."""

    npi: str
    phone: str  # 10 digits
    extension: str  # as published; often empty
    line: int

    @property
    def credential(self) -> str:
        return self.npi


class NppesReader:
    """The main NPPES file as a stream of :data:`NppesRecord`. Iterate once.

    Construction reads and checks the header and raises
    :class:`~privline.adapters.imports.exceptions.FormatMismatch` for a file that is not
    NPPES. ``report`` holds the counts and bad rows; it is final once iteration ends.
    """

    def __init__(
        self,
        raw: BinaryIO,
        *,
        scope: TaxonomyScope = DEFAULT_TAXONOMY_SCOPE,
        progress: ProgressCallback | None = None,
        encoding: str = "utf-8",
        max_issues: int = DEFAULT_MAX_ISSUES,
    ) -> None:
        self.report = ImportReport("nppes", max_issues)
        self.scope = scope
        self._encoding = check_encoding(encoding)
        self._stream = CsvStream(raw, report=self.report, encoding=encoding, progress=progress)
        header = self._stream.header
        self._columns = map_columns(header, MAIN_REQUIRED, MAIN_OPTIONAL, "nppes")
        switches = _numbered(header, PRIMARY_SWITCH)
        self._taxonomy = [(index, switches.get(n))
                          for n, index in sorted(_numbered(header, TAXONOMY_CODE).items())]

    def __iter__(self) -> Iterator[NppesRecord]:
        report, encoding = self.report, self._encoding
        col = self._columns
        i_npi, i_entity, i_deact, i_react = (col[NPI], col[ENTITY_TYPE],
                                             col[DEACTIVATION_DATE], col[REACTIVATION_DATE])
        i_phone = col[PRACTICE_PHONE]
        i_country = col.get(PRACTICE_COUNTRY)
        name_columns = [col[c] for c in (FIRST_NAME, MIDDLE_NAME, LAST_NAME, NAME_SUFFIX)
                        if c in col]
        taxonomy = self._taxonomy
        needed = 1 + max([*col.values(), *(i for pair in taxonomy for i in pair if i is not None)])
        # Few distinct codes exist (~900): each is classified once per file.
        seen: dict[bytes, tuple[str, Kind | None]] = {}
        kind_of = self.scope.kind_of

        for line, row in self._stream.records(needed):
            entity = row[i_entity].strip()
            if entity == b"2":
                report.out_of_scope += 1
                continue
            codes: list[str] = []
            code_kinds: list[Kind] = []
            primary_at = -1
            listed_any = False
            for t_index, s_index in taxonomy:
                raw_code = row[t_index]
                if not raw_code:
                    continue
                listed_any = True
                known = seen.get(raw_code)
                if known is None:
                    text = raw_code.decode(encoding)
                    known = seen[raw_code] = (text.strip(" \t").upper(), kind_of(text))
                code, code_kind = known
                if code_kind is None or code in codes:
                    continue
                if primary_at < 0 and s_index is not None and row[s_index].strip() == b"Y":
                    primary_at = len(codes)
                codes.append(code)
                code_kinds.append(code_kind)
            if listed_any and not codes:
                report.out_of_scope += 1
                continue
            if primary_at > 0:
                codes.insert(0, codes.pop(primary_at))
                code_kinds.insert(0, code_kinds.pop(primary_at))

            if row[i_deact].strip():
                state = _deactivation(row[i_deact].decode(encoding).strip(),
                                      row[i_react].decode(encoding).strip())
                if isinstance(state, str):
                    report.bad_row(line, IssueCode.BAD_DATE, state)
                    continue
                if state is not None and entity in (b"1", b""):
                    npi = row[i_npi].decode(encoding).strip()
                    if not valid_npi(npi):
                        report.bad_row(line, IssueCode.BAD_NPI, f"not a valid NPI: {npi!r}")
                        continue
                    report.records += 1
                    yield NppesDeactivation(npi, state, line)
                    continue

            if entity != b"1":
                shown = entity.decode(encoding)
                report.bad_row(line, IssueCode.BAD_ENTITY_TYPE if shown
                               else IssueCode.MISSING_VALUE, f"{ENTITY_TYPE} is {shown!r}")
                continue
            if not codes:
                report.out_of_scope += 1
                continue
            npi = row[i_npi].decode(encoding).strip()
            if not valid_npi(npi):
                report.bad_row(line, IssueCode.BAD_NPI, f"not a valid NPI: {npi!r}")
                continue
            name = " ".join(part for part in (row[i].decode(encoding).strip()
                                              for i in name_columns) if part)
            if not name:
                report.bad_field(line, IssueCode.MISSING_VALUE, "the provider has no name")
            phones: tuple[str, ...] = ()
            if row[i_phone]:
                raw_phone = row[i_phone].decode(encoding)
                phone = nanp_digits(raw_phone)
                if phone is not None:
                    phones = (phone,)
                else:
                    abroad = i_country is not None and row[i_country].strip() not in (b"", b"US")
                    report.bad_field(line, IssueCode.BAD_PHONE,
                                     f"practice phone {raw_phone[:40]!r} is not a 10-digit "
                                     "NANP number" + (" (practice outside the US)" if abroad
                                                      else ""))
            report.records += 1
            yield NppesProvider(npi, name, code_kinds[0], tuple(codes), phones, line)


class NppesLocationsReader:
    """The secondary practice locations file as :class:`NppesLocationPhone`. Iterate once.

    ``npis``, when given, keeps only locations of those NPIs (the providers in scope);
    the others count as out of scope. Rows without a phone are out of scope too.
    """

    def __init__(
        self,
        raw: BinaryIO,
        *,
        npis: Container[str] | None = None,
        progress: ProgressCallback | None = None,
        encoding: str = "utf-8",
        max_issues: int = DEFAULT_MAX_ISSUES,
    ) -> None:
        self.report = ImportReport("nppes-locations", max_issues)
        self._npis = npis
        self._encoding = check_encoding(encoding)
        self._stream = CsvStream(raw, report=self.report, encoding=encoding, progress=progress)
        self._columns = map_columns(self._stream.header, LOCATIONS_REQUIRED,
                                    LOCATIONS_OPTIONAL, "nppes-locations")

    def __iter__(self) -> Iterator[NppesLocationPhone]:
        report, npis, encoding = self.report, self._npis, self._encoding
        i_npi, i_phone = self._columns[NPI], self._columns[LOCATION_PHONE]
        i_ext = self._columns.get(LOCATION_EXTENSION)
        needed = 1 + max(self._columns.values())
        for line, row in self._stream.records(needed):
            npi = row[i_npi].decode(encoding).strip()
            raw_phone = row[i_phone].decode(encoding).strip()
            if not raw_phone or (npis is not None and npi not in npis):
                report.out_of_scope += 1
                continue
            if not valid_npi(npi):
                report.bad_row(line, IssueCode.BAD_NPI, f"not a valid NPI: {npi!r}")
                continue
            phone = nanp_digits(raw_phone)
            if phone is None:
                report.bad_row(line, IssueCode.BAD_PHONE,
                               f"phone {raw_phone[:40]!r} is not a 10-digit NANP number")
                continue
            extension = row[i_ext].decode(encoding).strip() if i_ext is not None else ""
            report.records += 1
            yield NppesLocationPhone(npi, phone, extension, line)


@contextmanager
def open_nppes(
    path: str | os.PathLike[str],
    *,
    scope: TaxonomyScope = DEFAULT_TAXONOMY_SCOPE,
    progress: ProgressCallback | None = None,
    encoding: str = "utf-8",
    max_issues: int = DEFAULT_MAX_ISSUES,
) -> Iterator[NppesReader]:
    """Open the main NPPES file; raises before the block runs if it is not NPPES."""
    with open_binary(path, "nppes") as raw:
        yield NppesReader(raw, scope=scope, progress=progress, encoding=encoding,
                          max_issues=max_issues)


@contextmanager
def open_nppes_locations(
    path: str | os.PathLike[str],
    *,
    npis: Container[str] | None = None,
    progress: ProgressCallback | None = None,
    encoding: str = "utf-8",
    max_issues: int = DEFAULT_MAX_ISSUES,
) -> Iterator[NppesLocationsReader]:
    """Open the secondary practice locations file; raises early if it is not one."""
    with open_binary(path, "nppes-locations") as raw:
        yield NppesLocationsReader(raw, npis=npis, progress=progress, encoding=encoding,
                                   max_issues=max_issues)


# -- values ------------------------------------------------------------------------------

_DIGIT = {ord(str(d)): d for d in range(10)}
_DOUBLED = {ord(str(d)): (2 * d) % 9 if d != 9 else 9 for d in range(10)}


def valid_npi(npi: str) -> bool:
    """Ten digits whose last is the Luhn check digit over ``80840`` and the first nine."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    b = npi.encode()
    d, dd = _DIGIT, _DOUBLED
    # 24 is the Luhn contribution of the "80840" prefix.
    total = (24 + dd[b[8]] + d[b[7]] + dd[b[6]] + d[b[5]] + dd[b[4]] + d[b[3]] + dd[b[2]]
             + d[b[1]] + dd[b[0]] + d[b[9]])
    return total % 10 == 0


_NON_DIGITS = re.compile(r"[^0-9]")


def nanp_digits(value: str) -> str | None:
    """The 10 digits of a North American number (area code and exchange 2-9), or None."""
    if len(value) == 10 and value.isascii() and value.isdigit():
        digits = value
    else:
        if len(value) > 32 or not value.isascii():
            return None
        digits = _NON_DIGITS.sub("", value)
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
        if len(digits) != 10 or any(c.isalpha() for c in value):
            return None
    if digits[0] in "01" or digits[3] in "01":
        return None
    return digits


def _parse_date(text: str) -> date | None:
    """NPPES writes MM/DD/YYYY; ISO dates are accepted too."""
    try:
        if len(text) == 10 and text[2] == "/" and text[5] == "/":
            return date(int(text[6:]), int(text[:2]), int(text[3:5]))
        return date.fromisoformat(text)
    except ValueError:
        return None


def _deactivation(deactivated: str, reactivated: str) -> date | None | str:
    """The deactivation date if the NPI is deactivated now, None if reactivated since,
    or a message when a date cannot be read (never revoke on a guess)."""
    on = _parse_date(deactivated)
    if on is None:
        return f"{DEACTIVATION_DATE} {deactivated!r} is not a date"
    if not reactivated:
        return on
    back = _parse_date(reactivated)
    if back is None:
        return f"{REACTIVATION_DATE} {reactivated!r} is not a date"
    return None if back >= on else on


def _numbered(header: list[str], template: str) -> dict[int, int]:
    """``{n: position}`` for columns named like ``template`` with n = 1, 2, ..."""
    stem = header_key(template.format(""))
    found: dict[int, int] = {}
    for index, name in enumerate(header):
        key = header_key(name)
        if key.startswith(stem):
            suffix = key[len(stem):].strip()
            if suffix.isdigit() and suffix.isascii():
                found.setdefault(int(suffix), index)
    return found
