"""Kamailio's routing, in Python through KEMI (app_python3, ``cfgengine "python"``).

Kamailio loads the rendered boot script, which puts privline on the embedded Python's
path and calls :func:`mod_init`. That builds everything from the Settings in Kamailio's
environment through the composition root; each worker process then routes SIP messages
through :class:`Router`.

An initial INVITE is checked (facility header, trusted source, SDP offer), decided by the
core, and then either refused with ``X-Privline-Reason`` or relayed to the trunk through
rtpengine: with recording asked for in the offer when the decision is ``recorded``, and
with recording explicitly off otherwise. A recorded call whose pcap file is not there
right after rtpengine's reply, or that would connect while the call agent (which plays
its warnings) is down, is refused. An INVITE that finds every decision slot busy is
answered at once, statelessly, with 503 and Retry-After (docs/overload.md).
Every event of a call's life goes to the journal (see
:mod:`privline.adapters.switch.journal`) before the message that caused it moves on; the
call agent turns the journal into call records.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.decisions import (
    CoreDecisions,
    DecisionSource,
    FacilityInfo,
    RouteDecision,
)
from privline.adapters.switch.journal import JournalWriter
from privline.adapters.switch.phone_auth import (
    PHONE_FACILITY,
    CorePhones,
    PhoneDirectory,
    check_phone,
)
from privline.adapters.switch.recordings import has_pcap
from privline.adapters.switch.shed import ShedCounter
from privline.adapters.switch.slots import DecisionSlots
from privline.bootstrap import bootstrap
from privline.settings import Settings

# SIP answers for every refusal; the reason code always travels in X-Privline-Reason.
REFUSALS = {
    "missing_headers": (400, "Bad Request"),
    "untrusted_source": (403, "Forbidden"),
    "phone_auth_failed": (403, "Forbidden"),
    "pin_required": (403, "Forbidden"),
    "pin_invalid": (403, "Forbidden"),
    "resident_locked": (403, "Forbidden"),
    "resident_inactive": (403, "Forbidden"),
    "number_blocked": (403, "Forbidden"),
    "insufficient_balance": (402, "Payment Required"),
    "call_exists": (409, "Conflict"),
    "late_offer_refused": (488, "Not Acceptable Here"),
    "recording_fault": (500, "Server Internal Error"),
    "unknown_mode": (500, "Server Internal Error"),
    "privilege_unknown": (503, "Service Unavailable"),
    "decision_unavailable": (503, "Service Unavailable"),
    "media_unavailable": (503, "Service Unavailable"),
    "agent_unavailable": (503, "Service Unavailable"),
    "trunk_unreachable": (503, "Service Unavailable"),
}
PRIVATE_HEADERS = ("X-Privline-Facility", "X-Privline-Resident", "X-Privline-PIN",
                   "X-Privline-Private")
# rtpengine flags. Recording is asked for in the offer so both SDPs are in the metadata;
# a private call says record-call=no so no global default can turn it on.
OFFER_FLAGS = "replace-origin replace-session-connection ICE=remove"
RECORD_FLAGS = "record-call=yes"
NO_RECORD_FLAGS = "record-call=no"
# The agent touches its heartbeat every second; older than this, it is taken as down.
AGENT_STALE_S = 5.0
# Overload: the phone may try again this many seconds later (RFC 3261 21.5.4).
RETRY_AFTER_S = 2


class Router:
    def __init__(self, cfg: SwitchConfig, decisions: DecisionSource, journal: JournalWriter,
                 ksr: Any, phones: PhoneDirectory | None = None) -> None:
        self.cfg = cfg
        self.phones = phones  # phones with SIP digest credentials (phone_auth.py)
        self.decisions = decisions
        self.journal = journal
        self.ksr = ksr
        self.slots = DecisionSlots(cfg.slots_dir, cfg.decision_slots, cfg.waiting_room)
        self.shed = ShedCounter(cfg.shed_dir)
        # The config's paths are properties that build Path objects: once, not per call.
        self.heartbeat = os.fspath(cfg.heartbeat)
        self.recording_dir = cfg.recording_dir

    # -- helpers -----------------------------------------------------------------
    def log(self, level: str, text: str) -> None:
        getattr(self.ksr, level)(f"privline: {text}\n")

    def event(self, kind: str, call_id: str, **fields: Any) -> None:
        if not self.journal.write(kind, call_id, **fields):
            self.log("crit", f"journal write failed: {kind} of {call_id} not recorded")

    def refuse(self, reason: str, call_id: str, **extra: Any) -> int:
        """Refuse with the reason's SIP code; the refusal is journalled first."""
        code, text = REFUSALS.get(reason, (403, "Forbidden"))
        self.event("refused", call_id, code=code, reason=reason, **extra)
        self.ksr.hdr.append_to_reply(f"X-Privline-Reason: {reason}\r\n")
        self.ksr.tm.t_reply(code, text)
        self.log("notice", f"refused {call_id}: {code} {reason}")
        return 1

    def agent_alive(self) -> bool:
        """One stat of the agent's heartbeat file: cheap enough for every call."""
        try:
            return os.stat(self.heartbeat).st_mtime > time.time() - AGENT_STALE_S
        except OSError:
            return False

    # -- request route ----------------------------------------------------------------
    def request(self) -> int:
        k = self.ksr
        method = k.pv.get("$rm")
        if k.maxfwd.process_maxfwd(10) < 0:
            k.sl.sl_send_reply(483, "Too Many Hops")
            return 1
        if k.siputils.has_totag() > 0:
            return self.in_dialog(method)
        if method == "CANCEL":
            if k.tm.t_check_trans() > 0:
                k.rtpengine.rtpengine_delete0()
                k.tm.t_relay()
            return 1
        if method == "ACK":
            if k.tm.t_check_trans() > 0:
                k.tm.t_relay()
            return 1
        if method == "OPTIONS":
            k.sl.sl_send_reply(200, "OK")
            return 1
        if method != "INVITE":
            k.sl.sl_send_reply(405, "Method Not Allowed")
            return 1
        if k.tm.t_check_trans() == 0:
            return 1  # a retransmission the transaction already absorbed
        ticket = self.slots.enter()
        if ticket is None:
            # Every slot and every place to wait taken: an overload. Refused before
            # anything is done for the INVITE (no transaction, no 100, no wait), since
            # under overload each refusal's cost is taken from the calls being placed.
            return self.overloaded(stateless=True)
        with ticket:
            # The transaction next, then any wait for a slot: a retransmission read by
            # another worker meanwhile is absorbed by it (t_newtran answers 0 for one
            # that slipped past t_check_trans), never decided a second time.
            created = k.tm.t_newtran()
            if created == 0:
                return 1
            if created < 0:
                k.sl.sl_reply_error()
                return 1
            k.tm.t_reply(100, "Trying")  # and the phone stops resending it while it waits
            if not ticket.wait():
                return self.overloaded(stateless=False)
            return self.initial_invite()

    def overloaded(self, *, stateless: bool) -> int:
        """No decision slot is free: answer 503 at once (no decision, no record; only
        a count, see docs/overload.md), so this worker is free again for the next
        message. ``stateless``: no transaction was made for the INVITE (its copies get
        the same answer, and Kamailio's sl module absorbs the phone's ACK); else on its
        transaction, which resends the 503 until the phone ACKs it."""
        k = self.ksr
        k.hdr.append_to_reply(f"Retry-After: {RETRY_AFTER_S}\r\n")
        k.hdr.append_to_reply("X-Privline-Reason: overloaded\r\n")
        if stateless:
            k.sl.sl_send_reply(503, "Service Unavailable")
        else:
            k.tm.t_reply(503, "Service Unavailable")
        self.shed.add()
        return 1

    def initial_invite(self) -> int:
        k = self.ksr
        call_id = k.pv.get("$ci") or ""
        facility_id = (k.hdr.get("X-Privline-Facility") or "").strip()
        if not facility_id and self.cfg.ivr_port:
            return self.to_voice_menu()
        resident_id = (k.hdr.get("X-Privline-Resident") or "").strip()
        pin = (k.hdr.get("X-Privline-PIN") or "").strip()
        private = (k.hdr.get("X-Privline-Private") or "").strip() in ("1", "yes", "true")
        dialled = k.pv.get("$rU") or ""
        source = k.pv.get("$si") or ""
        who = {"facility": facility_id or None, "resident": resident_id or None,
               "dialled": dialled or None}
        if not facility_id or not resident_id or not dialled:
            return self.refuse("missing_headers", call_id, **who)
        try:
            facility = self.decisions.facility(facility_id)
        except Exception as exc:  # noqa: BLE001 - any failure refuses; never connects
            self.log("err", f"facility lookup failed: {exc!r}")
            return self.refuse("decision_unavailable", call_id, **who)
        # An unknown facility and an untrusted address get the same answer.
        if facility is None or not facility.trusts(source):
            return self.refuse("untrusted_source", call_id, source=source, **who)
        if "m=audio" not in (k.pv.get("$rb") or ""):
            # Late offer: without an SDP offer rtpengine cannot be told to record
            # before media flows, so the call is refused, never connected unjudged.
            return self.refuse("late_offer_refused", call_id, **who)
        if not pin:
            # The core takes "no PIN" to mean "none required": a phone must always send one.
            return self.refuse("pin_required", call_id, **who)
        try:
            decision = self.decisions.decide(facility.id, resident_id, dialled, private, pin,
                                             datetime.now(UTC), call_id)
        except Exception as exc:  # noqa: BLE001 - see above
            code = getattr(exc, "code", "")
            if code == "call_exists":
                # A second INVITE with a decided Call-ID: answer it, record nothing new.
                self.ksr.hdr.append_to_reply("X-Privline-Reason: call_exists\r\n")
                self.ksr.tm.t_reply(*REFUSALS["call_exists"])
                return 1
            if code in ("resident_not_found", "facility_not_found"):
                return self.refuse("untrusted_source", call_id, **who)
            self.log("err", f"decision failed: {exc!r}")
            return self.refuse("decision_unavailable", call_id, **who)
        if decision.mode == "denied":
            return self.refuse(decision.reason, call_id, **who)
        return self.connect(call_id, facility, resident_id, decision)

    def to_voice_menu(self) -> int:
        """A stock phone sends no X-Privline-* headers: the voice menu answers it
        (docs/voice-menu.md). It learns the phone's address from this proxy, never from
        the phone. Record-routed: the phone's BYE passes here and is journalled."""
        k = self.ksr
        for name in (*PRIVATE_HEADERS, "X-Privline-Source", PHONE_FACILITY):
            k.hdr.remove(name)
        if self.phones is not None:
            phone = check_phone(k, self.phones)
            if phone.refused:
                return self.refuse("phone_auth_failed", k.pv.get("$ci") or "")
            if phone.challenged:
                return 1
            if phone.facility:
                k.hdr.append(f"{PHONE_FACILITY}: {phone.facility}\r\n")
        k.hdr.append(f"X-Privline-Source: {k.pv.get('$si') or ''}\r\n")
        k.rr.record_route()
        k.pv.sets("$du", f"sip:127.0.0.1:{self.cfg.ivr_port}")
        if k.tm.t_relay() < 0:
            return self.refuse("decision_unavailable", k.pv.get("$ci") or "")
        return 1

    def connect(self, call_id: str, facility: FacilityInfo, resident: str,
                d: RouteDecision) -> int:
        k = self.ksr
        if d.mode not in ("private", "recorded"):
            # A mode this routing does not know is never guessed at.
            return self.refuse("unknown_mode", call_id)
        recorded = d.mode == "recorded"
        if recorded and not self.agent_alive():
            # Nobody would play the recording warning: never record unannounced.
            return self.refuse("agent_unavailable", call_id)
        flags = f"{OFFER_FLAGS} {RECORD_FLAGS if recorded else NO_RECORD_FLAGS}"
        if k.rtpengine.rtpengine_offer(flags) < 0:
            return self.refuse("media_unavailable", call_id)
        if recorded and not has_pcap(self.recording_dir, call_id):
            # rtpengine answers ok even when it cannot write: only the file proves it.
            k.rtpengine.rtpengine_delete0()
            self.log("crit", f"FAULT recording file missing for recorded call {call_id}")
            return self.refuse("recording_fault", call_id, fault=True)
        k.dialog.dlg_manage()
        if d.max_minutes > 0:
            # The hard stop at max_minutes, kept by Kamailio itself so a dead agent
            # cannot make a call run past the limit; the agent plays the warnings.
            # (send_bye is on in kamailio.cfg: a timed-out dialog sends BYE both ways.)
            k.dialog.dlg_set_timeout(max(1, int(d.max_minutes * self.cfg.minute_seconds)))
        k.pv.sets("$dlg_var(pl_mode)", d.mode)
        self.event(
            "decided", call_id, from_tag=k.pv.get("$ft"), facility_name=facility.name,
            reminder_interval_s=facility.reminder_interval_s, mode=d.mode,
            announcements=list(d.announcements), rate_per_minute=str(d.rate_per_minute),
            max_minutes=d.max_minutes,
        )
        for name in PRIVATE_HEADERS:
            k.hdr.remove(name)  # the PIN and the resident's id never leave the facility
        k.rr.record_route()
        k.pv.sets("$ru", f"sip:{d.number or k.pv.get('$rU')}@{self.cfg.trunk}")
        k.tm.t_on_reply("ksr_onreply_invite")
        k.tm.t_on_failure("ksr_failure_invite")
        if k.tm.t_relay() < 0:
            k.rtpengine.rtpengine_delete0()
            return self.refuse("trunk_unreachable", call_id)
        return 1

    def in_dialog(self, method: str) -> int:
        k = self.ksr
        if k.rr.loose_route() > 0:
            if method == "BYE":
                # Loose routing needs no state: a BYE after a Kamailio restart still
                # closes its record.
                self.event("bye", k.pv.get("$ci") or "")
                k.rtpengine.rtpengine_delete0()
            elif method in ("INVITE", "UPDATE") and "m=audio" in (k.pv.get("$rb") or ""):
                # Re-offers keep the call's recording state inside rtpengine; say it again
                # anyway so a re-INVITE can never switch a private call to recording. A
                # dialog Kamailio lost (restart) has no mode: it is never recorded anew.
                mode = k.pv.get("$dlg_var(pl_mode)") or ""
                flags = RECORD_FLAGS if mode == "recorded" else NO_RECORD_FLAGS
                k.rtpengine.rtpengine_offer(f"{OFFER_FLAGS} {flags}")
                k.tm.t_on_reply("ksr_onreply_invite")
            k.tm.t_relay()
            return 1
        if method == "ACK":
            if k.tm.t_check_trans() > 0:
                k.tm.t_relay()
            return 1
        k.sl.sl_send_reply(404, "Not Here")
        return 1

    # -- replies and events -------------------------------------------------------------
    def reply_invite(self) -> int:
        k = self.ksr
        status = int(k.pv.get("$rs") or 0)
        if status in (180, 183) or 200 <= status < 300:
            if "m=audio" in (k.pv.get("$rb") or ""):
                k.rtpengine.rtpengine_answer(OFFER_FLAGS)
        if 200 <= status < 300 and k.pv.get("$rm") == "INVITE":
            self.event("answered", k.pv.get("$ci") or "", from_tag=k.pv.get("$ft"),
                       to_tag=k.pv.get("$tt"))
        return 1

    def failure_invite(self) -> int:
        k = self.ksr
        code = int(k.pv.get("$T_reply_code") or 0)
        self.event("failed", k.pv.get("$ci") or "", code=code)
        if code != 408:
            # After Kamailio's own timeout (408) the far end may still answer, and its
            # 200 is relayed: keep the media; rtpengine's timeout frees it otherwise.
            k.rtpengine.rtpengine_delete0()
        return 1

    def dialog_event(self, event: str) -> int:
        """The dialog ended: Kamailio's own timer at max_minutes or an RPC (its BYEs do
        not pass the request route, so rtpengine is told by the agent), or a BYE.

        A BYE's end is reported while this worker routes that BYE (inside loose_route),
        and the BYE's own journal line follows and closes the record: a second line would
        cost this worker a write and the agent a read and a claim for nothing. The timer
        and the RPC report on a message of Kamailio's own making (an OPTIONS), never a
        BYE, so their end is always journalled."""
        if event == "dialog:end":
            k = self.ksr
            if k.pv.get("$rm") == "BYE":
                return 1
            self.event("ended", k.pv.get("$dlg(callid)") or "",
                       from_tag=k.pv.get("$dlg(from_tag)"), to_tag=k.pv.get("$dlg(to_tag)"))
        return 1


