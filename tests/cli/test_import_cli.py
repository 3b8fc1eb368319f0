"""`privline registry import` on small files in the real published layouts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tests.cli.test_cli import Cli, counts
from tests.unit.imports import files


def test_nppes_and_locations_and_bar_roster_protect_their_numbers(
        cli: Cli, tmp_path: Path) -> None:
    main = tmp_path / "npidata_pfile.csv"
    main.write_bytes(files.nppes_bytes([files.alice(), files.paul(), files.dan(),
                                        files.clinic(), files.ellis_deactivated()]))
    locations = tmp_path / "pl_pfile.csv"
    locations.write_bytes(files.locations_bytes([files.location(files.ALICE_NPI,
                                                                "5185550177")]))
    out = cli.json("registry", "import", "--format", "nppes", str(main),
                   "--locations", str(locations))
    assert (out["added"], out["complete"]) == (3, True)
    assert out["file_report"]["main"]["out_of_scope"] >= 2  # the dentist and the clinic
    for number in ("5185550101", "2125550102", "5185550177"):
        assert cli.json("registry", "check", number)["privileged"] is True, number
    assert cli.json("registry", "check", "6075550105")["privileged"] is False  # dentist

    roster = tmp_path / "ny.csv"
    roster.write_bytes(files.roster_bytes([files.bob(), files.rita()]))
    out = cli.json("registry", "import", "--format", "bar-csv", str(roster), "--state", "NY")
    assert out["added"] == 1
    decision = cli.json("call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                        "--to", "(718) 555-0111")
    assert decision["mode"] == "private"
    again = cli.json("registry", "import", "--format", "bar-csv", str(roster))
    assert (again["added"], again["confirmed"], again["revoked_vanished"]) == (0, 1, 0)


def test_a_file_of_the_wrong_format_is_refused_before_anything_is_written(
        cli: Cli, engine: Engine, tmp_path: Path) -> None:
    roster = tmp_path / "ny.csv"
    roster.write_bytes(files.roster_bytes([files.bob()]))
    before = counts(engine)
    proc = cli.run("registry", "import", "--format", "nppes", str(roster))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "is not a nppes file" in proc.stderr
    missing = cli.run("registry", "import", "--format", "bar-csv", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert counts(engine) == before
