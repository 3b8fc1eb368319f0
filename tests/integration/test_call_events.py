"""The switch's call events applied to the records: exactly once through replays, in any
order, refusals kept, why a call ended, and the switch's writes getting the audit log's
automatic checkpoints."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from privline.adapters.switch import announcer as announcer_module
from privline.adapters.switch.agent import Reconciler, to_event
from privline.adapters.switch.announcer import Announcer
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.journal import JournalReader
from privline.adapters.switch.ng import AsyncNgClient
from privline.adapters.switch.records import CallRecords
from privline.adapters.switch.testing import FakeKSR, Message, MockRtpengine
from privline.bootstrap import bootstrap
from privline.domain.access import Role
from privline.domain.model import Actor, CallRecord
from privline.domain.policy import CallRequest
from privline.entrypoints.kamailio_app import build_router
from privline.entrypoints.switch_agent import build_records
from privline.services import call_log, call_records, calls, facilities
from privline.services.call_events import CallEvent, apply_call_event, apply_call_events
from privline.services.errors import Conflict, Unavailable
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.calls import CallRefusal
from privline.services.ports.records import CallFilter
from privline.settings import Settings
from tests.conftest import ADMIN, FAMILY_NUMBER, NOW, PRISON, ROSA, ROSA_PIN, STAFF, World

SWITCH = Actor("switch", Role.SWITCH)


def place(uow: UnitOfWorkFactory, sip: str, to: str = FAMILY_NUMBER) -> None:
    calls.decide_call(uow, SWITCH, CallRequest("state-prison", ROSA, to), now=NOW,
                      sip_call_id=sip)


def apply(uow: UnitOfWorkFactory, sip: str, kind: str, seconds: float, **data: object
          ) -> bool:
    return apply_call_event(uow, SWITCH, CallEvent(sip, kind, NOW + timedelta(seconds=seconds),
                                                   0, data), minute_seconds=60)


def state(uow: UnitOfWorkFactory, sip: str) -> tuple[object, ...]:
    with uow() as u:
        r = u.calls.get(sip)
        assert r is not None
        return (r.duration_s, r.charge_cents, r.end_reason, -u.accounts.charged_for(sip),
                u.audit.count())


def refusals(uow: UnitOfWorkFactory) -> list[CallRefusal]:
    """The call log's refusals before any decision, as `privline calls list` shows them."""
    page = call_log.search(uow, ADMIN, CallFilter(mode=call_log.REFUSED))
    return [row.refusal for row in page.items if row.refusal is not None]


def test_replayed_events_change_nothing(uow: UnitOfWorkFactory, world: World) -> None:
    place(uow, "e-1@test")
    assert apply(uow, "e-1@test", "answered", 2)
    assert apply(uow, "e-1@test", "bye", 125)
    once = state(uow, "e-1@test")
    assert once[:4] == (123, 33, "hangup", 33)  # 3 minutes at $0.11
    for kind, at in (("answered", 2), ("bye", 125), ("ended", 126)):
        apply(uow, "e-1@test", kind, at)
    apply(uow, "e-1@test", "ended", 126)
    assert state(uow, "e-1@test") == (*once[:4], once[4] + 0)  # no new audit event either


def test_an_answer_that_arrives_after_the_end_is_billed_once(uow: UnitOfWorkFactory,
                                                             world: World) -> None:
    """Each Kamailio worker has its own journal file: a call's events can cross."""
    place(uow, "e-2@test")
    apply(uow, "e-2@test", "ended", 61)
    assert state(uow, "e-2@test")[:2] == (0, 0)
    apply(uow, "e-2@test", "answered", 1)
    assert state(uow, "e-2@test")[:4] == (60, 11, "hangup", 11)


def test_a_refusal_before_any_decision_is_a_record_with_its_audit_event(
    uow: UnitOfWorkFactory, world: World,
) -> None:
    for _ in range(2):
        apply(uow, "e-3@test", "refused", 0, reason="pin_required", code=403,
              facility="state-prison", resident=ROSA, dialled="2125550100")
    (refusal,) = refusals(uow)
    assert (refusal.sip_call_id, refusal.reason, refusal.sip_code, refusal.resident_id) == (
        "e-3@test", "pin_required", 403, ROSA)
    with uow() as u:
        events = [e for e in u.audit.entries() if e.action == "call.refuse"]
    assert len(events) == 1 and json.loads(events[0].details)["reason"] == "pin_required"


