"""The audit log is a hash chain with signed checkpoints; tampering of each kind is found."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, insert, select, update

from privline.adapters.db import driver as sql
from privline.adapters.db import tables as t
from privline.adapters.db.engine import SqlUnitOfWork
from privline.adapters.signing import Ed25519Signer, verifies
from privline.domain.audit_chain import ChainVerification, Checkpoint, checkpoint_message
from privline.domain.audit_events import AuditAction
from privline.domain.model import AuditEvent
from privline.services import accounts, audit
from privline.services.errors import Forbidden
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from tests.conftest import ADMIN, AUDITOR, NOW, ROSA, STAFF, World


@pytest.fixture
def signer(tmp_path: Path) -> Ed25519Signer:
    return Ed25519Signer.load_or_create(tmp_path / "keys" / "signing.key")


@pytest.fixture
def chained(engine: Engine, signer: Ed25519Signer) -> UnitOfWorkFactory:
    """A unit of work that signs a checkpoint every 5 entries."""
    def factory() -> UnitOfWork:
        return SqlUnitOfWork(engine, signer, checkpoint_every=5)
    return factory


def check(uow: UnitOfWorkFactory, signer: Ed25519Signer) -> ChainVerification:
    def ok(cp: Checkpoint) -> bool:
        return verifies(signer.public, checkpoint_message(cp.seq, cp.hash), cp.signature)
    return audit.verify(uow, AUDITOR, ok)


def activity(uow: UnitOfWorkFactory, n: int) -> None:
    for i in range(n):
        accounts.deposit(uow, STAFF, resident_id=ROSA, amount_cents=100 + i,
                         now=NOW + timedelta(seconds=i))


def tamper(engine: Engine, change: Callable[[Connection], object]) -> None:
    with engine.begin() as conn:
        change(conn)


@pytest.fixture
def twelve(chained: UnitOfWorkFactory, world: World) -> UnitOfWorkFactory:
    # The world fixture wrote 3 events; 9 deposits make 12, checkpoints at 5 and 10.
    activity(chained, 9)
    return chained


def test_an_untouched_chain_verifies(twelve: UnitOfWorkFactory, signer: Ed25519Signer) -> None:
    verdict = check(twelve, signer)
    assert verdict.ok and (verdict.entries, verdict.checkpoints, verdict.head_seq) == (12, 2, 12)


E = t.audit_events.c

TAMPERING = {
    "edit": lambda c: c.execute(update(t.audit_events).where(E.seq == 7)
                                .values(details='{"amount_cents":1}')),
    "delete": lambda c: c.execute(delete(t.audit_events).where(E.seq == 7)),
    "reorder": lambda c: (
        c.execute(update(t.audit_events).where(E.seq == 7).values(seq=-7)),
        c.execute(update(t.audit_events).where(E.seq == 8).values(seq=7)),
        c.execute(update(t.audit_events).where(E.seq == -7).values(seq=8))),
    "insert": lambda c: (
        c.execute(update(t.audit_events).where(E.seq >= 7).values(seq=E.seq + 100)),
        c.execute(update(t.audit_events).where(E.seq >= 107).values(seq=E.seq - 99)),
        c.execute(insert(t.audit_events).values(
            seq=7, at=NOW, actor="admin:mallory", action="registry.revoke", subject="x",
            details="{}", prev_hash="0" * 64, hash="0" * 64))),
    "truncate": lambda c: c.execute(delete(t.audit_events).where(E.seq >= 9)),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_tampering_is_found_with_the_first_bad_entry(
        kind: str, twelve: UnitOfWorkFactory, engine: Engine, signer: Ed25519Signer) -> None:
    tamper(engine, TAMPERING[kind])
    verdict = check(twelve, signer)
    assert not verdict.ok
    assert verdict.first_bad_seq is not None and verdict.first_bad_seq <= 9, verdict
    assert verdict.problem


def test_rewriting_the_whole_chain_is_caught_by_the_signed_checkpoints(
        twelve: UnitOfWorkFactory, engine: Engine, signer: Ed25519Signer) -> None:
    # An attacker with the database but not the key rebuilds every hash after an edit.
    from privline.domain.audit_chain import GENESIS, chain_hash, entry_bytes

    with engine.begin() as conn:
        conn.execute(update(t.audit_events).where(E.seq == 2).values(subject="registry:999"))
        prev = GENESIS
        for row in conn.execute(select(t.audit_events).order_by(E.seq)).mappings().all():
            digest = chain_hash(prev, entry_bytes(row["seq"], row["at"], row["actor"],
                                                  row["action"], row["subject"],
                                                  row["details"]))
            conn.execute(update(t.audit_events).where(E.seq == row["seq"])
                         .values(prev_hash=prev, hash=digest))
            prev = digest
    verdict = check(twelve, signer)
    assert not verdict.ok and verdict.first_bad_seq == 5


def test_a_forged_checkpoint_signature_is_found(
        twelve: UnitOfWorkFactory, engine: Engine, signer: Ed25519Signer,
        tmp_path: Path) -> None:
    other = Ed25519Signer.load_or_create(tmp_path / "mallory.key")
    forged = other.sign(b"anything").hex()
    tamper(engine, lambda c: c.execute(update(t.audit_checkpoints)
                                       .where(t.audit_checkpoints.c.seq == 10)
                                       .values(signature=forged)))
    verdict = check(twelve, signer)
    assert not verdict.ok and verdict.first_bad_seq == 10


def test_checkpoint_on_demand_signs_the_head(
        twelve: UnitOfWorkFactory, signer: Ed25519Signer) -> None:
    cp = audit.checkpoint(twelve, ADMIN, now=NOW)
    assert cp is not None and cp.seq == 12
    assert verifies(signer.public, checkpoint_message(cp.seq, cp.hash), cp.signature)
    with pytest.raises(Forbidden):
        audit.checkpoint(twelve, STAFF, now=NOW)


def test_a_failed_change_leaves_no_audit_entry(chained: UnitOfWorkFactory, world: World,
                                               signer: Ed25519Signer) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any failure inside the transaction
        with chained() as uow:
            audit.record(uow, STAFF, "account.deposit", "resident:x", NOW)
            raise RuntimeError("crash before commit")
    verdict = check(chained, signer)
    assert verdict.ok and verdict.entries == 3


def test_concurrent_appenders_never_fork_the_chain(
        chained: UnitOfWorkFactory, world: World, signer: Ed25519Signer) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            activity(chained, 15)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    verdict = check(chained, signer)
    assert verdict.ok and verdict.entries == 3 + 60 and verdict.checkpoints == 12


def test_many_appends_in_one_transaction_read_the_head_once_and_chain(
        chained: UnitOfWorkFactory, world: World, signer: Ed25519Signer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The call agent appends many events in one transaction: the head is read once
    (the transaction holds it), each append still chains on the one before, and the
    head row ends at the last; checkpoints fall where they would one by one."""
    head_reads: list[object] = []
    real_one = sql.Driver.one

    def counting(self: sql.Driver, statement: sql.Statement, params: sql.Params) -> object:
        if statement is sql.AUDIT_HEAD:
            head_reads.append(params)
        return real_one(self, statement, params)

    monkeypatch.setattr(sql.Driver, "one", counting)
    with chained() as uow:
        for i in range(9):  # the world's 3 events, then seq 4 to 12
            uow.audit.append(AuditEvent(NOW + timedelta(seconds=i), "switch:kamailio",
                                        AuditAction.CALL_END, f"call:{i}", {"i": i}))
        uow.commit()
    assert len(head_reads) == 1
    verdict = check(chained, signer)
    assert verdict.ok and (verdict.entries, verdict.checkpoints, verdict.head_seq) == (12, 2, 12)
