"""Money as a person types it: the one parser for amounts, balances and rates.

Amounts are integer cents. Only ASCII digits count (``"１２"`` and Arabic-Indic digits are
refused: Python's Decimal and int accept them, a keypad or a bank statement does not), and
every amount has one upper bound, so no path can store a balance no other path can read.
"""

from __future__ import annotations

import re
from decimal import Decimal

from privline.domain.errors import InvalidAmount

MAX_CENTS = 100_000_00  # $100,000: a deposit, an opening balance, a balance
MAX_RATE = Decimal("10.00")  # USD per minute; every FCC cap is far below

_AMOUNT = re.compile(r"\$?([0-9]{1,9})(?:\.([0-9]{1,2}))?")
_RATE = re.compile(r"\$?([0-9]{1,3})(?:\.([0-9]{1,4}))?")


def parse_usd(text: str) -> int:
    """``"12.50"`` or ``"$12.5"`` -> 1250 cents; at most :data:`MAX_CENTS`. Refuses
    fractions of a cent, signs, exponents and digits other than ASCII."""
    found = _AMOUNT.fullmatch(text.strip())
    if found is None:
        raise InvalidAmount(f"not an amount of dollars: {text[:40]!r}")
    cents = int(found[1]) * 100 + int((found[2] or "0").ljust(2, "0"))
    return check_cents(cents)


def check_cents(cents: int) -> int:
    """An amount in cents within 0..:data:`MAX_CENTS` (API bodies give cents directly)."""
    if not 0 <= cents <= MAX_CENTS:
        raise InvalidAmount(f"an amount is 0 to ${MAX_CENTS // 100:,}")
    return cents


def parse_rate(text: str) -> Decimal:
    """A per-minute rate in USD, up to four decimals: ``"0.06"`` -> Decimal("0.06")."""
    found = _RATE.fullmatch(text.strip())
    if found is None:
        raise InvalidAmount(f"not a per-minute rate in dollars: {text[:40]!r}")
    rate = Decimal(f"{found[1]}.{found[2] or '0'}")
    if rate > MAX_RATE:
        raise InvalidAmount(f"a per-minute rate is at most ${MAX_RATE}")
    return rate
