"""`privline calls list`: filtered by facility, resident, number, mode and time, paged by
a cursor, saying when there is more; bad filters one line on stderr and exit 2."""

from __future__ import annotations

from tests.cli.test_cli import Cli
from tests.cli.test_records_cli import refused

# The JSON keys outside tools (and the e2e tests) read: they stay.
KEYS = {"call_id", "state", "facility", "resident", "to", "mode", "reason", "review",
        "max_minutes", "decided_at", "answered_at", "ended_at", "duration_s",
        "rate_per_minute", "charge_cents", "ledger_cents", "charge", "recording", "warnings",
        "fault", "end_reason"}


def decide(cli: Cli, to: str, resident: str = "R1001", pin: str = "1234") -> None:
    cli.json("call", "decide", "--facility", "demo-prison", "--resident", resident,
             "--to", to, "--pin", pin)


def test_calls_are_filtered_and_paged_by_cursor(cli: Cli) -> None:
    assert cli.ok("calls", "list") == "no calls\n"
    decide(cli, "2125550100")
    decide(cli, "(415) 555-0142")  # the demo's verified attorney: private
    decide(cli, "2125550100", resident="R1002", pin="5678")
    everything = cli.json("calls", "list")
    assert everything["more"] is False and everything["next"] is None
    assert [c["resident"] for c in everything["calls"]] == ["R1002", "R1001", "R1001"]
    assert all(KEYS <= set(c) for c in everything["calls"])

    first = cli.json("calls", "list", "--limit", "2")
    assert first["more"] is True and len(first["calls"]) == 2
    rest = cli.json("calls", "list", "--limit", "2", "--before", first["next"])
    assert rest["more"] is False and rest["next"] is None
    assert first["calls"] + rest["calls"] == everything["calls"]
    text = cli.ok("calls", "list", "--limit", "2")
    assert text.splitlines()[-1] == f"(more: stopped at 2; see --before {first['next']})"

    private = cli.json("calls", "list", "--mode", "private")["calls"]
    assert [(c["to"], c["mode"]) for c in private] == [("+14155550142", "private")]
    assert [c["to"] for c in cli.json("calls", "list", "--number", "tel:+1-212-555-0100",
                                      "--resident", "R1001")["calls"]] == ["+12125550100"]
    assert cli.json("calls", "list", "--facility", "demo-jail")["calls"] == []
    assert cli.json("calls", "list", "--until", "2000-01-01T00:00:00+00:00")["calls"] == []
    assert len(cli.json("calls", "list", "--since", "2000-01-01T00:00:00Z")["calls"]) == 3


def test_bad_filters_and_cursors_are_refused(cli: Cli) -> None:
    assert "no zone" in refused(cli, "calls", "list", "--since", "2027-01-31T10:00:00")
    assert "invalid_search" in refused(cli, "calls", "list", "--until", "2027-01-31")
    assert "invalid_search" in refused(cli, "calls", "list", "--mode", "loud")
    assert "invalid_search" in refused(cli, "calls", "list", "--number", "not a number")
    assert "invalid_cursor" in refused(cli, "calls", "list", "--before", "page-2")
    assert "invalid_cursor" in refused(cli, "calls", "list", "--before", "c12345")
    assert "limit" in refused(cli, "calls", "list", "--limit", "0")
