"""Crash safety: ingest and the audit appender are killed with SIGKILL at random moments
(and ingest also right after each of its steps).

Children are forked from a server that has privline imported already (multiprocessing's
forkserver), so a child is working within milliseconds and the kills land in the work,
not in Python's start-up. Each child says when it is ready; the harness then waits a
random time within the measured length of the work and kills it. SQLite only: the
point is what a dead process leaves behind, not concurrency between database servers.

After every kill:

- no recording is lost: each one is stored whole (its blob decrypts to the exact audio)
  or still in the spool with both files, to be retried;
- no plaintext exists outside the spool (every file under PRIVLINE_HOME is searched,
  the database included, for a sample of every recording's audio; a file unchanged since
  the last search only for the samples added since, and the whole search again at the
  end);
- no index row points at a missing or half-written blob;
- the audit chain verifies, and every event a child saw committed is in it.
"""

from __future__ import annotations

import collections
import hashlib
import multiprocessing
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from privline.adapters.db import make_engine, migrate
from privline.adapters.db.engine import SqlUnitOfWork
from privline.adapters.pin_key import PinKeyring
from privline.adapters.signing import Ed25519Signer, verifies
from privline.adapters.vault import MasterKey
from privline.domain.access import Role
from privline.domain.audit_chain import Checkpoint, checkpoint_message
from privline.domain.model import Actor
from privline.domain.vault import RecordingState
from privline.services import audit, facilities
from privline.services import vault as vault_service
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from tests.conftest import ADMIN, FAMILY_NUMBER, NOW, PRISON, ROSA, ROSA_PIN, STAFF
from tests.integration import crash_children
from tests.integration.vault_support import (
    Samples,
    Spooled,
    files_under,
    make_vault,
    place_call,
    plaintext_outside_spool,
    spool_recording,
)

KILLS = 50  # of the audit appenders, at least
# Ingest: a kill right after each step of a run, for the first and the second recording
# it handles (a run also finishes what earlier kills left in the spool), however busy the
# machine; then kills at random moments, which also land inside a step (a half-written
# blob).
INGEST_STEPS = [("start", 1)] + [(step, n) for n in (1, 2) for step in (
    "put", "put-done", "indexed-or-refused", "removed")]
INGEST_RANDOM_KILLS = 25
AUDITOR = Actor("crash-auditor", Role.AUDITOR)


@pytest.fixture
def forkserver(monkeypatch: pytest.MonkeyPatch) -> Any:
    # multiprocessing re-runs the parent's __main__ in every child when it is a script
    # (the `pytest` console script is): 0.3 s of imports per child. The children need
    # nothing from it.
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.integration.crash_children"])
    return ctx


class Harness:
    def __init__(self, home: Path, ctx: Any) -> None:
        self.home = home
        self.ctx = ctx
        self.spool = home / "recordings" / "spool"
        home.mkdir(mode=0o700, parents=True)
        self.db_url = f"sqlite:///{home / 'privline.db'}"
        self.engine: Engine = make_engine(self.db_url)
        migrate(self.engine)
        self.signer = Ed25519Signer.load_or_create(home / "keys" / "signing.key")
        MasterKey.create(home / "keys" / "master.key")
        self.pins = PinKeyring.load_or_create(home / "keys" / "pin.key")
        self.vault = make_vault(home)  # the parent's view, for checking
        self.pins = PinKeyring.generate()

    def uow(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine, self.signer, crash_children.CHECKPOINT_EVERY,
                             self.pins)

    def run_child(self, target: Callable[..., None], args: tuple[Any, ...],
                  kill_after: float | None) -> tuple[bool, float]:
        """Start a child; once it is ready, kill it after ``kill_after`` seconds (None:
        let it finish). Returns (killed while working, seconds it worked)."""
        receive, send = self.ctx.Pipe(duplex=False)
        child = self.ctx.Process(target=target, args=(*args, send))
        child.start()
        assert receive.poll(30), "child never became ready"
        receive.recv()
        started = time.monotonic()
        if kill_after is None:  # it finishes, or kills itself
            child.join(60)
            return child.exitcode == -signal.SIGKILL, time.monotonic() - started
        child.join(kill_after)
        killed = child.exitcode is None
        if killed:
            os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        assert child.exitcode is not None
        return killed, time.monotonic() - started

    def verify_chain(self) -> None:
        def ok(cp: Checkpoint) -> bool:
            return verifies(self.signer.public, checkpoint_message(cp.seq, cp.hash),
                            cp.signature)

        verdict = audit.verify(self.uow, AUDITOR, ok)
        assert verdict.ok, verdict


