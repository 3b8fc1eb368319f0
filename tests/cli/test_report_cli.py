"""`privline report compliance|verify|schedule` through the installed command."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from privline.domain.compliance import period_containing
from tests.cli.test_cli import Cli


def test_statement_is_written_rendered_verified_and_tampering_caught(cli: Cli,
                                                                      tmp_path: Path) -> None:
    for to in ("(415) 555-0142", "212-555-0100"):
        cli.json("call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                 "--to", to)
    period = period_containing(datetime.now(UTC)).label
    out = tmp_path / "statement"
    made = cli.json("report", "compliance", "--period", period, "--out", str(out))
    assert made["files"] == ["statement.json", "statement.pdf", "statement.sig"]
    assert made["checks_failed"] == []
    stated = json.loads((out / "statement.json").read_bytes())
    assert stated["total"]["calls"]["by_mode"] == {"recorded": 1, "private": 1, "denied": 0}
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
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "50", "-png",
                    str(out / "statement.pdf"), str(tmp_path / "page")], check=True)
    [png] = list(tmp_path.glob("page-*1.png"))
    with Image.open(png) as page:
        assert page.size[0] > 300 and page.size[1] > 400
        inked = sum(page.convert("L").histogram()[:128])  # dark pixels
    assert inked > 2000, "page 1 is blank"
