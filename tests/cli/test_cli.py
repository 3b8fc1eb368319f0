"""The installed `privline` command, as an operator or an outside tool uses it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import Engine, func, select

from privline.adapters.db import tables as t
from tests.support.inprocess import run_privline

PRIVLINE = shutil.which("privline") or str(Path(os.sys.executable).with_name("privline"))


class Cli:
    def __init__(self, home: Path, db_url: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVLINE_")}
        self.env |= {"PRIVLINE_HOME": str(home), "PRIVLINE_DATABASE_URL": db_url}

    def run(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """In this process: the same main(), without a new interpreter per command."""
        return run_privline(args, self.env | extra_env)

    def run_installed(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The installed command in its own process, for the exit-code contract."""
        return subprocess.run([PRIVLINE, *args], env=self.env, capture_output=True, text=True,
                              timeout=60)

    def ok(self, *args: str) -> str:
        proc = self.run(*args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def json(self, *args: str) -> dict:  # type: ignore[type-arg]
        out = self.ok(*args, "--json")
        assert out.count("\n") == 1, "one JSON object on one line"
        return json.loads(out)  # type: ignore[no-any-return]


def counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(table)).scalar_one()
                     for table in (t.audit_events, t.registry_entries, t.facilities,
                                   t.residents, t.calls, t.users))


