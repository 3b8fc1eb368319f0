"""`privline phone add|list|remove`: a phone's SIP credentials, the password never
shown or kept, bad input one line on stderr and exit 2."""

from __future__ import annotations

from tests.cli.test_cli import Cli
from tests.cli.test_records_cli import refused

PASSWORD = "correct-horse-42"


def test_a_phone_is_added_listed_without_secrets_refused_twice_and_removed(cli: Cli) -> None:
    assert cli.ok("phone", "add", "--facility", "demo-jail", "--username", "cell-1",
                  "--password", PASSWORD) == "phone cell-1 added to facility demo-jail\n"
    listed = cli.json("phone", "list")
    assert [(p["username"], p["facility"]) for p in listed["phones"]] == [
        ("cell-1", "demo-jail")]
    assert PASSWORD not in str(listed) and "ha1" not in str(listed)
    assert "phone_exists" in refused(cli, "phone", "add", "--facility", "demo-prison",
                                     "--username", "cell-1", "--password", PASSWORD)
    assert "invalid_phone_password" in refused(cli, "phone", "add", "--facility",
                                               "demo-jail", "--username", "cell-2",
                                               "--password", "short")
    assert "facility_not_found" in refused(cli, "phone", "add", "--facility", "nowhere",
                                           "--username", "cell-3", "--password", PASSWORD)
    cli.ok("phone", "remove", "cell-1")
    assert cli.json("phone", "list") == {"phones": []}
    assert "phone_not_found" in refused(cli, "phone", "remove", "cell-1")
