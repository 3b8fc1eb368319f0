"""The routing without daemons: Kamailio's KSR faked, rtpengine mocked (both shipped in
privline.adapters.switch.testing), decisions from a stub of the routing's port."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.decisions import FacilityInfo, RouteDecision
from privline.adapters.switch.journal import JournalReader, JournalWriter
from privline.adapters.switch.testing import FakeKSR, Message, MockRtpengine
from privline.entrypoints.kamailio_app import PRIVATE_HEADERS, REFUSALS, Router
from privline.settings import Settings

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
                 engine: MockRtpengine | None = None, agent_up: bool = True) -> None:
        settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path)})
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
        self.router.recording_wait_s = 0.05

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
    switch.router.request()
    switch.router.dialog_event("dialog:end")
    kinds = [e["kind"] for e in switch.events()]
    assert kinds == ["decided", "answered", "bye", "ended"]
    assert ksr.deleted == ["call-1@test"]  # the BYE released the media