def test_a_decided_call_refused_is_closed_as_refused_never_billed(
    uow: UnitOfWorkFactory, world: World,
) -> None:
    place(uow, "e-4@test")
    apply(uow, "e-4@test", "refused", 1, reason="recording_fault", code=500, fault=True)
    with uow() as u:
        record = u.calls.get("e-4@test")
    assert record is not None
    assert (record.end_reason, record.fault, record.charge_cents) == (
        "refused", "recording_fault", 0)
    assert refusals(uow) == []


@pytest.mark.parametrize(("seconds", "fault", "reason"), [
    (14.5, None, "hangup"), (15 * 60, None, "max_minutes"), (30, "recording_file_vanished",
                                                             "fault")])
def test_why_a_dialog_ended(uow: UnitOfWorkFactory, world: World, seconds: float,
                            fault: str | None, reason: str) -> None:
    place(uow, "e-5@test")  # the prison allows 15 minutes
    apply(uow, "e-5@test", "answered", 0)
    if fault:
        call_records.call_fault(uow, SWITCH, "e-5@test", at=NOW, fault=fault)
    apply(uow, "e-5@test", "ended", seconds)
    assert state(uow, "e-5@test")[2] == reason


@pytest.mark.parametrize(("fault", "reason"), [(None, "hangup"),
                                               ("recording_file_vanished", "fault")])
def test_a_bye_ends_a_call_as_a_hangup_unless_a_fault_was_noted_first(
        uow: UnitOfWorkFactory, world: World, fault: str | None, reason: str) -> None:
    """The voice menu's BYEs for a fault pass Kamailio's request route as a "bye"."""
    place(uow, "e-9@test")
    apply(uow, "e-9@test", "answered", 0)
    if fault:
        call_records.call_fault(uow, SWITCH, "e-9@test", at=NOW, fault=fault)
    apply(uow, "e-9@test", "bye", 20)
    assert state(uow, "e-9@test")[2] == reason


def test_a_call_the_switch_lost_is_closed_as_interrupted_once(
    uow: UnitOfWorkFactory, world: World, tmp_path: Path,
) -> None:
    place(uow, "e-6@test")
    # Answered just now (the reconciler looks at the real clock): far from its limit.
    apply(uow, "e-6@test", "answered", (datetime.now(UTC) - NOW).total_seconds() - 5)
    records = CallRecords(uow, 60)
    engine = MockRtpengine()  # restarted: knows no call

    async def rounds() -> list[int]:
        transport, port = await engine.serve()
        ng = await AsyncNgClient.connect("127.0.0.1", port)
        cfg = SwitchConfig.from_settings(Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}))
        reconciler = Reconciler(ng, records, Announcer(cfg, ng, records))
        try:
            return [await reconciler.run_once(min_age_s=0) for _ in range(3)]
        finally:
            ng.close()
            transport.close()

    assert asyncio.run(rounds()) == [0, 1, 0]  # a suspect first, closed on the second look
    assert state(uow, "e-6@test")[2] == "interrupted"


def test_a_call_lost_after_its_limit_is_closed_at_the_limit_as_max_minutes(
        uow: UnitOfWorkFactory, world: World) -> None:
    """Kamailio's timer ended it at max_minutes but its dialog-end report never came: the
    record says max_minutes and bills to the limit, not to when the loss was noticed."""
    place(uow, "e-6b@test")
    with uow() as u:
        record = u.calls.get("e-6b@test")
        assert record is not None and record.max_minutes > 0
        limit_s = record.max_minutes * 60
    apply(uow, "e-6b@test", "answered", 0)
    assert apply(uow, "e-6b@test", "interrupted", limit_s + 45)
    duration, _, reason, charged, _ = state(uow, "e-6b@test")
    assert reason == "max_minutes" and duration == limit_s
    place(uow, "e-6c@test")
    apply(uow, "e-6c@test", "answered", 0)
    assert apply(uow, "e-6c@test", "interrupted", 30)  # before its limit: truly lost
    assert state(uow, "e-6c@test")[2] == "interrupted"


