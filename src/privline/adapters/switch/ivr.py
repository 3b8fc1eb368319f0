"""The voice menu for stock phones (docs/voice-menu.md): a back-to-back user agent.

Kamailio relays an INVITE that carries no ``X-Privline-Facility`` header here, with the
phone's address in ``X-Privline-Source``. The menu finds the facility by that address,
answers the phone (media through rtpengine, to the menu's sink, never recorded), asks for
the PIN (RFC 4733 digits that rtpengine reports as JSON to the sink's port; ``#`` ends an
entry, a digit stops the prompt, silence repeats it once and then hangs up), finds the
resident by PIN, and has the core decide (``decide_call``). A denied call hears why and
is hung up; an allowed one hears the rate (or that it is free and private) and is placed
to the trunk. Every event goes to the journal as Kamailio's are, so the call agent keeps
the records and plays the recording warnings exactly as for a kiosk's call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from privline.adapters.switch import sip
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.decisions import RouteDecision
from privline.adapters.switch.errors import SwitchError
from privline.adapters.switch.journal import JournalWriter
from privline.adapters.switch.legs import Addr, Endpoint, PhoneLeg, TrunkLeg
from privline.adapters.switch.menu_control import MenuControlServer
from privline.adapters.switch.menu_core import MenuCore, MenuFacility
from privline.adapters.switch.menu_media import MenuMedia
from privline.adapters.switch.ng import AsyncNgClient
from privline.adapters.switch.phone_auth import PHONE_FACILITY
from privline.adapters.switch.prompts import Prompts
from privline.adapters.switch.recordings import has_pcap
from privline.domain import menu

log = logging.getLogger("privline.switch.ivr")
SOURCE_HEADER = "X-Privline-Source"
NG_TRIES = 4
DIGIT_TIMEOUT_S = 5.0  # after a prompt ends, or between two digits
RING_REPEATS = 20  # ringback cycles of 6 s: longer than the trunk's INVITE may take
AGENT_STALE_S = 5.0  # as the routing: no warnings without the agent, so no recorded call
# The SIP code each refusal is journalled with (the phone's leg may already be answered).
CODES = {"untrusted_source": 403, "late_offer_refused": 488, "pin_required": 403,
         "pin_invalid": 403, "decision_unavailable": 503, "agent_unavailable": 503,
         "media_unavailable": 503, "recording_fault": 500, "trunk_unreachable": 503,
         "unknown_mode": 500, "called_party_refused": 603, "called_party_silent": 480,
         "called_party_blocked": 603, "abandoned": 487, "number_required": 484}
_EVENTS = {**{n: str(n) for n in range(10)}, 10: "*", 11: "#"}


class DtmfSink(asyncio.DatagramProtocol):
    """rtpengine's DTMF log (one JSON datagram per digit) and the far-side media sink of
    calls in the menu (RTP, dropped), on one port."""

    def __init__(self, menu: VoiceMenu) -> None:
        self.menu = menu

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not data.startswith(b"{"):
            return
        try:
            event = json.loads(data)
            digit = _EVENTS[int(event["event"])]
        except (ValueError, KeyError, TypeError):
            return
        self.menu.digit(str(event.get("callid", "")), str(event.get("source_tag", "")), digit)


class VoiceMenu:
    def __init__(self, cfg: SwitchConfig, core: MenuCore, media: MenuMedia,
                 journal: JournalWriter, prompts: Prompts) -> None:
        self.cfg, self.core, self.media = cfg, core, media
        self.journal, self.prompts = journal, prompts
        self.endpoint = Endpoint("127.0.0.1", cfg.ivr_port, self.request)
        self.calls: dict[str, MenuCall] = {}  # by the phone's and the trunk's Call-ID
        host, _, port = cfg.trunk.partition(":")
        self.trunk: Addr = (host, int(port or 5060))

    def event(self, kind: str, call_id: str, **fields: Any) -> None:
        if not self.journal.write(kind, call_id, **fields):
            log.critical("journal write failed: %s of %s not recorded", kind, call_id)

    def digit(self, call_id: str, tag: str, digit: str) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            call.digits.put_nowait((tag, digit))

    def end(self, call_id: str) -> bool:
        """The call agent found a fault on this call: BYE both legs (menu_control.py)."""
        call = self.calls.get(call_id)
        if call is None:
            return False
        call.ending = asyncio.ensure_future(call.teardown())
        return True

    def request(self, msg: sip.SipMessage, source: Addr) -> None:
        call = self.calls.get(msg.call_id)
        method = msg.method
        if call is None:
            if method == "INVITE" and not sip.tag_of(msg.get("to")):
                call = MenuCall(self, PhoneLeg(self.endpoint, msg, source))
                self.calls[msg.call_id] = call
                call.task = asyncio.ensure_future(call.run())
            elif method == "OPTIONS":
                self.endpoint.send(sip.response(msg, 200, "OK"), source)  # switch status
            elif method != "ACK":
                self.endpoint.send(sip.response(msg, 481, "Call Does Not Exist"), source)
            return
        call.request(msg, source)

    def prompt(self, name: str, language: str, **kwargs: Any) -> Path:
        return self.prompts.speak(f"menu-{language}-{name.replace('.', '-')}",
                                  menu.words(name, language, **kwargs))

    def agent_alive(self) -> bool:
        try:
            return self.cfg.heartbeat.stat().st_mtime > time.time() - AGENT_STALE_S
        except OSError:
            return False


class MenuCall:
    def __init__(self, menu_: VoiceMenu, phone: PhoneLeg) -> None:
        self.menu, self.phone = menu_, phone
        self.call_id = phone.call_id
        self.far_tag = "far-" + sip.new_tag()
        self.digits: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.trunk: TrunkLeg | None = None
        self.task: asyncio.Task[None] | None = None
        self.language = "en"
        self.answered = False
        self.facility: MenuFacility | None = None
        self.who: dict[str, Any] = {}
        self.ending: asyncio.Future[None] | None = None  # kept: a task needs a reference
        self.decided = False  # the core was asked (its record exists, or it failed)
        self.started = time.monotonic()
        self.keys_at: list[float] = []  # when each key of the last entry came (the log's)

    def keys(self) -> str:
        """When the last entry's keys came: a key lost or late shows as a gap."""
        if not self.keys_at:
            return ""
        gaps = [b - a for a, b in zip(self.keys_at, self.keys_at[1:], strict=False)]
        return (f" ({len(self.keys_at)} keys +{self.keys_at[0]:.2f}s..+{self.keys_at[-1]:.2f}s,"
                f" longest gap {max(gaps, default=0.0):.2f}s)")

    def step(self, what: str) -> None:
        """One line per step of the call with the seconds since its INVITE, so a slow
        step can be found in the menu's log (no digits and no number: only the step)."""
        log.info("%s %s +%.2fs", self.call_id, what, time.monotonic() - self.started)

    # -- SIP from either leg ----------------------------------------------------------
    def request(self, msg: sip.SipMessage, source: Addr) -> None:
        method = msg.method
        from_phone = msg.call_id == self.call_id
        if method == "INVITE" and from_phone and not sip.tag_of(msg.get("to")):
            self.phone.retransmitted()
        elif method == "ACK":
            if from_phone:
                self.phone.acked.set()
        elif method == "CANCEL" and from_phone:
            self.menu.endpoint.send(sip.response(msg, 200, "OK"), source)
            if not self.answered:
                self.phone.reply(487, "Request Terminated")
                self.phone.ended.set()
                if self.task is not None:
                    self.task.cancel()
        elif method == "BYE":
            self.menu.endpoint.send(sip.response(msg, 200, "OK"), source)
            self.ending = asyncio.ensure_future(self.hangup(by_phone=from_phone))
        elif method in ("OPTIONS", "INFO"):
            self.menu.endpoint.send(sip.response(msg, 200, "OK"), source)
        else:
            # Re-INVITEs (hold, codec changes) are not taken: the media stays as set.
            self.menu.endpoint.send(sip.response(msg, 405, "Method Not Allowed"), source)

    async def hangup(self, *, by_phone: bool) -> None:
        """A BYE from either side: journalled, then the other side is ended."""
        if self.phone.ended.is_set() and (self.trunk is None or self.trunk.ended.is_set()):
            return
        if self.trunk is not None and self.trunk.answered and not self.trunk.ended.is_set():
            self.menu.event("bye", self.call_id)
        self.step("hung up by " + ("the phone" if by_phone else "the called party"))
        if by_phone and self.answered and not self.decided:
            # Hung up in the menu, before any decision: still a record, never silence.
            self.menu.event("refused", self.call_id, code=CODES["abandoned"],
                            reason="abandoned", **self.who)
        if by_phone:
            self.phone.ended.set()
            if self.trunk is not None:
                self.trunk.cancel()
                await self.trunk.bye()
        else:
            if self.trunk is not None:
                self.trunk.ended.set()
            await self.phone.bye()
        if self.task is not None:
            self.task.cancel()

    async def teardown(self) -> None:
        """End both legs from the menu's side (the agent asked, for a fault it noted on
        the record first): the journalled ``bye`` closes the record, as a fault."""
        if self.trunk is not None and self.trunk.answered and not self.trunk.ended.is_set():
            self.menu.event("bye", self.call_id)
        if self.trunk is not None:
            self.trunk.cancel()
        await asyncio.gather(self.phone.bye(), *(() if self.trunk is None
                                                 else (self.trunk.bye(),)))
        if self.task is not None:
            self.task.cancel()

    # -- the menu ------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("voice menu failed for %s", self.call_id)
            with contextlib.suppress(Exception):
                await self.refuse("decision_unavailable")
        finally:
            await self._cleanup()

    async def _cleanup(self) -> None:
        self.phone.close()
        with contextlib.suppress(SwitchError):
            await self.menu.media.delete(self.call_id)
        self.menu.calls.pop(self.call_id, None)
        if self.trunk is not None:
            self.menu.calls.pop(self.trunk.call_id, None)

    async def refuse(self, reason: str, *, say: str | None = None, fault: bool = False) -> None:
        """Journal the refusal (before anything reaches the phone), tell the resident why
        when the phone is answered, and end the call."""
        code = CODES.get(reason, 403)
        self.step(f"refused {reason}")
        self.menu.event("refused", self.call_id, code=code, reason=reason, fault=fault,
                        **self.who)
        if not self.answered:
            self.phone.reply(code, "Forbidden" if code == 403 else "Refused",
                             headers=(("X-Privline-Reason", reason),))
            self.phone.ended.set()
            return
        if say is not None:
            await self.say(say, wait=True)
        await self.phone.bye()

    async def _run(self) -> None:
        invite = self.phone.invite
        self.phone.reply(100, "Trying")
        user = sip.user_of(invite.uri)
        dialled = menu.parse_dialled(user)
        # The menu's own number: the number to call is asked for after the PIN.
        ask_number = bool(self.menu.cfg.menu_number) and \
            user.strip() == self.menu.cfg.menu_number
        self.who = {"facility": None, "resident": None,
                    "dialled": None if ask_number else dialled.number or None}
        # A phone that authenticated is its credentials' facility's (phone_auth.py);
        # any other is known by its address. Both headers come from the routing.
        phone_facility = invite.get(PHONE_FACILITY.lower())
        if phone_facility:
            facility = await asyncio.to_thread(self.menu.core.facility_named, phone_facility)
        else:
            source = invite.get(SOURCE_HEADER.lower()) or ""
            facility = await asyncio.to_thread(self.menu.core.facility_at, source)
        if facility is None:
            await self.refuse("untrusted_source")
            return
        self.facility, self.language = facility, facility.language
        self.who["facility"] = facility.id
        if "m=audio" not in invite.body:
            await self.refuse("late_offer_refused")
            return
        try:
            phone_sdp, self.far_sdp = await self.menu.media.answer_phone(
                self.call_id, self.phone.from_tag, self.far_tag, invite.body)
        except SwitchError as exc:
            log.error("media for %s: %s", self.call_id, exc)
            await self.refuse("media_unavailable")
            return
        self.phone.reply(200, "OK", body=phone_sdp)
        self.answered = True
        self.step("answered")
        resident, pin = await self.ask_pin()
        if resident is None:
            return
        self.step("pin accepted")
        self.who["resident"] = resident
        if ask_number:
            entry = await self.collect("enter_number", max_digits=menu.MAX_NUMBER_DIGITS)
            if not entry:
                await self.refuse("number_required", say="no_entry")
                return
            dialled = menu.parse_dialled(entry)
            self.who["dialled"] = dialled.number
            self.step(f"number entered: {len(entry)} digits{self.keys()}")
        self.decided = True
        try:
            decision = await asyncio.to_thread(
                self.menu.core.decide, facility.id, resident, dialled.number,
                dialled.private_requested, pin, datetime.now(UTC), self.call_id)
        except Exception as exc:  # noqa: BLE001 - any failure refuses; never connects
            log.error("decision failed for %s: %r", self.call_id, exc)
            await self.refuse("decision_unavailable", say="denied.privilege_unknown")
            return
        self.step(f"decided {decision.mode}")
        if decision.mode == "denied":
            await self.refuse(decision.reason, say=menu.denial_prompt(decision.reason))
            return
        await self.place(decision)

    async def ask_pin(self) -> tuple[str | None, str]:
        """The resident keyed in; (None, "") when they never were (already hung up)."""
        assert self.facility is not None  # noqa: S101 - set before the PIN is asked
        for attempt in range(1, menu.PIN_TRIES + 1):
            pin = await self.collect("enter_pin")
            self.step(f"pin entry {attempt}: {len(pin)} digits{self.keys()}")
            if not pin:
                await self.refuse("pin_required", say="no_entry")
                return None, ""
            found = await asyncio.to_thread(self.menu.core.resident, self.facility.id, pin)
            if found is not None:
                self.language = menu.language_of(found[1], self.facility.language)
                return found[0], pin
            if attempt == menu.PIN_TRIES:
                await self.refuse("pin_invalid", say="pin_failed")
                return None, ""
            await self.say("pin_wrong", wait=True)
        return None, ""

    async def say(self, prompt: str, *, wait: bool, to: str | None = None,
                  **kwargs: Any) -> float:
        """Play a prompt to the phone (or to the party tagged ``to``); when it ends
        (monotonic seconds). With ``wait``, return after it ended."""
        tag = to or self.phone.from_tag
        if self.facility is not None:
            kwargs.setdefault("facility", self.facility.name)
        path = await asyncio.to_thread(self.menu.prompt, prompt, self.language, **kwargs)
        try:
            ms = await self.menu.media.play(self.call_id, tag, path)
        except SwitchError as exc:
            log.error("prompt %s not played to %s: %s", prompt, self.call_id, exc)
            ms = 0
        self.step(f"prompt {prompt}: {ms} ms")
        ends = time.monotonic() + ms / 1000
        if wait:
            await asyncio.sleep(ms / 1000)
        return ends

    async def ring(self) -> None:
        """Ringing to the resident (only the ring tone: the called party's media stays
        blocked until acceptance). A ring that cannot play is only comfort lost."""
        try:
            path = await asyncio.to_thread(self.menu.prompts.ringback)
            with contextlib.suppress(SwitchError):  # nothing playing yet: nothing to stop
                await self.menu.media.stop(self.call_id, self.phone.from_tag)
            await self.menu.media.play(self.call_id, self.phone.from_tag, path,
                                       repeat=RING_REPEATS)
        except SwitchError as exc:
            log.error("no ringback for %s: %s", self.call_id, exc)

    async def collect(self, prompt: str, *, tag: str | None = None,
                      one_key: bool = False, max_digits: int = menu.MAX_PIN_DIGITS) -> str:
        """Digits from the party ``tag`` (the phone by default) up to ``#`` (or
        ``max_digits``, or the first key with ``one_key``); a digit stops the prompt
        (barge-in); silence after the prompt repeats it once, then gives up (empty)."""
        tag = tag or self.phone.from_tag
        self.keys_at.clear()
        for _ in range(2):
            ends = await self.say(prompt, wait=False, to=tag)
            deadline = ends + DIGIT_TIMEOUT_S
            entry, playing = "", True
            while True:
                try:
                    source, digit = await asyncio.wait_for(
                        self.digits.get(), max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    break
                if source != tag:
                    continue
                self.keys_at.append(time.monotonic() - self.started)
                if playing and time.monotonic() < ends:
                    with contextlib.suppress(SwitchError):
                        await self.menu.media.stop(self.call_id, tag)
                playing = False
                if one_key:
                    return digit
                if digit == "#":
                    if entry:
                        return entry
                    continue
                entry += digit
                if len(entry) >= max_digits:
                    return entry
                deadline = time.monotonic() + DIGIT_TIMEOUT_S
            if entry:
                return entry
        return ""

    async def place(self, d: RouteDecision) -> None:
        """Tell the resident the terms, then call the number. The far side answers into
        held media and is asked to accept; only on 1 are the parties joined (and the
        call recorded, when the core said so and the file proves it) and billed."""
        assert self.facility is not None  # noqa: S101 - set before a decision
        if d.mode not in ("private", "recorded"):
            await self.refuse("unknown_mode", say="denied")
            return
        recorded = d.mode == "recorded"
        if recorded and not self.menu.agent_alive():
            await self.refuse("agent_unavailable", say="call_failed")
            return
        if d.mode == "private" and d.rate_per_minute == 0:
            await self.say("free_private", wait=True)
        else:
            await self.say("rate", wait=True, rate_per_minute=d.rate_per_minute)
        self.menu.event(
            "decided", self.call_id, from_tag=self.phone.from_tag, menu=True,
            facility_name=self.facility.name,
            reminder_interval_s=self.facility.reminder_interval_s, mode=d.mode,
            announcements=list(d.announcements), rate_per_minute=str(d.rate_per_minute),
            max_minutes=d.max_minutes)
        number = d.number or self.who["dialled"] or ""
        trunk = self.trunk = TrunkLeg(self.menu.endpoint, self.menu.trunk, number)
        self.menu.calls[trunk.call_id] = self
        await self.ring()
        self.step("calling")
        final = await trunk.invite(self.far_sdp)
        self.step(f"called party: {None if final is None else final.status}")
        if final is None or not 200 <= final.status < 300:
            code = 408 if final is None else final.status
            self.menu.event("failed", self.call_id, code=code)
            await self.say("call_failed", wait=True)
            await self.phone.bye()
            return
        sip_answered = datetime.now(UTC)
        try:
            # Hold both parties before the far side's media is joined: neither hears
            # the other until the called party accepts.
            for tag in (self.phone.from_tag, self.far_tag):
                await self.menu.media.block(self.call_id, tag, True)
            await self.menu.media.connect(self.call_id, self.phone.from_tag, self.far_tag,
                                          self.phone.invite.body, final.body, record=False)
        except SwitchError as exc:
            await self._fault("media_unavailable", exc)
            return
        await self.ring()  # again: the re-offer that joined the trunk may stop a player
        if not await self.accepted(d, number):
            return
        try:
            if recorded:
                await self.menu.media.connect(self.call_id, self.phone.from_tag,
                                              self.far_tag, self.phone.invite.body,
                                              final.body, record=True)
            if recorded and not has_pcap(self.menu.cfg.recording_dir, self.call_id):
                log.critical("FAULT recording file missing for recorded call %s",
                             self.call_id)
                await self._fault("recording_fault")
                return
            for tag in (self.phone.from_tag, self.far_tag):
                await self.menu.media.block(self.call_id, tag, False)
        except SwitchError as exc:
            await self._fault("media_unavailable", exc)
            return
        # Answered as far as the records go: billing starts now, the agent's warnings
        # play now (to both, with their audio held again meanwhile).
        self.step("connected")
        self.menu.event("answered", self.call_id, from_tag=self.phone.from_tag,
                        to_tag=self.far_tag, accepted=True,
                        answered_at=sip_answered.isoformat())
        if d.max_minutes > 0:
            await asyncio.sleep(d.max_minutes * self.menu.cfg.minute_seconds)
            self.menu.event("ended", self.call_id, reason="max_minutes")
            await asyncio.gather(self.phone.bye(), trunk.bye())
        else:
            await self.phone.ended.wait()

    async def accepted(self, d: RouteDecision, number: str) -> bool:
        """Ask the called party; on anything but 1 the call ends unbilled (refused,
        with the called party's answer as the reason) and the resident is told."""
        assert self.facility is not None and self.trunk is not None  # noqa: S101
        private = d.mode == "private"
        key = await self.collect("called_private" if private else "called_recorded",
                                 tag=self.far_tag, one_key=True)
        self.step(f"called party's key: {key or 'none'}")
        with contextlib.suppress(SwitchError):
            await self.menu.media.stop(self.call_id, self.phone.from_tag)  # the ringing
        if key == menu.ACCEPT:
            return True
        reason = "called_party_refused" if key else "called_party_silent"
        if key == menu.BLOCK:
            blocked = not private and await asyncio.to_thread(
                self.menu.core.block_number, self.facility.id, number, datetime.now(UTC))
            reason = "called_party_blocked" if blocked else reason
            await self.say("called_blocked" if blocked else "called_cannot_block",
                           wait=True, to=self.far_tag)
        self.menu.event("refused", self.call_id, code=CODES[reason], reason=reason,
                        **self.who)
        await self.say("not_accepted", wait=True)
        await asyncio.gather(self.phone.bye(), self.trunk.bye())
        return False

    async def _fault(self, reason: str, exc: SwitchError | None = None) -> None:
        self.step(f"fault {reason}" + (f": {exc}" if exc is not None else ""))
        with contextlib.suppress(SwitchError):
            await self.menu.media.delete(self.call_id)
        self.menu.event("refused", self.call_id, code=CODES[reason], reason=reason,
                        fault=True, **self.who)
        assert self.trunk is not None  # noqa: S101 - only after the trunk answered
        await asyncio.gather(self.phone.bye(), self.trunk.bye())


async def serve(cfg: SwitchConfig, core: MenuCore) -> None:
    """Run the menu until SIGTERM (``switch down``)."""
    loop = asyncio.get_running_loop()
    # Decisions wait on the database's write lock under load; the facility and PIN reads
    # of new calls must not queue behind them in asyncio's small default pool.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=16, thread_name_prefix="menu"))
    # Patient with rtpengine (4 tries of 1 s; a retry is answered from its cookie
    # cache, never done twice): a resident waits on these commands anyway, and a
    # moment of starvation must not end an accepted call as media_unavailable.
    ng = await AsyncNgClient.connect("127.0.0.1", cfg.ng_port, tries=NG_TRIES)
    menu_ = VoiceMenu(cfg, core, MenuMedia(ng, cfg.ivr_media_port),
                      JournalWriter(cfg.journal_dir), Prompts(cfg.prompts_dir))
    await loop.create_datagram_endpoint(lambda: menu_.endpoint,
                                        local_addr=("127.0.0.1", cfg.ivr_port))
    await loop.create_datagram_endpoint(lambda: DtmfSink(menu_),
                                        local_addr=("127.0.0.1", cfg.ivr_media_port))
    with contextlib.suppress(FileNotFoundError):
        cfg.ivr_control.unlink()  # left by a menu that was killed
    await loop.create_datagram_endpoint(lambda: MenuControlServer(menu_.end),
                                        local_addr=str(cfg.ivr_control),
                                        family=socket.AF_UNIX)
    log.info("voice menu on 127.0.0.1:%d (digits on %d)", cfg.ivr_port, cfg.ivr_media_port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for call in list(menu_.calls.values()):
        if call.task is not None:
            call.task.cancel()
    ng.close()
