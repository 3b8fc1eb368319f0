"""The FCC cap in force depends on the facility's kind, size and the call's date."""

from datetime import date
from decimal import Decimal

import pytest

from privline.domain.errors import NoRateCap
from privline.domain.rates import FCC_CAPS, FacilityKind, RateCap, cap_in_force, charge_cents

P, J = FacilityKind.PRISON, FacilityKind.JAIL


@pytest.mark.parametrize(("kind", "adp", "on", "cap"), [
    (P, 5000, date(2022, 1, 1), "0.12"),
    (J, 1000, date(2022, 1, 1), "0.14"),
    (J, 999, date(2022, 1, 1), "0.21"),
    (P, 5000, date(2025, 1, 1), "0.06"),
    (J, 1500, date(2025, 1, 1), "0.06"),
    # Small jails stay on the 2021 cap until 2025-04-01.
    (J, 500, date(2025, 3, 31), "0.21"),
    (J, 500, date(2025, 4, 1), "0.07"),
    (J, 349, date(2025, 4, 1), "0.09"),
    (J, 100, date(2025, 4, 1), "0.09"),
    (J, 99, date(2025, 4, 1), "0.12"),
    (J, 0, date(2025, 4, 1), "0.12"),
    (P, 5000, date(2026, 4, 5), "0.06"),
    (P, 5000, date(2026, 4, 6), "0.11"),
    (J, 1000, date(2026, 4, 6), "0.10"),
    (J, 350, date(2026, 4, 6), "0.12"),
    (J, 349, date(2026, 4, 6), "0.13"),
    (J, 99, date(2026, 4, 6), "0.15"),
    (J, 50, date(2026, 4, 6), "0.15"),
    (J, 49, date(2026, 4, 6), "0.19"),
    (J, 0, date(2027, 1, 1), "0.19"),
])
def test_cap_in_force(kind: FacilityKind, adp: int, on: date, cap: str) -> None:
    assert cap_in_force(kind, adp, on).per_minute == Decimal(cap)


def test_no_cap_before_the_first_order() -> None:
    with pytest.raises(NoRateCap):
        cap_in_force(P, 100, date(2020, 1, 1))


def test_a_new_order_is_a_new_row() -> None:
    new = RateCap("FCC 2030", date(2030, 1, 1), P, 0, None, Decimal("0.05"))
    table = (*FCC_CAPS, new)
    assert cap_in_force(P, 10, date(2029, 12, 31), table).per_minute == Decimal("0.11")
    assert cap_in_force(P, 10, date(2030, 1, 1), table) is new


def test_every_size_of_every_kind_has_exactly_one_band_per_order() -> None:
    for order in {c.order for c in FCC_CAPS}:
        for kind in FacilityKind:
            rows = [c for c in FCC_CAPS if c.order == order and c.kind is kind]
            if not rows:
                continue
            for adp in range(3000):
                assert sum(c.covers(kind, adp) for c in rows) == 1, (order, kind, adp)


@pytest.mark.parametrize(("seconds", "rate", "cents"), [
    (0, "0.11", 0), (1, "0.11", 11), (60, "0.11", 11), (61, "0.11", 22), (600, "0.06", 60),
    (90, "0.065", 13),  # 2 minutes x 6.5 cents = 13
    (60, "0.0675", 6),  # rounded down: never more than minutes x rate
])
def test_charge_rounds_minutes_up_and_cents_down(seconds: int, rate: str, cents: int) -> None:
    assert charge_cents(seconds, Decimal(rate)) == cents