def test_the_agent_retries_while_the_database_is_unavailable(uow: UnitOfWorkFactory,
                                                             world: World) -> None:
    place(uow, "e-7@test")
    failures = [Unavailable("locked"), Unavailable("locked")]

    def flaky() -> UnitOfWork:
        if failures:
            raise failures.pop()
        return uow()

    records = CallRecords(flaky, 60)
    event = CallEvent("e-7@test", "answered", NOW)
    assert asyncio.run(records.apply(event)) is True and failures == []
    records.close()


def test_twenty_switch_events_make_four_automatic_checkpoints(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Regression (issue 9): the routing and the agent built their store without the
    signer, so none of the switch's audit events ever made a checkpoint."""
    monkeypatch.setenv("PRIVLINE_AUDIT_CHECKPOINT_EVERY", "5")
    settings = Settings.from_env()
    rt = bootstrap(settings, create=True)
    facilities.add_facility(rt.uow, ADMIN, PRISON, now=NOW)
    facilities.add_resident(rt.uow, STAFF, facility_id=PRISON.id, resident_id=ROSA,
                            pin=ROSA_PIN, opening_balance_cents=2000, now=NOW)
    cfg = SwitchConfig.from_settings(settings)
    cfg.run_dir.mkdir(parents=True)
    cfg.journal_dir.mkdir(parents=True)
    cfg.heartbeat.touch()
    ksr = FakeKSR(MockRtpengine(cfg.recording_dir))
    router = build_router(ksr)  # the routing as Kamailio's mod_init builds it
    records = build_records(settings)  # the agent's writer as its process builds it
    with rt.uow() as u:
        before_events, before_checkpoints = u.audit.count(), len(u.audit.checkpoints())
    for n in range(5):  # 5 calls x (decide, answer, end, charge) = 20 audit events
        sip = f"cp-{n}@test"
        ksr.message(Message(call_id=sip, ruri_user="2125550100", headers={
            "X-Privline-Facility": PRISON.id, "X-Privline-Resident": ROSA,
            "X-Privline-PIN": ROSA_PIN}))
        router.request()
        assert ksr.relayed, ksr.log
        for kind, at in (("answered", 1), ("bye", 30)):
            assert asyncio.run(records.apply(CallEvent(sip, kind, NOW + timedelta(seconds=at))))
    records.close()
    with rt.uow() as u:
        assert u.audit.count() - before_events == 20
        assert len(u.audit.checkpoints()) - before_checkpoints == 4


def test_a_late_answer_after_kamailios_timeout_reopens_the_call(uow: UnitOfWorkFactory,
                                                                world: World) -> None:
    """Kamailio's INVITE timer fired (408, `failed`) and then the far end's 200 was
    relayed: the call connected, and its BYE bills it, once."""
    place(uow, "e-8@test")
    apply(uow, "e-8@test", "failed", 10, code=408)
    assert state(uow, "e-8@test")[2] == "unanswered"
    apply(uow, "e-8@test", "answered", 11)
    with uow() as u:
        record = u.calls.get("e-8@test")
    assert record is not None and record.ended_at is None and record.answered_at is not None
    apply(uow, "e-8@test", "bye", 71)
    assert state(uow, "e-8@test")[:4] == (60, 11, "hangup", 11)


def test_a_batch_in_one_transaction_applies_each_event_exactly_once(
    uow: UnitOfWorkFactory, world: World,
) -> None:
    place(uow, "e-b1@test")
    place(uow, "e-b2@test")
    batch = [CallEvent("e-b1@test", "answered", NOW + timedelta(seconds=2)),
             CallEvent("e-b2@test", "ended", NOW + timedelta(seconds=61)),
             CallEvent("e-b1@test", "bye", NOW + timedelta(seconds=125)),
             CallEvent("e-b2@test", "answered", NOW + timedelta(seconds=1)),
             CallEvent("e-b1@test", "ended", NOW + timedelta(seconds=126))]
    assert apply_call_events(uow, SWITCH, batch, minute_seconds=60) == (5, 5)
    first = state(uow, "e-b1@test")
    assert first[:4] == (123, 33, "hangup", 33)
    assert state(uow, "e-b2@test")[:4] == (60, 11, "hangup", 11)
    # A replayed batch (the agent killed before it saved its offsets) changes nothing.
    assert apply_call_events(uow, SWITCH, batch, minute_seconds=60) == (5, 0)
    assert state(uow, "e-b1@test") == first


class DecisionWaiting:
    """A unit of work that always sees another writer waiting for the lock."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner

    def __enter__(self) -> DecisionWaiting:
        self.entered = self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.entered, name)

    def others_waiting(self) -> bool:
        return True


def test_a_batch_gives_way_to_a_waiting_writer_after_each_event(
    uow: UnitOfWorkFactory, world: World,
) -> None:
    place(uow, "e-b5@test")
    batch = [CallEvent("e-b5@test", "answered", NOW + timedelta(seconds=2)),
             CallEvent("e-b5@test", "bye", NOW + timedelta(seconds=62))]
    waiting = lambda: DecisionWaiting(uow())  # noqa: E731
    assert apply_call_events(waiting, SWITCH, batch, minute_seconds=60) == (1, 1)
    with uow() as u:
        record = u.calls.get("e-b5@test")
        assert record is not None and record.answered_at is not None  # committed
        assert record.ended_at is None  # the rest waits for the next turn
    records = CallRecords(waiting, 60)  # type: ignore[arg-type]
    try:
        assert asyncio.run(records.apply_all(batch)) == 1  # the answer is applied already
    finally:
        records.close()
    assert state(uow, "e-b5@test")[:3] == (60, 11, "hangup")


def test_a_batch_with_a_refused_event_writes_nothing_and_the_agent_applies_the_rest(
    uow: UnitOfWorkFactory, world: World,
) -> None:
    place(uow, "e-b3@test")
    calls.decide_call(uow, SWITCH, CallRequest("state-prison", ROSA, FAMILY_NUMBER,
                                               pin="0000"), now=NOW, sip_call_id="e-b4@test")
    with uow() as u:
        denied = u.calls.get("e-b4@test")
        audit_before = u.audit.count()
    assert denied is not None and denied.mode == "denied"
    good = CallEvent("e-b3@test", "answered", NOW + timedelta(seconds=2))
    refused = CallEvent("e-b4@test", "answered", NOW + timedelta(seconds=2))
    with pytest.raises(Conflict):
        apply_call_events(uow, SWITCH, [good, refused], minute_seconds=60)
    with uow() as u:
        assert u.audit.count() == audit_before
        record = u.calls.get("e-b3@test")
        assert record is not None and record.answered_at is None
    records = CallRecords(uow, 60)
    try:
        assert asyncio.run(records.apply_all([good, refused])) == 1
    finally:
        records.close()
    with uow() as u:
        record = u.calls.get("e-b3@test")
        assert record is not None and record.answered_at == good.at
    assert not apply(uow, "e-b3@test", "answered", 2)  # its key was claimed with it


def answer_recorded_call(uow: UnitOfWorkFactory, cfg: SwitchConfig, engine: MockRtpengine,
                         call_id: str, decided: dict[str, Any], *, then_bye: bool = False
                         ) -> CallRecord:
    """The announcer told of a recorded call's decision and answer, against ``engine``;
    with ``then_bye``, its BYE once the answer's first task is done. The record after."""
    records = CallRecords(uow, 60)

    async def answered() -> None:
        transport, port = await engine.serve()
        ng = await AsyncNgClient.connect("127.0.0.1", port)
        announcer = Announcer(cfg, ng, records)
        try:
            announcer.decided({"call_id": call_id, "mode": "recorded", "from_tag": "a",
                               **decided})
            announcer.answered({"call_id": call_id, "to_tag": "b"})
            tasks = announcer.calls[call_id].tasks
            await asyncio.gather(*(tasks[:1] if then_bye else tasks))
            if then_bye:
                announcer.ended(call_id, delete_media=False)
        finally:
            ng.close()
            transport.close()

    cfg.journal_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(answered())
    finally:
        records.close()
    # The warnings it played are journal lines, applied as the agent's intake does.
    journalled = [to_event(e.event) for e in JournalReader(cfg.journal_dir).pending()]
    apply_call_events(uow, SWITCH, [e for e in journalled if e is not None])
    with uow() as u:
        record = u.calls.get(call_id)
    assert record is not None
    return record


@pytest.mark.parametrize("still_up", [True, False])
def test_a_recorded_call_without_its_pcap_is_a_fault_only_while_rtpengine_has_it(
    uow: UnitOfWorkFactory, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    still_up: bool,
) -> None:
    """The spool has no pcap for an answered recorded call. rtpengine still has the call:
    a fault, and the call is ended. rtpengine no longer has it: the call ended and its
    finished recording was swept before its end reached the agent: no fault."""
    monkeypatch.setattr(announcer_module, "END_TRIES", 1)
    monkeypatch.setattr(announcer_module, "END_WAIT_S", 0)
    place(uow, "e-f1@test")
    cfg = SwitchConfig.from_settings(Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}))
    cfg.run_dir.mkdir(parents=True)  # Kamailio's RPC socket would be there: nobody answers
    engine = MockRtpengine()  # never writes a pcap
    if still_up:
        engine.handle({"command": "offer", "call-id": "e-f1@test", "flags": []})
    record = answer_recorded_call(uow, cfg, engine, "e-f1@test", {})
    if still_up:
        assert (record.fault, record.end_reason) == ("recording_missing_at_answer", "fault")
    else:
        assert (record.fault, record.ended_at) == (None, None)
    assert [c["command"] for c in engine.commands if c["command"] == "query"] == ["query"]


