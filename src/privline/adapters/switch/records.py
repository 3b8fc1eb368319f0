"""The call agent's writes to the call records, through privline's services.

One writer thread: SQLite has one write lock, and the decisions Kamailio waits on must not
queue behind a crowd of the agent's own writes. A write the database cannot take now
(locked, unreachable: the services raise ``Unavailable``) is retried with backoff until it
can; the journal's offset only moves after it, so nothing is lost meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import TypeVar

from privline.adapters.switch.decisions import SWITCH_ACTOR
from privline.domain.model import CallRecord
from privline.services import call_records
from privline.services.call_events import CallEvent, apply_call_event, apply_call_events
from privline.services.errors import ServiceError, Unavailable
from privline.services.overload import overload_refusals_counted
from privline.services.ports import UnitOfWorkFactory

log = logging.getLogger("privline.switch.records")
T = TypeVar("T")
MAX_BACKOFF_S = 2.0


class CallRecords:
    def __init__(self, uow_factory: UnitOfWorkFactory, minute_seconds: float) -> None:
        self._uow_factory = uow_factory
        self._minute_seconds = minute_seconds
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="records")

    async def _run(self, what: str, fn: Callable[[], T]) -> T | None:
        """Run ``fn`` on the writer thread; retry while the database is unavailable;
        any other service error is logged (the input cannot change by waiting)."""
        loop = asyncio.get_running_loop()
        backoff = 0.05
        while True:
            try:
                return await loop.run_in_executor(self._writer, fn)
            except Unavailable as exc:
                log.warning("%s: %s; retrying in %.2fs", what, exc.message, backoff)
            except ServiceError as exc:
                log.error("%s refused: %s (%s)", what, exc.message, exc.code)
                return None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def apply(self, event: CallEvent) -> bool:
        """One journal event into the records, exactly once (see services.call_events)."""
        done = await self._run(f"{event.kind} of {event.call_id}", lambda: apply_call_event(
            self._uow_factory, SWITCH_ACTOR, event, minute_seconds=self._minute_seconds))
        return bool(done)

    async def apply_all(self, events: Sequence[CallEvent]) -> int:
        """Events into the records in few transactions (one write lock and one commit for
        many events; each gives way to a decision waiting for the lock); returns how
        many changed something. A batch the services refuse is applied one
        event at a time, so only the refused event is skipped."""
        applied = 0
        while events:
            done = await self._run(f"{len(events)} events", partial(
                apply_call_events, self._uow_factory, SWITCH_ACTOR, events,
                minute_seconds=self._minute_seconds))
            if done is None:
                return applied + sum([await self.apply(event) for event in events])
            applied += done[1]
            events = events[done[0]:]  # a decision was waiting: the rest in a new turn
        return applied

    async def fault(self, call_id: str, at: datetime, what: str) -> None:
        await self._run(f"fault of {call_id}", lambda: call_records.call_fault(
            self._uow_factory, SWITCH_ACTOR, call_id, at=at, fault=what))

    async def overload_refused(self, total: int, at: datetime) -> None:
        """Audit the set-ups refused for overload since the last count (``total``: the
        switch's cumulative count; see services.overload)."""
        await self._run("overload count", lambda: overload_refusals_counted(
            self._uow_factory, SWITCH_ACTOR, total=total, now=at))

    async def open_calls(self) -> Sequence[CallRecord]:
        def read() -> Sequence[CallRecord]:
            with self._uow_factory() as uow:
                return uow.calls.open_calls()
        return await self._run("open calls", read) or ()

    def close(self) -> None:
        self._writer.shutdown(wait=True)
