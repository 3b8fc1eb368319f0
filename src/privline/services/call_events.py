"""The switch's call events, applied to the call records exactly once.

The switch writes each event of a call's life (answered, bye, dialog ended, failed,
refused) to a journal before it acts on the next SIP message; the call agent applies the
journal here. Delivery is at least once (after a crash the agent re-reads what it had not
yet marked as done); each event's key (SIP Call-ID, kind, seq) is noted in the same
transaction as its effect, so a replay changes nothing: exactly once in the records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from privline.domain.access import Action
from privline.domain.model import Actor, CallRecord
from privline.services import call_records
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput, NotFound
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.calls import CallRefusal

# "warned": the call agent's own line, a warning it played (prompts and rtpengine's
# answer as evidence); every other kind is the switch's.
KINDS = ("refused", "answered", "bye", "ended", "failed", "interrupted", "warned")


@dataclass(frozen=True)
class CallEvent:
    call_id: str
    kind: str
    at: datetime
    seq: int = 0
    data: Mapping[str, object] = field(default_factory=dict)


def dialog_end_reason(record: CallRecord, at: datetime, minute_seconds: float) -> str:
    """Kamailio reports a dialog's end without saying why; its own timer ends a call at
    max_minutes, so an end at (or past) the limit is that timer's, anything else a
    hangup; a call the agent ended for a fault ends as a fault."""
    if record.fault is not None:
        return "fault"
    if record.max_minutes <= 0 or record.answered_at is None:
        return "hangup"
    limit = record.max_minutes * minute_seconds
    return "max_minutes" if (at - record.answered_at).total_seconds() >= limit - 1 else "hangup"


def max_minutes_at(record: CallRecord, minute_seconds: float) -> datetime | None:
    """When Kamailio's timer ends an answered call with a limit; None without one."""
    if record.max_minutes <= 0 or record.answered_at is None:
        return None
    return record.answered_at + timedelta(seconds=record.max_minutes * minute_seconds)


def apply_call_event(uow_factory: UnitOfWorkFactory, actor: Actor, event: CallEvent, *,
                     minute_seconds: float = 60.0) -> bool:
    """Apply one event in one transaction; False when it had been applied already or
    names a call the core never decided (nothing to change, and nothing to retry)."""
    check_allowed(actor, Action.CALL_RECORD)
    _check(event)
    with uow_factory() as uow:
        applied = _claim_and_apply(uow, actor, event, minute_seconds)
        uow.commit()
    return applied


def apply_call_events(uow_factory: UnitOfWorkFactory, actor: Actor,
                      events: Sequence[CallEvent], *, minute_seconds: float = 60.0
                      ) -> tuple[int, int]:
    """Apply events in one transaction, each exactly as :func:`apply_call_event` would
    (its key claimed beside its effect): the call agent's way under load, one write lock
    and one commit for many events. When another writer (a call decision) is waiting for
    the lock, it commits after the current event and stops. Returns (events taken, of
    which changed something); the caller goes on with the rest. Any error rolls the
    whole transaction back and nothing of it is written: the caller then applies the
    events one by one, so one bad event costs only itself."""
    check_allowed(actor, Action.CALL_RECORD)
    for event in events:
        _check(event)
    taken = applied = 0
    with uow_factory() as uow:
        for event in events:
            applied += _claim_and_apply(uow, actor, event, minute_seconds)
            taken += 1
            if taken < len(events) and uow.others_waiting():
                break
        uow.commit()
    return taken, applied


def _check(event: CallEvent) -> None:
    if event.kind not in KINDS:
        raise InvalidInput(f"unknown call event {event.kind!r}", code="invalid_event")
    if not event.call_id or len(event.call_id) > 200:
        raise InvalidInput("a call event needs a SIP Call-ID of at most 200 characters",
                           code="invalid_event")


def _claim_and_apply(uow: UnitOfWork, actor: Actor, event: CallEvent,
                     minute_seconds: float) -> bool:
    if not uow.calls.claim_event(event.call_id, event.kind, event.seq, event.at):
        return False
    try:
        _apply(uow, actor, event, minute_seconds)
    except NotFound:
        # e.g. the Call-ID of a refused duplicate INVITE. Every NotFound of _apply is
        # raised by a look-up before its first write: the claim alone stays.
        return False
    return True


def _apply(uow: UnitOfWork, actor: Actor, event: CallEvent,
           minute_seconds: float) -> None:
    d = event.data
    if event.kind == "refused":
        call_records.refuse_call(uow, actor, CallRefusal(
            event.call_id, event.at, _text(d.get("facility")), _text(d.get("resident")),
            _text(d.get("dialled")), str(d.get("reason") or "unknown")[:48],
            int(str(d.get("code") or 0))), fault=bool(d.get("fault")))
    elif event.kind == "answered":
        # The voice menu reports a call answered once the called party accepted it: the
        # event's time is the acceptance, the SIP answer travels with it.
        answered = _time(d.get("answered_at")) if d.get("accepted") else None
        call_records.answer_call(uow, actor, event.call_id, answered or event.at,
                                 accepted_at=event.at if answered else None)
    elif event.kind == "bye":
        # A BYE the voice menu sent for a fault the agent noted (the menu's legs pass
        # Kamailio's request route, a kiosk dialog's timer BYEs do not) ends as a fault.
        record = uow.calls.life(event.call_id)
        faulted = record is not None and record.fault is not None
        call_records.close_call(uow, actor, event.call_id, event.at,
                                "fault" if faulted else "hangup")
    elif event.kind == "ended":
        record = uow.calls.life(event.call_id)
        if record is None:
            raise NotFound(f"no call {event.call_id}", code="call_not_found")
        reason = str(d.get("reason") or dialog_end_reason(record, event.at, minute_seconds))
        call_records.close_call(uow, actor, event.call_id, event.at, reason,
                                _text(d.get("fault")))
    elif event.kind == "warned":
        prompts = d.get("prompts")
        evidence = d.get("evidence")
        if not isinstance(prompts, list) or not isinstance(evidence, dict):
            raise InvalidInput("a warning needs its prompts and evidence",
                               code="invalid_event")
        call_records.add_warnings(uow, actor, event.call_id, [str(p) for p in prompts],
                                  event.at, evidence)
    elif event.kind == "failed":
        call_records.close_call(uow, actor, event.call_id, event.at, "unanswered")
    else:  # interrupted: the switch lost the call (see the agent's reconciliation)
        record = uow.calls.life(event.call_id)
        limit_at = None if record is None else max_minutes_at(record, minute_seconds)
        if limit_at is not None and limit_at <= event.at:
            # Kamailio's own timer ends every call at its limit; when its dialog-end
            # report never came (its dialog module can lose it), the call still ended
            # there: close it as that timer's end, billed to the limit, not beyond.
            call_records.close_call(uow, actor, event.call_id, limit_at, "max_minutes")
        else:
            call_records.close_call(uow, actor, event.call_id, event.at, "interrupted")


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)[:64]
