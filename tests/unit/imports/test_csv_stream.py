"""The shared CSV stream: its fast path must agree with the csv module, always."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from privline.adapters.imports import InvalidImportConfig, IssueCode
from privline.adapters.imports._csvstream import CsvStream, header_key
from privline.adapters.imports.report import ImportReport


def stream(data: bytes, **options: object) -> tuple[CsvStream, ImportReport]:
    report = ImportReport("test")
    return CsvStream(io.BytesIO(data), report=report, **options), report  # type: ignore[arg-type]


def rows_of(data: bytes, needed: int | None = None, encoding: str = "utf-8"
            ) -> list[tuple[int, list[str]]]:
    reader, _ = stream(data, encoding=encoding)
    return [(line, [f.decode(encoding) for f in fields])
            for line, fields in reader.records(needed)]


field_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
table = st.integers(min_value=1, max_value=6).flatmap(
    lambda width: st.lists(st.lists(field_text, min_size=width, max_size=width), max_size=8))


@settings(max_examples=300, deadline=None)
@given(table, st.booleans(), st.sampled_from(["\n", "\r\n"]))
def test_every_record_reads_as_the_csv_module_reads_it(
    rows: list[list[str]], quote_all: bool, eol: str
) -> None:
    # csv.writer leaves a lone CR unquoted when the line ends with LF alone: that is not
    # CSV any reader agrees on (see the bare-CR test below).
    assume(not (not quote_all and eol == "\n"
                and any("\r" in f for row in rows for f in row)))
    width = len(rows[0]) if rows else 1
    header = [f"c{i}" for i in range(width)]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                        lineterminator=eol)
    writer.writerows([header, *rows])
    data = out.getvalue().encode()

    expected = list(csv.reader(io.StringIO(out.getvalue(), newline="")))[1:]
    assert [fields for _, fields in rows_of(data)] == expected


def test_a_bare_carriage_return_in_an_unquoted_field_is_one_bad_row() -> None:
    data = b"a,b\n1,2\nx\ry,z\n3,4\n"
    reader, report = stream(data)

    assert [n for n, _ in reader.records()] == [2, 4]
    assert [(i.line, i.code) for i in report.issues] == [(3, IssueCode.MALFORMED_CSV)]


def test_an_unclosed_quote_loses_only_its_own_row_not_the_rest_of_the_file() -> None:
    data = b'NPI,x\n1,ok\n2,ok\n3,"oops\n4,ok\n5,ok\n'
    reader, report = stream(data)

    assert [n for n, _ in reader.records()] == [2, 3, 5, 6]
    assert [(i.line, i.code) for i in report.issues] == [(4, IssueCode.MALFORMED_CSV)]


def test_a_record_across_lines_with_the_wrong_field_count_keeps_no_fragment() -> None:
    data = b'x,y\n1,"multi\nline",extra\n2,ok\n3,"two\nlines"\n'
    reader, report = stream(data)

    assert [(n, [f.decode() for f in r]) for n, r in reader.records()] == [
        (4, ["2", "ok"]), (5, ["3", "two\nlines"])]
    assert [(i.line, i.code) for i in report.issues] == [
        (2, IssueCode.MALFORMED_CSV), (3, IssueCode.MALFORMED_CSV)]


def test_the_fast_path_leaves_unneeded_columns_uncut() -> None:
    data = b'"a","b","c","d"\n"1","2","3","4"\n'
    [(line, fields)] = rows_of(data, needed=2)

    assert line == 2 and fields[:2] == ["1", "2"]


def test_unquoted_lines_and_blank_lines() -> None:
    data = b"a,b\n1,2\n\n\r\n3,4\n5\n"
    reader, report = stream(data)

    assert [(n, [f.decode() for f in r]) for n, r in reader.records()] == [
        (2, ["1", "2"]), (5, ["3", "4"])]
    assert [(i.line, i.code) for i in report.issues] == [(6, IssueCode.FIELD_COUNT)]


def test_a_line_past_the_limit_is_one_bad_row() -> None:
    data = b"a,b\n1,2\n" + b"x" * 5000 + b",y\n3,4\n"
    reader, report = stream(data, max_line=1024)

    assert [n for n, _ in reader.records()] == [2, 4]
    assert [(i.line, i.code) for i in report.issues] == [(3, IssueCode.LINE_TOO_LONG)]
    assert report.bytes_read == len(data)


def test_progress_is_reported_as_bytes_grow_and_ends_at_the_total() -> None:
    data = b"a,b\n" + b"1,2\n" * 1000
    seen: list[int] = []
    reader, _ = stream(data, progress=seen.append, progress_every=500)
    list(reader.records())

    assert seen == sorted(seen) and len(seen) >= 8
    assert seen[-1] == len(data)


def test_a_utf8_bom_is_not_part_of_the_first_column_name() -> None:
    reader, _ = stream(b'\xef\xbb\xbf"NPI","x"\n')
    assert reader.header == ["NPI", "x"]


@pytest.mark.parametrize("encoding", ["utf-16", "no-such-codec"])
def test_unusable_encodings_are_refused(encoding: str) -> None:
    with pytest.raises(InvalidImportConfig):
        stream(b"a\n", encoding=encoding)


def test_another_ascii_compatible_encoding_can_be_read() -> None:
    data = "name,city\nJOSÉ,MÁLAGA\n".encode("cp1252")
    assert rows_of(data, encoding="cp1252") == [(2, ["JOSÉ", "MÁLAGA"])]


@pytest.mark.parametrize(("a", "b"), [
    ("Registration Number", "registration_number"),
    ("Provider Secondary Practice Location Address-  Address Line 2",
     "provider secondary practice location address- address line 2"),
    (" NPI ", "npi"),
])
def test_header_names_compare_loosely(a: str, b: str) -> None:
    assert header_key(a) == header_key(b)
