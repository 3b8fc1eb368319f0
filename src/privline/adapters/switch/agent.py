"""The call agent: everything about a call that must not hold up SIP routing.

Kamailio's routing sends one JSON datagram per event (invite, answered, bye, ended,
failed, refused) to 127.0.0.1:<agent_port>. The agent then, per call:

- makes the announcement audio as soon as the INVITE is decided;
- on answer, checks again that a recorded call's pcap exists (else ends it as a fault),
  blocks both parties' audio, plays the announcements to each party, and unblocks after
  rtpengine's reported duration, so nobody talks over the warning;
- plays the recording reminder at the facility's interval and the one-minute warning
  before max_minutes (Kamailio's dialog timer ends the call itself);
- watches the recording file while the call lasts: a recorded call whose file vanishes
  is ended and logged as a fault;
- at the end, deletes the call in rtpengine, bills it and writes its record.

Run with ``python -m privline.adapters.switch.agent <switch.json>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from privline.adapters.switch.calllog import CallLog, charge_cents
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.errors import SwitchError
from privline.adapters.switch.ng import AsyncNgClient
from privline.adapters.switch.prompts import Prompts
from privline.adapters.switch.recordings import escaped, pcap_files, recorded_call_ids
from privline.adapters.switch.rpc import KamailioRpc
from privline.domain.announcements import Prompt, text_of

log = logging.getLogger("privline.switch.agent")
WATCH_EVERY_S = 1.0


@dataclass
class Call:
    call_id: str
    info: dict[str, Any]
    invited_at: datetime
    prompt: asyncio.Task[Path] | None = None
    to_tag: str | None = None
    answered_at: datetime | None = None
    answered_mono: float | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    fault: str | None = None

    @property
    def from_tag(self) -> str:
        return str(self.info.get("from_tag", ""))

    @property
    def recorded(self) -> bool:
        return self.info.get("mode") == "recorded"

    def text(self, prompt: str) -> str:
        return text_of(Prompt(prompt), str(self.info.get("facility_name", "")),
                       Decimal(str(self.info.get("rate_per_minute", "0"))))


class Agent(asyncio.DatagramProtocol):
    def __init__(self, cfg: SwitchConfig, ng: AsyncNgClient, recorder: Any = None) -> None:
        self.cfg = cfg
        self.ng = ng
        self.prompts = Prompts(cfg.prompts_dir)
        self.rpc = KamailioRpc(cfg.rpc_socket)
        self.calls_log = CallLog(cfg.dir / "calls.jsonl")
        self.recorder = recorder  # CoreRecorder, or None with a stand-in brain
        # One writer at a time: SQLite has one write lock, and the decisions Kamailio
        # waits on must not queue behind a crowd of the agent's own writes.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record")
        self.calls: dict[str, Call] = {}
        self._scan: tuple[float, set[str]] | None = None
        self.transport: asyncio.DatagramTransport | None = None

    async def record(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Tell the core's call record; a failure is logged, never stops the call."""
        if self.recorder is None:
            return None
        try:
            call = functools.partial(getattr(self.recorder, method), *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._writer, call)
        except Exception as exc:  # noqa: BLE001 - the JSON record still keeps the facts
            log.error("call record %s failed for %s: %r", method, args[:1], exc)
            return None

    # -- events ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            event = json.loads(data)
            kind = event["event"]
        except (ValueError, KeyError, TypeError):
            log.warning("bad datagram from %s", addr)
            return
        if kind == "ping":
            if self.transport is not None:
                self.transport.sendto(b"pong", addr)
            return
        if not hmac.compare_digest(str(event.get("token", "")), self.cfg.agent_token):
            log.warning("call event without the switch's token from %s: ignored", addr)
            return
        handler = getattr(self, f"on_{kind}", None)
        if handler is not None:
            handler(event)

    def on_invite(self, event: dict[str, Any]) -> None:
        call = Call(event["call_id"], event, _now())
        self.calls[call.call_id] = call
        parts = [(p, call.text(p)) for p in event.get("announcements", [])]
        if parts:
            call.prompt = asyncio.ensure_future(asyncio.to_thread(self.prompts.sequence, parts))

    def on_answered(self, event: dict[str, Any]) -> None:
        call = self.calls.get(event["call_id"])
        if call is None or call.answered_at is not None:
            return
        call.to_tag = event.get("to_tag")
        call.answered_at = _parse(event.get("at")) or _now()
        call.answered_mono = time.monotonic()
        call.tasks.append(asyncio.ensure_future(self.run(call)))
        asyncio.ensure_future(self.record("answered", call.call_id, call.answered_at))

    def on_ended(self, event: dict[str, Any]) -> None:
        """The dialog ended: a BYE, or Kamailio's own timer at max_minutes (its BYEs do
        not pass the request route, so rtpengine is told here)."""
        call = self.calls.pop(event["call_id"], None)
        if call is not None:
            asyncio.ensure_future(self.finish(call, "hangup", _parse(event.get("at")),
                                              delete_media=True))

    def on_bye(self, event: dict[str, Any]) -> None:
        """A party hung up; the routing already deleted the call in rtpengine."""
        call = self.calls.pop(event["call_id"], None)
        if call is not None:
            asyncio.ensure_future(self.finish(call, "hangup", _parse(event.get("at"))))

    def on_failed(self, event: dict[str, Any]) -> None:
        call = self.calls.pop(event["call_id"], None)
        if call is not None:
            asyncio.ensure_future(self.finish(
                call, f"failed {event.get('code', '')}".strip(), None, delete_media=True))

    def on_refused(self, event: dict[str, Any]) -> None:
        call_id = str(event.get("call_id", ""))
        at = _parse(event.get("at")) or _now()
        if event.get("fault"):
            asyncio.ensure_future(self.record("fault", call_id, at, str(event.get("reason"))))
        if event.get("mode") is not None:  # decided: close the core's record too
            reason = f"refused {event.get('reason')}"
            asyncio.ensure_future(self.record("ended", call_id, at, reason))
        self.calls_log.append({
            "call_id": event.get("call_id"), "facility": event.get("facility"),
            "resident": event.get("resident"), "to": event.get("number"),
            "mode": event.get("mode", "refused"), "reason": event.get("reason"),
            "sip_code": event.get("code"), "fault": event.get("reason") if event.get(
                "fault") else None,
            "started_at": event.get("at"), "answered_at": None, "ended_at": event.get("at"),
            "duration_s": 0, "billed_minutes": 0, "charge": "0.00", "charge_cents": 0,
            "recording": bool(pcap_files(self.cfg.recording_dir, event.get("call_id", ""))),
            "warnings": [], "end_reason": "refused",
        })

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
            await self.fault(call, "recording_missing_at_answer")
            return
        if call.recorded:
            call.tasks.append(asyncio.ensure_future(self.watch_recording(call)))
        if call.prompt is not None:
            tags = [t for t in (call.from_tag, call.to_tag) if t]
            # Hold both parties' audio from the moment of answer, before the prompt
            # file is even ready, so nobody talks before the warning.
            blocked = await self.block(call, tags)
            try:
                path = await call.prompt
            except SwitchError as exc:
                log.error("prompt failed for %s: %s", call.call_id, exc)
                path = None
            ok = path is not None and blocked and await self.announce(
                call, list(call.info.get("announcements", [])), path, hold=True)
            if not ok and call.recorded:
                await self.fault(call, "warning_not_played")
                return
        if call.recorded:
            call.tasks.append(asyncio.ensure_future(self.reminders(call)))
        call.tasks.append(asyncio.ensure_future(self.one_minute_warning(call)))

    async def block(self, call: Call, tags: list[str]) -> bool:
        try:
            for tag in tags:
                await self.media("block media", call, tag)
        except SwitchError as exc:
            log.error("block media failed for %s: %s", call.call_id, exc)
            return False
        return True

    async def media(self, command: str, call: Call, tag: str, **extra: Any) -> dict[str, Any]:
        return await self.ng.request(command, **{"call-id": call.call_id, "from-tag": tag},
                                     **extra)

    async def announce(self, call: Call, prompts: list[str], path: Path, hold: bool) -> bool:
        """Play ``path`` to both parties (rtpengine plays to the party whose tag is
        given). With ``hold``, their audio is already blocked: unblock it when the
        prompt ends. Returns whether both plays were accepted."""
        tags = [t for t in (call.from_tag, call.to_tag) if t]
        replies: list[dict[str, Any]] = []
        error = None
        try:
            for tag in tags:
                replies.append(await self.media("play media", call, tag, file=str(path)))
        except SwitchError as exc:
            error = str(exc)
        duration_ms = max((int(r.get("duration", 0)) for r in replies), default=0)
        ends = time.monotonic() + duration_ms / 1000
        at = _now()
        evidence = {"file": path.name, "to": tags, "blocked": hold, "rtpengine": replies,
                    "error": error}
        call.warnings.append({"at": at.isoformat(), "prompts": prompts, **evidence})
        for prompt in prompts:
            await self.record("warning", call.call_id, prompt, at, evidence)
        if hold:
            await asyncio.sleep(max(0.0, ends - time.monotonic()))
            for tag in tags:
                with contextlib.suppress(SwitchError):
                    await self.media("unblock media", call, tag)
        return error is None and len(replies) == len(tags) == 2

    async def reminders(self, call: Call) -> None:
        interval = int(call.info.get("reminder_interval_s", 300)) * self.cfg.minute_seconds / 60
        prompt = Prompt.RECORDING_REMINDER.value
        while True:
            await asyncio.sleep(interval)
            path = await asyncio.to_thread(self.prompts.speak, prompt, call.text(prompt))
            await self.announce(call, [prompt], path, hold=False)

    async def one_minute_warning(self, call: Call) -> None:
        max_minutes = int(call.info.get("max_minutes", 0))
        if max_minutes <= 0 or call.answered_mono is None:
            return
        due = call.answered_mono + (max_minutes - 1) * self.cfg.minute_seconds
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        prompt = Prompt.ONE_MINUTE_LEFT.value
        path = await asyncio.to_thread(self.prompts.speak, prompt, call.text(prompt))
        await self.announce(call, [prompt], path, hold=False)

    async def watch_recording(self, call: Call) -> None:
        key = escaped(call.call_id)
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            if key not in await self.recorded_now():
                await self.fault(call, "recording_file_vanished")
                return

    async def recorded_now(self) -> set[str]:
        """The spool's recorded Call-IDs, scanned at most once per WATCH_EVERY_S / 2 for
        all the calls being watched."""
        now = time.monotonic()
        if self._scan is None or now - self._scan[0] > WATCH_EVERY_S / 2:
            found = await asyncio.to_thread(recorded_call_ids, self.cfg.recording_dir)
            self._scan = (now, found)
        return self._scan[1]

    async def fault(self, call: Call, what: str) -> None:
        """A recorded call without its recording is a hole: end it, loudly."""
        call.fault = what
        log.critical("FAULT %s on call %s: ending it", what, call.call_id)
        await self.record("fault", call.call_id, _now(), what)
        try:
            await asyncio.to_thread(self.rpc.end_call, call.call_id, call.from_tag,
                                    call.to_tag or "")
        except SwitchError as exc:
            log.critical("could not end faulted call %s: %s", call.call_id, exc)

    # -- the end ---------------------------------------------------------------------------
    async def finish(self, call: Call, reason: str, at: datetime | None,
                     delete_media: bool = False) -> None:
        current = asyncio.current_task()
        for task in call.tasks:
            if task is not current:
                task.cancel()
        if delete_media or call.fault:
            with contextlib.suppress(SwitchError):
                await self.ng.request("delete", **{"call-id": call.call_id})
        ended = at or _now()
        duration = (ended - call.answered_at).total_seconds() if call.answered_at else 0.0
        rate = Decimal(str(call.info.get("rate_per_minute", "0")))
        minutes, cents = charge_cents(duration, rate)
        # The core closes and bills the call in one transaction; its charge is the truth.
        core_cents = await self.record("ended", call.call_id, ended, reason)
        billing_error = None
        if self.recorder is not None and core_cents is None:
            billing_error = "core did not close the call record (see agent log)"
        elif core_cents is not None:
            cents = int(core_cents)
        files = pcap_files(self.cfg.recording_dir, call.call_id)
        if files and not call.recorded:
            log.critical("PRIVACY: recording files exist for %s call %s",
                         call.info.get("mode"), call.call_id)
        self.calls_log.append({
            "call_id": call.call_id, "facility": call.info.get("facility"),
            "resident": call.info.get("resident"), "dialled": call.info.get("dialled"),
            "to": call.info.get("number"), "mode": call.info.get("mode"),
            "reason": call.info.get("reason"), "review": call.info.get("review", False),
            "started_at": call.invited_at.isoformat(),
            "answered_at": call.answered_at.isoformat() if call.answered_at else None,
            "ended_at": ended.isoformat(), "duration_s": round(duration, 3),
            "rate_per_minute": str(rate), "max_minutes": call.info.get("max_minutes"),
            "billed_minutes": minutes, "charge_cents": cents, "charge": f"{cents / 100:.2f}",
            "billing_error": billing_error, "recording": bool(files),
            "recording_files": [f.name for f in files], "warnings": call.warnings,
            "fault": call.fault, "end_reason": reason,
        })


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value)
    return None


async def serve(cfg: SwitchConfig) -> None:
    loop = asyncio.get_running_loop()
    ng = await AsyncNgClient.connect("127.0.0.1", cfg.ng_port)
    recorder = None
    if not cfg.brain:
        from privline.adapters.switch.brain import CoreRecorder

        recorder = CoreRecorder()
    agent = Agent(cfg, ng, recorder)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: agent, local_addr=("127.0.0.1", cfg.agent_port))
    warm = asyncio.ensure_future(asyncio.to_thread(agent.prewarm))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("agent listening on 127.0.0.1:%d", cfg.agent_port)
    await stop.wait()
    warm.cancel()
    transport.close()
    ng.close()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = SwitchConfig.load(Path(args[0]))
    import os

    for name, value in cfg.env.items():
        os.environ.setdefault(name, value)
    asyncio.run(serve(cfg))


if __name__ == "__main__":
    main()
