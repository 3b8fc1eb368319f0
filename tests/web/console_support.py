"""Helpers for the console's tests: a statement issued and kept, as `report compliance`
would hand it out."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from privline.adapters.db.report_queries import report_reader
from privline.adapters.signing import Ed25519Signer, verifies
from privline.domain.audit_chain import Checkpoint, checkpoint_message
from privline.services import compliance
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import ADMIN, NOW


def issue_statement(uow: UnitOfWorkFactory, home: Path, period: str = "2026-H2") -> int:
    signer = Ed25519Signer.load_or_create(home / "keys" / "signing.key")
    with uow() as u:
        engine: Engine = u.audit.conn.engine  # type: ignore[attr-defined]

    def ok(cp: Checkpoint) -> bool:
        return verifies(signer.public, checkpoint_message(cp.seq, cp.hash), cp.signature)

    issued = compliance.issue(report_reader(engine), signer, ADMIN, period=period,
                              facility_ids=None, now=NOW, checkpoint_ok=ok)
    compliance.record_issue(uow, ADMIN, issued)
    with uow() as u:
        (kept,) = [s for s in u.records.statements() if s.period == period]
    assert kept.body == issued.body and kept.signature == issued.signature
    return kept.id
