"""The operators' console in a real browser: Debian's Chromium driven by Playwright,
against a real `privline serve` on 127.0.0.1.

Staff unlock a resident locked out by wrong PINs, reset the PIN (after the error summary
takes focus), make a deposit and remove a block; an investigator plays a recording after
stating a reason, and the audit log holds the play with that reason; an auditor sees the
log verified and downloads the statement exactly as it was signed. Each role's main page
is screenshotted into docs/screenshots/ for the README.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from privline.bootstrap import bootstrap
from privline.settings import Settings
from tests.browser.conftest import SCREENSHOTS, Server, fits_360, sign_in
from tests.integration.vault_support import place_call, spool_recording, spool_root

FAMILY = "+12125550100"


def test_staff_unlock_reset_a_pin_deposit_and_remove_a_block(server: Server, page: Page
                                                               ) -> None:
    _, account = server.account("sam-staff", "staff")
    for _ in range(5):  # five wrong PINs lock Rosa out
        server.decide(pin="0000")
    assert server.decide(pin="1234")["reason"] == "resident_locked"
    server.privline("block", "add", "--facility", "demo-prison", "--number", "2025550199",
                    "--reason", "harassment")

    page.goto(f"{server.base}/console/login")  # the old address leads to the one sign-in
    expect(page).to_have_url(f"{server.base}/signin")
    sign_in(page, server, account)
    expect(page).to_have_url(f"{server.base}/staff/dashboard")
    expect(page.locator(".stat", has_text="locked residents")).to_contain_text("1")
    page.get_by_role("link", name="Residents", exact=True).click()
    page.get_by_label("Resident id contains").fill("R1001")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="R1001").click()
    expect(page.locator("#lock")).to_contain_text("locked until")
    page.get_by_role("button", name="Unlock R1001").click()
    expect(page.locator(".notice")).to_have_text("Resident R1001 unlocked.")
    expect(page.locator("#lock")).to_have_text("not locked")

    # A PIN too short: the error summary takes focus and links to the field.
    page.get_by_label("New PIN (4 to 12 digits)").fill("12")
    page.get_by_role("button", name="Set PIN").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link").click()
    expect(page.get_by_label("New PIN (4 to 12 digits)")).to_be_focused()
    page.keyboard.type("8642")  # by keyboard alone, from the summary's link
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_have_text("Resident R1001 has a new PIN.")
    assert server.decide(pin="8642")["mode"] == "recorded"

    page.get_by_label("Amount (USD)").fill("5.00")
    page.get_by_role("button", name="Deposit").click()
    expect(page.locator("#balance")).to_have_text("$25.00")
    page.screenshot(path=str(SCREENSHOTS / "staff.png"), full_page=True)
    fits_360(page)

    page.get_by_role("link", name="Blocks", exact=True).click()
    row = page.locator("tr", has_text="+12025550199")
    row.get_by_role("button", name="Remove").click()
    expect(page.locator(".error-summary")).to_be_focused()  # no reason given
    page.locator("tr", has_text="+12025550199").get_by_label("Why remove block").fill(
        "court order lifted")
    page.locator("tr", has_text="+12025550199").get_by_role("button", name="Remove").click()
    expect(page.locator(".notice")).to_contain_text("Block on +12025550199 removed")
    assert json.loads(server.privline("block", "list", "--json"))["blocks"] == []


def test_an_investigator_plays_a_recording_with_a_reason_and_the_audit_log_shows_it(
        server: Server, page: Page) -> None:
    user_id, account = server.account("ivan-investigator", "investigator")
    server.privline("user", "grant", "--user", str(user_id), "--facility", "demo-prison")
    rt = bootstrap(Settings.from_env(server.env))
    place_call(rt.uow, "family@console", FAMILY, facility="demo-prison", resident="R1001")
    spool_recording(spool_root(rt.settings.home), "family@console", seconds=2.0)
    server.privline("vault", "ingest")

    sign_in(page, server, account)
    expect(page).to_have_url(f"{server.base}/investigate")
    page.get_by_role("button", name="Search").click()  # no reason: refused, nothing listed
    expect(page.locator(".error-summary")).to_be_focused()
    page.get_by_label("Reason for this search").fill("case 2026-114")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Recording 1").click()
    page.get_by_label("Reason for listening").fill("case 2026-114: threat reported")
    page.get_by_role("button", name="Play recording").click()
    # Waits on the audio element itself; polled from the test (page.evaluate runs over the
    # DevTools protocol, so the page's CSP, which forbids eval, is left as it is).
    loaded = "(() => { const a = document.getElementById('audio'); " \
             "return a.readyState >= 1 && a.duration > 1.5; })()"
    deadline = time.monotonic() + 30
    while not page.evaluate(loaded):
        assert time.monotonic() < deadline, "the recording never loaded in the player"
        page.wait_for_timeout(100)
    page.screenshot(path=str(SCREENSHOTS / "investigator.png"), full_page=True)
    fits_360(page)

    with rt.uow() as uow:
        plays = uow.records.audit_events(subject="recording:1", action_prefix="recording.play",
                                         limit=10, offset=0)
    assert plays and all(p.actor == "investigator:ivan-investigator" for p in plays)
    assert {p.details["reason"] for p in plays} == {"case 2026-114: threat reported"}
    assert {p.details["outcome"] for p in plays} == {"ok"}
    # Nothing decrypted was left on disk: the vault holds only the encrypted blob.
    assert not list(rt.settings.home.rglob("*.wav"))


def test_an_auditor_sees_the_log_verified_and_downloads_the_signed_statement(
        server: Server, page: Page, tmp_path: Path) -> None:
    _, account = server.account("audrey-auditor", "auditor")
    out = tmp_path / "statement"
    period = json.loads(server.privline("report", "compliance", "--period", "2026-H2",
                                        "--out", str(out), "--json"))["period"]

    sign_in(page, server, account)
    expect(page).to_have_url(f"{server.base}/audit")
    expect(page.locator("#verdict")).to_contain_text("Verified")
    page.get_by_role("link", name="Statements").click()
    with page.expect_download() as download:
        page.get_by_role("link", name=f"JSON ({period})").click()
    saved = tmp_path / "downloaded.json"
    download.value.save_as(saved)
    assert saved.read_bytes() == (out / "statement.json").read_bytes()
    with page.expect_download() as download:
        page.get_by_role("link", name="signature").click()
    download.value.save_as(tmp_path / "downloaded.sig")
    assert (tmp_path / "downloaded.sig").read_bytes() == (out / "statement.sig").read_bytes()
    page.screenshot(path=str(SCREENSHOTS / "auditor.png"), full_page=True)
    fits_360(page)
    # A staff page is not the auditor's.
    page.goto(f"{server.base}/staff/residents")
    expect(page.locator("h1")).to_have_text("Not allowed")
