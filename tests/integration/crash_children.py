"""What the crash-safety harness runs in child processes, to be killed with SIGKILL.

Each child builds its own engine and vault (nothing inherited but the code), tells the
parent it is ready, then works: the parent kills it at a random moment of the work, or
the ingest child kills itself with SIGKILL right after a chosen step (so every step
boundary is hit however busy the machine is). A child also leaves a trace (a line per
step, flushed, not fsynced: SIGKILL loses no page cache) so the harness can say where
its kills landed.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO

from privline.adapters.db import make_engine
from privline.adapters.db.engine import SqlUnitOfWork
from privline.adapters.signing import Ed25519Signer
from privline.adapters.vault import FolderBlobStore, MasterKey
from privline.adapters.vault.storage import Blobs, MasterKeyring, SpoolSource
from privline.domain.access import Role
from privline.domain.model import Actor, AuditEvent
from privline.services import vault as vault_service
from privline.services.ports import UnitOfWork
from privline.services.ports.vault import Buffer, SpooledItem, Vault

CHECKPOINT_EVERY = 7
INGESTER = Actor("ingest-worker", Role.SWITCH)


class _TracedBlobs(Blobs):
    def __init__(self, store: FolderBlobStore, trace: Trace) -> None:
        super().__init__(store)
        self.trace = trace

    def put(self, blob_id: str, data: Buffer) -> None:
        self.trace.mark("put")
        super().put(blob_id, data)
        self.trace.mark("put-done")  # from here until "indexed": an unindexed blob


class _TracedSource(SpoolSource):
    def __init__(self, root: Path, trace: Trace) -> None:
        super().__init__(root)
        self.trace = trace

    def remove(self, item: SpooledItem) -> None:
        self.trace.mark("indexed-or-refused")  # the transaction has committed
        super().remove(item)
        self.trace.mark("removed")


class Trace:
    """The child's steps, one line each; with ``die_after`` (step, n) the child kills
    itself (SIGKILL, as the harness would) right after writing that step the n-th time."""

    def __init__(self, out: IO[str], die_after: tuple[str, int] | None = None) -> None:
        self.out, self.die_after = out, die_after
        self.seen: dict[str, int] = {}

    def mark(self, what: str) -> None:
        self.out.write(what + "\n")
        self.out.flush()
        self.seen[what] = self.seen.get(what, 0) + 1
        if self.die_after == (what, self.seen[what]):
            os.kill(os.getpid(), signal.SIGKILL)


def open_vault(home: Path, trace: Trace) -> Vault:
    return Vault(_TracedSource(home / "recordings" / "spool", trace),
                 MasterKeyring(MasterKey.load(home / "keys" / "master.key")),
                 _TracedBlobs(FolderBlobStore(home / "vault"), trace))


def ingest_child(db_url: str, home: str, trace_path: str,
                 die_after: tuple[str, int] | None, ready: Connection) -> None:
    """Ingest the whole spool once, as `privline vault ingest` does."""
    engine = make_engine(db_url)
    signer = Ed25519Signer.load(Path(home) / "keys" / "signing.key")
    with open(trace_path, "a", encoding="utf-8") as out:
        trace = Trace(out, die_after)
        vault = open_vault(Path(home), trace)

        def uow() -> UnitOfWork:
            return SqlUnitOfWork(engine, signer, CHECKPOINT_EVERY)

        with engine.connect():
            pass  # open the SQLite file before saying ready
        ready.send("ready")
        trace.mark("start")
        vault_service.ingest_all(uow, INGESTER, vault, now=datetime.now(UTC))
        trace.mark("done")
    os._exit(0)


def append_child(db_url: str, home: str, acked_path: str, name: str,
                 ready: Connection) -> None:
    """Append audit events forever; after each commit, note its sequence number."""
    engine = make_engine(db_url)
    signer = Ed25519Signer.load(Path(home) / "keys" / "signing.key")
    with open(acked_path, "a", encoding="utf-8") as acked:
        with engine.connect():
            pass
        ready.send("ready")
        i = 0
        while True:
            i += 1
            with SqlUnitOfWork(engine, signer, CHECKPOINT_EVERY) as uow:
                seq = uow.audit.append(AuditEvent(datetime.now(UTC), f"admin:{name}",
                                                  "crash.append", f"{name}:{i}",
                                                  {"i": i, "pad": "x" * (i % 50)}))
                uow.commit()
            acked.write(f"{seq} {name}:{i}\n")
            acked.flush()
