"""What the parties hear, and the watch on a recorded call's file: the call agent's
media work, kept off the SIP path.

Per call, from the journal's events:

- on ``decided``, make the announcement audio;
- on ``answered``, check again that a recorded call's pcap exists (else end it as a
  fault), block both parties' audio, play the announcements to both, and unblock
  after rtpengine's reported duration, so nobody talks over the warning (one ng
  command each for the whole call);
- play the recording reminder at the facility's interval and the one-minute warning
  before max_minutes (Kamailio's dialog timer ends the call itself);
- watch the recording file while the call lasts: a recorded call whose file vanishes is
  ended as a fault;
- on the call's end, stop all of that at once (nothing is ever played to a call
  rtpengine has deleted) and delete the call in rtpengine.

Each warning played is written to the call's record with rtpengine's answer as evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.errors import NgError, NgTimeout, SwitchError
from privline.adapters.switch.journal import JournalWriter
from privline.adapters.switch.menu_control import MenuControl
from privline.adapters.switch.ng import AsyncNgClient
from privline.adapters.switch.prompts import Prompts
from privline.adapters.switch.recordings import escaped, pcap_files, recorded_call_ids
from privline.adapters.switch.records import CallRecords
from privline.adapters.switch.rpc import KamailioRpc
from privline.domain.announcements import Prompt, text_of
from privline.services.call_events import CallEvent

log = logging.getLogger("privline.switch.announcer")
WATCH_EVERY_S = 1.0
MEDIA_TRIES = 3  # a block or unblock rtpengine does not answer is asked again
END_TRIES, END_WAIT_S = 10, 1.0  # asking Kamailio to end a faulted call
RELEASED_KEPT = 20_000  # calls whose media the routing released, remembered
PROMPTS_KEPT = 1_000  # prompt files remembered by their words (a few per facility and rate)


@dataclass
class Call:
    call_id: str
    info: Mapping[str, Any]
    prompt: asyncio.Future[Path] | None = None
    to_tag: str | None = None
    answered_mono: float | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def from_tag(self) -> str:
        return str(self.info.get("from_tag") or "")

    @property
    def recorded(self) -> bool:
        return self.info.get("mode") == "recorded"

    def text(self, prompt: str) -> str:
        return _words(prompt, str(self.info.get("facility_name", "")),
                      str(self.info.get("rate_per_minute", "0")))


@lru_cache(maxsize=PROMPTS_KEPT)
def _words(prompt: str, facility: str, rate: str) -> str:
    """A prompt's words. Remembered: every call of a facility at one rate says the same
    words, and composing them (a Decimal and the wording) for each call showed in the
    agent's profile."""
    return text_of(Prompt(prompt), facility, Decimal(rate))


def _now() -> datetime:
    return datetime.now(UTC)


