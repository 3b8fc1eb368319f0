"""The NPPES main-file reader: who is yielded, as what, and what happens to bad rows."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from privline.adapters.imports import (
    FormatMismatch,
    InvalidImportConfig,
    IssueCode,
    NppesDeactivation,
    NppesProvider,
    NppesReader,
    SourceUnreadable,
    TaxonomyScope,
    open_nppes,
)
from privline.adapters.imports.nppes import nanp_digits, valid_npi
from privline.domain.registry import Kind
from tests.support.nppes_layout import NPPES_MAIN_HEADER_V1, NPPES_MAIN_HEADER_V2

from .files import (
    ALICE_NPI,
    CAROL_NPI,
    ELLIS_NPI,
    NORA_NPI,
    PAUL_NPI,
    PRACTICE_PHONE,
    SPARE_NPIS,
    alice,
    bob,
    carol,
    clinic,
    dan,
    ellis_deactivated,
    individual,
    nora,
    nppes_bytes,
    paul,
    quoted_line,
    roster_bytes,
)


def read(data: bytes, **options: object) -> tuple[list[NppesProvider | NppesDeactivation],
                                                  NppesReader]:
    reader = NppesReader(io.BytesIO(data), **options)  # type: ignore[arg-type]
    return list(reader), reader


def test_a_physician_in_scope_is_yielded_with_kind_phone_and_line() -> None:
    records, reader = read(nppes_bytes([alice()]))

    assert records == [NppesProvider(ALICE_NPI, "ALICE ADAMS", Kind.PHYSICIAN,
                                     ("207Q00000X",), ("5185550101",), line=2)]
    assert records[0].credential == ALICE_NPI and not records[0].deactivated
    assert reader.report.complete
    assert reader.report.summary()["records"] == 1


def test_kind_follows_the_taxonomy_code() -> None:
    psychologist = individual(SPARE_NPIS[0], "PIAGET", "PIA", "103TC0700X")
    counselor = individual(SPARE_NPIS[1], "COLE", "CORA", "101YM0800X")
    social_worker = individual(SPARE_NPIS[2], "SOCIAL", "SAM", "104100000X")
    psychiatric_np = individual(SPARE_NPIS[3], "PRICE", "PAT", "363LP0808X")
    records, _ = read(nppes_bytes([paul(), carol(), nora(), psychologist, counselor,
                                   social_worker, psychiatric_np]))

    kinds = {r.npi: r.kind for r in records if isinstance(r, NppesProvider)}
    assert kinds == {
        PAUL_NPI: Kind.PHYSICIAN,  # psychiatry is a physician specialty (208*)
        CAROL_NPI: Kind.MENTAL_HEALTH,
        NORA_NPI: Kind.PHYSICIAN,  # nurse practitioners: nearest domain kind
        SPARE_NPIS[0]: Kind.MENTAL_HEALTH,
        SPARE_NPIS[1]: Kind.MENTAL_HEALTH,
        SPARE_NPIS[2]: Kind.MENTAL_HEALTH,
        SPARE_NPIS[3]: Kind.MENTAL_HEALTH,  # the longer prefix beats 363L
    }


def test_organisations_and_out_of_scope_taxonomies_are_skipped_not_bad() -> None:
    school_social_worker = individual(SPARE_NPIS[0], "SCHOOL", "SUE", "1041S0200X")
    records, reader = read(nppes_bytes([clinic(), dan(), school_social_worker, alice()]))

    assert [r.npi for r in records] == [ALICE_NPI]
    assert reader.report.out_of_scope == 3
    assert reader.report.bad_rows == 0 and reader.report.complete


def test_columns_are_found_by_name_whatever_their_order() -> None:
    shuffled = list(NPPES_MAIN_HEADER_V2)
    random.Random(4).shuffle(shuffled)  # noqa: S311 - a fixed shuffle, not a secret
    rows = [alice(), carol(), clinic(), ellis_deactivated()]

    assert read(nppes_bytes(rows, shuffled))[0] == read(nppes_bytes(rows))[0]


def test_the_pre_v2_layout_with_provider_gender_code_reads_the_same() -> None:
    old = [{("Provider Gender Code" if k == "Provider Sex Code" else k): v
            for k, v in row.items()} for row in (alice(), paul())]

    assert read(nppes_bytes(old, NPPES_MAIN_HEADER_V1))[0] == read(
        nppes_bytes([alice(), paul()]))[0]


def test_the_primary_taxonomy_decides_the_kind_and_comes_first() -> None:
    row = individual(SPARE_NPIS[0], "DUAL", "DANA", "1223G0001X", **{
        "Healthcare Provider Primary Taxonomy Switch_1": "N",
        "Healthcare Provider Taxonomy Code_2": "207Q00000X",
        "Healthcare Provider Primary Taxonomy Switch_2": "N",
        "Healthcare Provider Taxonomy Code_14": "103T00000X",
        "Healthcare Provider Primary Taxonomy Switch_14": "Y",
    })
    [record], _ = read(nppes_bytes([row]))

    assert isinstance(record, NppesProvider)
    assert record.kind is Kind.MENTAL_HEALTH
    assert record.taxonomy_codes == ("103T00000X", "207Q00000X")


def test_a_configured_scope_replaces_the_default() -> None:
    psychiatry_only = TaxonomyScope({"2084P08": Kind.PHYSICIAN})
    records, reader = read(nppes_bytes([alice(), paul(), carol()]), scope=psychiatry_only)

    assert [r.npi for r in records] == [PAUL_NPI]
    assert reader.report.out_of_scope == 2


@pytest.mark.parametrize("prefixes", [
    {},
    {"20": Kind.PHYSICIAN},
    {"207Q00000XX": Kind.PHYSICIAN},
    {"207; DROP": Kind.PHYSICIAN},
    {"207": Kind.ATTORNEY},
])
def test_an_unusable_scope_is_refused(prefixes: dict[str, Kind]) -> None:
    with pytest.raises(InvalidImportConfig):
        TaxonomyScope(prefixes)


def test_a_deactivated_npi_as_cms_publishes_it_yields_a_deactivation() -> None:
    records, reader = read(nppes_bytes([alice(), ellis_deactivated("03/14/2022")]))

    assert records[1] == NppesDeactivation(ELLIS_NPI, date(2022, 3, 14), line=3)
    assert records[1].deactivated and records[1].credential == ELLIS_NPI
    assert reader.report.complete


def test_a_reactivated_npi_is_active_again() -> None:
    back = alice(**{"NPI Deactivation Date": "01/02/2015", "NPI Reactivation Date":
                    "06/30/2016"})
    again = carol(**{"NPI Deactivation Date": "01/02/2020", "NPI Reactivation Date":
                     "06/30/2016"})  # deactivated again after coming back
    records, _ = read(nppes_bytes([back, again]))

    assert isinstance(records[0], NppesProvider) and records[0].npi == ALICE_NPI
    assert records[1] == NppesDeactivation(CAROL_NPI, date(2020, 1, 2), line=3)


def test_deactivations_of_visibly_out_of_scope_npis_are_not_yielded() -> None:
    records, reader = read(nppes_bytes([
        clinic(**{"NPI Deactivation Date": "01/02/2020"}),
        dan(**{"NPI Deactivation Date": "01/02/2020"}),
    ]))

    assert records == [] and reader.report.out_of_scope == 2


def test_an_unreadable_deactivation_date_is_a_bad_row_never_a_revocation() -> None:
    records, reader = read(nppes_bytes([ellis_deactivated("2022-13-45"), alice()]))

    assert [r.npi for r in records] == [ALICE_NPI]
    assert reader.report.issues[0].line == 2
    assert reader.report.issues[0].code is IssueCode.BAD_DATE
    assert not reader.report.complete


def test_bad_rows_are_counted_with_their_lines_and_never_stop_the_stream() -> None:
    data = nppes_bytes([alice()])
    data += quoted_line([ALICE_NPI, "1", "", ""])  .encode()  # line 3: 4 fields
    data += nppes_bytes([individual("1234567890", "BAD", "CHECK", "207Q00000X")])  \
        .split(b"\n", 1)[1]  # line 4: the check digit is wrong
    data += nppes_bytes([carol(**{"Provider First Name": "CAROL"})]).split(b"\n", 1)[1] \
        .replace(b"CAROL", b"CAR\xffOL")  # line 5: not UTF-8
    data += nppes_bytes([individual(SPARE_NPIS[0], "", "", "207Q00000X", "")]) \
        .split(b"\n", 1)[1]  # line 6: no entity problem, but no name: a bad field
    data += nppes_bytes([{"NPI": SPARE_NPIS[1], "Healthcare Provider Taxonomy Code_1":
                          "207Q00000X"}]).split(b"\n", 1)[1]  # line 7: no entity type
    data += nppes_bytes([paul()]).split(b"\n", 1)[1]  # line 8
    records, reader = read(data)

    assert [r.npi for r in records] == [ALICE_NPI, SPARE_NPIS[0], PAUL_NPI]
    report = reader.report
    assert [(i.line, i.code, i.row_dropped) for i in report.issues] == [
        (3, IssueCode.FIELD_COUNT, True),
        (4, IssueCode.BAD_NPI, True),
        (5, IssueCode.ENCODING, True),
        (6, IssueCode.MISSING_VALUE, False),
        (7, IssueCode.MISSING_VALUE, True),
    ]
    assert (report.bad_rows, report.bad_fields) == (4, 1)
    assert report.rows_read == report.records + report.out_of_scope + report.bad_rows == 7
    assert report.finished and not report.complete


def test_phones_come_out_as_ten_digits_and_bad_ones_are_dropped_and_reported() -> None:
    formatted = alice(**{PRACTICE_PHONE: "(518) 555-0101"})
    trunk = paul(**{PRACTICE_PHONE: "1-212-555-0102"})
    short = carol(**{PRACTICE_PHONE: "5550103"})
    abroad = nora(**{PRACTICE_PHONE: "442079460000", "Provider Business Practice Location "
                     "Address Country Code (If outside U.S.)": "GB"})
    none = dan(**{"Healthcare Provider Taxonomy Code_1": "207R00000X", PRACTICE_PHONE: ""})
    records, reader = read(nppes_bytes([formatted, trunk, short, abroad, none]))

    assert [r.phones for r in records if isinstance(r, NppesProvider)] == [
        ("5185550101",), ("2125550102",), (), (), ()]
    assert reader.report.bad_fields == 2
    assert "outside the US" in reader.report.issues[1].detail
    assert reader.report.complete  # a dropped phone loses no provider


@pytest.mark.parametrize(("value", "expected"), [
    ("2125550100", "2125550100"), ("212.555.0100", "2125550100"),
    ("+1 212 555 0100", "2125550100"), ("0125550100", None), ("2121550100", None),
    ("212555010", None), ("212555010x", None), ("２１２５５５０１００", None),
])
def test_nanp_digits(value: str, expected: str | None) -> None:
    assert nanp_digits(value) == expected


@pytest.mark.parametrize(("npi", "valid"), [
    ("1234567893", True), ("1440000010", True), ("1234567890", False),
    ("123456789", False), ("12345678931", False), ("123456789X", False),
])
def test_npi_check_digit(npi: str, valid: bool) -> None:
    assert valid_npi(npi) is valid


@pytest.mark.parametrize("data", [
    b"",
    b"\n",
    b"\xff\xfe\x00N\x00P\x00I\x00\n",
    roster_bytes([bob()]),
    nppes_bytes([{k: v for k, v in alice().items() if k != PRACTICE_PHONE}],
                [n for n in NPPES_MAIN_HEADER_V2 if n != PRACTICE_PHONE]),
    nppes_bytes([alice()], [*NPPES_MAIN_HEADER_V2, "NPI"]),
])
def test_a_file_that_is_not_nppes_is_refused_before_any_record(data: bytes) -> None:
    with pytest.raises(FormatMismatch) as refused:
        NppesReader(io.BytesIO(data))
    assert refused.value.code == "format_mismatch" and refused.value.permanent


def test_the_refusal_names_the_missing_columns() -> None:
    with pytest.raises(FormatMismatch) as refused:
        NppesReader(io.BytesIO(roster_bytes([bob()])))
    assert "NPI" in refused.value.missing
    assert "Entity Type Code" in refused.value.missing


def test_open_nppes_refuses_before_the_block_runs(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(roster_bytes([bob()]))
    entered = False
    with pytest.raises(FormatMismatch), open_nppes(path):
        entered = True
    assert not entered


def test_open_nppes_reads_a_file_and_reports_progress_to_its_size(tmp_path: Path) -> None:
    path = tmp_path / "npidata_pfile.csv"
    path.write_bytes(nppes_bytes([alice(), carol()], eol="\r\n", bom=True))
    seen: list[int] = []
    with open_nppes(path, progress=seen.append) as reader:
        records = list(reader)

    assert [r.npi for r in records] == [ALICE_NPI, CAROL_NPI]
    assert seen[-1] == path.stat().st_size == reader.report.bytes_read


def test_a_missing_file_is_unreadable_for_good(tmp_path: Path) -> None:
    with pytest.raises(SourceUnreadable) as failed, open_nppes(tmp_path / "nope.csv"):
        pass
    assert failed.value.permanent


def test_quoted_commas_quotes_and_line_breaks_survive_and_lines_stay_right() -> None:
    odd = alice(**{"Provider Last Name (Legal Name)": 'O"BRIEN, JR',
                   "Provider Second Line Business Practice Location Address": "SUITE 2\nREAR"})
    records, reader = read(nppes_bytes([odd, carol()]))

    assert [(r.npi, r.line) for r in records] == [(ALICE_NPI, 2), (CAROL_NPI, 4)]
    assert isinstance(records[0], NppesProvider) and records[0].name == 'ALICE O"BRIEN, JR'
    assert reader.report.complete


@pytest.mark.parametrize("damage", [
    lambda line: line[:-1],  # the last field's closing quote is lost
    lambda line: line.replace(b'"CHEN"', b'"CH"EN"').replace(b'"1 MAIN ST"', b'"1 MAIN ST'),
], ids=["closing-quote-lost", "quote-inside-a-field"])
def test_a_stray_quote_costs_one_row_not_the_rows_it_would_swallow(
    damage: Callable[[bytes], bytes]
) -> None:
    lines = nppes_bytes([alice(), carol(), paul(), nora()]).split(b"\n")
    lines[2] = damage(lines[2])
    records, reader = read(b"\n".join(lines))

    assert [r.npi for r in records] == [ALICE_NPI, PAUL_NPI, NORA_NPI]
    assert [(i.line, i.code) for i in reader.report.issues] == [(3, IssueCode.MALFORMED_CSV)]


def test_reading_streams_without_loading_the_file() -> None:
    row = quoted_line(alice()[name] if name in alice() else ""
                      for name in NPPES_MAIN_HEADER_V2).encode()
    header = quoted_line(NPPES_MAIN_HEADER_V2).encode()

    class Endless(io.RawIOBase):
        """A file that would never end: reading it all would hang the test."""

        def __init__(self) -> None:
            self.served = 0
            self.pending = header

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            while len(self.pending) < len(buffer):
                self.pending += row
            size = len(buffer)
            buffer[:size] = self.pending[:size]
            self.pending = self.pending[size:]
            self.served += size
            return size

    source = Endless()
    reader = NppesReader(io.BufferedReader(source))
    records = iter(reader)
    first = [next(records) for _ in range(1000)]

    assert first[-1].line == 1001
    assert source.served < 4 * 1024 * 1024


def test_records_can_be_iterated_once() -> None:
    reader = NppesReader(io.BytesIO(nppes_bytes([alice()])))
    list(reader)
    with pytest.raises(RuntimeError):
        list(reader)


def test_the_issue_list_is_bounded_but_every_bad_row_is_counted() -> None:
    broken = b"".join(quoted_line([ALICE_NPI, "1"]).encode() for _ in range(30))
    records, reader = read(nppes_bytes([alice()]) + broken, max_issues=10)

    assert len(records) == 1
    assert reader.report.bad_rows == 30
    assert len(reader.report.issues) == 10 and reader.report.issues_not_kept == 20


def test_a_file_saved_again_without_quotes_reads_the_same() -> None:
    rows = [alice(), carol(), clinic(), ellis_deactivated()]
    quoted = nppes_bytes(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv.reader(io.StringIO(quoted.decode())))

    assert read(out.getvalue().encode())[0] == read(quoted)[0]


def test_lowercase_or_padded_codes_still_count_and_come_out_normalised() -> None:
    [record], _ = read(nppes_bytes([alice(**{"Healthcare Provider Taxonomy Code_1":
                                             " 207q00000x"})]))
    assert isinstance(record, NppesProvider) and record.taxonomy_codes == ("207Q00000X",)


@pytest.mark.parametrize(("entity", "code"), [("3", IssueCode.BAD_ENTITY_TYPE),
                                              ("", IssueCode.MISSING_VALUE)])
def test_an_active_row_without_a_known_entity_type_is_a_bad_row(
    entity: str, code: IssueCode
) -> None:
    records, reader = read(nppes_bytes([alice(**{"Entity Type Code": entity})]))
    assert records == [] and reader.report.issues[0].code is code
