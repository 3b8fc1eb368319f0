"""`privline facility|resident|account|block ...`: every record listed and shown as one
JSON object, changed with an audit event, bad input one line on stderr and exit 2."""

from __future__ import annotations

from tests.cli.test_cli import Cli


def refused(cli: Cli, *args: str) -> str:
    proc = cli.run(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    return proc.stderr


def test_facilities_list_show_and_set_within_the_cap(cli: Cli) -> None:
    listed = cli.json("facility", "list")["facilities"]
    assert [f["id"] for f in listed] == ["demo-jail", "demo-prison"]
    assert "rate_above_cap" in refused(cli, "facility", "set", "demo-prison", "--rate", "9")
    changed = cli.json("facility", "set", "demo-prison", "--rate", "0.05", "--max-minutes",
                       "20")
    assert changed["rate_in_force"] == "0.05" and changed["max_call_minutes"] == 20
    shown = cli.json("facility", "show", "demo-prison")
    assert shown["rate_per_minute"] == "0.05" and shown["cap"]["per_minute"] >= "0.05"
    assert "nothing_to_change" in refused(cli, "facility", "set", "demo-prison")


def test_residents_list_show_unlock_set_pin_move_and_deactivate(cli: Cli) -> None:
    residents = cli.json("resident", "list", "--facility", "demo-prison")["residents"]
    assert {r["id"]: (r["balance_cents"], r["status"], r["locked"]) for r in residents} == {
        "R1001": (2000, "active", False), "R1002": (0, "active", False)}
    shown = cli.json("resident", "show", "R1001")
    assert shown["locked"] is False and shown["locked_until"] is None
    assert shown["recent_calls"] == []
    cli.ok("resident", "unlock", "R1001")
    assert "invalid_pin" in refused(cli, "resident", "set-pin", "R1001", "--pin", "1")
    cli.ok("resident", "set-pin", "R1001", "--pin", "97531")
    # R1002 holds 5678 at demo-prison: refused, without naming whose PIN it is.
    taken = refused(cli, "resident", "set-pin", "R1001", "--pin", "5678")
    assert "pin_taken" in taken and "R1002" not in taken
    assert "pin_taken" in refused(cli, "resident", "add", "--facility", "demo-prison",
                                  "--id", "R1003", "--pin", "97531")
    assert "R1003" not in cli.ok("resident", "list", "--facility", "demo-prison")
    decided = cli.json("call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                       "--to", "2125550100", "--pin", "97531")
    assert decided["mode"] == "recorded"
    cli.ok("resident", "move", "R1002", "--facility", "demo-jail")
    assert "demo-jail" in refused(cli, "resident", "add", "--facility", "demo-prison", "--id",
                                  "R1002", "--pin", "1234")
    cli.ok("resident", "deactivate", "R1002")
    assert cli.json("resident", "show", "R1002")["status"] == "inactive"
    account = cli.json("account", "show", "--resident", "R1001")
    assert account["balance_cents"] == 2000 and account["ledger"][0]["kind"] == "deposit"


def test_blocks_listed_with_ids_duplicates_refused_privileged_warned_removed(cli: Cli) -> None:
    assert cli.ok("block", "list") == "no blocks\n"
    assert cli.json("block", "list") == {"blocks": [], "more": False}
    cli.ok("block", "add", "--facility", "demo-prison", "--number", "2125550100",
           "--reason", "no contact order")
    assert "block_exists" in refused(cli, "block", "add", "--facility", "demo-prison",
                                     "--number", "212-555-0100", "--reason", "again")
    warned = cli.run("block", "add", "--facility", "demo-prison", "--number",
                     "(415) 555-0142", "--reason", "asked")
    assert warned.returncode == 0 and "can never stop a privileged call" in warned.stderr
    blocks = cli.json("block", "list", "--facility", "demo-prison")["blocks"]
    assert [b["number"] for b in blocks] == ["+12125550100", "+14155550142"]
    assert "reason_required" in refused(cli, "block", "remove", str(blocks[0]["id"]),
                                        "--reason", "")
    cli.ok("block", "remove", str(blocks[0]["id"]), "--reason", "order lifted")
    assert [b["id"] for b in cli.json("block", "list")["blocks"]] == [blocks[1]["id"]]


def test_registry_list_says_when_it_stops_at_its_limit(cli: Cli) -> None:
    first = cli.json("registry", "list", "--limit", "1")
    assert len(first["entries"]) == 1 and first["more"] is True
    assert "more: stopped at 1" in cli.ok("registry", "list", "--limit", "1")
    assert cli.ok("registry", "list", "--status", "expired") == "no entries\n"