class Announcer:
    def __init__(self, cfg: SwitchConfig, ng: AsyncNgClient, records: CallRecords,
                 notes: JournalWriter | None = None) -> None:
        self.cfg = cfg
        self.ng = ng
        self.records = records
        # Each warning played goes to the journal, as the switch's own events do, and
        # reaches the call's record through the intake's batches (exactly once, by its
        # key): no transaction of its own per play, none waiting for the write lock here.
        self.notes = notes or JournalWriter(cfg.journal_dir)
        self.prompts = Prompts(cfg.prompts_dir)
        self.rpc = KamailioRpc(cfg.rpc_socket)
        self.menu_control = MenuControl(cfg.ivr_control)
        self.calls: dict[str, Call] = {}
        self._scan: tuple[float, set[str]] | None = None
        self._released: dict[str, None] = {}  # oldest first
        self._prompt_files: dict[tuple[tuple[str, str], ...], Path] = {}

    # -- events ---------------------------------------------------------------------
    def decided(self, event: Mapping[str, Any]) -> None:
        call = Call(str(event["call_id"]), event)
        self.calls[call.call_id] = call
        parts = tuple((p, call.text(p)) for p in event.get("announcements", []))
        if parts:
            call.prompt = self.prompt_file(parts)

    def prompt_file(self, parts: tuple[tuple[str, str], ...]) -> asyncio.Future[Path]:
        """The prompt file for these words. Made once (in a thread: espeak and sox), then
        remembered: every call of a facility at one rate says the same words, and a
        thread hand-off, a hash and a stat per call were a measurable part of this
        agent's CPU per call. A remembered file that is gone is made again."""
        known = self._prompt_files.get(parts)
        if known is not None and os.path.exists(known):
            done: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
            done.set_result(known)
            return done
        made = asyncio.ensure_future(asyncio.to_thread(self.prompts.sequence, parts))

        def remember(future: asyncio.Future[Path]) -> None:
            if not future.cancelled() and future.exception() is None:
                if len(self._prompt_files) >= PROMPTS_KEPT:
                    self._prompt_files.clear()
                self._prompt_files[parts] = future.result()

        made.add_done_callback(remember)
        return made

    def answered(self, event: Mapping[str, Any]) -> None:
        call = self.calls.get(str(event["call_id"]))
        if call is None or call.answered_mono is not None:
            return
        call.to_tag = event.get("to_tag")
        call.answered_mono = time.monotonic()
        call.tasks.append(asyncio.ensure_future(self.run(call)))

    def ended(self, call_id: str, *, delete_media: bool) -> None:
        """Stop everything for this call before anything else can be sent to it. An end
        that needs no delete (a BYE, which the routing passed to rtpengine itself) is
        remembered, so the dialog's end that follows it costs rtpengine no second one."""
        call = self.calls.pop(call_id, None)
        if call is not None:
            for task in call.tasks:
                task.cancel()
            if call.prompt is not None:
                call.prompt.cancel()
        if not delete_media:
            self._released[call_id] = None
            if len(self._released) > RELEASED_KEPT:
                del self._released[next(iter(self._released))]
        elif call_id in self._released:
            del self._released[call_id]  # its BYE released the media already
        else:
            asyncio.ensure_future(self._delete(call_id))

    async def _delete(self, call_id: str) -> None:
        with contextlib.suppress(SwitchError):
            await self.ng.request("delete", **{"call-id": call_id})

    def prewarm(self) -> None:
        """Make the prompts that do not depend on a facility or rate ahead of calls."""
        for prompt in (Prompt.PRIVATE_NOTICE, Prompt.RECORDING_REMINDER,
                       Prompt.ONE_MINUTE_LEFT, Prompt.REVIEW_NOTICE):
            try:
                self.prompts.speak(prompt.value, text_of(prompt, "", Decimal(0)))
            except SwitchError as exc:
                log.error("prompt %s: %s", prompt.value, exc)

    # -- the answered call ----------------------------------------------------------
    async def run(self, call: Call) -> None:
        if call.recorded and not pcap_files(self.cfg.recording_dir, call.call_id):
            await self.recording_missing(call, "recording_missing_at_answer")
            return
        if call.recorded:
            call.tasks.append(asyncio.ensure_future(self.watch_recording(call)))
        if call.prompt is not None:
            # Hold both parties' audio from the moment of answer, before the prompt
            # file is even ready, so nobody talks before the warning.
            blocked = await self.block(call)
            try:
                path: Path | None = await call.prompt
            except SwitchError as exc:
                log.error("prompt failed for %s: %s", call.call_id, exc)
                path = None
            ok = path is not None and blocked and await self.announce(
                call, list(call.info.get("announcements", [])), path, hold=True)
            if not ok and call.recorded:
                # A call hung up right after its answer: rtpengine deleted it at the BYE
                # (refusing the block or play), and the BYE is on its way here. No media
                # flows in a call rtpengine does not have: nothing went unwarned.
                if not await self.gone_from_rtpengine(call):
                    await self.fault(call, "warning_not_played")
                return
        if call.recorded:
            call.tasks.append(asyncio.ensure_future(self.reminders(call)))
        call.tasks.append(asyncio.ensure_future(self.one_minute_warning(call)))

    async def block(self, call: Call) -> bool:
        """Hold both parties' audio: one command for the whole call (rtpengine 10.5
        blocks every party's media when no from-tag is given)."""
        return await self.insist("block media", call)

    async def insist(self, command: str, call: Call, **extra: Any) -> bool:
        """``command`` for a call in progress, asked again (up to MEDIA_TRIES times)
        while rtpengine does not answer and the call lasts: a busy moment must not
        fault a recorded call (a block not taken) or leave one silent (an unblock not
        taken). A refusal is final: asking again would change nothing. Each failure is
        logged; whether it was taken in the end."""
        for attempt in range(1, MEDIA_TRIES + 1):
            try:
                await self.media(command, call, **extra)
                return True
            except NgTimeout as exc:
                log.error("%s for %s not answered (try %d of %d): %s", command,
                          call.call_id, attempt, MEDIA_TRIES, exc)
                if call.call_id not in self.calls:
                    return False
            except SwitchError as exc:
                log.error("%s refused for %s: %s", command, call.call_id, exc)
                return False
        return False

    async def media(self, command: str, call: Call, **extra: Any) -> dict[str, Any]:
        return await self.ng.request(command, **{"call-id": call.call_id}, **extra)

    async def announce(self, call: Call, prompts: list[str], path: Path, hold: bool) -> bool:
        """Play ``path`` to both parties: one ``play media`` with the ``all`` flag (to
        every party of the call; the two per-party commands it replaces cost rtpengine
        and this agent twice the round trips). With ``hold``, their audio is already
        blocked: unblock it when the prompt ends. Returns whether the play was
        accepted for an answered call (both parties' tags known)."""
        tags = [t for t in (call.from_tag, call.to_tag) if t]
        replies: list[dict[str, Any]] = []
        error = None
        try:
            replies.append(await self.media("play media", call, file=str(path),
                                            flags=["all"]))
        except SwitchError as exc:
            error = str(exc)
        duration_ms = max((int(r.get("duration", 0)) for r in replies), default=0)
        ends = time.monotonic() + duration_ms / 1000
        evidence = {"file": path.name, "to": tags, "blocked": hold, "rtpengine": replies,
                    "error": error}
        # The key of this play among the call's: milliseconds, unique per call (plays
        # of one call are seconds apart) and within the events table's 32-bit seq.
        seq = time.time_ns() // 1_000_000 % 2**31
        if prompts and not self.notes.write("warned", call.call_id, prompts=prompts,
                                            evidence=evidence, seq=seq):
            log.critical("warning played on call %s not journalled: %s", call.call_id,
                         prompts)
        if hold:
            await asyncio.sleep(max(0.0, ends - time.monotonic()))
            await self.release(call)
        return error is None and len(replies) == 1 and len(tags) == 2

    async def release(self, call: Call) -> None:
        """Unblock both parties after the warning ("all": also any block a single party
        was given, the voice menu's)."""
        if not await self.insist("unblock media", call, flags=["all"]) and \
                call.call_id in self.calls and not await self.gone_from_rtpengine(call):
            log.critical("parties of call %s may still be held: no unblock was taken",
                         call.call_id)

    async def reminders(self, call: Call) -> None:
        interval = int(call.info.get("reminder_interval_s", 300)) * self.cfg.minute_seconds / 60
        prompt = Prompt.RECORDING_REMINDER.value
        while call.call_id in self.calls:
            await asyncio.sleep(interval)
            path = await asyncio.to_thread(self.prompts.speak, prompt, call.text(prompt))
            if call.call_id in self.calls:
                await self.announce(call, [prompt], path, hold=False)

    async def one_minute_warning(self, call: Call) -> None:
        max_minutes = int(call.info.get("max_minutes", 0))
        if max_minutes <= 0 or call.answered_mono is None:
            return
        due = call.answered_mono + (max_minutes - 1) * self.cfg.minute_seconds
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        prompt = Prompt.ONE_MINUTE_LEFT.value
        path = await asyncio.to_thread(self.prompts.speak, prompt, call.text(prompt))
        if call.call_id in self.calls:
            await self.announce(call, [prompt], path, hold=False)

    async def watch_recording(self, call: Call) -> None:
        key = escaped(call.call_id)
        while call.call_id in self.calls:
            await asyncio.sleep(WATCH_EVERY_S)
            if call.call_id in self.calls and key not in await self.recorded_now():
                await self.recording_missing(call, "recording_file_vanished")
                return

    async def recorded_now(self) -> set[str]:
        """The spool's recorded Call-IDs, scanned at most once per WATCH_EVERY_S / 2 for
        all the calls being watched."""
        now = time.monotonic()
        if self._scan is None or now - self._scan[0] > WATCH_EVERY_S / 2:
            found = await asyncio.to_thread(recorded_call_ids, self.cfg.recording_dir)
            self._scan = (now, found)
        return self._scan[1]

    async def recording_missing(self, call: Call, what: str) -> None:
        """No pcap for a recorded call: a fault, unless the call is already over. Its
        end can reach this agent after the file left the spool: rtpengine deleted the
        call at the BYE, finished the recording, and the vault's sweep took it, while
        the BYE (written to another worker's journal file) was still on its way here.
        rtpengine answering "unknown call" is that end: no media flows, nothing goes
        unrecorded. A call rtpengine still has, or an rtpengine that does not answer,
        is a fault as before."""
        if not await self.gone_from_rtpengine(call):
            await self.fault(call, what)

    async def gone_from_rtpengine(self, call: Call) -> bool:
        """Whether rtpengine answers that it does not know the call (it was deleted at
        its end). An rtpengine that does not answer proves nothing: False."""
        try:
            await self.ng.request("query", **{"call-id": call.call_id})
        except NgTimeout:
            return False
        except NgError:
            log.info("call %s already over in rtpengine (no fault)", call.call_id)
            return True
        return False

    async def fault(self, call: Call, what: str) -> None:
        """A recorded call without its recording is a hole: end it, loudly. The record
        notes the fault first, so the dialog's end closes it as a fault.

        A voice-menu call is ended by the menu, which holds its two SIP legs.
        Kamailio refuses to end a dialog it has not seen confirmed yet (its ACK late on
        a busy machine) and its RPC answer does not say so: ask again until the dialog's
        end comes back through the journal. If it never does, release the media (the
        recording stops) and close the record as a fault here."""
        log.critical("FAULT %s on call %s: ending it", what, call.call_id)
        await self.records.fault(call.call_id, _now(), what)
        for attempt in range(END_TRIES):
            try:
                if call.info.get("menu"):  # the voice menu holds both legs, not Kamailio
                    await asyncio.to_thread(self.menu_control.end_call, call.call_id)
                else:
                    await asyncio.to_thread(self.rpc.end_call, call.call_id, call.from_tag,
                                            call.to_tag or "")
            except SwitchError as exc:
                log.error("ending faulted call %s (try %d): %s", call.call_id, attempt + 1,
                          exc)
            await asyncio.sleep(END_WAIT_S)
            if call.call_id not in self.calls:
                return  # its end arrived
        log.critical("could not end faulted call %s: media released, record closed",
                     call.call_id)
        # ended() cancels the call's tasks, and this one is among them: it would be
        # cancelled at its next await, before the record is closed.
        call.tasks = [t for t in call.tasks if t is not asyncio.current_task()]
        self.ended(call.call_id, delete_media=True)
        await self.records.apply(CallEvent(call.call_id, "ended", _now(), 0,
                                           {"reason": "fault"}))
