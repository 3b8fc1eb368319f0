"""Accounts in a real browser (Debian's Chromium, Playwright, a real `privline serve`):
an admin signs in with password and TOTP, creates a staff user on the users page, and
that user signs in with the password and a code from the secret shown; signing out ends
the session on the server, so the old cookie is refused. The users page is photographed
into docs/screenshots/admin.png for the README."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
from playwright.sync_api import Page, expect

from tests.browser.test_portal_browser import Server, Shots, page, server  # noqa: F401

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "admin.png"
ADMIN_PASSWORD = "the admin's long passphrase"
NEW_PASSWORD = "tess's own long passphrase"


def sign_in(tab: Page, base: str, name: str, password: str, secret: str) -> None:
    tab.goto(f"{base}/signin")
    tab.get_by_label("User name").fill(name)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Continue").click()
    expect(tab).to_have_url(f"{base}/signin/code")
    tab.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    tab.get_by_role("button", name="Sign in").click()


def test_an_admin_creates_a_staff_user_who_signs_in_with_password_and_totp(
        server: Server, page: Page, tmp_path: Path) -> None:  # noqa: F811
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    shot = Shots(tmp_path / "screens", page)
    base = server.base
    (tmp_path / "admin.pw").write_text(ADMIN_PASSWORD + "\n")
    admin = json.loads(server.privline("user", "add", "--name", "ada-admin", "--role",
                                       "admin", "--password-file",
                                       str(tmp_path / "admin.pw"), "--json"))

    # The admin: password, then the code from their authenticator.
    sign_in(page, base, "ada-admin", ADMIN_PASSWORD, admin["totp"]["secret"])
    expect(page).to_have_url(f"{base}/staff/dashboard")  # the admin's home
    page.get_by_role("link", name="Users").click()
    expect(page).to_have_url(f"{base}/staff/users")

    # A form sent with mistakes: the summary takes focus and links to each field.
    page.get_by_role("button", name="Create user").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("User name")).to_be_focused()
    shot("users-error")

    # By keyboard alone: type, tab between fields, tick the boxes with the space bar.
    page.get_by_label("User name").fill("tess-staff")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Role")).to_be_focused()
    page.get_by_label("Role").select_option("staff")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Second factor (TOTP)").focus()
    page.keyboard.press("Space")
    page.get_by_label("Demo State Prison (demo-prison)").check()
    page.get_by_role("button", name="Create user").focus()
    page.keyboard.press("Enter")
    secret = page.locator("#totp-secret").inner_text()
    expect(page.locator("#totp-uri")).to_contain_text("otpauth://totp/privline:tess-staff")
    expect(page.locator("li.entry", has_text="tess-staff")).to_contain_text("demo-prison")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Usable 360 px wide: nothing wider than the screen.
    page.set_viewport_size({"width": 360, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    shot("users-360")
    page.set_viewport_size({"width": 1100, "height": 900})
    page.get_by_role("button", name="Sign out ada-admin").click()
    expect(page).to_have_url(f"{base}/signin")

    # The new staff user signs in with the password and the secret the admin was shown.
    sign_in(page, base, "tess-staff", NEW_PASSWORD, secret)
    expect(page).to_have_url(f"{base}/staff/dashboard")  # staff's home
    expect(page.get_by_role("button", name="Sign out tess-staff")).to_be_visible()
    old = [c for c in page.context.cookies() if c["name"] == "privline_session"]
    page.get_by_role("button", name="Sign out tess-staff").click()
    expect(page).to_have_url(f"{base}/signin")

    # The cookie from before sign-out, put back, no longer signs anyone in.
    page.context.clear_cookies()
    page.context.add_cookies(old)  # type: ignore[arg-type]
    page.goto(f"{base}/staff")
    expect(page).to_have_url(f"{base}/signin")
    assert problems == []  # no CSP violation, no script error
