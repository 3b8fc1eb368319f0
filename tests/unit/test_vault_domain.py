"""The vault's pure rules: the ingest guard's verdict and a facility's periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from privline.domain.registry import Privilege
from privline.domain.vault import IngestVerdict, VaultPolicy, ingest_verdict

P, N, U = Privilege.PRIVILEGED, Privilege.NOT_PRIVILEGED, Privilege.UNKNOWN


@pytest.mark.parametrize("recorded, at_call, now, verdict", [
    (True, N, N, IngestVerdict.STORE),
    (True, P, N, IngestVerdict.DESTROY_PRIVILEGED),  # privileged then, lapsed since
    (True, N, P, IngestVerdict.DESTROY_PRIVILEGED),  # verified after the call
    (False, P, P, IngestVerdict.DESTROY_PRIVILEGED),
    (False, N, N, IngestVerdict.DESTROY_NOT_RECORDED),  # decided private or denied
    (False, U, U, IngestVerdict.DESTROY_NOT_RECORDED),
    (True, U, N, IngestVerdict.HOLD_BACK),  # never stored silently
    (True, N, U, IngestVerdict.HOLD_BACK),
    (True, U, P, IngestVerdict.DESTROY_PRIVILEGED),  # privileged wins over unknown
])
def test_the_guard_stores_only_recorded_calls_never_privileged(
        recorded: bool, at_call: Privilege, now: Privilege, verdict: IngestVerdict) -> None:
    assert ingest_verdict(decided_recorded=recorded, at_call=at_call, now=now) is verdict


def test_periods_count_from_quarantine_and_from_the_call() -> None:
    at = datetime(2027, 3, 1, tzinfo=UTC)
    policy = VaultPolicy(review_days=30, retention_days=90)
    assert policy.destroy_after(at) == at + timedelta(days=30)
    assert policy.retention_cutoff(at) == at - timedelta(days=90)
    assert VaultPolicy().problems() == []
    assert len(VaultPolicy(review_days=-1, retention_days=0).problems()) == 2
