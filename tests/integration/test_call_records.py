"""A switched call's record: decision, answer, warnings with evidence, end and bill."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from privline.domain.access import Role
from privline.domain.model import Actor
from privline.domain.policy import CallRequest, Mode
from privline.services import call_log, call_records, calls
from privline.services.errors import Conflict, Forbidden, NotFound
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.records import CallFilter
from tests.conftest import ATTORNEY_NUMBER, AUDITOR, FAMILY_NUMBER, NOW, ROSA, STAFF, World

SWITCH = Actor("switch", Role.SWITCH)


def place(uow: UnitOfWorkFactory, sip_call_id: str, to: str) -> Mode:
    return calls.decide_call(uow, SWITCH, CallRequest("state-prison", ROSA, to), now=NOW,
                             sip_call_id=sip_call_id).mode


def balance(uow: UnitOfWorkFactory) -> int:
    with uow() as u:
        return u.accounts.balance(ROSA)


def test_recorded_call_keeps_its_warnings_and_is_billed_by_the_minute(
        uow: UnitOfWorkFactory, world: World) -> None:
    assert place(uow, "sip-1@test", FAMILY_NUMBER) is Mode.RECORDED
    answered = NOW + timedelta(seconds=3)
    call_records.call_answered(uow, SWITCH, "sip-1@test", at=answered)
    call_records.warning_played(uow, SWITCH, "sip-1@test", prompt="recording_warning",
                                at=answered, evidence={"result": "ok", "duration": 3900})
    call_records.warning_played(uow, SWITCH, "sip-1@test", prompt="recording_reminder",
                                at=answered + timedelta(minutes=5), evidence={"result": "ok"})
    record = call_records.call_ended(uow, SWITCH, "sip-1@test",
                                     at=answered + timedelta(seconds=301), reason="bye")
    assert (record.duration_s, record.charge_cents) == (301, 66)  # 6 minutes at $0.11
    assert [w.prompt for w in record.warnings] == ["recording_warning", "recording_reminder"]
    assert record.warnings[0].evidence == {"result": "ok", "duration": 3900}
    assert balance(uow) == 2000 - 66
    with uow() as u:  # the agent's read per event leaves the warnings out; get has them
        life, full = u.calls.life("sip-1@test"), u.calls.get("sip-1@test")
    assert life is not None and full is not None
    assert (life.warnings, full.warnings) == ((), record.warnings)
    assert life == replace(full, warnings=())
    # A second BYE changes nothing and bills nothing.
    again = call_records.call_ended(uow, SWITCH, "sip-1@test", at=answered + timedelta(hours=1),
                                    reason="bye")
    assert again.charge_cents == 66 and balance(uow) == 2000 - 66


def test_private_call_costs_nothing(uow: UnitOfWorkFactory, world: World) -> None:
    assert place(uow, "sip-2@test", ATTORNEY_NUMBER) is Mode.PRIVATE
    call_records.call_answered(uow, SWITCH, "sip-2@test", at=NOW)
    record = call_records.call_ended(uow, SWITCH, "sip-2@test", at=NOW + timedelta(minutes=9),
                                     reason="bye")
    assert record.charge_cents == 0 and record.duration_s == 540
    assert balance(uow) == 2000


def test_unanswered_call_costs_nothing(uow: UnitOfWorkFactory, world: World) -> None:
    place(uow, "sip-3@test", FAMILY_NUMBER)
    record = call_records.call_ended(uow, SWITCH, "sip-3@test", at=NOW, reason="486 busy")
    assert (record.duration_s, record.charge_cents) == (0, 0)


def test_a_call_id_is_decided_once(uow: UnitOfWorkFactory, world: World) -> None:
    place(uow, "sip-4@test", FAMILY_NUMBER)
    with pytest.raises(Conflict):
        place(uow, "sip-4@test", ATTORNEY_NUMBER)


def test_faults_are_kept_and_calls_listed(uow: UnitOfWorkFactory, world: World) -> None:
    place(uow, "sip-5@test", FAMILY_NUMBER)
    call_records.call_fault(uow, SWITCH, "sip-5@test", at=NOW, fault="recording missing")
    listed = call_log.search(uow, AUDITOR, CallFilter()).items
    assert [(c.record.sip_call_id, c.record.fault) for c in listed if c.record] == [
        ("sip-5@test", "recording missing")]


def test_only_the_switch_or_an_admin_reports_call_events(uow: UnitOfWorkFactory, world: World
                                                         ) -> None:
    place(uow, "sip-6@test", FAMILY_NUMBER)
    with pytest.raises(Forbidden):
        call_records.call_answered(uow, STAFF, "sip-6@test", at=NOW)
    with pytest.raises(NotFound):
        call_records.call_answered(uow, SWITCH, "nope", at=NOW)
