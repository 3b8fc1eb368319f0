"""What every browser test shares: Debian's Chromium driven by Playwright, a real
`privline serve` on a free 127.0.0.1 port over a demo installation, signing in, and
screenshots. The tests set the installation up with the same `privline` main() run in
this process (tests/support/inprocess.py): the server is the process under test, a new
interpreter per setup command would only add its start-up.

No skip: scripts/install.sh installs Debian's chromium, and a missing browser must fail
the suite rather than hide the only end-to-end tests of the pages.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.inprocess import run_privline

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
# The README's screenshots are taken by these tests, but written into docs/ only when
# asked (PRIVLINE_README_SCREENSHOTS=1): a test run must not leave the tree changed.
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots"
               if os.environ.get("PRIVLINE_README_SCREENSHOTS") == "1"
               else Path(tempfile.gettempdir()) / "privline-screenshots")
PASSWORD = "a console user's long passphrase"


@dataclass(frozen=True)
class Account:
    name: str
    totp_secret: str | None
    password: str = PASSWORD


@dataclass(frozen=True)
class Server:
    base: str
    env: dict[str, str]
    home: Path

    def privline(self, *args: str) -> str:
        done = run_privline(args, self.env)
        assert done.returncode == 0, f"privline {' '.join(args)}: {done.stderr}"
        return done.stdout

    def account(self, name: str, role: str, password: str = PASSWORD) -> tuple[int, Account]:
        """A named user with a password (and, for admins and investigators, the TOTP
        secret the CLI shows once), as an admin would make one."""
        password_file = self.home / f"{name}.pw"
        password_file.write_text(password + "\n")
        added = json.loads(self.privline("user", "add", "--name", name, "--role", role,
                                         "--password-file", str(password_file), "--json"))
        totp = added["totp"]["secret"] if added["totp"] else None
        return int(added["id"]), Account(name, totp, password)

    def decide(self, to: str = "2025550143", pin: str | None = None) -> dict[str, Any]:
        """A call decision for the demo's resident R1001, as the switch takes it."""
        args = ["call", "decide", "--facility", "demo-prison", "--resident", "R1001",
                "--to", to, "--json"]
        decided: dict[str, Any] = json.loads(self.privline(
            *args, *(["--pin", pin] if pin is not None else [])))
        return decided


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVLINE_")}
    port = _free_port()
    home = tmp_path / "srv"
    env |= {"PRIVLINE_HOME": str(home), "PRIVLINE_API_PORT": str(port),
            "PRIVLINE_API_HOST": "127.0.0.1"}
    exe = str(Path(sys.executable).with_name("privline"))
    server = Server(f"http://127.0.0.1:{port}", env, home)
    server.privline("init", "--demo")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([exe, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = server.base
    try:
        # Polled until it answers (the deadline only reports a server that never did).
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as reply:  # noqa: S310 - loopback URL built above
                    if reply.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per module, each test in a fresh context (own cookies and storage).
    Not per session: between its calls the sync API leaves its event loop marked as
    running in this thread, which would break the asyncio tests a worker runs later."""
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900},
                                  accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, server: Server, account: Account) -> None:
    """The one sign-in (/signin): name and password, then the code if the user has one."""
    page.goto(f"{server.base}/signin")
    page.get_by_label("User name").fill(account.name)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Continue").click()
    if account.totp_secret is not None:
        expect(page).to_have_url(f"{server.base}/signin/code")
        page.get_by_label("Code").fill(pyotp.TOTP(account.totp_secret).now())
        page.get_by_role("button", name="Sign in").click()


def fits_360(page: Page) -> None:
    """At 360 px wide nothing spills sideways out of the page itself."""
    page.set_viewport_size({"width": 360, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1100, "height": 900})
    assert width <= 360, width


def watch(page: Page) -> list[str]:
    """Script errors and CSP violations the page reports (Chromium logs them)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


class Shots:
    """Full-page screenshots, numbered in the order taken, for a person to check."""

    def __init__(self, folder: Path, page: Page) -> None:
        self.folder, self.page, self.n = folder, page, 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.n += 1
        self.page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)
