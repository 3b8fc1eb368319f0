"""The NPPES secondary practice locations file (pl_pfile): more numbers per NPI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from privline.adapters.imports import (
    FormatMismatch,
    IssueCode,
    NppesLocationPhone,
    NppesLocationsReader,
    open_nppes_locations,
)

from .files import (
    ALICE_NPI,
    CAROL_NPI,
    DAN_NPI,
    alice,
    location,
    locations_bytes,
    nppes_bytes,
)


def test_each_location_with_a_phone_yields_its_number() -> None:
    data = locations_bytes([location(ALICE_NPI, "5185550201", "12"),
                            location(CAROL_NPI, "718-555-0202")])
    reader = NppesLocationsReader(io.BytesIO(data))

    assert list(reader) == [NppesLocationPhone(ALICE_NPI, "5185550201", "12", line=2),
                            NppesLocationPhone(CAROL_NPI, "7185550202", "", line=3)]
    assert reader.report.complete


def test_only_the_given_npis_are_kept_and_rows_without_phone_are_skipped() -> None:
    data = locations_bytes([location(ALICE_NPI, "5185550201"), location(DAN_NPI, "6075550203"),
                            location(CAROL_NPI, "")])
    reader = NppesLocationsReader(io.BytesIO(data), npis={ALICE_NPI, CAROL_NPI})

    assert [r.npi for r in reader] == [ALICE_NPI]
    assert reader.report.out_of_scope == 2 and reader.report.complete


def test_a_bad_npi_or_phone_is_a_bad_row_with_its_line() -> None:
    data = locations_bytes([location("1234567890", "5185550201"),
                            location(ALICE_NPI, "555-0201"),
                            location(CAROL_NPI, "7185550202")])
    reader = NppesLocationsReader(io.BytesIO(data))

    assert [r.npi for r in reader] == [CAROL_NPI]
    assert [(i.line, i.code) for i in reader.report.issues] == [
        (2, IssueCode.BAD_NPI), (3, IssueCode.BAD_PHONE)]


def test_the_main_file_is_not_a_locations_file() -> None:
    with pytest.raises(FormatMismatch) as refused:
        NppesLocationsReader(io.BytesIO(nppes_bytes([alice()])))
    assert refused.value.missing == (
        "Provider Secondary Practice Location Address - Telephone Number",)


def test_open_nppes_locations_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "pl_pfile.csv"
    path.write_bytes(locations_bytes([location(ALICE_NPI, "5185550201")]))
    with open_nppes_locations(path, npis={ALICE_NPI}) as reader:
        assert [r.phone for r in reader] == ["5185550201"]
