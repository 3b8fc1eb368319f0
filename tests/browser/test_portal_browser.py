"""The portal in a real browser: Debian's Chromium driven by Playwright, against a real
`privline serve` on 127.0.0.1.

A lawyer registers (after fixing a typo the server points out), staff sign in with
their name and password and approve, and a call decision to the lawyer's number turns
from recorded to private. Every page is screenshotted into the test's tmp folder for a
person to look at.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
LAWYER_TYPED = "(646) 555-0147"
LAWYER = "+16465550147"

# No skip: scripts/install.sh installs Debian's chromium, and a missing browser must fail
# the suite rather than hide the portal's only end-to-end test.


@dataclass(frozen=True)
class Server:
    base: str
    env: dict[str, str]
    exe: str
    staff_password: str

    def privline(self, *args: str) -> str:
        done = subprocess.run([self.exe, *args], env=self.env, check=True,
                              capture_output=True, text=True)
        return done.stdout

    def decide(self, number: str) -> str:
        out = self.privline("call", "decide", "--facility", "demo-prison", "--resident",
                            "R1001", "--to", number, "--json")
        mode: str = json.loads(out)["mode"]
        return mode


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVLINE_")}
    port = _free_port()
    env |= {"PRIVLINE_HOME": str(tmp_path / "srv"), "PRIVLINE_API_PORT": str(port),
            "PRIVLINE_API_HOST": "127.0.0.1"}
    exe = str(Path(sys.executable).with_name("privline"))
    subprocess.run([exe, "init", "--demo"], env=env, check=True, capture_output=True)
    password = "sam's long staff passphrase"
    (tmp_path / "sam.pw").write_text(password + "\n")
    subprocess.run([exe, "user", "add", "--name", "sam-staff", "--role", "staff",
                    "--password-file", str(tmp_path / "sam.pw")], env=env, check=True,
                   capture_output=True)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([exe, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as reply:  # noqa: S310 - loopback URL built above
                    if reply.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield Server(base, env, exe, password)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


class Shots:
    """Full-page screenshots, numbered in the order taken, for a person to check."""

    def __init__(self, folder: Path, page: Page) -> None:
        self.folder, self.page, self.n = folder, page, 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.n += 1
        self.page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)


def test_a_lawyer_registers_staff_approve_and_calls_to_the_number_become_private(
        server: Server, page: Page, tmp_path: Path) -> None:
    requested: list[str] = []
    refused: list[tuple[str, int]] = []
    problems: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("response", lambda r: refused.append((r.url, r.status)) if r.status >= 400
            else None)
    # Chromium reports a CSP violation or a script error on the console.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    shot = Shots(tmp_path / "screens", page)

    assert server.decide(LAWYER_TYPED) == "recorded"  # an ordinary number, for now

    # The lawyer registers; a typo in the number is caught beside the field.
    page.goto(f"{server.base}/")
    shot("home")
    page.get_by_role("link", name="Register numbers").first.click()
    page.get_by_label("Full name").fill("Lee Bar")
    page.get_by_label("Profession").select_option("attorney")
    page.get_by_label("Credential").fill("NY 7654321")
    page.get_by_label("Number 1").fill("(646) 555-014")
    page.get_by_label("Email").fill("lee@example.org")
    shot("register")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#numbers-0-error")).to_have_text(
        "Not a valid phone number (include the area code)")
    expect(page.get_by_label("Full name")).to_have_value("Lee Bar")
    shot("register-error")
    page.get_by_label("Number 1").fill(LAWYER_TYPED)
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(f"{server.base}/register/done")
    reference = page.locator("#reference").inner_text()
    expect(page.locator("#numbers")).to_contain_text("Waiting for review")
    shot("registered")
    cookie = next(c for c in page.context.cookies() if c["name"] == "privline_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # Staff sign in (no second factor for this staff user) and approve it.
    page.goto(f"{server.base}/staff/login")
    expect(page).to_have_url(f"{server.base}/signin")
    shot("signin")
    page.get_by_label("User name").fill("sam-staff")
    page.get_by_label("Password").fill(server.staff_password)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{server.base}/staff/dashboard")  # staff's home
    page.goto(f"{server.base}/staff")
    entry = page.locator("li.entry", has_text=LAWYER)
    expect(entry).to_contain_text("lee@example.org")
    shot("queue")
    entry.get_by_role("button", name="Approve").click()
    expect(page.locator(".notice")).to_contain_text(f"Approved {LAWYER}")
    shot("approved")
    page.goto(f"{server.base}/staff/expiring")
    shot("expiring")
    page.get_by_role("button", name="Sign out sam-staff").click()
    expect(page).to_have_url(f"{server.base}/signin")

    # The lawyer sees the number verified; a call to it is now private.
    page.goto(f"{server.base}/status")
    page.get_by_label("Reference").fill(reference)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#numbers")).to_contain_text(
        "Verified: calls to this number are private")
    shot("status")
    assert server.decide(LAWYER_TYPED) == "private"

    assert problems == []  # no CSP violation, no script error
    assert refused == [(f"{server.base}/register", 400)]  # only the typo; no missing file
    assert requested and all(url.startswith(server.base + "/") for url in requested)