class _PlayRefused(MockRtpengine):
    """rtpengine that has the call but will not play to it."""

    def handle(self, message: Any) -> dict[str, Any]:
        if message.get("command") == "play media" and message.get("call-id") in self.calls:
            self.commands.append(dict(message))
            return {"result": "error", "error-reason": "Failed to start media playback"}
        return super().handle(message)


@pytest.mark.parametrize("still_up", [True, False])
def test_a_warning_not_played_is_a_fault_only_while_rtpengine_has_the_call(
    uow: UnitOfWorkFactory, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    still_up: bool,
) -> None:
    """A recorded call is answered and its warning cannot be played. rtpengine still has
    the call: a fault, and the call is ended. rtpengine deleted it (the parties hung up
    at once, the BYE reached rtpengine before the agent's block): no media flows, so
    nothing went unwarned: no fault, and the BYE closes the record as usual."""
    monkeypatch.setattr(announcer_module, "END_TRIES", 1)
    monkeypatch.setattr(announcer_module, "END_WAIT_S", 0)
    place(uow, "e-w1@test")
    cfg = SwitchConfig.from_settings(Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}))
    cfg.run_dir.mkdir(parents=True)  # Kamailio's RPC socket would be there: nobody answers
    engine = _PlayRefused(cfg.recording_dir)
    engine.handle({"command": "offer", "call-id": "e-w1@test", "flags": ["record-call=yes"]})
    if not still_up:
        engine.handle({"command": "delete", "call-id": "e-w1@test"})  # the BYE's
    record = answer_recorded_call(uow, cfg, engine, "e-w1@test",
                                  {"announcements": ["recording_warning"]}, then_bye=True)
    if still_up:
        assert (record.fault, record.end_reason) == ("warning_not_played", "fault")
    else:
        assert (record.fault, record.ended_at) == (None, None)
    commands = [c["command"] for c in engine.commands]
    assert commands.count("query") == 1
    assert ("play media" in commands) == still_up  # a refused block plays nothing