def test_call_to_demo_attorney_is_private_in_any_format(cli: Cli) -> None:
    for dialled in ("(415) 555-0142", "+1 415 555 0142", "tel:+1-415-555-0142"):
        d = cli.json("call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                     "--to", dialled, "--pin", "1234")
        assert d["mode"] == "private" and d["reason"] == "privileged_number", dialled
        assert d["announcements"] == ["private_notice"]
        assert d["rate_per_minute"] == "0" and isinstance(d["max_minutes"], int)


def test_ordinary_call_is_recorded_at_the_cap_as_a_string_rate(cli: Cli) -> None:
    d = cli.json("call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                 "--to", "212-555-0100")
    assert d["mode"] == "recorded" and d["rate_per_minute"] == "0.11"
    assert "recording_warning" in d["announcements"]


def test_private_request_leaves_a_pending_registration_for_staff(cli: Cli) -> None:
    d = cli.json("call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                 "--to", "646 555 0111", "--private")
    assert (d["mode"], d["reason"]) == ("recorded", "private_not_registered")
    pending = cli.json("registry", "list", "--status", "pending")["entries"]
    assert [(e["number"], e["source"]) for e in pending if e["number"] == "+16465550111"] == [
        ("+16465550111", "resident_request")]


def test_registry_lifecycle_through_the_command(cli: Cli) -> None:
    entry = cli.json("registry", "add", "--number", "718 555 0177", "--kind", "mental_health",
                     "--name", "Dr. Dee Mind", "--credential", "NPI 1999999992")
    assert entry["status"] == "pending" and entry["number"] == "+17185550177"
    assert cli.json("registry", "check", "7185550177")["privileged"] is False
    cli.ok("registry", "verify", str(entry["id"]), "--reason", "license looked up")
    check = cli.json("registry", "check", "718.555.0177")
    assert check["privileged"] is True and check["number"] == "+17185550177"
    assert [e["id"] for e in check["entries"]] == [entry["id"]]
    cli.ok("registry", "revoke", str(entry["id"]), "--reason", "number reassigned")
    assert cli.json("registry", "check", "7185550177")["privileged"] is False


def test_user_add_prints_a_token(cli: Cli) -> None:
    out = cli.json("user", "add", "--name", "sam", "--role", "staff")
    assert out["role"] == "staff" and out["token"].startswith("pl_")


BAD_COMMANDS = [
    ("call", "decide", "--facility", "nowhere", "--resident", "R1001", "--to", "2125550100"),
    ("call", "decide", "--facility", "demo-prison", "--resident", "ghost", "--to", "2125550100"),
    ("registry", "add", "--number", "12", "--kind", "attorney", "--name", "A", "--credential",
     "B"),
    ("registry", "add", "--number", "2125550100", "--kind", "wizard", "--name", "A",
     "--credential", "B"),
    ("registry", "add", "--number", "4155550142", "--kind", "attorney", "--name",
     "Ada Counsel", "--credential", "CA-123456", "--verified"),
    ("registry", "verify", "1"),
    ("registry", "verify", "not-a-number"),
    ("registry", "revoke", "999"),
    ("registry", "check", "abc"),
    ("registry", "list", "--status", "lost"),
    ("facility", "add", "--id", "x", "--name", "X", "--kind", "zoo", "--adp", "10"),
    ("facility", "add", "--id", "x", "--name", "X", "--kind", "jail", "--adp", "10",
     "--rate", "0.50"),
    ("facility", "add", "--id", "x y", "--name", "X", "--kind", "jail", "--adp", "10"),
    ("facility", "add", "--id", "demo-jail", "--name", "X", "--kind", "jail", "--adp", "10"),
    ("resident", "add", "--facility", "demo-jail", "--id", "J9", "--pin", "12"),
    ("resident", "add", "--facility", "demo-jail", "--id", "J9", "--pin", "1234",
     "--balance", "-5"),
    ("resident", "add", "--facility", "demo-jail", "--id", "J9", "--pin", "1234",
     "--balance", "1.234"),
    ("user", "add", "--name", "x", "--role", "warden"),
    ("no-such-command",),
]


def test_bad_input_is_one_line_on_stderr_exit_2_and_changes_nothing(
        cli: Cli, engine: Engine) -> None:
    # One database for all the bad commands: each must leave it exactly as it was.
    before = counts(engine)
    for i, args in enumerate(BAD_COMMANDS):
        # The first through the installed command, the rest through the same main().
        proc = cli.run_installed(*args) if i == 0 else cli.run(*args)
        assert proc.returncode == 2, args
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, args
        assert proc.stderr.startswith("privline: error: "), args
        assert proc.stdout == "", args
        assert counts(engine) == before, args


def test_commands_before_init_say_so(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "empty", f"sqlite:///{tmp_path / 'empty' / 'privline.db'}")
    proc = cli.run_installed("registry", "list")
    assert proc.returncode == 2 and "privline init" in proc.stderr
    assert not (tmp_path / "empty").exists()


def test_init_twice_keeps_the_data(cli: Cli) -> None:
    cli.ok("init", "--demo")
    assert len(cli.json("registry", "list")["entries"]) == 3


def test_audit_verify_reports_ok_then_the_first_tampered_entry(cli: Cli, engine: Engine
                                                                ) -> None:
    verdict = cli.json("audit", "verify")
    assert verdict["ok"] is True and verdict["entries"] > 5
    pem = cli.ok("audit", "pubkey")
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert cli.json("audit", "checkpoint")["seq"] == verdict["head_seq"]
    with engine.begin() as conn:
        conn.execute(t.audit_events.update().where(t.audit_events.c.seq == 3)
                     .values(actor="admin:mallory"))
    proc = cli.run("audit", "verify", "--json")
    assert proc.returncode == 1
    tampered = json.loads(proc.stdout)
    assert (tampered["ok"], tampered["first_bad_seq"]) == (False, 3)


def test_init_makes_a_pin_key_and_a_readable_one_is_refused_in_one_line(cli: Cli,
                                                                         tmp_path: Path) -> None:
    key = tmp_path / "home" / "keys" / "pin.key"
    assert key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)
    proc = cli.run("call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                   "--to", "212-555-0100", "--pin", "1234", "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "readable by others" in proc.stderr
    key.chmod(0o600)
    d = cli.json("call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                 "--to", "212-555-0100", "--pin", "1234")
    assert d["mode"] == "recorded"
