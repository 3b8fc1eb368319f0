"""Call set-ups refused for overload, into the audit log: one event per interval.

Kamailio's workers count each 503 they send for overload in small files (no database
work at overload time, see docs/overload.md). The call agent reads the total when it is
idle again and writes here one audited event for every refusal counted since the last
event. The log itself holds where the count stood: each event carries the cumulative
``total`` it read, so an agent restarted, or killed between the read and the commit,
counts nothing twice and loses nothing.
"""

from __future__ import annotations

from datetime import datetime

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput
from privline.services.ports import UnitOfWorkFactory


def overload_refusals_counted(uow_factory: UnitOfWorkFactory, actor: Actor, *, total: int,
                              now: datetime) -> int:
    """Record the refusals counted since the last event (``total`` is the switch's
    cumulative count); returns how many, 0 when there were none (nothing written). A
    total below the last one means the count files were reset (a new home's switch):
    the new total is all new refusals."""
    check_allowed(actor, Action.CALL_RECORD)
    if total < 0:
        raise InvalidInput("a count of refusals cannot be negative", code="invalid_count")
    with uow_factory() as uow:
        last = uow.audit.last_details(AuditAction.CALL_OVERLOAD_REFUSED)
        before = int(last["total"]) if last else 0
        refused = total - before if total >= before else total
        if refused == 0:
            return 0
        audit.record(uow, actor, AuditAction.CALL_OVERLOAD_REFUSED, "switch", now,
                     refused=refused, total=total, since=last["until"] if last else None,
                     until=now.isoformat(), counter_reset=total < before)
        uow.commit()
    return refused