def test_the_warning_holds_plays_and_releases_both_parties_in_one_command_each(
    uow: UnitOfWorkFactory, world: World, tmp_path: Path,
) -> None:
    """A recorded call's answer: both parties' audio held, the warning played to both,
    both released, each with one ng command for the whole call (rtpengine refuses a
    play that names no party and no "all"; MockRtpengine too). The evidence names both
    parties."""
    place(uow, "e-p1@test")
    cfg = SwitchConfig.from_settings(Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}))
    cfg.run_dir.mkdir(parents=True)
    engine = MockRtpengine(cfg.recording_dir, play_ms=10)
    engine.handle({"command": "offer", "call-id": "e-p1@test", "flags": ["record-call=yes"]})
    record = answer_recorded_call(uow, cfg, engine, "e-p1@test",
                                  {"announcements": ["recording_warning"]}, then_bye=True)
    media = [(c["command"], c.get("from-tag"), c.get("flags"))
             for c in engine.commands if "media" in c["command"]]
    assert media == [("block media", None, None), ("play media", None, ["all"]),
                     ("unblock media", None, ["all"])]
    assert record.fault is None
    (warning,) = record.warnings
    assert warning.evidence["to"] == ["a", "b"]
    assert [r["result"] for r in warning.evidence["rtpengine"]] == ["ok"]


