"""The routing without daemons: Kamailio's KSR faked, rtpengine mocked (both shipped in
privline.adapters.switch.testing), decisions from a stub of the routing's port."""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.decisions import FacilityInfo, RouteDecision
from privline.adapters.switch.journal import JournalReader, JournalWriter
from privline.adapters.switch.recordings import escaped, has_pcap, pcap_files
from privline.adapters.switch.shed import ShedCounter, shed_total
from privline.adapters.switch.slots import DecisionSlots
from privline.adapters.switch.testing import FakeKSR, Message, MockRtpengine
from privline.entrypoints.kamailio_app import PRIVATE_HEADERS, REFUSALS, Router
from privline.settings import Settings, SettingsError

PHONE = {"X-Privline-Facility": "f1", "X-Privline-Resident": "r1", "X-Privline-PIN": "1234",
         "X-Other": "kept"}


def decision(mode: str, reason: str = "standard") -> RouteDecision:
    return RouteDecision(mode, reason, ("recording_warning",), Decimal("0.12"), 15,
                         "+12025550143")


class StubDecisions:
    """The routing's port: one facility, a fixed decision (or an exception)."""

    def __init__(self, result: RouteDecision | Exception) -> None:
        self.result = result
        self.asked: list[tuple[Any, ...]] = []

    def facility(self, facility_id: str) -> FacilityInfo | None:
        return FacilityInfo("f1", "Jail", ("127.0.0.1/32",)) if facility_id == "f1" else None

    def decide(self, facility_id: str, resident_id: str, dialled: str, private: bool,
               pin: str | None, now: datetime, call_id: str) -> RouteDecision:
        self.asked.append((facility_id, resident_id, dialled, private, pin, call_id))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class Switch:
    def __init__(self, tmp_path: Path, result: RouteDecision | Exception, *,
                 engine: MockRtpengine | None = None, agent_up: bool = True,
                 children: int = 8) -> None:
        settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path),
                                      "PRIVLINE_KAMAILIO_CHILDREN": str(children)})
        self.cfg = SwitchConfig.from_settings(settings)
        for folder in (self.cfg.journal_dir, self.cfg.run_dir):
            folder.mkdir(parents=True)
        if agent_up:
            self.cfg.heartbeat.touch()
        self.engine = engine if engine is not None else MockRtpengine(self.cfg.recording_dir)
        self.ksr = FakeKSR(self.engine)
        self.decisions = StubDecisions(result)
        self.router = Router(self.cfg, self.decisions, JournalWriter(self.cfg.journal_dir),
                             self.ksr)

    def invite(self, **overrides: Any) -> FakeKSR:
        fields: dict[str, Any] = {"headers": dict(PHONE)}
        fields.update(overrides)
        self.ksr.message(Message(**fields))
        self.router.request()
        return self.ksr

    def events(self) -> list[dict[str, Any]]:
        return [dict(e.event) for e in JournalReader(self.cfg.journal_dir).pending()]


def test_private_call_offer_and_every_reinvite_say_record_call_no(tmp_path: Path) -> None:
    switch = Switch(tmp_path, decision("private", "privileged"))
    ksr = switch.invite()
    assert ksr.offers and all("record-call=no" in f for f in ksr.offers)
    assert "record-call=yes" not in " ".join(ksr.offers)
    assert not switch.engine.calls["call-1@test"]["recorded"]
    mode = ksr.msg.dlg_vars["pl_mode"]
    for _ in range(3):  # re-INVITEs in the dialog
        ksr.message(Message(to_tag="tt1", dlg_vars={"pl_mode": mode}), loose_route=True)
        switch.router.request()
        assert ksr.offers == [f"{ksr.offers[0].rsplit(' ', 1)[0]} record-call=no"]
    # A dialog Kamailio no longer knows (restarted) has no mode: never recorded anew.
    ksr.message(Message(to_tag="tt1"), loose_route=True)
    switch.router.request()
    assert ksr.offers[-1].endswith("record-call=no")
    assert list(tmp_path.rglob("*.pcap")) == []


def test_recorded_call_offers_recording_and_its_reinvite_keeps_it(tmp_path: Path) -> None:
    switch = Switch(tmp_path, decision("recorded"))
    ksr = switch.invite()
    assert ksr.offers[-1].endswith("record-call=yes") and ksr.final_reply is None
    assert len(ksr.relayed) == 1
    ksr.message(Message(to_tag="tt1", dlg_vars=dict(ksr.msg.dlg_vars)), loose_route=True)
    switch.router.request()
    assert ksr.offers[-1].endswith("record-call=yes")


