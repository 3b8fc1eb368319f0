"""Ordinary bad input at the command line: one line on stderr, exit 2, nothing written,
never a traceback (numbers past the database's range, digits other than ASCII, amounts
with exponents, free text with direction marks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from privline.adapters.db import make_engine
from tests.cli.test_cli import Cli, counts

HUGE = str(2**64)
FULLWIDTH = "\uff11\uff12\uff13\uff14"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Engine]:
    home = tmp_path_factory.mktemp("bad-input") / "home"
    url = f"sqlite:///{home / 'privline.db'}"
    cli = Cli(home, url)
    cli.ok("init", "--demo")
    return cli, make_engine(url)


@pytest.mark.parametrize("args", [
    ("registry", "verify", HUGE, "--reason", "checked"),
    ("registry", "verify", "\uff11", "--reason", "checked"),
    ("registry", "list", "--offset", HUGE),
    ("recordings", "play", HUGE, "--reason", "case 1", "--out", "-"),
    ("vault", "destroy", "--recording", HUGE, "--reason", "r"),
    ("account", "deposit", "--resident", "R1001", "--amount", "1e999999999"),
    ("account", "deposit", "--resident", "R1001", "--amount", FULLWIDTH),
    ("account", "deposit", "--resident", "R1001", "--amount", "100000.01"),
    ("resident", "add", "--facility", "demo-prison", "--id", "R9", "--pin", FULLWIDTH),
    ("resident", "add", "--facility", "demo-prison", "--id", "R\uff19", "--pin", "1234"),
    ("resident", "add", "--facility", "demo-prison", "--id", "R9", "--pin", "1234",
     "--balance", "1e999999999"),
    ("facility", "add", "--id", "f2", "--name", "F", "--kind", "jail", "--adp", HUGE),
    ("facility", "add", "--id", "f2", "--name", "F", "--kind", "jail", "--adp", "3",
     "--rate", "0.0\uff16"),
    ("facility", "add", "--id", "f2", "--name", "F\u202e", "--kind", "jail", "--adp", "3"),
    ("call", "decide", "--facility", "demo-prison", "--resident", "R1001", "--to",
     "2125550100", "--pin", FULLWIDTH),
    ("block", "add", "--facility", "demo-prison", "--number", "2125550100",
     "--reason", "harassment\u202e"),
    ("user", "add", "--name", "eve\u2066", "--role", "staff"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(demo: tuple[Cli, Engine],
                                                         args: tuple[str, ...]) -> None:
    cli, engine = demo
    before = counts(engine)
    proc = cli.run(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert counts(engine) == before


def test_ascii_input_still_works(demo: tuple[Cli, Engine], tmp_path: Path) -> None:
    cli, _ = demo
    assert cli.json("account", "deposit", "--resident", "R1002", "--amount", "$12.5"
                    ) == {"resident": "R1002", "balance_cents": 1250}
    assert cli.json("registry", "list", "--limit", "1", "--offset", "0")["entries"]
