"""`privline report compliance|verify|schedule` through the installed command.

The PDF is laid out from the signed statement alone (``render_pdf(statement, body)``),
whatever the database, and WeasyPrint takes seconds a page: it is rendered and read on
SQLite; on PostgreSQL, where what differs is the figures the queries produce, the
renderer is a stub and the tests check the signed JSON.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from privline.adapters import reports
from privline.domain.compliance import period_containing
from tests.cli.test_cli import Cli

STUB_PDF = b"%PDF-1.7 stub: the PDF is rendered in the SQLite run of this test\n"


@pytest.fixture
def real_pdf(db_url: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """True when `report compliance` renders the real PDF (on SQLite)."""
    if db_url.startswith("sqlite"):
        return True
    monkeypatch.setattr(reports, "render_pdf", lambda *args, **kw: STUB_PDF)
    return False


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_statement_is_written_rendered_verified_and_tampering_caught(
        cli: Cli, tmp_path: Path, real_pdf: bool) -> None:
    for to in ("(415) 555-0142", "212-555-0100"):
        cli.json("call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                 "--to", to)
    period = period_containing(datetime.now(UTC)).label
    out = tmp_path / "statement"
    made = cli.json("report", "compliance", "--period", period, "--out", str(out))
    assert made["files"] == ["statement.json", "statement.pdf", "statement.sig"]
    assert made["checks_failed"] == []
    stated = json.loads((out / "statement.json").read_bytes())
    # Issue 12: `call decide` from the command line is a what-if query, not a call.
    assert stated["total"]["calls"]["by_mode"] == {"recorded": 0, "private": 0, "denied": 0}
    assert stated["signing"]["key_id"] == made["key_id"]

    # The installation can recompute every figure.
    checked = cli.run("report", "verify", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 difference(s)" in checked.stdout and checked.stdout.rstrip().endswith("VERIFIED")

    # An outsider with only the public key and no database checks the signature alone.
    pub = tmp_path / "key.pem"
    pub.write_text(cli.ok("audit", "pubkey"), encoding="ascii")
    outsider = Cli(tmp_path / "outsider-home", "sqlite:///" + str(tmp_path / "none.db"))
    alone = outsider.run("report", "verify", str(out), "--pubkey", str(pub))
    assert alone.returncode == 0, alone.stderr
    assert "only the signature was checked" in alone.stdout

    # One changed byte of the signature fails, with or without the data.
    sig = bytearray((out / "statement.sig").read_bytes())
    sig[10] ^= 0x40
    (out / "statement.sig").write_bytes(bytes(sig))
    for who in (cli, outsider):
        bad = who.run("report", "verify", str(out), "--pubkey", str(pub), "--json")
        assert bad.returncode == 1
        assert json.loads(bad.stdout)["signature_ok"] is False

    # The schedule shows this half-year's statement as issued.
    listed = cli.json("report", "schedule", "--start", f"{period[:4]}-01-01", "--years", "1")
    assert {s["period"]: s["status"] for s in listed["statements"]}[period] == "issued"

    # The PDF renders: its first page becomes a PNG with ink on it.
    if not real_pdf:
        assert (out / "statement.pdf").read_bytes() == STUB_PDF
        return
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "50", "-png",
                    str(out / "statement.pdf"), str(tmp_path / "page")], check=True)
    [png] = list(tmp_path.glob("page-*1.png"))
    with Image.open(png) as page:
        assert page.size[0] > 300 and page.size[1] > 400
        inked = sum(page.convert("L").histogram()[:128])  # dark pixels
    assert inked > 2000, "page 1 is blank"


def test_a_statement_says_no_more_than_it_knows(cli: Cli, tmp_path: Path, real_pdf: bool
                                                ) -> None:
    """Issue 12: a period before any data, empty checks, no checkpoint, overwritten files."""
    before = cli.run("report", "compliance", "--period", "2025-H1", "--out",
                     str(tmp_path / "old"))
    assert before.returncode == 2 and before.stderr.count("\n") == 1
    assert "before the first audit entry" in before.stderr
    assert not (tmp_path / "old").exists()

    period = period_containing(datetime.now(UTC)).label
    out = tmp_path / "statement"
    first = cli.json("report", "compliance", "--period", period, "--out", str(out))
    assert (first["issue"], first["out"]) == (1, str(out))
    stated = json.loads((out / "statement.json").read_bytes())
    checks = {c["id"]: c for c in stated["checks"]}
    # No recorded call connected: the warning check has nothing to check.
    assert (checks["recorded_calls_warned"]["cases"],
            checks["recorded_calls_warned"]["result"]) == (0, "not applicable (0 cases)")
    assert checks["audit_log_verifies"]["result"] == "passed"
    assert "not applicable (0 cases: " in stated["summary"]
    assert "All checks passed" not in stated["summary"]
    # Issuing signed a checkpoint of the head the statement pins.
    at_issue = stated["audit"]["at_issue"]
    assert at_issue["last_checkpoint"]["seq"] == at_issue["head_seq"]

    # The PDF states the key's full fingerprint, the one `audit pubkey` prints.
    key = cli.json("audit", "pubkey")
    assert key["fingerprint"].startswith("SHA256:") and len(key["fingerprint"]) == 71
    assert key["fingerprint"] in cli.run("audit", "pubkey").stderr
    if real_pdf:
        text = pdf_text(out / "statement.pdf")
        assert key["fingerprint"] in "".join(text.split())
        assert "not applicable (0 cases)" in text

    signed = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    second = cli.json("report", "compliance", "--period", period, "--out", str(out))
    assert (second["issue"], second["out"]) == (2, str(out / "issue-2"))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == signed
    assert cli.run("report", "verify", str(out / "issue-2")).returncode == 0
    listed = cli.json("report", "schedule", "--start", f"{period[:4]}-01-01", "--years", "1")
    (row,) = [r for r in listed["statements"] if r["period"] == period]
    assert [(i["number"], i["folder"]) for i in row["issues"]] == [
        (1, str(out)), (2, str(out / "issue-2"))]


def test_a_statement_counts_what_imports_sent_to_review(cli: Cli, tmp_path: Path,
                                                        real_pdf: bool) -> None:
    """Issue 12: import_batches read keys imports no longer write, so it showed 0."""
    from tests.unit.imports import files

    cora = files.attorney("3456789", "CORA", "COUNSEL", "(212) 555-0113",
                          "Currently registered")
    dan = files.attorney("4567890", "DAN", "DEFENDER", "(212) 555-0114",
                         "Currently registered")
    first, second = tmp_path / "ny-1.csv", tmp_path / "ny-2.csv"
    first.write_bytes(files.roster_bytes([files.bob(), cora, dan]))
    # Bob listed again, Cora now retired, Dan missing from a complete file.
    second.write_bytes(files.roster_bytes([files.bob(), {**cora, "status": "Retired"}]))
    assert cli.json("registry", "import", "--format", "bar-csv", str(first))["added"] == 3
    done = cli.json("registry", "import", "--format", "bar-csv", str(second))
    assert (done["confirmed"], done["review_deactivated"], done["review_missing"]) == (1, 1, 1)
    # A dry run writes no audit event, so it adds nothing to the statement.
    cli.json("registry", "import", "--format", "bar-csv", str(first), "--dry-run")

    period = period_containing(datetime.now(UTC)).label
    out = tmp_path / "statement"
    cli.json("report", "compliance", "--period", period, "--out", str(out))
    stated = json.loads((out / "statement.json").read_bytes())
    assert stated["registry"]["import_batches"] == {
        "runs": 2, "confirmed": 1, "reprotected": 0, "sent_to_review": 2,
        "deactivated_in_directory": 1, "missing_from_directory": 1}
    assert cli.run("report", "verify", str(out)).returncode == 0
    if not real_pdf:
        return
    text = " ".join(pdf_text(out / "statement.pdf").split())
    assert ("Directory imports: 2 runs; 1 entries confirmed, 0 re-protected; 2 sent to staff "
            "review (1 deactivated in the directory, 1 missing from the directory)") in text
