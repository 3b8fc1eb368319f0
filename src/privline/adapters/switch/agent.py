"""The call agent: turns the switch's journal into call records, and plays what the
parties must hear (see :mod:`privline.adapters.switch.announcer`).

Loops, one process:

- live tail: hands the journal's fresh events (every Kamailio worker's file) to the
  announcer within a few milliseconds, on its own in-memory offsets;
- intake: applies each event to the records (exactly once; retried while the database
  is unavailable) and only then moves the journal's saved offsets on. Killed at any
  moment, the next agent re-reads from the last offset and the replays change nothing;
- heartbeat: touches ``switch/run/agent.alive`` every second; the routing refuses a
  recorded call when it is stale, since nobody would play its warning.
- reconciliation: a call left open in the records that rtpengine no longer knows (it was
  restarted, or Kamailio lost the dialog and no BYE came) is closed as ``interrupted``,
  billed to the moment it was first found missing.
- overload count: once a (switch) minute, when idle, the set-ups Kamailio refused for
  overload since the last count become one audit event (services.overload).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Iterable, Mapping, Set
from datetime import UTC, datetime, timedelta
from typing import Any

from privline.adapters.switch.announcer import Announcer
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.doorbell import Doorbell, wait
from privline.adapters.switch.errors import NgError, NgTimeout
from privline.adapters.switch.journal import Entry, JournalReader, JournalWriter
from privline.adapters.switch.ng import AsyncNgClient
from privline.adapters.switch.records import CallRecords
from privline.adapters.switch.shed import shed_total
from privline.services.call_events import KINDS, CallEvent

log = logging.getLogger("privline.switch.agent")
# Both readers sleep until the doorbell rings (a worker wrote to the journal); after a
# ring they wait a moment, so that under load one read takes many events (one wake-up
# per write would cost more than the polling it replaces). Without inotify they poll.
POLL_S = 0.05
TAIL_GATHER_S, INTAKE_GATHER_S = 0.02, 0.05
IDLE_S = 1.0  # the longest sleep between looks even when nothing rang
HEARTBEAT_S = 1.0
RECONCILE_S = 10.0
LIVE_WITHIN_S = 10.0  # older events (a backlog after a restart) play nothing
# Events applied per transaction at most: the write lock taken once for many calls under
# load (a transaction also ends early, after any event, when a decision is waiting).
BATCH = 100
READ_BYTES = 256 * 1024  # per journal file and read: the loop is never held for long
ENDS = ("bye", "ended", "failed", "refused")


def ends_call(raw: Mapping[str, Any]) -> bool:
    """Whether the announcer is done with this call. Not after Kamailio's own INVITE
    timeout (408): the far end's late 200 may still connect it, and it is warned then."""
    kind = raw.get("kind")
    return kind in ENDS and not (kind == "failed" and str(raw.get("code")) == "408")


def releases_media(raw: Mapping[str, Any], byes: Set[str] = frozenset()) -> bool:
    """The dialog's end: its BYEs from Kamailio's timer do not pass the request route,
    so rtpengine is told here (deleting an already deleted call is harmless). Not when
    the same read has the call's BYE (``byes``: their Call-IDs), which the routing
    passed to rtpengine itself: Kamailio's dialog module reports the end while it routes
    that BYE, so the end is journalled just before it."""
    return raw.get("kind") == "ended" and str(raw.get("call_id") or "") not in byes


def byes_of(entries: Iterable[Entry]) -> set[str]:
    return {str(e.event.get("call_id") or "") for e in entries if e.event.get("kind") == "bye"}


def to_event(raw: Mapping[str, Any]) -> CallEvent | None:
    """A journal line as a call event; None for what the records do not take."""
    kind, call_id = str(raw.get("kind", "")), str(raw.get("call_id") or "")
    try:
        at = datetime.fromisoformat(str(raw.get("at")))
    except ValueError:
        return None
    if kind not in KINDS or not call_id:
        return None
    seq = raw.get("seq", 0)  # tells apart the plays of one call (announcer.py)
    return CallEvent(call_id, kind, at, seq if isinstance(seq, int) else 0, raw)


class Intake:
    """The journal into the records: exactly once, offsets saved after each batch."""

    def __init__(self, reader: JournalReader, records: CallRecords,
                 announcer: Announcer) -> None:
        self.reader = reader
        self.records = records
        self.announcer = announcer
        self.applied = 0

    async def drain(self) -> int:
        """Apply what is new in the journal; returns how many lines were read. Read in
        the loop itself, as the live tail reads: a read is a few ``pread`` calls, and a
        thread hand-off there and back cost more (the database work below is what goes
        to the records' writer thread)."""
        entries = self.reader.pending(limit_bytes=READ_BYTES)
        events = []
        byes = byes_of(entries)
        for entry in entries:
            if ends_call(entry.event):
                # Also for a backlog: rtpengine must forget a call Kamailio's timer
                # ended, and nothing may be played to it after its end.
                self.announcer.ended(str(entry.event.get("call_id") or ""),
                                     delete_media=releases_media(entry.event, byes))
            event = to_event(entry.event)
            if event is not None:
                events.append(event)
        for start in range(0, len(events), BATCH):
            self.applied += await self.records.apply_all(events[start:start + BATCH])
        if entries:
            self.reader.done(entries)
        return len(entries)


