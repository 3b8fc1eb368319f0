"""What the crash-safety harness runs in child processes, to be killed with SIGKILL.

Each child builds its own engine and vault (nothing inherited but the code), tells the
parent it is ready, then works: the parent kills it at a random moment of the work.
A child also leaves a trace (a line per step, flushed, not fsynced: SIGKILL loses no
page cache) so the harness can say where its kills landed.
"""

from __future__ import annotations

import os
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
    def __init__(self, store: FolderBlobStore, trace: IO[str]) -> None:
        super().__init__(store)
        self.trace = trace

    def put(self, blob_id: str, data: Buffer) -> None:
        _mark(self.trace, "put")
        super().put(blob_id, data)
        _mark(self.trace, "put-done")  # from here until "indexed": an unindexed blob


class _TracedSource(SpoolSource):
    def __init__(self, root: Path, trace: IO[str]) -> None:
        super().__init__(root)
        self.trace = trace

    def remove(self, item: SpooledItem) -> None:
        _mark(self.trace, "indexed-or-refused")  # the transaction has committed
        super().remove(item)
        _mark(self.trace, "removed")


def _mark(trace: IO[str], what: str) -> None:
    trace.write(what + "\n")
    trace.flush()


def open_vault(home: Path, trace: IO[str]) -> Vault:
    return Vault(_TracedSource(home / "recordings" / "spool", trace),
                 MasterKeyring(MasterKey.load(home / "keys" / "master.key")),
                 _TracedBlobs(FolderBlobStore(home / "vault"), trace))


def ingest_child(db_url: str, home: str, trace_path: str, ready: Connection) -> None:
    """Ingest the whole spool once, as `privline vault ingest` does."""
    engine = make_engine(db_url)
    signer = Ed25519Signer.load(Path(home) / "keys" / "signing.key")
    with open(trace_path, "a", encoding="utf-8") as trace:
        vault = open_vault(Path(home), trace)

        def uow() -> UnitOfWork:
            return SqlUnitOfWork(engine, signer, CHECKPOINT_EVERY)

        with engine.connect():
            pass  # open the SQLite file before saying ready
        ready.send("ready")
        _mark(trace, "start")
        vault_service.ingest_all(uow, INGESTER, vault, now=datetime.now(UTC))
        _mark(trace, "done")
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
