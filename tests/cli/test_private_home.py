"""PRIVLINE_HOME and the database are the service user's alone, as the keys are."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import PRIVLINE, Cli


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _sqlite_cli(tmp_path: Path) -> tuple[Cli, Path]:
    home = tmp_path / "home"
    return Cli(home, f"sqlite:///{home / 'privline.db'}"), home


def test_init_makes_the_home_the_database_and_its_wal_private(tmp_path: Path) -> None:
    cli, home = _sqlite_cli(tmp_path)
    # A caller with a permissive umask: what init creates must not inherit it.
    subprocess.run(["sh", "-c", 'umask 000 && exec "$0" init --demo', PRIVLINE], env=cli.env,
                   check=True, capture_output=True, timeout=60)
    cli.ok("registry", "list")  # opens the database again (WAL, SHM)
    files = [home, home / "privline.db", *home.glob("privline.db-*"), *home.rglob("*")]
    assert len(files) > 4
    exposed = {str(p): oct(_mode(p)) for p in files if _mode(p) & 0o077}
    assert exposed == {}


def test_init_tightens_a_home_and_database_left_open_by_an_older_version(tmp_path: Path
                                                                         ) -> None:
    cli, home = _sqlite_cli(tmp_path)
    cli.ok("init")
    home.chmod(0o755)
    (home / "privline.db").chmod(0o644)
    cli.ok("init")
    assert _mode(home) == 0o700 and _mode(home / "privline.db") == 0o600


@pytest.mark.parametrize("exposed", ["", "privline.db", "privline.db-wal", "privline.db-shm"])
def test_a_home_or_database_readable_by_others_refuses_to_start(tmp_path: Path, exposed: str
                                                                ) -> None:
    cli, home = _sqlite_cli(tmp_path)
    cli.ok("init")
    target = home / exposed
    if not target.exists():
        target.write_bytes(b"")  # a WAL or SHM left by an earlier run
    target.chmod(0o755 if target.is_dir() else 0o644)
    for command in (("registry", "list"), ("serve",)):  # the API refuses the same way
        proc = cli.run(*command)
        assert proc.returncode == 2, proc.stderr
        line = proc.stderr.strip()
        assert "\n" not in line and str(target) in line and "open to other users" in line
        assert "Traceback" not in proc.stderr
    assert not os.access(target, os.F_OK) or _mode(target) & 0o044  # left as found
