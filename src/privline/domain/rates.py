"""FCC per-minute rate caps, as data.

Each row is one order's cap for one band of facilities from one date. A new order is a
new row: the cap in force is the latest row that covers the facility and has started.
Sizes are average daily population (ADP). Amounts are US dollars per minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from privline.domain.errors import NoRateCap


class FacilityKind(StrEnum):
    PRISON = "prison"
    JAIL = "jail"


@dataclass(frozen=True)
class RateCap:
    order: str
    effective_from: date
    kind: FacilityKind
    adp_min: int
    adp_max: int | None  # inclusive; None = no upper bound
    per_minute: Decimal

    def covers(self, kind: FacilityKind, adp: int) -> bool:
        upper_ok = self.adp_max is None or adp <= self.adp_max
        return self.kind is kind and self.adp_min <= adp and upper_ok


_P, _J = FacilityKind.PRISON, FacilityKind.JAIL
_D = Decimal

FCC_CAPS: tuple[RateCap, ...] = (
    # 2021 interim caps (FCC 21-60), in force from 2021-10-26.
    RateCap("FCC 21-60", date(2021, 10, 26), _P, 0, None, _D("0.12")),
    RateCap("FCC 21-60", date(2021, 10, 26), _J, 1000, None, _D("0.14")),
    RateCap("FCC 21-60", date(2021, 10, 26), _J, 0, 999, _D("0.21")),
    # 2024 order (FCC 24-75): prisons and large jails from 2025-01-01 ...
    RateCap("FCC 24-75", date(2025, 1, 1), _P, 0, None, _D("0.06")),
    RateCap("FCC 24-75", date(2025, 1, 1), _J, 1000, None, _D("0.06")),
    # ... smaller jails from 2025-04-01.
    RateCap("FCC 24-75", date(2025, 4, 1), _J, 350, 999, _D("0.07")),
    RateCap("FCC 24-75", date(2025, 4, 1), _J, 100, 349, _D("0.09")),
    RateCap("FCC 24-75", date(2025, 4, 1), _J, 0, 99, _D("0.12")),
    # 2025 order, in force from 2026-04-06.
    RateCap("FCC 2025", date(2026, 4, 6), _P, 0, None, _D("0.11")),
    RateCap("FCC 2025", date(2026, 4, 6), _J, 1000, None, _D("0.10")),
    RateCap("FCC 2025", date(2026, 4, 6), _J, 350, 999, _D("0.12")),
    RateCap("FCC 2025", date(2026, 4, 6), _J, 100, 349, _D("0.13")),
    RateCap("FCC 2025", date(2026, 4, 6), _J, 50, 99, _D("0.15")),
    RateCap("FCC 2025", date(2026, 4, 6), _J, 0, 49, _D("0.19")),
)


@lru_cache(maxsize=1024)
def cap_in_force(
    kind: FacilityKind, adp: int, on: date, table: tuple[RateCap, ...] = FCC_CAPS
) -> RateCap:
    """The cap that applies to a facility of ``kind`` and size ``adp`` on ``on``.
    Remembered: every call decision asks, nearly always the same question, and a table
    is an immutable tuple (a missing cap raises, and an exception is not remembered)."""
    candidates = [c for c in table if c.covers(kind, adp) and c.effective_from <= on]
    if not candidates:
        raise NoRateCap(f"no rate cap covers a {kind} of {adp} on {on.isoformat()}")
    return max(candidates, key=lambda c: c.effective_from)


def charge_cents(seconds: int, per_minute: Decimal) -> int:
    """What a call of ``seconds`` costs: minutes rounded up, cents rounded down.

    Rounding the cents down means the charge can never exceed minutes x cap.
    """
    if seconds <= 0:
        return 0
    minutes = -(-seconds // 60)
    return int((per_minute * 100 * minutes).to_integral_value(rounding="ROUND_FLOOR"))
