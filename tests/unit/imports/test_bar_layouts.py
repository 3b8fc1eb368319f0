"""Each documented roster layout, read from a small file in that layout (issue 12).

The fixtures use each layout's published column names and status values (where each
comes from: ``bar_layouts.json`` and docs/registry.md); names and numbers are made up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest

from privline.adapters.imports import FormatMismatch, open_bar_csv
from privline.adapters.imports.bar_csv import layouts


@dataclass(frozen=True)
class Layout:
    state: str
    text: str
    active: list[tuple[str, str, tuple[str, ...]]]  # credential, name, phones
    not_imported: dict[str, int]


LAYOUTS = [
    Layout("NY",
           "registration_number,first_name,middle_name,last_name,suffix,phone_number,status\n"
           "2912345,BOB,Q.,BARRISTER,,(718) 555-0111,Currently registered\n"
           "1876543,RITA,,RETIRED,,(518) 555-0112,Retired\n"
           "3456789,DEL,,INQUENT,JR.,(212) 555-0113,Delinquent\n",
           [("NY:2912345", "BOB Q. BARRISTER", ("(718) 555-0111",))],
           {"status: Retired": 1, "status: Delinquent": 1}),
    Layout("WA",
           "License Number,First Name,Last Name,City,Status,Phone\n"
           "12345,Ada,Advocate,Seattle,Active,(206) 555-0101\n"
           "23456,Hal,Honorary,Spokane,Honorary,(509) 555-0102\n"
           "34567,Jo,Judge,Tacoma,Judicial,(253) 555-0103\n"
           "45678,Ian,Idle,Olympia,Inactive,\n",
           [("WA:12345", "Ada Advocate", ("(206) 555-0101",))],
           {"status: Honorary": 1, "status: Judicial": 1, "status: Inactive": 1}),
    Layout("PA",
           "attorneyId,firstName,middleName,lastName,employer,city,county,phone,status\n"
           "201234,Pat,M,Pleader,Pleader LLP,Philadelphia,Philadelphia,215-555-0104,Active\n"
           "301234,Ina,,Inactive,,Pittsburgh,Allegheny,412-555-0105,Inactive\n"
           "401234,Ray,,Retired,,Erie,Erie,,Retired\n",
           [("PA:201234", "Pat M Pleader", ("215-555-0104",))],
           {"status: Inactive": 1, "status: Retired": 1}),
    Layout("CA",
           "Bar Number,Name,Phone,Status\n"
           "123456,Carla Counsel,(415) 555-0106,Active\n"
           "234567,Nate Noteligible,(415) 555-0107,Not Eligible\n",
           [("CA:123456", "Carla Counsel", ("(415) 555-0106",))],
           {"status: Not Eligible": 1}),
]


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: x.state)
def test_a_roster_in_each_layout_reads_active_rows_and_counts_the_rest(
        layout: Layout, tmp_path: Path) -> None:
    with open_bar_csv(_file(tmp_path, layout.text), state=layout.state) as reader:
        rows = list(reader)
    assert [(r.credential, r.name, r.phones) for r in rows if r.active] == layout.active
    summary = reader.report.summary()
    assert summary["not_imported"] == layout.not_imported
    assert reader.report.complete


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: x.state)
def test_a_header_fitting_no_layout_names_what_was_expected(layout: Layout,
                                                            tmp_path: Path) -> None:
    # The state's own header with its number column renamed fits neither its layout
    # nor the generic one.
    header, _, rest = layout.text.partition("\n")
    first = header.split(",")[0]
    path = _file(tmp_path, header.replace(first, "Licence", 1) + "\n" + rest)
    with pytest.raises(FormatMismatch) as refused, open_bar_csv(path, state=layout.state):
        pass
    message = str(refused.value)
    assert f"fits no roster layout for {layout.state}: expected" in message
    assert f"{layout.state} ({first}" in message and "generic (Bar Number" in message


def test_a_state_without_its_own_layout_is_told_which_states_have_one(tmp_path: Path) -> None:
    path = _file(tmp_path, LAYOUTS[1].text)  # Washington's layout, imported as Texas
    with pytest.raises(FormatMismatch) as refused, open_bar_csv(path, state="TX"):
        pass
    assert str(refused.value) == (
        "not a bar-csv file: its header fits no roster layout for TX: expected generic "
        "(Bar Number, Name, Phone, Status) (states with their own layout: CA, NY, PA, WA)")


def test_the_issues_example_works_for_every_state(tmp_path: Path) -> None:
    path = _file(tmp_path, "Bar Number,Name,Phone,Status\n1,Ana,(213) 555-0101,Active\n")
    for state in ("WA", "PA", "TX"):
        with open_bar_csv(path, state=state) as reader:
            assert [(r.credential, r.active) for r in reader] == [(f"{state}:1", True)]


def test_every_layout_says_where_it_comes_from() -> None:
    raw = json.loads(files("privline.adapters.imports").joinpath("bar_layouts.json")
                     .read_text(encoding="utf-8"))
    entries = {k: v for k, v in raw.items() if not k.startswith("_")}
    assert set(entries) == set(layouts()) == {"NY", "WA", "PA", "CA", "generic"}
    assert all(len(v["source"]) > 40 for v in entries.values())
    # The one layout whose columns could not be confirmed says so.
    assert "NOT confirmed" in entries["CA"]["source"]