def _prepare_world(uow: UnitOfWorkFactory) -> None:
    facilities.add_facility(uow, ADMIN, PRISON, now=NOW)
    facilities.add_resident(uow, STAFF, facility_id=PRISON.id, resident_id=ROSA,
                            pin=ROSA_PIN, opening_balance_cents=2000, now=NOW)


class LeakSearch:
    """`plaintext_outside_spool` after every kill without searching again what the last
    search cleared: a file with the same inode, size and modification time as then (the
    children are dead while it runs) is searched only for the samples added since; a new
    or changed file for every sample."""

    def __init__(self, home: Path, spool: Path) -> None:
        self.home, self.spool = home, spool
        self.cleared: dict[Path, tuple[int, int, int]] = {}
        self.samples_searched = 0

    def leaks(self, samples: list[bytes]) -> list[str]:
        found = []
        every, added = Samples(samples), Samples(samples[self.samples_searched:])
        for path in files_under(self.home):
            if self.spool in path.parents:
                continue
            st = path.stat()
            seen = (st.st_ino, st.st_size, st.st_mtime_ns)
            wanted = added if self.cleared.get(path) == seen else every
            if wanted.samples and wanted.found_in(path.read_bytes()):
                found.append(str(path))
            self.cleared[path] = seen
        self.samples_searched = len(samples)
        return found


def _check_ingest_invariants(h: Harness, spooled: list[Spooled], leaks: LeakSearch | None = None
                             ) -> collections.Counter[str]:
    states: collections.Counter[str] = collections.Counter()
    with h.uow() as uow:
        for s in spooled:
            row = uow.recordings.by_spool_key(s.key)
            pcap = (h.spool / "pcaps" / f"{s.key}.pcap").exists()
            meta = (h.spool / "metadata" / f"rtpengine-meta-{s.key}.txt").exists()
            if row is None:
                assert pcap and meta, f"{s.key} is neither stored nor whole in the spool"
                states["in_spool"] += 1
                continue
            assert row.state is RecordingState.STORED and row.blob_id and row.wrapped_key
            wav = h.vault.keys.unseal(h.vault.blobs.get(row.blob_id), row.wrapped_key, s.key)
            assert hashlib.sha256(wav).hexdigest() == s.wav_sha256, f"{s.key} is not whole"
            states["stored"] += 1
    samples = [s.sample for s in spooled]
    if leaks is None:
        assert plaintext_outside_spool(h.home, h.spool, samples) == []
    else:
        assert leaks.leaks(samples) == []
    h.verify_chain()
    return states


