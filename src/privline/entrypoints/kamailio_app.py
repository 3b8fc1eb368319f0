"""Kamailio's routing, in Python through KEMI (app_python3, ``cfgengine "python"``).

Kamailio loads the rendered boot script, which puts privline on the embedded Python's
path and calls :func:`mod_init` with the rendered ``switch.json``. Each worker process
then routes SIP messages through :class:`Router`.

An initial INVITE is checked (facility header, trusted source, SDP offer), decided by the
core, and then either refused with ``X-Privline-Reason`` or relayed to the trunk through
rtpengine: with recording asked for in the offer when the decision is ``recorded``, and
with recording explicitly off otherwise. A recorded call whose pcap file does not appear
is refused as a fault before it can connect. Everything slow (prompts, reminders, call
records, billing) is left to the call agent, told by one UDP datagram per event.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from privline.adapters.switch.brain import Brain, CoreBrain, FacilityInfo, Verdict
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.recordings import pcap_files

KSR: Any = None  # Kamailio's KEMI module; only importable inside Kamailio

# SIP answers for denied decisions; the reason code always travels in X-Privline-Reason.
DENIED_STATUS = {
    "pin_invalid": (403, "Forbidden"),
    "resident_locked": (403, "Forbidden"),
    "resident_inactive": (403, "Forbidden"),
    "number_blocked": (403, "Forbidden"),
    "insufficient_balance": (402, "Payment Required"),
    "privilege_unknown": (503, "Service Unavailable"),
}
PRIVATE_HEADERS = ("X-Privline-Facility", "X-Privline-Resident", "X-Privline-PIN",
                   "X-Privline-Private")
# rtpengine flags. Recording is asked for in the offer so both SDPs are in the metadata;
# a private call says record-call=no so no global default can turn it on.
OFFER_FLAGS = "replace-origin replace-session-connection ICE=remove"
RECORD_FLAGS = "record-call=yes"
NO_RECORD_FLAGS = "record-call=no"


def log(level: str, text: str) -> None:
    if KSR is not None:
        getattr(KSR, level)(f"privline: {text}\n")


class Router:
    def __init__(self, cfg: SwitchConfig, brain: Brain) -> None:
        self.cfg = cfg
        self.brain = brain
        self.agent = (("127.0.0.1", cfg.agent_port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.recording_wait_s = 0.5

    # -- helpers -----------------------------------------------------------------
    def notify(self, event: str, **fields: Any) -> None:
        """Tell the call agent; never blocks the SIP path (a lost datagram loses
        a prompt or a record line, never a recording decision)."""
        fields.update(event=event, at=datetime.now(UTC).isoformat(),
                      token=self.cfg.agent_token)
        try:
            self.sock.sendto(json.dumps(fields, default=str).encode(), self.agent)
        except OSError as exc:
            log("err", f"agent notify failed: {exc}")

    def refuse(self, code: int, text: str, reason: str, call_id: str, **extra: Any) -> int:
        KSR.hdr.append_to_reply(f"X-Privline-Reason: {reason}\r\n")
        KSR.tm.t_reply(code, text)
        self.notify("refused", call_id=call_id, code=code, reason=reason, **extra)
        log("notice", f"refused {call_id}: {code} {reason}")
        return 1

    # -- request route ----------------------------------------------------------------
    def request(self) -> int:
        method = KSR.pv.get("$rm")
        if KSR.maxfwd.process_maxfwd(10) < 0:
            KSR.sl.sl_send_reply(483, "Too Many Hops")
            return 1
        if KSR.siputils.has_totag() > 0:
            return self.in_dialog(method)
        if method == "CANCEL":
            if KSR.tm.t_check_trans() > 0:
                KSR.rtpengine.rtpengine_delete0()
                KSR.tm.t_relay()
            return 1
        if method == "ACK":
            if KSR.tm.t_check_trans() > 0:
                KSR.tm.t_relay()
            return 1
        if method == "OPTIONS":
            KSR.sl.sl_send_reply(200, "OK")
            return 1
        if method != "INVITE":
            KSR.sl.sl_send_reply(405, "Method Not Allowed")
            return 1
        if KSR.tm.t_check_trans() == 0:
            return 1  # a retransmission the transaction already absorbed
        if KSR.tm.t_newtran() < 0:
            KSR.sl.sl_reply_error()
            return 1
        KSR.tm.t_reply(100, "Trying")
        return self.initial_invite()

    def initial_invite(self) -> int:
        call_id = KSR.pv.get("$ci") or ""
        facility_id = KSR.hdr.get("X-Privline-Facility")
        resident_id = KSR.hdr.get("X-Privline-Resident")
        pin = KSR.hdr.get("X-Privline-PIN")
        private = (KSR.hdr.get("X-Privline-Private") or "").strip() in ("1", "yes", "true")
        dialled = KSR.pv.get("$rU") or ""
        source = KSR.pv.get("$si") or ""
        if not facility_id or not resident_id or not dialled:
            return self.refuse(400, "Bad Request", "missing_headers", call_id)
        pin = (pin or "").strip()
        try:
            facility = self.brain.facility(facility_id)
        except Exception as exc:  # noqa: BLE001 - any failure refuses; never connects
            log("err", f"facility lookup failed: {exc!r}")
            return self.refuse(503, "Service Unavailable", "decision_unavailable", call_id)
        # An unknown facility and an untrusted address get the same answer.
        if facility is None or not facility.trusts(source):
            return self.refuse(403, "Forbidden", "untrusted_source", call_id, source=source)
        if "m=audio" not in (KSR.pv.get("$rb") or ""):
            # Late offer: without an SDP offer rtpengine cannot be told to record
            # before media flows, so the call is refused, never connected unjudged.
            return self.refuse(488, "Not Acceptable Here", "late_offer_refused", call_id)
        if not pin:
            # The core takes "no PIN" to mean "none required": a phone must always send one.
            return self.refuse(403, "Forbidden", "pin_required", call_id)
        try:
            verdict = self.brain.decide(facility.id, resident_id.strip(), dialled, private,
                                        pin, datetime.now(UTC), call_id)
        except Exception as exc:  # noqa: BLE001 - see above
            code = getattr(exc, "code", "")
            if code == "call_exists":
                return self.refuse(409, "Conflict", "call_exists", call_id)
            if code in ("resident_not_found", "facility_not_found"):
                return self.refuse(403, "Forbidden", "untrusted_source", call_id)
            log("err", f"decision failed: {exc!r}")
            return self.refuse(503, "Service Unavailable", "decision_unavailable", call_id)
        if verdict.mode == "denied":
            code, text = DENIED_STATUS.get(verdict.reason, (403, "Forbidden"))
            return self.refuse(code, text, verdict.reason, call_id,
                               facility=facility.id, resident=resident_id,
                               number=verdict.number, mode="denied")
        return self.connect(call_id, facility, resident_id, verdict)

    def connect(self, call_id: str, facility: FacilityInfo, resident: str, v: Verdict) -> int:
        if v.mode not in ("private", "recorded"):
            # A mode this routing does not know is never guessed at.
            return self.refuse(500, "Server Internal Error", "unknown_mode", call_id)
        recorded = v.mode == "recorded"
        flags = f"{OFFER_FLAGS} {RECORD_FLAGS if recorded else NO_RECORD_FLAGS}"
        if KSR.rtpengine.rtpengine_offer(flags) < 0:
            return self.refuse(503, "Service Unavailable", "media_unavailable", call_id)
        if recorded and not self.recording_started(call_id):
            # rtpengine answers ok even when it cannot write: only the file proves it.
            KSR.rtpengine.rtpengine_delete0()
            log("crit", f"FAULT recording file missing for recorded call {call_id}")
            return self.refuse(500, "Server Internal Error", "recording_fault", call_id,
                               facility=facility.id, resident=resident, number=v.number,
                               mode=v.mode, fault=True)
        KSR.dialog.dlg_manage()
        if v.max_minutes > 0:
            # The hard stop at max_minutes, kept by Kamailio itself so a dead agent
            # cannot make a call run past the limit; the agent plays the warnings.
            # (send_bye is on in kamailio.cfg: a timed-out dialog sends BYE both ways.)
            KSR.dialog.dlg_set_timeout(max(1, int(v.max_minutes * self.cfg.minute_seconds)))
        KSR.pv.sets("$dlg_var(pl_mode)", v.mode)
        KSR.pv.sets("$avp(pl_mode)", v.mode)
        self.notify(
            "invite", call_id=call_id, from_tag=KSR.pv.get("$ft"), facility=facility.id,
            facility_name=facility.name, reminder_interval_s=facility.reminder_interval_s,
            resident=resident, dialled=KSR.pv.get("$rU"), number=v.number, mode=v.mode,
            reason=v.reason, announcements=list(v.announcements),
            rate_per_minute=str(v.rate_per_minute), max_minutes=v.max_minutes,
            review=v.review,
        )
        for name in PRIVATE_HEADERS:
            KSR.hdr.remove(name)  # the PIN and the resident's id never leave the facility
        KSR.rr.record_route()
        KSR.pv.sets("$ru", f"sip:{v.number or KSR.pv.get('$rU')}@{self.cfg.trunk}")
        KSR.tm.t_on_reply("ksr_onreply_invite")
        KSR.tm.t_on_failure("ksr_failure_invite")
        if KSR.tm.t_relay() < 0:
            KSR.rtpengine.rtpengine_delete0()
            return self.refuse(503, "Service Unavailable", "trunk_unreachable", call_id,
                               mode=v.mode)
        return 1

    def recording_started(self, call_id: str) -> bool:
        deadline = time.monotonic() + self.recording_wait_s
        while True:
            if pcap_files(self.cfg.recording_dir, call_id):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)

    def in_dialog(self, method: str) -> int:
        if KSR.rr.loose_route() > 0:
            if method == "BYE":
                KSR.rtpengine.rtpengine_delete0()
                self.notify("bye", call_id=KSR.pv.get("$ci"))
            elif method in ("INVITE", "UPDATE") and "m=audio" in (KSR.pv.get("$rb") or ""):
                # Re-offers keep the call's recording state inside rtpengine; say it again
                # anyway so a re-INVITE can never switch a private call to recording.
                mode = KSR.pv.get("$dlg_var(pl_mode)") or ""
                flags = RECORD_FLAGS if mode == "recorded" else NO_RECORD_FLAGS
                KSR.rtpengine.rtpengine_offer(f"{OFFER_FLAGS} {flags}")
                KSR.tm.t_on_reply("ksr_onreply_invite")
            KSR.tm.t_relay()
            return 1
        if method == "ACK":
            if KSR.tm.t_check_trans() > 0:
                KSR.tm.t_relay()
            return 1
        KSR.sl.sl_send_reply(404, "Not Here")
        return 1

    # -- replies and events -------------------------------------------------------------
    def reply_invite(self) -> int:
        status = int(KSR.pv.get("$rs") or 0)
        if status in (180, 183) or 200 <= status < 300:
            if "m=audio" in (KSR.pv.get("$rb") or ""):
                KSR.rtpengine.rtpengine_answer(OFFER_FLAGS)
        if 200 <= status < 300 and KSR.pv.get("$rm") == "INVITE":
            self.notify("answered", call_id=KSR.pv.get("$ci"), from_tag=KSR.pv.get("$ft"),
                        to_tag=KSR.pv.get("$tt"))
        return 1

    def failure_invite(self) -> int:
        KSR.rtpengine.rtpengine_delete0()
        self.notify("failed", call_id=KSR.pv.get("$ci"), code=KSR.pv.get("$T_reply_code"))
        return 1

    def dialog_event(self, event: str) -> int:
        if event == "dialog:end":
            self.notify("ended", call_id=KSR.pv.get("$dlg(callid)"),
                        from_tag=KSR.pv.get("$dlg(from_tag)"), to_tag=KSR.pv.get("$dlg(to_tag)"))
        return 1


class KamailioApp:
    """The object app_python3 calls; method names are Kamailio's."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def child_init(self, rank: int) -> int:
        return 0

    # Kamailio calls these when they exist; a missing one is an error per message.
    def ksr_onsend_route(self, msg: Any) -> int:
        return 1

    def ksr_reply_route(self, msg: Any) -> int:
        return 1

    def ksr_request_route(self, msg: Any) -> int:
        return self.router.request()

    def ksr_onreply_invite(self, msg: Any) -> int:
        return self.router.reply_invite()

    def ksr_failure_invite(self, msg: Any) -> int:
        return self.router.failure_invite()

    def ksr_dialog_event(self, msg: Any, event: str) -> int:
        return self.router.dialog_event(event)


def load_brain(spec: str | None) -> Brain:
    """``module:attr`` of a Brain factory; the core's by default."""
    if not spec:
        return CoreBrain()
    module, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    brain: Brain = factory()
    return brain


def mod_init(config_path: str) -> KamailioApp:
    global KSR
    KSR = importlib.import_module("KSR")
    cfg = SwitchConfig.load(Path(config_path))
    for name, value in cfg.env.items():
        os.environ.setdefault(name, value)
    brain = load_brain(cfg.brain or None)
    log("info", f"routing ready (python {sys.version.split()[0]})")
    return KamailioApp(Router(cfg, brain))