class KamailioApp:
    """The object app_python3 calls; method names are Kamailio's."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def child_init(self, rank: int) -> int:
        return 0

    # No ksr_reply_route and no ksr_onsend_route: kamailio.cfg turns both callbacks off
    # (kemi.*_callback="none"), so replies enter Python only through the INVITE's own
    # t_on_reply route, not once more each for nothing (config.py).
    def ksr_request_route(self, msg: Any) -> int:
        return self.router.request()

    def ksr_onreply_invite(self, msg: Any) -> int:
        return self.router.reply_invite()

    def ksr_failure_invite(self, msg: Any) -> int:
        return self.router.failure_invite()

    def ksr_dialog_event(self, msg: Any, event: str) -> int:
        return self.router.dialog_event(event)


def build_router(ksr: Any, decisions: DecisionSource | None = None) -> Router:
    """The routing from the Settings in this process's environment (``switch up``
    starts Kamailio with them), through the composition root."""
    settings = Settings.from_env()
    cfg = SwitchConfig.from_settings(settings)
    if decisions is None:
        runtime = bootstrap(settings, call_path=True)
        if runtime.engine is not None:
            # Kamailio forks its workers after mod_init: no pooled connection may be
            # shared across the fork; each worker opens its own.
            runtime.engine.dispose()
        decisions = CoreDecisions(runtime.uow)
        phones: PhoneDirectory | None = CorePhones(runtime.uow)
    else:
        phones = None  # a stub's routing (the benchmark's): no phone credentials
    return Router(cfg, decisions, JournalWriter(cfg.journal_dir), ksr, phones)


def mod_init() -> KamailioApp:
    ksr = importlib.import_module("KSR")  # only importable inside Kamailio
    app = KamailioApp(build_router(ksr))
    ksr.info(f"privline: routing ready (python {sys.version.split()[0]}, pid {os.getpid()})\n")
    return app
