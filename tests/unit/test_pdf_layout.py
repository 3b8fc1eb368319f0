"""The statement's stylesheet keeps table headers and rows together (issue 12).

Tables of 1 to 20 rows, each under its heading, start at every height of a page, and
their rows wrap over several lines, so page ends fall inside rows and right after
headers. Rendered with the statement template's own stylesheet, no row is split over two
pages (its end would sit under another page's header), no header is left alone at the
foot of a page, and each page a table reaches shows its header again.
"""

from __future__ import annotations

import re
import subprocess
from importlib.resources import files
from pathlib import Path

import weasyprint  # type: ignore[import-untyped]  # ships no type information


def _statement_css() -> str:
    template = files("privline.adapters.reports").joinpath("templates/statement.html")
    css = re.search(r"<style>(.*?)</style>", template.read_text(encoding="utf-8"), re.S)
    assert css is not None
    return re.sub(r"{{.*?}}", "footer", css.group(1))  # the footer's Jinja fields


def test_no_row_is_split_and_no_header_is_left_alone(tmp_path: Path) -> None:
    words = " ".join(["text"] * 25)
    tables = "".join(
        f"<h3>Table {n}</h3><table><thead><tr><th>HEAD-{n}</th><th class='text'>Detail</th>"
        "</tr></thead><tbody>" + "".join(
            f"<tr><td>row-{n}-{i}</td><td class='text'>{words} end-{n}-{i}</td></tr>"
            for i in range(1, n + 1)) + "</tbody></table>"
        for n in range(1, 21))
    html = f"<html><head><style>{_statement_css()}</style></head><body>{tables}</body></html>"
    path = tmp_path / "tables.pdf"
    weasyprint.HTML(string=html).write_pdf(path)
    pages = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                           capture_output=True, text=True).stdout.split("\f")
    assert len(pages) > 5
    for number, page in enumerate(pages, 1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        for i, line in enumerate(lines):
            head = re.match(r"HEAD-(\d+)", line)
            if head:
                assert any(x.startswith(f"row-{head[1]}-") for x in lines[i + 1:]), (
                    f"page {number}: the header of table {head[1]} ends the page alone")
        starts = set(re.findall(r"row-(\d+-\d+)", page))
        assert starts == set(re.findall(r"end-(\d+-\d+)", page)), (
            f"page {number}: a row split over two pages")
        for table in {row.split("-")[0] for row in starts}:
            assert f"HEAD-{table}" in page, f"page {number}: table {table} without its header"