def test_ingest_killed_after_every_step_and_at_random_loses_nothing_and_leaks_nothing(
        tmp_path: Path, forkserver: Any) -> None:
    h = Harness(tmp_path / "home", forkserver)
    _prepare_world(h.uow)
    rng = random.Random(20260701)
    spooled: list[Spooled] = []
    trace = tmp_path / "trace.txt"
    leaks = LeakSearch(h.home, h.spool)

    def spool_more(n: int) -> None:
        for _ in range(n):
            call_id = f"crash-{len(spooled)}@test"
            place_call(h.uow, call_id, FAMILY_NUMBER, at=NOW + timedelta(seconds=len(spooled)))
            # Half a second of audio: the kill window follows the work's length (below),
            # so the kills still spread over every step of a shorter ingest.
            spooled.append(spool_recording(h.spool, call_id, seconds=0.5, seed=len(spooled)))

    spool_more(2)  # calibrate: how long does a child take to ingest two recordings?
    _, work = h.run_child(crash_children.ingest_child,
                          (h.db_url, str(h.home), str(trace), None), None)
    _check_ingest_invariants(h, spooled)

    landed = collections.Counter[str]()
    for step, n in INGEST_STEPS:
        spool_more(2)
        trace.write_text("")
        killed, _ = h.run_child(crash_children.ingest_child,
                                (h.db_url, str(h.home), str(trace), (step, n)), None)
        steps = trace.read_text().split()
        assert killed and steps[-1] == step and steps.count(step) == n, steps
        landed[step] += 1
        _check_ingest_invariants(h, spooled, leaks)

    # The kill window follows the machine's pace: it widens when a kill lands before the
    # child started its work and narrows when the child finished first, so on a busy
    # machine too the kills spread over the whole ingest, not only its first step.
    window = max(work, 0.01)

    kills, tries = 0, 0
    while kills < INGEST_RANDOM_KILLS:
        tries += 1
        assert tries < 6 * INGEST_RANDOM_KILLS, f"kills never landed in the work: {dict(landed)}"
        spool_more(2)
        trace.write_text("")
        killed, worked = h.run_child(crash_children.ingest_child,
                                     (h.db_url, str(h.home), str(trace), None),
                                     rng.uniform(0, window))
        steps = trace.read_text().split()
        if killed and steps[-1:] != ["done"]:  # "done": the work was over, only exit was left
            kills += 1
            last = steps[-1] if steps else "before-start"
            landed[last] += 1
            if last in ("start", "before-start"):
                window *= 1.25
        else:
            window = max(window * 0.8, 0.01)
        _check_ingest_invariants(h, spooled, leaks)

    # What the kills left is recovered by the next run and the sweep.
    report = vault_service.ingest_all(h.uow, crash_children.INGESTER, h.vault,
                                      now=datetime.now(UTC))
    assert not report.retry and not report.held_back and not report.destroyed
    states = _check_ingest_invariants(h, spooled)
    assert states == {"stored": len(spooled)}
    sweep = vault_service.sweep(h.uow, ADMIN, h.vault, now=datetime.now(UTC) + timedelta(days=1))
    with h.uow() as uow:
        live = {blob for _, blob in uow.recordings.live_blob_ids(0, 100_000)}
    assert {blob for blob, _ in h.vault.blobs.listing()} == live
    assert sweep.missing_blobs == []
    print(f"\ningest: {len(INGEST_STEPS)} kills after a step, {kills} at random in {tries} runs, "
          f"last step before each kill: {dict(landed)}; orphan blobs reclaimed: "
          f"{sweep.reclaimed_orphans}")


def test_audit_appenders_killed_at_random_never_break_the_chain(
        tmp_path: Path, forkserver: Any) -> None:
    h = Harness(tmp_path / "home", forkserver)
    rng = random.Random(7)
    acked_paths = [tmp_path / "acked-a.txt", tmp_path / "acked-b.txt"]
    kills = rounds = count = checkpoints = 0
    delay = 0.03  # the longest wait before a kill; it widens while a busy machine lets
    # the children append nothing before they die, so events do land between kills
    while kills < KILLS or count <= KILLS or checkpoints < 1:
        rounds += 1
        assert rounds < 10 * KILLS, f"{count} events, {checkpoints} checkpoints"
        # Two appenders at once (as several API workers): kill each at its own moment.
        receive_send = [h.ctx.Pipe(duplex=False) for _ in acked_paths]
        children = [h.ctx.Process(target=crash_children.append_child,
                                  args=(h.db_url, str(h.home), str(path), f"w{n}-{rounds}",
                                        send))
                    for n, (path, (_, send)) in enumerate(zip(acked_paths, receive_send,
                                                              strict=True))]
        for child in children:
            child.start()
        for receive, _ in receive_send:
            assert receive.poll(30)
            receive.recv()
        for child in children:
            time.sleep(rng.uniform(0, delay))
            os.kill(child.pid, signal.SIGKILL)
            child.join(10)
            kills += child.exitcode == -signal.SIGKILL
        h.verify_chain()
        with h.uow() as uow:
            chain = {e.seq: e.subject for e in uow.audit.entries()}
            checkpoints = len(uow.audit.checkpoints())
        if len(chain) == count:
            delay *= 1.5
        count = len(chain)
        for path in acked_paths:
            for line in path.read_text().splitlines():
                seq, subject = line.split()
                assert chain.get(int(seq)) == subject, f"acknowledged event {line} is lost"
    print(f"\naudit: {kills} kills in {rounds} rounds; {count} events, "
          f"{checkpoints} signed checkpoints; chain verifies")
    assert count > KILLS and checkpoints >= 1
