"""Competing registrations in a real browser (Debian's Chromium, Playwright, a real
`privline serve`): two people register the same number on the portal; the review queue
shows them together, each naming the other; staff approve one, which closes the other
with a reason naming the approved entry. Both outcomes are checked on the pages, in the
registry and in the audit log, and what each registrant's status page says."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from privline.bootstrap import bootstrap
from privline.settings import Settings
from tests.browser.conftest import Server, Shots, sign_in, watch

TYPED = "(718) 555-0163"
NUMBER = "+17185550163"


def register(page: Page, server: Server, name: str, kind: str, credential: str,
             email: str) -> str:
    """Register NUMBER on the public portal; returns the registrant's reference."""
    page.goto(f"{server.base}/register")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Profession").select_option(kind)
    page.get_by_label("Credential").fill(credential)
    page.get_by_label("Number 1").fill(TYPED)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(f"{server.base}/register/done")
    return page.locator("#reference").inner_text()


def status(page: Page, server: Server, reference: str) -> str:
    page.goto(f"{server.base}/status")
    page.get_by_label("Reference").fill(reference)
    page.get_by_role("button", name="Check").click()
    return page.locator("#numbers").inner_text()


def test_staff_approve_one_of_two_competing_registrations_and_the_other_is_closed(
        server: Server, page: Page, tmp_path: Path) -> None:
    problems = watch(page)
    shot = Shots(tmp_path / "screens", page)
    _, sam = server.account("sam-staff", "staff")
    lee = register(page, server, "Lee Bar", "attorney", "NY 7654321", "lee@example.org")
    kim = register(page, server, "Kim Cleric", "religious_adviser", "Diocese 55",
                   "kim@example.org")
    rt = bootstrap(Settings.from_env(server.env))
    with rt.uow() as uow:
        lee_id, kim_id = (e.id for e in uow.registry.entries_for(NUMBER))

    sign_in(page, server, sam)
    page.goto(f"{server.base}/staff")
    lee_item = page.locator(f"#entry-{lee_id}")
    kim_item = page.locator(f"#entry-{kim_id}")
    # Grouped: each pending registration names the one competing with it.
    expect(lee_item.locator(".rivals")).to_contain_text(f"Entry {kim_id}: Kim Cleric")
    expect(kim_item.locator(".rivals")).to_contain_text(f"Entry {lee_id}: Lee Bar")
    shot("competing")
    lee_item.get_by_label("Note").fill("bar number checked with the state bar")
    lee_item.get_by_role("button", name="Approve").click()
    expect(page.locator(".notice")).to_contain_text(f"Approved {NUMBER} (Lee Bar)")
    expect(lee_item).to_have_count(0)
    expect(kim_item).to_have_count(0)  # the rival left the queue too
    shot("approved")

    # The registry page groups both, with their outcomes; the closed one says why.
    page.goto(f"{server.base}/staff/registry")
    page.get_by_label("Number, name or credential").fill("718 555 0163")
    page.get_by_role("button", name="Search").click()
    group = page.locator("section.panel", has_text=NUMBER)
    expect(group).to_contain_text("2 registrations")
    expect(group.locator("li", has_text="Lee Bar").locator(".badge")).to_have_text("verified")
    expect(group.locator("li", has_text="Kim Cleric").locator(".badge")).to_have_text(
        "revoked")
    group.get_by_role("link", name=f"Entry {kim_id}").click()
    why = f"another registration for {NUMBER} was approved (entry {lee_id})"
    expect(page.locator("ol li", has_text="registry.revoke")).to_contain_text(why)
    expect(page.locator("ol li", has_text="registry.revoke")).to_contain_text(
        "staff:sam-staff")
    shot("closed-entry")

    # In the database: one verified, one revoked, each change audited by the reviewer.
    with rt.uow() as uow:
        entries = {e.id: e for e in uow.registry.entries_for(NUMBER)}
        verify = uow.records.audit_events(subject=f"registry:{lee_id}",
                                          action_prefix="registry.verify", limit=5, offset=0)
        revoke = uow.records.audit_events(subject=f"registry:{kim_id}",
                                          action_prefix="registry.revoke", limit=5, offset=0)
    assert (entries[lee_id].status.value, entries[kim_id].status.value) == (
        "verified", "revoked")
    assert entries[lee_id].kind.value == "attorney"
    (verified,) = verify
    (revoked,) = revoke
    assert verified.actor == revoked.actor == "staff:sam-staff"
    assert verified.details["closed"] == [kim_id]
    assert verified.details["note"] == "bar number checked with the state bar"
    assert revoked.details["note"] == why

    # Each registrant sees their own outcome; calls to the number are now private.
    page.get_by_role("button", name="Sign out sam-staff").click()
    assert "Verified: calls to this number are private" in status(page, server, lee)
    assert "Not accepted" in status(page, server, kim)
    assert server.decide(TYPED)["mode"] == "private"
    assert problems == []