class _Stalled(MockRtpengine):
    """rtpengine that does not answer the first ``stalls`` asks of ``command`` (too
    busy: the ng client asks each twice before it gives up)."""

    def __init__(self, spool: Path, command: str, stalls: int) -> None:
        super().__init__(spool, play_ms=10)
        self.command, self.stalls = command, stalls

    def handle(self, message: Any) -> dict[str, Any] | None:
        if message.get("command") == self.command and self.stalls > 0:
            self.stalls -= 1
            self.commands.append(dict(message))
            return None
        return super().handle(message)


@pytest.mark.parametrize("command", ["block media", "unblock media"])
def test_a_hold_or_release_rtpengine_does_not_answer_is_asked_again_while_the_call_lasts(
    uow: UnitOfWorkFactory, world: World, tmp_path: Path, command: str,
) -> None:
    """A busy moment in rtpengine must not fault a recorded call (its hold not taken)
    nor leave it connected, billed and silent (its release not taken): the command
    is asked again, and the call goes on warned."""
    call_id = f"e-u-{command.split()[0]}@test"
    place(uow, call_id)
    cfg = SwitchConfig.from_settings(Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}))
    cfg.run_dir.mkdir(parents=True)
    engine = _Stalled(cfg.recording_dir, command, stalls=2)  # one ng request unanswered
    engine.handle({"command": "offer", "call-id": call_id, "flags": ["record-call=yes"]})
    record = answer_recorded_call(uow, cfg, engine, call_id,
                                  {"announcements": ["recording_warning"]}, then_bye=True)
    media = [c["command"] for c in engine.commands if "media" in c["command"]]
    assert media.count(command) == 3  # two unanswered, then asked again: taken
    assert media[-1] == "unblock media" and "play media" in media
    assert record.fault is None
    (warning,) = record.warnings


def test_a_prompt_is_made_once_and_made_again_when_its_file_is_gone(
    uow: UnitOfWorkFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Calls that say the same words share one prompt file, made once (espeak and sox
    in a thread); the agent remembers it, and makes it again if the file went away."""
    cfg = SwitchConfig.from_settings(Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}))
    made: list[object] = []
    real = announcer_module.Prompts.sequence

    def counted(self: Any, parts: Any) -> Path:
        made.append(parts)
        return real(self, parts)

    monkeypatch.setattr(announcer_module.Prompts, "sequence", counted)
    records = CallRecords(uow, 60)
    parts = (("private_notice", "This call is private."),)

    async def three_calls() -> list[Path]:
        announcer = Announcer(cfg, None, records)  # type: ignore[arg-type]  # no ng here
        first = await announcer.prompt_file(parts)
        second = await announcer.prompt_file(parts)
        first.unlink()
        third = await announcer.prompt_file(parts)
        return [first, second, third]

    try:
        first, second, third = asyncio.run(three_calls())
    finally:
        records.close()
    assert first == second == third and third.exists()
    assert len(made) == 2  # the first call, and again once the file was gone


def test_each_warning_played_is_recorded_once_however_often_its_line_is_read(
    uow: UnitOfWorkFactory, world: World,
) -> None:
    """The announcer journals each play; the intake may read a line again after a
    crash. Each play is its own warning (its seq), each line changes the record once."""
    place(uow, "e-w1@test")
    apply(uow, "e-w1@test", "answered", 1)

    def warned(seq: int, seconds: float, prompt: str) -> CallEvent:
        return CallEvent("e-w1@test", "warned", NOW + timedelta(seconds=seconds), seq,
                         {"prompts": [prompt], "evidence": {"rtpengine": [{"result": "ok"}]}})

    first, reminder = warned(1001, 2, "recording_warning"), warned(301002, 302,
                                                                 "recording_reminder")
    assert apply_call_events(uow, SWITCH, [first, reminder]) == (2, 2)
    audited = state(uow, "e-w1@test")[-1]
    assert apply_call_events(uow, SWITCH, [first, reminder]) == (2, 0)  # read again
    assert state(uow, "e-w1@test")[-1] == audited
    with uow() as u:
        record = u.calls.get("e-w1@test")
    assert record is not None
    assert [(w.prompt, w.at) for w in record.warnings] == [
        ("recording_warning", first.at), ("recording_reminder", reminder.at)]
    assert record.warnings[0].evidence == {"rtpengine": [{"result": "ok"}]}
