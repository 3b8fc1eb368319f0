"""`privline user ...`: list, show, tokens, revoke, passwords (never on argv), disable."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.test_cli import PRIVLINE, Cli

PASSWORD = "correct horse battery staple"


def as_token(cli: Cli, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PRIVLINE, *args], env=cli.env | {"PRIVLINE_TOKEN": token},
                          capture_output=True, text=True, timeout=60)


def test_a_users_life_through_the_command(cli: Cli, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    made = cli.json("user", "add", "--name", "ivy", "--role", "investigator",
                    "--password-file", str(secret), "--facility", "demo-prison",
                    "--expires-days", "30")
    assert made["token"].startswith("pl_") and made["totp"]["uri"].startswith("otpauth://")
    uid = str(made["id"])
    listed = cli.json("user", "list")["users"]
    assert [u["name"] for u in listed] == ["demo-admin", "ivy"]
    shown = cli.json("user", "show", uid)
    assert shown["facilities"] == ["demo-prison"] and shown["password_set"] is True
    assert [t["state"] for t in shown["tokens"]] == ["live"]
    # The token works as the CLI's actor until revoked.
    assert as_token(cli, made["token"], "recordings", "list", "--reason", "case 9"
                    ).returncode == 0
    new = cli.json("user", "token", uid, "--expires-days", "7")
    assert new["token"].startswith("pl_") and new["state"] == "live"
    assert "revoked 2 token(s)" in cli.ok("user", "revoke", uid)
    refused = as_token(cli, new["token"], "recordings", "list", "--reason", "case 9")
    assert refused.returncode == 2 and refused.stderr.startswith("privline: error: ")
    assert cli.ok("user", "disable", uid) == "ivy is disabled\n"
    assert cli.json("user", "show", uid)["disabled"] is True
    assert cli.ok("user", "enable", uid) == "ivy is enabled\n"


def test_set_password_reads_a_prompt_or_a_file_and_refuses_short_ones(cli: Cli,
                                                                     tmp_path: Path) -> None:
    uid = str(cli.json("user", "add", "--name", "stu", "--role", "staff")["id"])
    assert cli.json("user", "show", uid)["password_set"] is False
    prompted = subprocess.run([PRIVLINE, "user", "set-password", uid], env=cli.env,
                              input=f"{PASSWORD}\n{PASSWORD}\n", capture_output=True,
                              text=True, timeout=60)
    assert prompted.returncode == 0 and PASSWORD not in prompted.stdout
    assert cli.json("user", "show", uid)["password_set"] is True
    short = tmp_path / "short"
    short.write_text("tiny\n")
    bad = cli.run("user", "set-password", uid, "--password-file", str(short))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "12 characters" in bad.stderr
    for args in (("user", "show", "999"), ("user", "revoke", "abc"),
                 ("user", "token", uid, "--expires-days", "0"), ("user", "enable", uid)):
        proc = cli.run(*args)
        assert proc.returncode == 2 and proc.stderr.startswith("privline: error: "), args
    assert cli.ok("user", "list").count("\n") == 2  # demo-admin and stu
