"""The `cli` fixture: the installed command on a demo installation, on each database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import Cli


@pytest.fixture
def cli(tmp_path: Path, db_url: str) -> Cli:
    cli = Cli(tmp_path / "home", db_url)
    cli.ok("init", "--demo")
    return cli