class LiveTail:
    """The journal's fresh events to the announcer at once, on their own reader: an
    answered call's audio is held and warned within a poll, however far the database
    writes lag behind."""

    def __init__(self, reader: JournalReader, announcer: Announcer) -> None:
        self.reader = reader
        self.announcer = announcer

    async def run(self, bell: asyncio.Event, idle_s: float) -> None:
        while True:
            if await wait(bell, idle_s):
                await asyncio.sleep(TAIL_GATHER_S)
            # Read in the loop itself: a few fresh lines, and no thread hand-off.
            entries = self.reader.pending(limit_bytes=READ_BYTES)
            self.tell_all(entries)
            self.reader.done(entries)

    def tell_all(self, entries: list[Entry]) -> None:
        now = datetime.now(UTC)
        byes = byes_of(entries)
        for entry in entries:
            self.tell(entry.event, now, byes)

    def tell(self, raw: Mapping[str, Any], now: datetime, byes: Set[str] = frozenset()
             ) -> None:
        kind = raw.get("kind")
        try:
            age = (now - datetime.fromisoformat(str(raw.get("at")))).total_seconds()
        except ValueError:
            return
        if age > LIVE_WITHIN_S:
            return  # a backlog after a restart: those calls are past their warnings
        if kind == "decided":
            self.announcer.decided(raw)
        elif kind == "answered":
            self.announcer.answered(raw)
        elif ends_call(raw):
            self.announcer.ended(str(raw.get("call_id") or ""),
                                 delete_media=releases_media(raw, byes))


class Reconciler:
    def __init__(self, ng: AsyncNgClient, records: CallRecords, announcer: Announcer
                 ) -> None:
        self.ng = ng
        self.records = records
        self.announcer = announcer
        self.suspects: dict[str, datetime] = {}

    async def run_once(self, min_age_s: float = 30.0) -> int:
        """Close calls rtpengine has not known in two rounds in a row; returns how
        many. Only called right after the journal was drained."""
        now = datetime.now(UTC)
        missing: dict[str, datetime] = {}
        for record in await self.records.open_calls():
            call_id = record.sip_call_id
            if call_id is None or record.at > now - timedelta(seconds=min_age_s):
                continue
            try:
                await self.ng.request("query", **{"call-id": call_id})
            except NgTimeout:
                return 0  # rtpengine is down: it knows nothing, and says nothing either
            except NgError:
                missing[call_id] = self.suspects.get(call_id, now)
        closed = 0
        for call_id, since in missing.items():
            if call_id in self.suspects:
                log.warning("call %s lost by the switch: closed as interrupted", call_id)
                self.announcer.ended(call_id, delete_media=False)  # nothing more is played
                closed += await self.records.apply(CallEvent(call_id, "interrupted", since))
        self.suspects = {c: t for c, t in missing.items() if c not in self.suspects}
        return closed


async def heartbeat(cfg: SwitchConfig) -> None:
    """Its own task, so a long database retry in the intake does not look like death
    while the announcer still works."""
    while True:
        cfg.heartbeat.touch()
        await asyncio.sleep(HEARTBEAT_S)


async def serve(cfg: SwitchConfig, records: CallRecords) -> None:
    loop = asyncio.get_running_loop()
    ng = await AsyncNgClient.connect("127.0.0.1", cfg.ng_port)
    announcer = Announcer(cfg, ng, records, JournalWriter(cfg.journal_dir))
    intake = Intake(JournalReader(cfg.journal_dir), records, announcer)
    bell = Doorbell(cfg.journal_dir)
    idle_s = IDLE_S if bell.open(loop) else POLL_S
    intake_bell = bell.waiter()
    tail_reader = JournalReader(cfg.journal_dir, persist=False)
    tail = asyncio.ensure_future(LiveTail(tail_reader, announcer).run(bell.waiter(),
                                                                      idle_s / 2))
    reconciler = Reconciler(ng, records, announcer)
    warm = asyncio.ensure_future(asyncio.to_thread(announcer.prewarm))
    beat = asyncio.ensure_future(heartbeat(cfg))
    stop = asyncio.Event()

    def stopping() -> None:
        stop.set()
        intake_bell.set()  # the intake's wait ends at once

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping)
    log.info("agent reading %s", cfg.journal_dir)
    reconciled = counted = time.monotonic()
    while not stop.is_set():
        read = await intake.drain()
        if read:
            continue
        if time.monotonic() - counted >= cfg.minute_seconds:  # idle: overload is over
            counted = time.monotonic()
            await records.overload_refused(shed_total(cfg.shed_dir), datetime.now(UTC))
        if time.monotonic() - reconciled >= RECONCILE_S:
            reconciled = time.monotonic()
            await reconciler.run_once()
            intake.reader.prune()
        if await wait(intake_bell, idle_s) and not stop.is_set():
            await asyncio.sleep(INTAKE_GATHER_S)
    bell.close(loop)
    tail.cancel()
    tail_reader.close()
    intake.reader.close()
    beat.cancel()
    cfg.heartbeat.unlink(missing_ok=True)  # the routing sees the agent gone at once
    warm.cancel()
    ng.close()
    records.close()
