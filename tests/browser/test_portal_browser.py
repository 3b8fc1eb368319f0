"""The portal in a real browser: Debian's Chromium driven by Playwright, against a real
`privline serve` on 127.0.0.1.

A lawyer registers (after fixing a typo the server points out), staff sign in with
their name and password and approve, and a call decision to the lawyer's number turns
from recorded to private. Every page is screenshotted into the test's tmp folder for a
person to look at.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, Shots, watch

LAWYER_TYPED = "(646) 555-0147"
LAWYER = "+16465550147"


def test_a_lawyer_registers_staff_approve_and_calls_to_the_number_become_private(
        server: Server, page: Page, tmp_path: Path) -> None:
    requested: list[str] = []
    refused: list[tuple[str, int]] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("response", lambda r: refused.append((r.url, r.status)) if r.status >= 400
            else None)
    problems = watch(page)
    shot = Shots(tmp_path / "screens", page)
    _, sam = server.account("sam-staff", "staff")

    assert server.decide(LAWYER_TYPED)["mode"] == "recorded"  # an ordinary number, for now

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
    page.get_by_label("User name").fill(sam.name)
    page.get_by_label("Password").fill(sam.password)
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
    assert server.decide(LAWYER_TYPED)["mode"] == "private"

    assert problems == []  # no CSP violation, no script error
    assert refused == [(f"{server.base}/register", 400)]  # only the typo; no missing file
    assert requested and all(url.startswith(server.base + "/") for url in requested)