def test_recorded_call_without_its_pcap_is_refused_as_recording_fault(tmp_path: Path) -> None:
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path)})
    engine = MockRtpengine(settings.recording_spool, can_write=False)
    switch = Switch(tmp_path, decision("recorded"), engine=engine)
    ksr = switch.invite()
    assert ksr.final_reply == (500, "Server Internal Error")
    assert ksr.reply_headers == ["X-Privline-Reason: recording_fault"]
    assert ksr.relayed == [] and ksr.deleted == ["call-1@test"]
    (event,) = switch.events()
    assert (event["kind"], event["reason"], event["code"], event["fault"]) == (
        "refused", "recording_fault", 500, True)


CASES: list[tuple[str, dict[str, Any], RouteDecision | Exception, dict[str, Any]]] = [
    ("missing_headers", {"headers": {"X-Privline-Facility": "f1"}}, decision("recorded"), {}),
    ("untrusted_source", {"source": "10.9.9.9"}, decision("recorded"), {}),
    ("untrusted_source", {"headers": {**PHONE, "X-Privline-Facility": "nowhere"}},
     decision("recorded"), {}),
    ("late_offer_refused", {"body": ""}, decision("recorded"), {}),
    ("pin_required", {"headers": {k: v for k, v in PHONE.items() if k != "X-Privline-PIN"}},
     decision("recorded"), {}),
    ("pin_invalid", {}, decision("denied", "pin_invalid"), {}),
    ("resident_locked", {}, decision("denied", "resident_locked"), {}),
    ("number_blocked", {}, decision("denied", "number_blocked"), {}),
    ("insufficient_balance", {}, decision("denied", "insufficient_balance"), {}),
    ("privilege_unknown", {}, decision("denied", "privilege_unknown"), {}),
    ("decision_unavailable", {}, RuntimeError("database locked"), {}),
    ("unknown_mode", {}, decision("mystery"), {}),
    ("agent_unavailable", {}, decision("recorded"), {"agent_up": False}),
    ("media_unavailable", {}, decision("recorded"), {"no_engine": True}),
]


