"""Call set-ups refused for overload reach the audit log as one event per count: each
refusal counted once, however often the agent counts, restarts or finds the count files
reset; on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from privline.domain.audit_events import AuditAction
from privline.services.errors import Forbidden, InvalidInput
from privline.services.overload import overload_refusals_counted
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import NOW, STAFF
from tests.integration.vault_support import SWITCH


def overload_events(uow: UnitOfWorkFactory) -> list[dict[str, Any]]:
    with uow() as u:
        return [json.loads(e.details) for e in u.audit.entries()
                if e.action == AuditAction.CALL_OVERLOAD_REFUSED]


def test_each_refusal_is_counted_once_in_one_audited_event_per_count(
        uow: UnitOfWorkFactory) -> None:
    assert overload_refusals_counted(uow, SWITCH, total=0, now=NOW) == 0
    assert overload_events(uow) == []  # nothing refused: nothing written
    assert overload_refusals_counted(uow, SWITCH, total=7, now=NOW) == 7
    later = NOW + timedelta(minutes=1)
    # The same total again (an agent restarted, or counting twice): nothing new.
    assert overload_refusals_counted(uow, SWITCH, total=7, now=later) == 0
    assert overload_refusals_counted(uow, SWITCH, total=10, now=later) == 3
    events = overload_events(uow)
    assert [(e["refused"], e["total"]) for e in events] == [(7, 7), (3, 10)]
    assert events[0]["since"] is None and events[1]["since"] == events[0]["until"]
    assert events[1]["until"] == later.isoformat()
    assert not any(e["counter_reset"] for e in events)


def test_a_reset_count_counts_its_new_total(uow: UnitOfWorkFactory) -> None:
    overload_refusals_counted(uow, SWITCH, total=10, now=NOW)
    # The count files went (a new switch home): 4 refusals since, not -6.
    assert overload_refusals_counted(uow, SWITCH, total=4, now=NOW) == 4
    assert [(e["refused"], e["counter_reset"]) for e in overload_events(uow)] == [
        (10, False), (4, True)]


def test_only_the_switch_counts_and_a_negative_count_changes_nothing(
        uow: UnitOfWorkFactory) -> None:
    with pytest.raises(Forbidden):
        overload_refusals_counted(uow, STAFF, total=3, now=NOW)
    with pytest.raises(InvalidInput):
        overload_refusals_counted(uow, SWITCH, total=-1, now=NOW)
    assert overload_events(uow) == []
