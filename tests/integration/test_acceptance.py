"""The called party's side of the voice menu in the records: billed from acceptance,
refusals unbilled, and the block a called party adds with 6 (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from privline.domain.policy import CallRequest, Reason
from privline.services import calls
from privline.services.blocks import called_party_block
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import ATTORNEY_NUMBER, FAMILY_NUMBER, NOW, PRISON, ROSA, World
from tests.integration.test_call_events import SWITCH, apply, place, state


def test_a_menu_call_is_billed_from_acceptance_not_from_the_sip_answer(
        uow: UnitOfWorkFactory, world: World) -> None:
    place(uow, "a-1@test")
    answered = (NOW + timedelta(seconds=1)).isoformat()
    assert apply(uow, "a-1@test", "answered", 41, accepted=True, answered_at=answered)
    apply(uow, "a-1@test", "bye", 101)
    assert state(uow, "a-1@test")[:4] == (60, 11, "hangup", 11)  # 60 s from acceptance
    with uow() as u:
        record = u.calls.get("a-1@test")
    assert record is not None and record.answered_at == NOW + timedelta(seconds=1)
    assert record.accepted_at == NOW + timedelta(seconds=41)


def test_a_menu_call_refused_by_the_called_party_is_never_billed(
        uow: UnitOfWorkFactory, world: World) -> None:
    place(uow, "a-2@test")
    apply(uow, "a-2@test", "refused", 20, reason="called_party_refused", code=603)
    apply(uow, "a-2@test", "bye", 22)  # the phone's BYE, journalled by Kamailio
    assert state(uow, "a-2@test")[:4] == (0, 0, "refused", 0)


def test_six_blocks_an_ordinary_number_once_and_never_a_privileged_one(
        uow: UnitOfWorkFactory, world: World) -> None:
    before = _audit_count(uow)
    assert called_party_block(uow, SWITCH, facility_id=PRISON.id, number=FAMILY_NUMBER,
                              now=NOW)
    assert called_party_block(uow, SWITCH, facility_id=PRISON.id, number=FAMILY_NUMBER,
                              now=NOW)
    assert _audit_count(uow) == before + 1  # one block, one audit event
    assert not called_party_block(uow, SWITCH, facility_id=PRISON.id, number=ATTORNEY_NUMBER,
                                  now=NOW)
    decided = calls.decide_call(uow, SWITCH, CallRequest(PRISON.id, ROSA, FAMILY_NUMBER),
                                now=NOW)
    assert decided.reason is Reason.NUMBER_BLOCKED
    privileged = calls.decide_call(uow, SWITCH, CallRequest(PRISON.id, ROSA, ATTORNEY_NUMBER),
                                   now=NOW)
    assert privileged.reason is Reason.PRIVILEGED


def _audit_count(uow: UnitOfWorkFactory) -> int:
    with uow() as u:
        return u.audit.count()
