"""One privline switch (Kamailio + rtpengine + agent) and one sipp far end per session,
on free loopback ports, with a small world of facilities, residents and numbers.

A call-timer "minute" lasts MINUTE_SECONDS here, so max-minutes and reminders can be
proved in seconds; billing still counts real minutes.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.stack import Stack, start_stack, stop_pid

MINUTE_SECONDS = 6.0
ATTORNEY = "+12125550101"  # verified privileged
ORDINARY = "2025550143"
BLOCKED = "2025550199"
UNREGISTERED = "2025550144"
# Each resident's PIN: distinct within a facility, as the voice menu needs (a PIN another
# resident of the facility holds is refused when set).
PINS = {"r1": "1234", "r2": "2345", "rbroke": "3456", "rlock": "4567", "rsoak": "5678",
        "rshort": "1234", "rlen": "1234", "rremote": "1234"}

LOG_TAIL_LINES = 60
NEEDED = ("kamailio", "rtpengine", "sipp", "espeak-ng", "sox")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    missing = [b for b in NEEDED if not (shutil.which(b) or shutil.which(b, path="/usr/sbin"))]
    if missing:
        pytest.fail(f"e2e needs {', '.join(missing)} (see the README's install commands)")
    if os.geteuid() != 0:
        pytest.skip("e2e sniffs loopback RTP and needs root")
    home = tmp_path_factory.mktemp("privline-home")
    s = start_stack(home, MINUTE_SECONDS)
    try:
        populate(s)
        s.switch("up")
        yield s
    finally:
        s.switch("down", check=False)
        for proc in s.procs:
            stop_pid(proc)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed e2e test shows the end of its switch's logs (the voice menu logs each
    step of a call with its time), so a slow or lost step can be found from one run."""
    report = yield
    if report.failed:
        funcargs = getattr(item, "funcargs", {})
        for s in (v for v in funcargs.values() if isinstance(v, Stack)):
            for log in sorted((s.home / "switch" / "logs").glob("*.log")):
                lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                report.sections.append((f"{s.home.name} {log.name}", "\n".join(lines)))
    return report


@pytest.fixture(autouse=True)
def switch_whole(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each e2e test starts with every part of the switch running: a test that fails
    while a part is down (a restart test) must not fail the tests after it."""
    yield
    if "stack" in request.fixturenames:
        s: Stack = request.getfixturevalue("stack")
        if not json.loads(s.switch("status", "--json", check=False).stdout).get("healthy"):
            s.switch("up", check=False)


def populate(s: Stack) -> None:
    p = s.privline
    p("init")
    common = ["--kind", "jail", "--adp", "500", "--phones", "127.0.0.1/32"]
    p("facility", "add", "--id", "f1", "--name", "Test County Jail", *common)
    p("facility", "add", "--id", "short", "--name", "Short Stay Jail", *common,
      "--max-minutes", "2", "--reminder-interval", "30")
    p("facility", "add", "--id", "lenient", "--name", "Lenient Jail", *common,
      "--unknown-privilege", "connect_unrecorded")
    p("facility", "add", "--id", "remote", "--name", "Remote Jail", "--kind", "jail",
      "--adp", "500", "--phones", "10.9.0.0/16")
    for rid, facility, balance in (("r1", "f1", "20.00"), ("r2", "f1", "20.00"),
                                   ("rshort", "short", "20.00"), ("rlen", "lenient", "20.00"),
                                   ("rbroke", "f1", "0"), ("rlock", "f1", "20.00"),
                                   ("rremote", "remote", "20.00"), ("rsoak", "f1", "900.00")):
        p("resident", "add", "--facility", facility, "--id", rid, "--pin", PINS[rid],
          "--balance", balance)
    p("registry", "add", "--number", ATTORNEY, "--kind", "attorney", "--name", "Ann Lawyer",
      "--credential", "NY-1234567", "--verified")
    p("block", "add", "--facility", "f1", "--number", BLOCKED, "--reason", "victim request")


def balance_cents(s: Stack, resident: str) -> int:
    from privline.bootstrap import bootstrap
    from privline.settings import Settings

    with bootstrap(Settings.from_env(s.env)).uow() as uow:
        return uow.accounts.balance(resident)
