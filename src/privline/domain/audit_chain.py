"""The tamper-evident audit chain, as pure functions.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical
bytes, so editing, deleting, inserting or reordering any entry changes every hash after
it. Signed checkpoints pin (seq, hash) pairs with a key the database does not hold, so a
rewrite of the whole chain, or a truncation behind a checkpoint, is found too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: str  # canonical JSON, as stored
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    signature: bytes
    key_id: str
    at: datetime


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    entries: int
    checkpoints: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "checkpoints": self.checkpoints,
                "head_seq": self.head_seq, "head_hash": self.head_hash,
                "first_bad_seq": self.first_bad_seq, "problem": self.problem}


def canonical_json(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def entry_bytes(seq: int, at: datetime, actor: str, action: str, subject: str,
                details: str) -> bytes:
    """``canonical_json`` of the entry's six fields, written out: the same bytes (its
    keys in sorted order, each string as the JSON encoder writes it) without building
    a dict and walking it, which cost more than the hash. Every appended entry pays it
    inside the writer's transaction."""
    return (f'{{"action":{_string(action)},"actor":{_string(actor)},'
            f'"at":{_string(at.isoformat())},"details":{_string(details)},'
            f'"seq":{int(seq)!r},"subject":{_string(subject)}}}').encode("utf-8")


# What json.dumps(..., ensure_ascii=False) writes for a string (the C encoder when built).
_string: Callable[[str], str] = json.encoder.encode_basestring


def chain_hash(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + payload).hexdigest()


def checkpoint_message(seq: int, hash_: str) -> bytes:
    """What a checkpoint signs: the position and the hash, nothing that can vary."""
    return f"privline-audit-checkpoint:{seq}:{hash_}".encode("ascii")


def verify_chain(
    entries: Iterable[ChainEntry],
    checkpoints: Iterable[Checkpoint],
    signature_ok: Callable[[Checkpoint], bool],
) -> ChainVerification:
    """Walk the chain in ``seq`` order and report the first problem found."""
    pins = {c.seq: c for c in checkpoints}
    for cp in sorted(pins.values(), key=lambda c: c.seq):
        if not signature_ok(cp):
            return ChainVerification(False, 0, len(pins), 0, GENESIS, cp.seq,
                           f"checkpoint at {cp.seq} has a bad signature")
    expected_seq, prev, count = 1, GENESIS, 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return _bad(count, pins, prev, expected_seq,
                        f"expected entry {expected_seq}, found {entry.seq} (missing or moved)")
        if entry.prev_hash != prev:
            return _bad(count, pins, prev, entry.seq, "link to the previous entry is broken")
        payload = entry_bytes(entry.seq, entry.at, entry.actor, entry.action, entry.subject,
                              entry.details)
        if chain_hash(prev, payload) != entry.hash:
            return _bad(count, pins, prev, entry.seq, "entry content does not match its hash")
        pin = pins.get(entry.seq)
        if pin is not None and pin.hash != entry.hash:
            return _bad(count, pins, prev, entry.seq, "entry differs from its signed checkpoint")
        prev = entry.hash
        expected_seq += 1
    last = expected_seq - 1
    beyond = [seq for seq in pins if seq > last]
    if beyond:
        return _bad(count, pins, prev, last + 1,
                    f"chain ends at {last} but a checkpoint signs entry {min(beyond)}: truncated")
    return ChainVerification(True, count, len(pins), last, prev)


def _bad(count: int, pins: dict[int, Checkpoint], prev: str, seq: int, why: str
         ) -> ChainVerification:
    return ChainVerification(False, count, len(pins), seq - 1, prev, seq, why)
