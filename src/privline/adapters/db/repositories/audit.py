"""The audit log: appends that move the chain's head, checkpoints, reads for verification."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from privline.adapters.db import driver as sql
from privline.adapters.db import tables as t
from privline.adapters.db.driver import Driver
from privline.adapters.db.repositories.base import SqlRepository
from privline.domain.audit_chain import (
    ChainEntry,
    Checkpoint,
    canonical_json,
    chain_hash,
    checkpoint_message,
    entry_bytes,
)
from privline.domain.model import AuditEvent
from privline.services.ports.audit import Signer


class SqlAudit(SqlRepository):
    """Appends to the hash chain; checkpoints are signed every ``checkpoint_every``."""

    def __init__(self, conn: Connection | Driver, signer: Signer | None = None,
                 checkpoint_every: int = 1000) -> None:
        super().__init__(conn)
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        # The head as this transaction last moved it. A repository lives for one unit of
        # work, whose transaction holds the head (SQLite's write lock; PostgreSQL's row
        # lock from the first read's FOR UPDATE), so nobody else can move it meanwhile:
        # the call agent's batch of events reads it once, not once per event.
        self._head: tuple[int, str] | None = None

    def append(self, event: AuditEvent) -> int:
        head = self._head or self.driver.one(sql.AUDIT_HEAD, ())
        assert head is not None  # noqa: S101 - the migration makes the head row
        seq, prev = head[0] + 1, head[1]
        at = event.at.astimezone(UTC)
        details = canonical_json(event.details)
        digest = chain_hash(prev, entry_bytes(seq, at, event.actor, event.action, event.subject,
                                               details))
        row = (seq, self.driver.time_in(at), event.actor, event.action, event.subject, details,
               prev, digest)
        if self.driver.postgres:
            self.driver.rows(sql.AUDIT_EVENT_AND_HEAD, (*row, seq, digest))
        else:
            self.driver.rows(sql.AUDIT_EVENT, row)
            self.driver.rows(sql.AUDIT_MOVE_HEAD, (seq, digest))
        self._head = (seq, digest)
        if self.signer is not None and seq % self.checkpoint_every == 0:
            self._checkpoint(seq, digest, at)
        return int(seq)

    def checkpoint(self, at: datetime) -> Checkpoint | None:
        """Sign the current head (None when the chain is empty or no key is set)."""
        seq, digest = self.conn.execute(select(t.audit_head.c.seq, t.audit_head.c.hash)
                                        .where(t.audit_head.c.id == 1).with_for_update()).one()
        if seq == 0 or self.signer is None:
            return None
        existing = self.conn.execute(select(t.audit_checkpoints.c.seq)
                                     .where(t.audit_checkpoints.c.seq == seq)).first()
        if existing is None:
            self._checkpoint(seq, digest, at)
        return next(c for c in self.checkpoints() if c.seq == seq)

    def _checkpoint(self, seq: int, digest: str, at: datetime) -> None:
        assert self.signer is not None  # noqa: S101 - both callers check it
        signature = self.signer.sign(checkpoint_message(seq, digest))
        self.conn.execute(insert(t.audit_checkpoints).values(
            seq=seq, hash=digest, signature=signature.hex(), key_id=self.signer.key_id, at=at))

    def entries(self, batch: int = 5000) -> Iterator[ChainEntry]:
        """Every entry in chain order, read in batches to bound memory."""
        c = t.audit_events.c
        last = 0
        while True:
            rows = self.conn.execute(
                select(c.seq, c.at, c.actor, c.action, c.subject, c.details, c.prev_hash,
                       c.hash).where(c.seq > last).order_by(c.seq).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield ChainEntry(*row)
            last = rows[-1][0]

    def checkpoints(self) -> list[Checkpoint]:
        c = t.audit_checkpoints.c
        rows = self.conn.execute(select(c.seq, c.hash, c.signature, c.key_id, c.at)
                                 .order_by(c.seq))
        return [Checkpoint(r[0], r[1], bytes.fromhex(r[2]), r[3], r[4]) for r in rows]

    def last_details(self, action: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(t.audit_events.c.details)
                                .where(t.audit_events.c.action == action)
                                .order_by(t.audit_events.c.seq.desc()).limit(1)).first()
        return None if row is None else dict(json.loads(row[0]))

    def count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.audit_events))
                   .scalar_one())
