"""A compliance statement over calls placed through the real call path (Kamailio,
rtpengine, sipp): its figures match the call records, no privileged call was recorded,
every recorded call has its opening warning, and `report verify` accepts it."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import ATTORNEY, ORDINARY, PINS
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def test_statement_over_switched_calls_matches_the_records(stack: Stack,
                                                           tmp_path: Path) -> None:
    calls = stack.sipp_calls([("f1", "r1", "1234", "0", ATTORNEY),
                              ("f1", "r2", PINS["r2"], "0", ORDINARY)], pause_ms=3000)
    assert calls.proc.returncode == 0, calls.errors
    stack.wait_records(calls.call_ids)
    # The statement is checked by recomputing it from the records: build it once no
    # call of the period (other tests' too) can still change.
    stack.wait_until("every call closed", lambda: all(
        c["ended_at"] for c in stack.calls_list().values()))
    now = datetime.now(UTC)
    period = f"{now.year}-H{1 if now.month <= 6 else 2}"
    out = tmp_path / "statement"
    stack.privline("report", "compliance", "--period", period, "--out", str(out))
    statement = json.loads((out / "statement.json").read_text())
    total = statement["total"]

    listed = stack.calls_list()
    modes = Counter(c["mode"] for c in listed.values())
    assert total["calls"]["by_mode"] == {m: modes[m] for m in ("denied", "private", "recorded")}
    assert total["calls"]["by_mode"]["private"] >= 1
    assert total["calls"]["by_mode"]["recorded"] >= 1
    assert total["privileged"]["calls"] >= 1 and total["privileged"]["recorded"] == 0
    # Figures recomputed from the call records themselves (other e2e tests end some
    # recorded calls on purpose, so the two must agree rather than be equal to a constant).
    recorded = [c for c in listed.values() if c["mode"] == "recorded" and c["answered_at"]]
    warned = [c for c in recorded
              if "recording_warning" in [w["prompt"] for w in c["warnings"]]]
    assert total["warnings"]["recorded_calls"] == len(recorded) >= 1
    assert total["warnings"]["with_opening_warning"] == len(warned)
    ours = listed[calls.call_ids[1]]
    assert ours["mode"] == "recorded" and ours in warned
    assert total["rates"]["other_fees"]["cents"] == 0 and total["location_requests"] == 0

    verified = stack.privline("report", "verify", str(out))
    assert "VERIFIED" in verified.stdout