@pytest.mark.parametrize(("reason", "message", "result", "switch_opts"), CASES,
                         ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_each_refusal_gets_its_sip_code_and_a_journalled_record(
    tmp_path: Path, reason: str, message: dict[str, Any], result: RouteDecision | Exception,
    switch_opts: dict[str, Any],
) -> None:
    switch = Switch(tmp_path, result, agent_up=switch_opts.get("agent_up", True))
    if switch_opts.get("no_engine"):
        switch.ksr.engine = None
    ksr = switch.invite(**message)
    code, text = REFUSALS[reason]
    assert ksr.final_reply == (code, text)
    assert ksr.reply_headers == [f"X-Privline-Reason: {reason}"]
    assert ksr.relayed == []  # never reaches the trunk
    (event,) = switch.events()
    assert (event["kind"], event["call_id"], event["reason"], event["code"]) == (
        "refused", "call-1@test", reason, code)


def test_a_private_call_connects_while_the_agent_is_down_a_recorded_one_never(
    tmp_path: Path,
) -> None:
    assert Switch(tmp_path / "a", decision("private"), agent_up=False).invite().relayed
    assert not Switch(tmp_path / "b", decision("recorded"), agent_up=False).invite().relayed


def test_trunk_unreachable_is_refused_and_media_released(tmp_path: Path) -> None:
    switch = Switch(tmp_path, decision("recorded"))
    switch.ksr.trunk_up = False
    ksr = switch.invite()
    assert ksr.final_reply == REFUSALS["trunk_unreachable"]
    assert "call-1@test" not in switch.engine.calls


@pytest.mark.parametrize("mode", ["private", "recorded"])
def test_pin_and_resident_headers_never_reach_the_trunk(tmp_path: Path, mode: str) -> None:
    switch = Switch(tmp_path, decision(mode))
    ksr = switch.invite()
    ((ruri, headers),) = ksr.relayed
    assert ruri == "sip:+12025550143@127.0.0.1:5080"
    assert not {h.lower() for h in headers} & {h.lower() for h in PRIVATE_HEADERS}
    assert headers["X-Other"] == "kept"
    assert switch.decisions.asked[0][:5] == ("f1", "r1", "2025550143", False, "1234")


def test_a_calls_life_is_journalled_in_order(tmp_path: Path) -> None:
    switch = Switch(tmp_path, decision("recorded"))
    ksr = switch.invite()
    ksr.message(Message(method="INVITE", status=200, to_tag="tt1"))
    switch.router.reply_invite()
    ksr.message(Message(method="BYE", to_tag="tt1"), loose_route=True)
    switch.router.dialog_event("dialog:end")  # Kamailio reports it inside loose_route
    switch.router.request()
    kinds = [e["kind"] for e in switch.events()]
    # The BYE's own line closes the record: its dialog's end is not journalled twice.
    assert kinds == ["decided", "answered", "bye"]
    assert ksr.deleted == ["call-1@test"]  # the BYE released the media


@pytest.mark.parametrize("reporter", ["OPTIONS", ""])
def test_a_dialog_ended_by_kamailio_itself_is_journalled(tmp_path: Path,
                                                         reporter: str) -> None:
    # Kamailio's timer (max_minutes) and the RPC end report on a message of its own
    # making, an OPTIONS: no BYE passes the request route, so this line closes the call.
    switch = Switch(tmp_path, decision("recorded"))
    ksr = switch.invite()
    ksr.message(Message(method="INVITE", status=200, to_tag="tt1"))
    switch.router.reply_invite()
    ksr.message(Message(method=reporter, to_tag="tt1"))
    switch.router.dialog_event("dialog:end")
    assert [e["kind"] for e in switch.events()] == ["decided", "answered", "ended"]


# -- overload control: decision slots ---------------------------------------------------
def hold_every_slot(switch: Switch) -> list[int]:
    """Take every decision slot from outside the router, as busy workers would."""
    fds = []
    for i in range(switch.cfg.decision_slots):
        fd = os.open(switch.cfg.slots_dir / f"decision-slot-{i}", os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fds.append(fd)
    return fds


def test_with_every_slot_busy_an_invite_gets_503_retry_after_and_no_decision(
        tmp_path: Path) -> None:
    switch = Switch(tmp_path, decision("recorded"))
    held = hold_every_slot(switch)
    ksr = switch.invite()
    # Its transaction and 100 Trying came before the wait for a slot, so a copy resent
    # meanwhile is absorbed; the 503 ends the wait in vain.
    assert ksr.replies == [(100, "Trying"), (503, "Service Unavailable")]
    assert "Retry-After: 2" in ksr.reply_headers
    assert "X-Privline-Reason: overloaded" in ksr.reply_headers
    assert switch.decisions.asked == []  # the database was not asked
    assert ksr.offers == [] and ksr.relayed == []
    assert switch.events() == []  # no per-call record at overload rate: a count
    assert shed_total(switch.cfg.shed_dir) == 1
    for fd in held:
        os.close(fd)  # a worker finishing its decision frees its slot
    ksr = switch.invite(call_id="call-2@test")
    assert switch.decisions.asked and ksr.relayed
    assert shed_total(switch.cfg.shed_dir) == 1


def test_with_every_slot_and_waiting_place_taken_the_503_is_sent_before_anything_else(
        tmp_path: Path) -> None:
    """An overload: no transaction, no 100 Trying, no wait: each refusal's cost is taken
    from the calls being placed, so it is as cheap as it can be (a stateless reply)."""
    switch = Switch(tmp_path, decision("recorded"))
    held = hold_every_slot(switch)
    for i in range(switch.cfg.waiting_room):
        fd = os.open(switch.cfg.slots_dir / f"waiting-{i}", os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.append(fd)
    ksr = switch.invite()
    assert ksr.replies == [(503, "Service Unavailable")]
    assert ("sl_send_reply", (503, "Service Unavailable")) in ksr.calls
    assert "Retry-After: 2" in ksr.reply_headers
    assert "X-Privline-Reason: overloaded" in ksr.reply_headers
    assert ksr.transactions == set()  # nothing made for it
    assert switch.decisions.asked == [] and ksr.offers == [] and ksr.relayed == []
    assert shed_total(switch.cfg.shed_dir) == 1
    for fd in held:
        os.close(fd)
    ksr = switch.invite()  # its copy resent later: nothing stands in its way
    assert switch.decisions.asked and ksr.relayed


def test_a_copy_of_an_invite_whose_transaction_exists_is_absorbed_not_decided_again(
        tmp_path: Path) -> None:
    """Two workers can each read a copy of one INVITE (the phone resent it) before
    either made its transaction; the second's t_newtran finds the first's, and that
    copy is dropped: one decision, one answer (a second decision would find the call
    taken and answer 409 on the first's transaction, leaving its record open)."""
    switch = Switch(tmp_path, decision("recorded"))
    switch.ksr.transactions.add("call-1@test")  # the other worker's copy got there first
    ksr = switch.invite()
    assert switch.decisions.asked == []
    assert ksr.replies == [] and ksr.offers == [] and ksr.relayed == []
    assert switch.events() == []


def test_with_every_slot_busy_acks_byes_and_retransmissions_still_pass(
        tmp_path: Path) -> None:
    switch = Switch(tmp_path, decision("recorded"))
    hold_every_slot(switch)
    switch.ksr.message(Message(method="BYE", to_tag="tt1"), loose_route=True)
    switch.router.request()
    assert switch.ksr.relayed and switch.ksr.deleted == ["call-1@test"]
    switch.ksr.message(Message(method="ACK", to_tag="tt1"), loose_route=True)
    switch.router.request()
    assert switch.ksr.relayed
    assert [e["kind"] for e in switch.events()] == ["bye"]
    assert shed_total(switch.cfg.shed_dir) == 0


def test_a_slot_is_returned_after_every_outcome(tmp_path: Path) -> None:
    """One slot: connected, denied and failed decisions each give it back (seen from
    another descriptor, as another worker sees it), or the next INVITE would be shed."""
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path),
                                  "PRIVLINE_KAMAILIO_CHILDREN": "2"})
    assert settings.decision_slots == 1
    outcomes: list[RouteDecision | Exception] = [
        decision("recorded"), decision("denied", "pin_invalid"), RuntimeError("db down")]
    for n, outcome in enumerate(outcomes):
        switch = Switch(tmp_path / str(n), outcome, children=2)
        other_worker = DecisionSlots(switch.cfg.slots_dir, 1)
        for i in range(2):
            ksr = switch.invite(call_id=f"c{i}@test")
            assert "X-Privline-Reason: overloaded" not in ksr.reply_headers
            with other_worker.take() as free:
                assert free
        assert len(switch.decisions.asked) == 2


