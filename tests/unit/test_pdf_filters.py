"""The statement PDF's number formatting and table order (pure filters, no rendering)."""

from __future__ import annotations

import pytest

from privline.adapters.reports.pdf import _by_size, _usd


@pytest.mark.parametrize("value, shown", [
    ("0.1", "$0.10"), ("0.10", "$0.10"), ("1", "$1.00"), ("0.105", "$0.105"),
    ("0.21", "$0.21"), (None, "—"), ("1234.5", "$1,234.50"),
])
def test_money_always_shows_cents(value: str | None, shown: str) -> None:
    assert _usd(value) == shown


def test_size_tiers_sort_by_number_not_text() -> None:
    tiers = [{"tier": t, "from": "2026-07-01"} for t in (
        "jail, ADP 1000 and more", "jail, ADP 100 to 349", "prison, any size",
        "jail, ADP 350 to 999", "jail, ADP 0 to 99")]
    assert [t["tier"] for t in _by_size(tiers)] == [
        "jail, ADP 0 to 99", "jail, ADP 100 to 349", "jail, ADP 350 to 999",
        "jail, ADP 1000 and more", "prison, any size"]
