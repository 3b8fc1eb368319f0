"""Accounts in a real browser (Debian's Chromium, Playwright, a real `privline serve`):
an admin signs in with password and TOTP, creates a staff user on the users page, and
that user signs in with the password and a code from the secret shown; signing out ends
the session on the server, so the old cookie is refused. The users page is photographed
into docs/screenshots/admin.png for the README."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, Account, Server, Shots, sign_in, watch

NEW_PASSWORD = "tess's own long passphrase"


def test_an_admin_creates_a_staff_user_who_signs_in_with_password_and_totp(
        server: Server, page: Page, tmp_path: Path) -> None:
    problems = watch(page)
    shot = Shots(tmp_path / "screens", page)
    base = server.base
    _, admin = server.account("ada-admin", "admin")
    assert admin.totp_secret is not None  # an admin must have a second factor

    # The admin: password, then the code from their authenticator.
    sign_in(page, server, admin)
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
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "admin.png"), full_page=True)

    # Usable 360 px wide: nothing wider than the screen.
    page.set_viewport_size({"width": 360, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    shot("users-360")
    page.set_viewport_size({"width": 1100, "height": 900})
    page.get_by_role("button", name="Sign out ada-admin").click()
    expect(page).to_have_url(f"{base}/signin")

    # The new staff user signs in with the password and the secret the admin was shown.
    sign_in(page, server, Account("tess-staff", secret, NEW_PASSWORD))
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
