"""Statements of compliance: periods, the statement's shape, its checks, canonical bytes.

A statement covers one half-year (``2027-H1`` is 1 January to 30 June 2027, UTC). Its
figures are computed from data up to ``as_of``: the period's end, or the moment of issue
for a period not yet over. It is a tree of plain JSON values (strings, integers,
booleans, lists, objects; money as decimal strings), written as canonical JSON and
signed as those exact bytes, so anyone can recompute it from the data and compare.

Shape (``FORMAT``)::

    format, title, period{label,start,end,as_of,complete}, issued_at, scope, signing,
    summary, checks[], total{figures}, facilities[{id,name,kind,adp,figures}],
    registry{...}, audit{entries_in_period, at_issue{...}}, notes[]

where ``figures`` is calls, private_requests, privileged, warnings, rates, vault,
recording_access, disclosures, location_requests (see
:mod:`privline.domain.compliance_figures`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from privline.domain.errors import InvalidValue

FORMAT = "privline-compliance-statement/1"
TITLE = "Statement of compliance"

_PERIOD = re.compile(r"^(\d{4})-H([12])$")


class InvalidPeriod(InvalidValue):
    code = "invalid_period"


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime  # inclusive, UTC midnight
    end: datetime  # exclusive

    def months(self) -> list[str]:
        first = self.start.month
        return [f"{self.start.year}-{m:02d}" for m in range(first, first + 6)]

    def month_starts(self) -> list[datetime]:
        first = self.start.month
        starts = [datetime(self.start.year, m, 1, tzinfo=UTC) for m in range(first, first + 6)]
        return [*starts, self.end]

    def as_of(self, now: datetime) -> datetime:
        """Figures count what happened before this moment."""
        return min(self.end, now)

    def next(self) -> Period:
        return parse_period(f"{self.start.year + 1}-H1" if self.label.endswith("H2")
                            else f"{self.start.year}-H2")

    def words(self) -> str:
        last = date.fromordinal(self.end.date().toordinal() - 1)
        return f"{_day_words(self.start.date())} to {_day_words(last)}"


def parse_period(text: str) -> Period:
    """``"2027-H1"`` -> 2027-01-01T00:00Z .. 2027-07-01T00:00Z (end exclusive)."""
    found = _PERIOD.match(text.strip())
    if not found:
        raise InvalidPeriod(f"a period is a half-year such as 2027-H1 or 2027-H2, not {text!r}")
    year, half = int(found.group(1)), int(found.group(2))
    if not 2000 <= year <= 2999:
        raise InvalidPeriod(f"year {year} is out of range")
    start = datetime(year, 1 if half == 1 else 7, 1, tzinfo=UTC)
    end = datetime(year, 7, 1, tzinfo=UTC) if half == 1 else datetime(year + 1, 1, 1, tzinfo=UTC)
    return Period(f"{year}-H{half}", start, end)


def period_containing(moment: datetime) -> Period:
    return parse_period(f"{moment.year}-H{1 if moment.month <= 6 else 2}")


def schedule(start: date, years: int) -> list[Period]:
    """The half-years from the one containing ``start``: two a year for ``years`` years."""
    if not 1 <= years <= 50:
        raise InvalidPeriod("years must be 1 to 50")
    first = period_containing(datetime(start.year, start.month, start.day, tzinfo=UTC))
    periods = [first]
    while len(periods) < 2 * years:
        periods.append(periods[-1].next())
    return periods


# --- canonical JSON ---------------------------------------------------------------------


def canonical_bytes(value: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8; refuses anything that is not plain JSON."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("statement keys must be strings")
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    raise TypeError(f"not a plain JSON value: {type(value).__name__}")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- checks -----------------------------------------------------------------------------


NOT_APPLICABLE = "not applicable (0 cases)"


@dataclass(frozen=True)
class Check:
    """One promise checked. ``cases`` is how many things it looked at (None: the check is
    of the whole system, such as the audit log). A check with 0 cases proves nothing:
    it is not applicable, counted apart from passes, and is not a failure either."""

    id: str
    rule: str
    ok: bool
    value: int | str
    expected: int | str
    cases: int | None = None

    @property
    def result(self) -> str:
        if self.cases == 0:
            return NOT_APPLICABLE
        return "passed" if self.ok else "failed"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "rule": self.rule, "ok": self.ok, "value": self.value,
                "expected": self.expected, "cases": self.cases, "result": self.result}


def checks(total: Mapping[str, Any], audit_ok: bool) -> list[Check]:
    """The promises a statement shows kept or broken, from its total figures."""
    privileged = total["privileged"]
    warnings = total["warnings"]
    access = total["recording_access"]
    disclosures = total["disclosures"]
    over_cap = [t for t in total["rates"]["tiers"] if not t["within_cap"]]
    return [
        Check("privileged_calls_not_recorded",
              "Calls to numbers privileged at call time that were recorded must be 0.",
              privileged["recorded"] == 0, privileged["recorded"], 0, privileged["calls"]),
        Check("recorded_calls_warned",
              "Recorded calls with evidence of the opening warning must equal recorded calls.",
              warnings["with_opening_warning"] == warnings["recorded_calls"],
              warnings["with_opening_warning"], warnings["recorded_calls"],
              warnings["recorded_calls"]),
        Check("rates_within_cap",
              "The highest rate charged must not exceed the FCC cap in force.",
              not over_cap, len(over_cap), 0, len(total["rates"]["tiers"])),
        Check("no_other_fees",
              "Fees other than per-minute charges must be 0.",
              total["rates"]["other_fees"]["lines"] == 0,
              total["rates"]["other_fees"]["lines"], 0),
        Check("access_with_reasons",
              "Every access to a recording must state a reason.",
              access["with_stated_reason"] == access["accesses"],
              access["with_stated_reason"], access["accesses"], access["accesses"]),
        Check("disclosures_with_basis",
              "Every disclosure must name its legal basis.",
              disclosures["with_legal_basis"] == disclosures["total"],
              disclosures["with_legal_basis"], disclosures["total"], disclosures["total"]),
        Check("no_location_requests",
              "Location requests must be 0: no feature locates a called party.",
              total["location_requests"] == 0, total["location_requests"], 0),
        Check("audit_log_verifies",
              "The audit log must verify (hash chain and signed checkpoints) at issue time.",
              audit_ok, "ok" if audit_ok else "tampered", "ok"),
    ]


# --- differences ------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    path: str
    stated: Any
    recomputed: Any

    def __str__(self) -> str:
        return f"{self.path}: statement says {_short(self.stated)}, data gives " \
               f"{_short(self.recomputed)}"


def differences(stated: Any, recomputed: Any, path: str = "") -> list[Difference]:
    """Every leaf where two statements differ; lists of objects with ``id`` match by id."""
    if isinstance(stated, Mapping) and isinstance(recomputed, Mapping):
        found: list[Difference] = []
        for key in sorted(set(stated) | set(recomputed)):
            sub = f"{path}.{key}" if path else key
            if key not in stated or key not in recomputed:
                found.append(Difference(sub, stated.get(key), recomputed.get(key)))
            else:
                found += differences(stated[key], recomputed[key], sub)
        return found
    if isinstance(stated, list) and isinstance(recomputed, list):
        if _keyed(stated) and _keyed(recomputed):
            left = {str(x["id"]): x for x in stated}
            right = {str(x["id"]): x for x in recomputed}
            return differences(left, right, path)
        if len(stated) != len(recomputed):
            return [Difference(path, stated, recomputed)]
        found = []
        for i, (a, b) in enumerate(zip(stated, recomputed, strict=True)):
            found += differences(a, b, f"{path}[{i}]")
        return found
    if stated != recomputed or type(stated) is not type(recomputed):
        return [Difference(path, stated, recomputed)]
    return []


def _keyed(items: Sequence[Any]) -> bool:
    return all(isinstance(x, Mapping) and "id" in x for x in items) and \
        len({str(x["id"]) for x in items}) == len(items)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


# --- words ------------------------------------------------------------------------------


def _day_words(day: date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


def count_words(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
