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
    assert (again["added"], again["confirmed"], again["sent_to_review"]) == (0, 1, 0)


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


def test_an_import_never_unprotects_it_previews_and_sends_dropped_numbers_to_review(
        cli: Cli, engine: Engine, tmp_path: Path) -> None:
    """Issue 12: a second file without the first one's numbers revoked them silently."""
    first, second = tmp_path / "ny-1.csv", tmp_path / "ny-2.csv"
    first.write_bytes(files.roster_bytes([files.bob()]))
    second.write_bytes(files.roster_bytes([files.rita()]))
    cli.json("registry", "import", "--format", "bar-csv", str(first))

    before = counts(engine)
    preview = cli.run("registry", "import", "--format", "bar-csv", str(second), "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.startswith("dry run, nothing written: would be 0 added")
    assert "1 sent to review (0 deactivated in the directory, 1 missing" in preview.stdout
    assert counts(engine) == before

    done = cli.run("registry", "import", "--format", "bar-csv", str(second),
                   "--progress-every", "1")
    assert "1 sent to review" in done.stdout and "registry review list" in done.stdout
    # Not a terminal: progress comes as lines on stderr.
    assert "ny-2.csv: 1 rows read" in done.stderr
    assert cli.json("registry", "check", "(718) 555-0111")["privileged"] is True
    (queued,) = cli.json("registry", "review", "list")["entries"]
    assert (queued["number"], queued["review"]) == ("+17185550111",
                                                    "missing from the directory")

    bare = cli.run("registry", "revoke", str(queued["id"]))
    assert bare.returncode == 2 and bare.stderr.count("\n") == 1
    assert cli.json("registry", "check", "(718) 555-0111")["privileged"] is True
    cli.json("registry", "revoke", str(queued["id"]), "--reason", "struck off, per the bar")
    assert cli.json("registry", "check", "(718) 555-0111")["privileged"] is False
    assert cli.json("registry", "review", "list")["entries"] == []


def test_washington_and_pennsylvania_rosters_import_in_their_own_layouts(
        cli: Cli, tmp_path: Path) -> None:
    """Issue 12: layouts beyond New York's, with every row not imported counted."""
    from tests.unit.imports.test_bar_layouts import LAYOUTS

    for layout in (x for x in LAYOUTS if x.state in ("WA", "PA")):
        roster = tmp_path / f"{layout.state}.csv"
        roster.write_text(layout.text, encoding="utf-8")
        out = cli.json("registry", "import", "--format", "bar-csv", str(roster),
                       "--state", layout.state)
        assert (out["added"], out["complete"]) == (1, True), layout.state
        assert out["file_report"]["main"]["not_imported"] == layout.not_imported
        [(credential, _, (phone,))] = layout.active
        [entry] = cli.json("registry", "check", phone)["entries"]
        assert entry["credential"] == credential
    assert cli.json("registry", "check", "(509) 555-0102")["privileged"] is False  # honorary
