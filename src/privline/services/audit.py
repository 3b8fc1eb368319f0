"""The audit log: writing events inside the caller's transaction, checkpoints, verifying."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from privline.domain.access import Action
from privline.domain.audit_chain import ChainVerification, Checkpoint, verify_chain
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor, AuditEvent
from privline.services.access import check_allowed
from privline.services.ports import UnitOfWork, UnitOfWorkFactory


def record(
    uow: UnitOfWork, actor: Actor, action: AuditAction, subject: str, now: datetime,
    **details: Any,
) -> None:
    """Append one event; it commits or rolls back with the change it describes. Its kind
    is one of the named :class:`AuditAction` values the compliance code reads back."""
    record_outsider(uow, f"{actor.role}:{actor.name}", action, subject, now, **details)


def record_outsider(
    uow: UnitOfWork, who: str, action: AuditAction, subject: str, now: datetime,
    **details: Any,
) -> None:
    """As :func:`record`, for someone without an account: ``visitor:<address>`` at the
    sign-in form, ``public:portal`` for a registration."""
    uow.audit.append(AuditEvent(now, who, action, subject, details))


def checkpoint(uow_factory: UnitOfWorkFactory, actor: Actor, *, now: datetime
               ) -> Checkpoint | None:
    """Sign the chain's head now (also done automatically every N entries)."""
    check_allowed(actor, Action.AUDIT_VERIFY)
    with uow_factory() as uow:
        result = uow.audit.checkpoint(now)
        if result is not None:
            uow.commit()
    return result


def verify(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    signature_ok: Callable[[Checkpoint], bool],
) -> ChainVerification:
    """Recompute the whole chain and check every checkpoint's signature."""
    check_allowed(actor, Action.AUDIT_VERIFY)
    with uow_factory() as uow:
        return verify_chain(uow.audit.entries(), uow.audit.checkpoints(), signature_ok)
