"""The switch's call records: one JSON line per finished (or refused) call.

Until the core holds call records in its database this file is their store; the agent
appends, ``switch calls`` reads. Each line is a complete record, so a reader never sees
half a call.
"""

from __future__ import annotations

import json
import math
import threading
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any, TextIO


def charge_cents(duration_s: float, rate_per_minute: Decimal) -> tuple[int, int]:
    """(billed minutes, charge in cents): minutes rounded up as the FCC caps assume,
    cents rounded down so the charge can never exceed minutes x rate."""
    if duration_s <= 0 or rate_per_minute <= 0:
        return (0 if duration_s <= 0 else math.ceil(duration_s / 60), 0)
    minutes = math.ceil(duration_s / 60)
    cents = (rate_per_minute * 100 * minutes).quantize(Decimal(1), rounding=ROUND_DOWN)
    return minutes, int(cents)


class CallLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._out: TextIO | None = None

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str, sort_keys=True) + "\n"
        with self._lock:
            if self._out is None:
                self._out = self.path.open("a", encoding="utf-8")
            self._out.write(line)
            self._out.flush()  # one whole line per write: readers never see half a call

    def read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        records = []
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a line being written right now
        return records