def test_shed_counts_add_up_across_workers(tmp_path: Path) -> None:
    a, b = ShedCounter(tmp_path), ShedCounter(tmp_path)
    for _ in range(3):
        a.add()
    b.add()
    assert shed_total(tmp_path) == 4
    assert shed_total(tmp_path / "none") == 0


@pytest.mark.parametrize(("env", "expected"), [
    ({}, 6), ({"PRIVLINE_KAMAILIO_CHILDREN": "16"}, 12),
    ({"PRIVLINE_KAMAILIO_CHILDREN": "2"}, 1), ({"PRIVLINE_KAMAILIO_CHILDREN": "1"}, 1),
    ({"PRIVLINE_DECISION_SLOTS": "6"}, 6)])
def test_decision_slots_default_to_all_workers_but_four(env: dict[str, str], expected: int,
                                                   tmp_path: Path) -> None:
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path), **env})
    assert settings.decision_slots == expected
    assert Settings.from_env(settings.to_env()).decision_slots == expected


@pytest.mark.parametrize("value", ["10", "0", "x"])
def test_decision_slots_must_leave_a_worker_free(value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PRIVLINE_DECISION_SLOTS"):
        Settings.from_env({"PRIVLINE_HOME": str(tmp_path), "PRIVLINE_DECISION_SLOTS": value})


# -- the recording's file: one check, no wait ------------------------------------------------
def test_the_recording_check_is_one_scan_and_never_sleeps(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path)})
    engine = MockRtpengine(settings.recording_spool, can_write=False)
    switch = Switch(tmp_path, decision("recorded"), engine=engine)

    def no_sleep(seconds: float) -> None:
        raise AssertionError("a SIP worker slept")
    monkeypatch.setattr(time, "sleep", no_sleep)
    ksr = switch.invite()
    assert ksr.reply_headers == ["X-Privline-Reason: recording_fault"]
    assert ksr.relayed == []


def test_has_pcap_finds_only_the_calls_own_file(tmp_path: Path) -> None:
    pcaps = tmp_path / "pcaps"
    pcaps.mkdir()
    for i in range(300):
        (pcaps / f"other{i}%40x-{i:016x}.pcap").touch()
    (pcaps / f"{escaped('a@x-1')}-0123456789abcdef.pcap").touch()
    assert has_pcap(tmp_path, "a@x-1")
    assert not has_pcap(tmp_path, "a@x")  # a prefix of another call's id is not its file
    assert pcap_files(tmp_path, "a@x") == []
    assert not has_pcap(tmp_path / "missing", "a@x")


def test_a_phone_without_privline_headers_goes_to_the_voice_menu_with_its_real_address(
        tmp_path: Path) -> None:
    """A stock phone is handed to the menu, undecided and unrecorded; the address the
    menu trusts is the proxy's view of the source, never one the phone claims."""
    switch = Switch(tmp_path, decision("recorded"))
    ksr = switch.invite(headers={"X-Privline-Source": "10.9.9.9", "X-Privline-PIN": "1234"},
                        source="127.0.0.7")
    assert ksr.duri == f"sip:127.0.0.1:{switch.cfg.ivr_port}"
    (_, headers), = ksr.relayed
    assert headers.get("X-Privline-Source") == "127.0.0.7"
    assert "X-Privline-PIN" not in headers
    assert switch.decisions.asked == [] and ksr.offers == [] and switch.events() == []


def test_with_the_voice_menu_off_a_phone_without_headers_is_refused(tmp_path: Path) -> None:
    switch = Switch(tmp_path, decision("recorded"))
    switch.router.cfg = replace(switch.cfg, ivr_port=0)
    ksr = switch.invite(headers={})
    assert ksr.replies[-1] == REFUSALS["missing_headers"] and ksr.relayed == []
