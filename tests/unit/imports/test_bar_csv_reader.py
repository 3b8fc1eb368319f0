"""Attorney rosters: New York's open registration data by default, any roster by mapping."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from privline.adapters.imports import (
    BarAttorney,
    BarColumns,
    BarCsvReader,
    FormatMismatch,
    InvalidImportConfig,
    IssueCode,
    SourceUnreadable,
    open_bar_csv,
)

from .files import (
    NY_ROSTER_DISPLAY_HEADER,
    alice,
    attorney,
    bob,
    nppes_bytes,
    rita,
    roster_bytes,
)


def read(data: bytes, state: str = "NY", **options: object
         ) -> tuple[list[BarAttorney], BarCsvReader]:
    reader = BarCsvReader(io.BytesIO(data), state=state, **options)  # type: ignore[arg-type]
    return list(reader), reader


def test_a_currently_registered_attorney_is_active_with_state_and_number() -> None:
    [record], reader = read(roster_bytes([bob(middle_name="Q.")]))

    assert record == BarAttorney("NY", "2912345", "BOB Q. BARRISTER", ("(718) 555-0111",),
                                 active=True, status="Currently registered", line=2)
    assert record.credential == "NY:2912345"
    assert reader.report.complete


@pytest.mark.parametrize("status", ["Retired", "Delinquent", "Deceased", "Suspended",
                                    "Disbarred", "Resigned"])
def test_every_other_status_yields_an_inactive_record_to_revoke(status: str) -> None:
    [record], _ = read(roster_bytes([bob(status=status)]))

    assert not record.active and record.status == status


def test_status_comparison_ignores_case_and_spacing() -> None:
    [record], _ = read(roster_bytes([bob(status="  CURRENTLY   registered ")]))
    assert record.active


def test_the_portals_csv_export_with_display_names_reads_the_same() -> None:
    rows = [bob(), rita()]
    assert read(roster_bytes(rows, NY_ROSTER_DISPLAY_HEADER))[0] == read(roster_bytes(rows))[0]


def test_another_state_with_its_own_columns() -> None:
    header = ("Bar Number", "Full Name", "Member Status", "Office Phone")
    data = roster_bytes([
        {"Bar Number": "123456", "Full Name": "Carla Counsel", "Member Status": "Active",
         "Office Phone": "415-555-0100"},
        {"Bar Number": "654321", "Full Name": "Ivan Inactive", "Member Status": "Inactive",
         "Office Phone": "415-555-0101"},
    ], header)
    columns = BarColumns(registration_number="Bar Number", phone="Office Phone",
                         status="Member Status", name_parts=("Full Name",),
                         active_statuses=frozenset({"Active"}))
    records, _ = read(data, state="ca", columns=columns)

    assert [(r.credential, r.name, r.active) for r in records] == [
        ("CA:123456", "Carla Counsel", True), ("CA:654321", "Ivan Inactive", False)]


def test_international_numbers_are_passed_on_as_published() -> None:
    [record], _ = read(roster_bytes([bob(phone_number="+82 2 3404 0450")]))
    assert record.phones == ("+82 2 3404 0450",)


def test_rows_without_number_or_status_are_bad_rows_and_the_stream_goes_on() -> None:
    rows = [
        bob(),
        attorney("", "NO", "NUMBER", "(212) 555-0113", "Currently registered"),
        attorney("12;34", "ODD", "NUMBER", "(212) 555-0114", "Currently registered"),
        attorney("3456789", "NO", "STATUS", "(212) 555-0115", ""),
        attorney("4567890", "BAD", "PHONE", "call the office", "Currently registered"),
        attorney("5678901", "", "", "", "Currently registered"),
        rita(),
    ]
    records, reader = read(roster_bytes(rows))

    assert [r.registration_number for r in records] == ["2912345", "4567890", "5678901",
                                                        "1876543"]
    assert records[1].phones == () and records[1].active  # still registered; no number
    assert [(i.line, i.code, i.row_dropped) for i in reader.report.issues] == [
        (3, IssueCode.MISSING_VALUE, True),
        (4, IssueCode.BAD_REGISTRATION, True),
        (5, IssueCode.MISSING_VALUE, True),
        (6, IssueCode.BAD_PHONE, False),
        (7, IssueCode.MISSING_VALUE, False),
    ]
    assert not reader.report.complete


def test_wrong_encoding_is_a_bad_row_and_the_right_one_reads() -> None:
    data = roster_bytes([bob(first_name="JOSÉ"), rita()], encoding="cp1252")

    records, reader = read(data)
    assert [r.line for r in records] == [3]
    assert reader.report.issues[0].code is IssueCode.ENCODING

    records, reader = read(data, encoding="cp1252")
    assert records[0].name == "JOSÉ BARRISTER" and reader.report.complete


@pytest.mark.parametrize("data", [
    nppes_bytes([alice()]),
    b"registration_number,first_name,last_name,status\n1,A,B,Currently registered\n",
    b"registration_number,phone_number,status,status\n1,2125550100,x,y\n",
    b"registration_number,phone_number,status,city\n1,2125550100,x,y\n",
    b"",
])
def test_a_file_that_is_not_a_roster_is_refused_before_any_record(data: bytes) -> None:
    with pytest.raises(FormatMismatch):
        BarCsvReader(io.BytesIO(data), state="NY")


@pytest.mark.parametrize("state", ["", "N", "NYC", "1Y"])
def test_a_state_must_be_two_letters(state: str) -> None:
    with pytest.raises(InvalidImportConfig):
        BarCsvReader(io.BytesIO(roster_bytes([bob()])), state=state)


def test_a_mapping_must_be_usable() -> None:
    with pytest.raises(InvalidImportConfig):
        BarColumns(phone="status")
    with pytest.raises(InvalidImportConfig):
        BarColumns(active_statuses=frozenset())
    with pytest.raises(InvalidImportConfig):
        BarColumns(name_parts=())


def test_open_bar_csv_reads_a_file_and_checks_settings_first(tmp_path: Path) -> None:
    path = tmp_path / "ny.csv"
    path.write_bytes(roster_bytes([bob(), rita()]))
    with open_bar_csv(path, state="ny") as reader:
        assert [r.active for r in reader] == [True, False]

    with pytest.raises(InvalidImportConfig), open_bar_csv(tmp_path / "absent.csv", state="?"):
        pass
    with pytest.raises(SourceUnreadable), open_bar_csv(tmp_path / "absent.csv", state="NY"):
        pass


def _roster(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_generic_roster_with_active_status_is_read_for_any_state(tmp_path: Path) -> None:
    """Issue 12: ``Bar Number,Name,Phone,Status`` was refused and "Active" dropped."""
    path = _roster(tmp_path, "Bar Number,Name,Phone,Status\n"
                             "123456,Ana Abogada,(213) 555-0101,Active\n"
                             "654321,Ray Retired,(213) 555-0102,Inactive\n"
                             "777777,Sam Suspended,(213) 555-0103,Suspended\n")
    for state in ("TX", "CA", "NY"):
        with open_bar_csv(path, state=state) as reader:
            rows = list(reader)
        assert [(r.credential, r.active) for r in rows] == [
            (f"{state}:123456", True), (f"{state}:654321", False), (f"{state}:777777", False)]
        # Each row not imported is counted with its reason.
        assert reader.report.summary()["not_imported"] == {"status: Inactive": 1,
                                                           "status: Suspended": 1}


def test_each_layout_is_documented_data_and_new_york_reads_as_before(tmp_path: Path) -> None:
    from privline.adapters.imports.bar_csv import NEW_YORK_COLUMNS, layouts, layouts_for

    known = layouts()
    assert known["NY"] == NEW_YORK_COLUMNS
    assert {"NY", "CA", "generic"} <= set(known)
    assert layouts_for("ny")[0] == NEW_YORK_COLUMNS and layouts_for("WY") == [known["generic"]]
    path = tmp_path / "ny.csv"
    path.write_bytes(roster_bytes([bob(), rita()]))
    with open_bar_csv(path, state="NY") as reader:
        assert [r.active for r in reader] == [True, False]


def test_a_roster_fitting_no_layout_is_refused(tmp_path: Path) -> None:
    path = _roster(tmp_path, "Licence,Who,Tel\n1,A,2125550100\n")
    with pytest.raises(FormatMismatch), open_bar_csv(path, state="TX"):
        pass
